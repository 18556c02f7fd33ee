// What the poller asks of a judge, and what a judged sample carries back.
import type { Sample } from '../chains/sample.js';
import type { NodeConfig } from '../config/node-config.js';
import type { ChainFacts, NodeRecord } from '../store/store.js';

/** What the poller needs to know about a sample once the health core has judged it. */
export interface SampleVerdict {
  readonly record: NodeRecord;
  /** Set when the node's stable state changed with this sample (logged and published once). */
  readonly transition?: { readonly from: string; readonly to: string; readonly reasons: readonly string[] };
  /** The node's stable state is bad: poll it with back-off. */
  readonly down: boolean;
  /** The latest sample disagrees with the stable state (rising or falling): re-check sooner. */
  readonly changing: boolean;
  /** The change under way is toward a better state (recovering, or a new node confirming). */
  readonly rising: boolean;
  /** The node has no confirmed state yet (new, or its samples went stale). */
  readonly unconfirmed: boolean;
}

/**
 * The seam between polling and the health core: turns a sample into a stored record and says
 * how the node's state moved. Implemented in `src/health/` terms by `HealthJudge`.
 */
export interface Judge {
  judge(node: NodeConfig, sample: Sample, now: number): SampleVerdict;
  /** Per-chain facts to publish (reference head, ...), computed from the whole fleet view. */
  chainFacts(now: number): ChainFacts[];
}
