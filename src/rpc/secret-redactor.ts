// Removes known secrets from text a node sends back before it is stored or shown.
import { inspect } from 'node:util';

/** What a secret becomes in node-supplied text. */
export const REDACTED = '[redacted]';

/** Shorter values would blank ordinary words out of every message; no real secret is that short. */
const MIN_SECRET_LENGTH = 3;

/**
 * Blanks known secrets out of text a node sent back (an error message quoting our request, a
 * warning, a version string), in every form a node or proxy is likely to echo: as is,
 * percent-encoded, and base64 / base64url at each of the three byte alignments (a Basic
 * `Authorization` header quoted whole, or a secret inside some other base64 blob). Issue 14: a
 * node's error message showed a `${VAR}` token and a Basic credential through the API.
 *
 * Serialises as `[redacted]` (it holds the secrets it looks for).
 */
export class SecretRedactor {
  readonly #pattern: RegExp | undefined;

  constructor(secrets: Iterable<string>) {
    const forms = new Set<string>();
    for (const secret of secrets) {
      if (typeof secret !== 'string' || secret.length < MIN_SECRET_LENGTH) continue;
      forms.add(secret);
      forms.add(encodeURIComponent(secret));
      for (const b of base64Cores(secret)) forms.add(b);
    }
    const list = [...forms].filter((f) => f.length >= MIN_SECRET_LENGTH).sort((a, b) => b.length - a.length);
    this.#pattern = list.length === 0 ? undefined : new RegExp(list.map(escapeRegExp).join('|'), 'g');
  }

  /** Nothing to look for: `redact` returns its input. */
  get empty(): boolean {
    return this.#pattern === undefined;
  }

  redact(text: string): string {
    return this.#pattern === undefined ? text : text.replace(this.#pattern, REDACTED);
  }

  toJSON(): string {
    return REDACTED;
  }

  toString(): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return 'SecretRedactor([redacted])';
  }
}

/**
 * The base64 and base64url characters that encode only the secret's bytes, whatever number of
 * bytes (0, 1 or 2 mod 3) precede it in the encoded blob: the groups mixing in neighbouring
 * bytes are dropped from both ends. A secret too short to fill a whole group at some alignment
 * contributes nothing there (its plain forms still count).
 */
function base64Cores(secret: string): string[] {
  const bytes = Buffer.from(secret, 'utf8');
  const out: string[] = [];
  for (let lead = 0; lead < 3; lead++) {
    const padded = Buffer.concat([Buffer.alloc(lead), bytes]);
    const enc = padded.toString('base64');
    const start = lead === 0 ? 0 : 4;
    const wholeGroups = Math.floor(padded.length / 3);
    const end = wholeGroups * 4;
    // At lead 0 the whole encoding (padding included) is also how a blob holding just the secret reads.
    if (lead === 0) out.push(enc);
    const core = enc.slice(start, end);
    if (core.length >= 4) {
      out.push(core);
      out.push(core.replace(/\+/g, '-').replace(/\//g, '_'));
    }
  }
  return out;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
