// The order of a chain's nodes: state class, then score, then tier and id.
import type { NodeHealth } from './hysteresis.js';
import type { NodeInfo } from './node-info.js';
import type { Reason } from './reasons.js';
import type { ScoreBreakdown } from './score.js';
import { type HealthState, STATE_CLASS, isUsable } from './states.js';

export interface RankInput {
  readonly node: NodeInfo;
  readonly health: NodeHealth;
  readonly score: ScoreBreakdown;
}

export interface RankedNode {
  /** 1-based position in the chain's order. */
  readonly rank: number;
  readonly nodeId: string;
  readonly tier: number;
  readonly tags: readonly string[];
  readonly state: HealthState;
  readonly usable: boolean;
  readonly since: number;
  readonly usableSince: number | null;
  readonly score: ScoreBreakdown;
  readonly reasons: readonly Reason[];
  /** May serve as a last resort when every node is unhealthy: not drained, not on another chain. */
  readonly lastResort: boolean;
}

/**
 * The chain's order: state class (healthy, degraded, unhealthy, unknown, maintenance), then
 * score (higher first), then tier (lower first), then node id. Total and deterministic as long
 * as ids are unique: the same nodes give the same order whatever order they come in.
 */
export function compareForRanking(a: RankInput, b: RankInput): number {
  return (
    STATE_CLASS[a.health.state] - STATE_CLASS[b.health.state] ||
    b.score.total - a.score.total ||
    a.node.tier - b.node.tier ||
    (a.node.id < b.node.id ? -1 : a.node.id > b.node.id ? 1 : 0)
  );
}

export function rankNodes(inputs: readonly RankInput[]): RankedNode[] {
  return rankedInOrder([...inputs].sort(compareForRanking));
}

/** `sorted` (already in compareForRanking's order) as the ranking. */
export function rankedInOrder(sorted: readonly RankInput[]): RankedNode[] {
  return sorted.map(({ node, health, score }, i) => ({
    rank: i + 1,
    nodeId: node.id,
    tier: node.tier,
    tags: node.tags,
    state: health.state,
    usable: isUsable(health.state),
    since: health.since,
    usableSince: health.usableSince,
    score,
    reasons: health.reasons,
    // Serving another chain's data is never a lesser evil, not even when failing open.
    lastResort: health.state !== 'maintenance' && health.wrongChainSince === null,
  }));
}
