// Per-sample grades (0..1) of the signals the score is made of.
import type { ChainSpec } from '../chains/chain-spec.js';
import type { PeerCounts } from '../chains/sample.js';
import type { HealthPolicy } from './policy.js';
import type { Lag } from './reference-head.js';

/**
 * Per-sample grades in 0..1 (1 = best) of the signals that feed the score. Each is a plain
 * function of one observation; `NodeStats` smooths them, `scoreNode` weighs them.
 */

/**
 * Peers graded against the chain's target, linearly: 0 below `minPeers` (the node is unhealthy
 * anyway), then peers / targetPeers, capped at 1. Unknown peers grade `unknownPeersGrade`.
 */
export function peersGrade(peers: PeerCounts | undefined, chain: ChainSpec, policy: HealthPolicy): number {
  if (peers === undefined) return policy.unknownPeersGrade;
  if (peers.total < chain.minPeers) return 0;
  if (chain.targetPeers <= 0) return 1;
  return Math.min(1, peers.total / chain.targetPeers);
}

/**
 * Lag graded 1 at the head down to 0 at the unhealthy threshold. Lag counts only when it is
 * large in blocks AND in time, so the smaller of the two ratios decides.
 */
export function lagGrade(lag: Lag, policy: HealthPolicy): number {
  const byBlocks = lag.blocks / policy.lagUnhealthyBlocks;
  const byTime = policy.lagUnhealthyMs === 0 ? byBlocks : lag.ms / policy.lagUnhealthyMs;
  return 1 - Math.min(1, Math.min(byBlocks, byTime));
}

/** Latency graded 1 up to `latencyGoodMs`, linearly down to 0 at `latencySlowMs`. */
export function latencyGrade(latencyMs: number, policy: HealthPolicy): number {
  const span = policy.latencySlowMs - policy.latencyGoodMs;
  return 1 - Math.min(1, Math.max(0, (latencyMs - policy.latencyGoodMs) / span));
}

/** Tier graded 1 for primaries, 1/2 for tier 1, 1/3 for tier 2...: a mild preference only (tiers are enforced by selection). */
export function tierGrade(tier: number): number {
  return 1 / (1 + Math.max(0, tier));
}

/** Whether a lag reaches a threshold given in blocks AND ms. */
export function lagReaches(blocks: number, chain: ChainSpec, thresholdBlocks: number, thresholdMs: number): boolean {
  return blocks >= thresholdBlocks && blocks * chain.blockTimeMs >= thresholdMs;
}
