// Node credentials that cannot leak by accident (toJSON, inspect and toString hide them).
import { readFile } from 'node:fs/promises';
import { inspect } from 'node:util';

/**
 * Node credentials, held so that they cannot leak by accident: JSON.stringify, util.inspect,
 * template strings and pino all see `[redacted]`. Only `authorizationHeader()` reveals them,
 * and only the RPC transport calls it.
 */
export type CredentialSource =
  | { readonly kind: 'basic'; readonly username: string; readonly password: string }
  /** bitcoind-style `.cookie` file (`__cookie__:<hex>`), re-read when the node rejects it. */
  | { readonly kind: 'cookie'; readonly path: string };

export class Credentials {
  readonly #source: CredentialSource;
  #cookieHeader: string | undefined;

  constructor(source: CredentialSource) {
    this.#source = source;
  }

  get kind(): CredentialSource['kind'] {
    return this.#source.kind;
  }

  /** `Basic ...` header value. Cookie files are read once and cached until `invalidate()`. */
  async authorizationHeader(): Promise<string> {
    if (this.#source.kind === 'basic') {
      return basic(this.#source.username, this.#source.password);
    }
    if (this.#cookieHeader === undefined) {
      let text: string;
      try {
        text = await readFile(this.#source.path, 'utf8');
      } catch (err) {
        // The path is configuration, not a secret; the file's content never reaches a message.
        throw new CredentialsError(
          `cannot read cookie file ${this.#source.path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`,
        );
      }
      const line = text.split(/\r?\n/, 1)[0]?.trim() ?? '';
      const sep = line.indexOf(':');
      if (sep <= 0) throw new CredentialsError(`cookie file ${this.#source.path} is not of the form user:password`);
      this.#cookieHeader = basic(line.slice(0, sep), line.slice(sep + 1));
    }
    return this.#cookieHeader;
  }

  /** Forget a cached cookie (the node restarted and wrote a new one). True if there was one to forget. */
  invalidate(): boolean {
    const had = this.#cookieHeader !== undefined;
    this.#cookieHeader = undefined;
    return had && this.#source.kind === 'cookie';
  }

  /** Same source and secret (config reloads keep probers whose credentials did not change). */
  sameAs(other: Credentials): boolean {
    const a = this.#source;
    const b = other.#source;
    if (a.kind === 'cookie' || b.kind === 'cookie')
      return a.kind === b.kind && (a as { path: string }).path === (b as { path: string }).path;
    return a.username === b.username && a.password === b.password;
  }

  /**
   * The secret values, for SecretRedactor only (node-supplied text is scrubbed of them): the
   * password, `user:password` (what a Basic header encodes), and a cookie's once it is read.
   */
  secretValues(): string[] {
    const out: string[] = [];
    if (this.#source.kind === 'basic') {
      const { username, password } = this.#source;
      if (password !== '') out.push(password);
      else out.push(username); // a key passed as the user name (`https://KEY@host/`)
      out.push(`${username}:${password}`);
    }
    if (this.#cookieHeader !== undefined) {
      const decoded = Buffer.from(this.#cookieHeader.slice('Basic '.length), 'base64').toString('utf8');
      out.push(decoded, decoded.slice(decoded.indexOf(':') + 1));
    }
    return out;
  }

  /** Where the credentials come from, for display: never the secret itself. */
  describe(): string {
    return this.#source.kind === 'cookie' ? `cookie file ${this.#source.path}` : 'basic auth';
  }

  toJSON(): string {
    return '[redacted]';
  }

  toString(): string {
    return '[redacted]';
  }

  [inspect.custom](): string {
    return 'Credentials([redacted])';
  }
}

export class CredentialsError extends Error {
  override name = 'CredentialsError';
  readonly code = 'CREDENTIALS_UNAVAILABLE';
}

function basic(user: string, pass: string): string {
  return `Basic ${Buffer.from(`${user}:${pass}`, 'utf8').toString('base64')}`;
}
