// A node URL that carries a secret (a provider token): revealed only to make the request.
import { inspect } from 'node:util';

/**
 * A URL that holds a secret (a provider token in its path, filled in from the environment).
 * Like `Credentials`, it serialises as `[redacted]` everywhere; only the RPC transport calls
 * `reveal()`.
 */
export class SecretUrl {
  readonly #url: string;
  readonly #parts: readonly string[];

  /** `parts`: the secret pieces of the URL (placeholder values, key-like query values), for redaction. */
  constructor(url: string, parts: readonly string[] = []) {
    this.#url = url;
    this.#parts = Object.freeze([...parts]);
  }

  reveal(): string {
    return this.#url;
  }

  /** The secret pieces, for SecretRedactor only. */
  secretParts(): readonly string[] {
    return this.#parts;
  }

  toJSON(): string {
    return '[redacted]';
  }

  toString(): string {
    return '[redacted]';
  }

  [inspect.custom](): string {
    return 'SecretUrl([redacted])';
  }
}

/** Query parameters whose values are keys (`?apikey=`, `?access_token=`, `?sig=`): never shown. */
const SECRET_QUERY_NAME = /(key|token|secret|pass|auth|sig|credential|session)/i;

/**
 * For a URL with key-like query parameters: the URL to show (their values `[redacted]`) and
 * the one to request (a SecretUrl knowing those values, and `prior`'s parts). Undefined when
 * there are none. Issue 14: `?apikey=` was served verbatim.
 */
export function hideSecretQuery(shown: string, prior?: SecretUrl): { url: string; requestUrl: SecretUrl } | undefined {
  const full = prior?.reveal() ?? shown;
  let u: URL;
  try {
    u = new URL(full);
  } catch {
    return undefined;
  }
  const values: string[] = [];
  for (const [name, value] of u.searchParams) if (SECRET_QUERY_NAME.test(name) && value !== '') values.push(value);
  if (values.length === 0) return undefined;
  const url = shown.replace(/([?&])([^=&#]+)=([^&#]*)/g, (whole, sep: string, name: string) => {
    let decoded = name;
    try {
      decoded = decodeURIComponent(name);
    } catch {
      // keep the raw name
    }
    return SECRET_QUERY_NAME.test(decoded) ? `${sep}${name}=[redacted]` : whole;
  });
  const parts = values.flatMap((v) => [v, encodeURIComponent(v)]);
  return { url, requestUrl: new SecretUrl(full, [...(prior?.secretParts() ?? []), ...parts]) };
}
