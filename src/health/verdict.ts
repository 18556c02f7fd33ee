// NodeVerdict: the health core's persisted state of one node (a node record's `health`), and its check on the way in.
import type { NodeHealth } from './hysteresis.js';
import type { ScoreBreakdown } from './score.js';
import type { NodeStats } from './stats.js';

/** What a node record's `health` holds: the health core's state for the node. */
export interface NodeVerdict {
  readonly health: NodeHealth;
  readonly stats: NodeStats;
  readonly score: ScoreBreakdown;
  /** When the poller probes the node next, and why then (set by the poller that wrote it). */
  readonly probing?: ProbeSchedule;
}

/**
 * The poller's plan for a node after a sample: `interval` (its own rhythm), `fast` (a change is
 * being confirmed: fall after a hard failure, rise after the node answers again or is new),
 * `backoff` (the node gives no answer at all; step `backoffStep`, never past the ceiling).
 */
export interface ProbeSchedule {
  readonly mode: 'interval' | 'fast' | 'backoff';
  readonly delayMs: number;
  readonly nextProbeAt: number;
  readonly backoffStep?: number;
}

/**
 * A NodeVerdict read back from the store, checked enough to feed the health core again; null
 * for anything else. The store's codec calls it once per decoded record, so readers never do.
 */
export function asNodeVerdict(value: unknown): NodeVerdict | null {
  if (!value || typeof value !== 'object') return null;
  const v = value as Partial<NodeVerdict>;
  if (!v.health || typeof v.health !== 'object' || typeof v.health.state !== 'string' || !v.stats || !v.score)
    return null;
  return v as NodeVerdict;
}
