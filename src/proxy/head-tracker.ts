// Consistent reads: the head each node is known to have and each client was served, so no node behind a client answers it.
/** What a node's head is known to be, from outside this module (the latest probe's sample). */
export type SampledHead = (nodeId: string) => number | undefined;

/** Sessions remembered per process; the oldest is forgotten first. */
const MAX_SESSIONS = 10_000;
/** A session nobody used for this long is forgotten, ms. */
const SESSION_TTL_MS = 10 * 60_000;
/** A head seen in traffic counts this long; after that only probes say where the node is, ms. */
const OBSERVED_TTL_MS = 60_000;

interface Observed {
  readonly height: number;
  readonly at: number;
}

interface Session {
  height: number;
  at: number;
}

/**
 * Consistent reads: the highest head each node is known to have (its latest sample, or a
 * higher one seen in an `eth_blockNumber` / `getblockcount` answer passing through), and the
 * highest head each client session was served. A request is only sent to a node known to be
 * at or above what its client already saw.
 */
export class HeadTracker {
  readonly #sampled: SampledHead;
  readonly #observed = new Map<string, Observed>();
  readonly #sessions = new Map<string, Session>();

  constructor(sampled: SampledHead) {
    this.#sampled = sampled;
  }

  /** Highest head known for the node at `now`, or undefined when nothing is known. */
  known(nodeId: string, now: number): number | undefined {
    const s = this.#sampled(nodeId);
    const o = this.#observed.get(nodeId);
    if (o === undefined || now - o.at > OBSERVED_TTL_MS) return s;
    return s === undefined || o.height > s ? o.height : s;
  }

  observe(nodeId: string, height: number, now: number): void {
    const o = this.#observed.get(nodeId);
    if (o === undefined || height >= o.height || now - o.at > OBSERVED_TTL_MS)
      this.#observed.set(nodeId, { height, at: now });
  }

  /** The head a session was served (0 when new or forgotten). */
  sessionHead(key: string, now: number): number {
    const s = this.#sessions.get(key);
    if (s === undefined) return 0;
    if (now - s.at > SESSION_TTL_MS) {
      this.#sessions.delete(key);
      return 0;
    }
    return s.height;
  }

  /** Remember that the session was served `height` (never lowers what it saw). */
  served(key: string, height: number, now: number): void {
    const s = this.#sessions.get(key);
    if (s !== undefined) {
      // Re-insert: Map order is the LRU order.
      this.#sessions.delete(key);
      this.#sessions.set(key, { height: Math.max(s.height, height), at: now });
      return;
    }
    if (this.#sessions.size >= MAX_SESSIONS) this.#sessions.delete(this.#sessions.keys().next().value!);
    this.#sessions.set(key, { height, at: now });
  }
}
