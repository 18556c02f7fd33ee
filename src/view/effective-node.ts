// The one effective view of a node (its record's health as it stands at `now`) and the one ranking of such views, shared by the judge and the read side.
import type { NodeConfig } from '../config/node-config.js';
import { effectiveHealth } from '../health/effective-health.js';
import type { NodeHealth } from '../health/hysteresis.js';
import type { HealthPolicy } from '../health/policy.js';
import { type RankedNode, rankNodes } from '../health/ranking.js';
import { NO_SCORE } from '../health/score.js';
import type { NodeRecord } from '../store/store.js';

/**
 * A node's health at `now` from its latest record (stale -> unknown, drained -> maintenance,
 * never sampled -> unknown; see effectiveHealth). `policy` is the node's chain's.
 */
export function effectiveOf(
  record: NodeRecord | undefined,
  node: NodeConfig,
  drained: boolean,
  now: number,
  policy: HealthPolicy,
): NodeHealth {
  return effectiveHealth(
    record?.health?.health ?? null,
    record?.sample ?? null,
    node,
    node.chain.name,
    drained,
    now,
    policy,
  );
}

/** What ranking reads of a node: its config, latest record and effective health. */
export interface EffectiveNode {
  readonly node: NodeConfig;
  readonly record: NodeRecord | undefined;
  readonly health: NodeHealth;
}

/** A chain's nodes ranked by effective health and score (a node never judged scores NO_SCORE). */
export function rankEffective(nodes: Iterable<EffectiveNode>): RankedNode[] {
  const inputs = [];
  for (const n of nodes) inputs.push({ node: n.node, health: n.health, score: n.record?.health?.score ?? NO_SCORE });
  return rankNodes(inputs);
}
