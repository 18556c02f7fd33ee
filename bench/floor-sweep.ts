import { performance } from 'node:perf_hooks';
import { request, type Dispatcher } from 'undici';
import { PROBE_HEADERS } from './remote-fleet.js';

export interface FloorTarget {
  readonly url: string;
  readonly body: string;
}

/**
 * The sweep floor: every node once, `concurrency` requests in flight, the same bodies and
 * headers nodesentry sends, and nothing done with the answer but JSON.parse. What is left
 * between this and a nodesentry sweep is nodesentry's own work.
 */
export class FloorSweeper {
  readonly #targets: readonly FloorTarget[];
  readonly #concurrency: number;
  readonly #dispatcher: Dispatcher;

  constructor(targets: readonly FloorTarget[], concurrency: number, dispatcher: Dispatcher) {
    if (!(Number.isInteger(concurrency) && concurrency > 0))
      throw new RangeError('concurrency must be a positive integer');
    this.#targets = targets;
    this.#concurrency = concurrency;
    this.#dispatcher = dispatcher;
  }

  /** One sweep; returns its wall time and how many answers parsed as a JSON array. */
  async sweep(): Promise<{ ms: number; ok: number }> {
    const started = performance.now();
    let next = 0;
    let ok = 0;
    const worker = async () => {
      while (next < this.#targets.length) {
        const t = this.#targets[next++]!;
        const res = await request(t.url, {
          method: 'POST',
          body: t.body,
          headers: PROBE_HEADERS,
          dispatcher: this.#dispatcher,
        });
        const parsed: unknown = JSON.parse(await res.body.text());
        if (res.statusCode === 200 && Array.isArray(parsed)) ok++;
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.#concurrency, this.#targets.length) }, worker));
    return { ms: performance.now() - started, ok };
  }
}
