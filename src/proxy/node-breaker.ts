// A circuit breaker per node: skipped for a while after failures in a row.
import { OutOfRangeError } from '../errors/argument-errors.js';
/** Longest a node stays skipped after failures in a row, ms. */
const MAX_OPEN_MS = 30_000;

interface BreakerState {
  until: number;
  streak: number;
}

/**
 * The proxy's own, immediate reaction to a node failing real traffic: the node is skipped for
 * `openMs` (doubling while it keeps failing, up to 30 s), so the next request avoids it in
 * microseconds instead of waiting for the next probe. The judge's verdict (re-probed at once
 * through PassiveHealth) takes over from there; a success closes the breaker. A skipped node
 * is still tried when every other candidate is skipped too: a guess beats a refusal.
 */
export class NodeBreaker {
  readonly #openMs: number;
  readonly #states = new Map<string, BreakerState>();

  /** @param openMs how long one failure skips a node, ms (0 = never skip). */
  constructor(openMs: number) {
    if (!(openMs >= 0)) throw new OutOfRangeError('openMs must be >= 0');
    this.#openMs = openMs;
  }

  isOpen(nodeId: string, now: number): boolean {
    const s = this.#states.get(nodeId);
    return s !== undefined && now < s.until;
  }

  fail(nodeId: string, now: number): void {
    if (this.#openMs === 0) return;
    const s = this.#states.get(nodeId);
    const streak = s === undefined ? 0 : s.streak + 1;
    this.#states.set(nodeId, { until: now + Math.min(this.#openMs * 2 ** Math.min(streak, 10), MAX_OPEN_MS), streak });
  }

  succeed(nodeId: string): void {
    if (this.#states.size > 0) this.#states.delete(nodeId);
  }

  /** Nodes skipped at `now` (metrics). */
  openCount(now: number): number {
    let n = 0;
    for (const s of this.#states.values()) if (now < s.until) n++;
    return n;
  }
}
