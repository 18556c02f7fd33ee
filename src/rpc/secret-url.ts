import { inspect } from 'node:util';

/**
 * A URL that holds a secret (a provider token in its path, filled in from the environment).
 * Like `Credentials`, it serialises as `[redacted]` everywhere; only the RPC transport calls
 * `reveal()`.
 */
export class SecretUrl {
  readonly #url: string;

  constructor(url: string) {
    this.#url = url;
  }

  reveal(): string {
    return this.#url;
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
