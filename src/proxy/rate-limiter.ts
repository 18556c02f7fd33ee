// A per-key rate limit counted in the store, shared by every API replica.
import { createHash } from 'node:crypto';
import type { Store } from '../store/store.js';
import { OutOfRangeError } from '../errors/argument-errors.js';

export type RateVerdict =
  { readonly ok: true } | { readonly ok: false; readonly retryAfterS: number; readonly count: number };

export interface RateLimiterOptions {
  readonly store: Store;
  /** Requests per window per key. */
  readonly limit: number;
  readonly windowMs: number;
  /** The store failed: the request is let through (logged by the caller's sink once per outage). */
  readonly onStoreError?: (err: unknown) => void;
}

/**
 * A per-key fixed-window limit counted in the store, so every API replica shares one count
 * (Redis INCR in the window's key). Keys are hashed before they reach the store: an API key
 * is a secret. While the store cannot count, requests pass: the limit protects the nodes, and
 * an outage of Redis must not become an outage of every backend.
 */
export class RateLimiter {
  readonly #o: RateLimiterOptions;
  readonly #hashes = new Map<string, string>();

  constructor(o: RateLimiterOptions) {
    if (!(Number.isInteger(o.limit) && o.limit > 0)) throw new OutOfRangeError('limit must be a positive integer');
    if (!(Number.isInteger(o.windowMs) && o.windowMs > 0))
      throw new OutOfRangeError('windowMs must be a positive integer');
    this.#o = o;
  }

  async hit(identity: string, now: number): Promise<RateVerdict> {
    const { windowMs, limit } = this.#o;
    const window = Math.floor(now / windowMs);
    let count: number;
    try {
      count = await this.#o.store.countInWindow(`rpc:${this.#hash(identity)}`, window, windowMs);
    } catch (err) {
      this.#o.onStoreError?.(err);
      return { ok: true };
    }
    if (count <= limit) return { ok: true };
    return { ok: false, count, retryAfterS: Math.max(1, Math.ceil(((window + 1) * windowMs - now) / 1000)) };
  }

  #hash(identity: string): string {
    let h = this.#hashes.get(identity);
    if (h === undefined) {
      h = createHash('sha256').update(identity).digest('hex').slice(0, 24);
      if (this.#hashes.size > 10_000) this.#hashes.clear();
      this.#hashes.set(identity, h);
    }
    return h;
  }
}
