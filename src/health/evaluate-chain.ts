import type { ChainSpec } from '../chains/chain-spec.js';
import type { Sample } from '../chains/sample.js';
import { type Assessment, assess, sampleLag } from './assess.js';
import { type NodeHealth, type Transition, advanceHealth } from './hysteresis.js';
import type { NodeInfo } from './node-info.js';
import { type HealthPolicy, policyForChain } from './policy.js';
import { type RankInput, type RankedNode, rankNodes } from './ranking.js';
import { type HeadCandidate, type ReferenceHead, referenceHead } from './reference-head.js';
import { type ScoreBreakdown, scoreNode } from './score.js';
import { type Selection, type SelectionChange, nextSelection } from './selection.js';
import { type NodeStats, emptyStats, updateStats } from './stats.js';

/** One node of the chain with everything known about it: persisted state from the last round. */
export interface ChainNodeInput {
  readonly node: NodeInfo;
  readonly drained: boolean;
  /** Latest sample, or null if never sampled. */
  readonly sample: Sample | null;
  /** From the previous evaluation, or null for a new node. */
  readonly health: NodeHealth | null;
  readonly stats: NodeStats | null;
}

export interface ChainInput {
  readonly chain: ChainSpec;
  readonly nodes: readonly ChainNodeInput[];
  readonly selection: Selection | null;
  readonly now: number;
  /** The global policy; the chain's overrides are applied here. */
  readonly policy: HealthPolicy;
}

export interface NodeEvaluation {
  readonly nodeId: string;
  readonly assessment: Assessment;
  readonly health: NodeHealth;
  readonly stats: NodeStats;
  readonly score: ScoreBreakdown;
}

/** Everything to persist and serve for one chain after one round. Plain JSON. */
export interface ChainEvaluation {
  readonly chain: string;
  readonly evaluatedAt: number;
  readonly reference: ReferenceHead;
  readonly nodes: readonly NodeEvaluation[];
  readonly ranking: readonly RankedNode[];
  readonly selection: Selection;
  /** State changes to log, each reported by exactly one evaluation. */
  readonly transitions: readonly Transition[];
  readonly selectionChange: SelectionChange | null;
}

export interface NodeRoundInput extends ChainNodeInput {
  readonly chain: ChainSpec;
  readonly reference: ReferenceHead;
  readonly now: number;
  /** Already specialised for the chain (`policyForChain`). */
  readonly policy: HealthPolicy;
}

/**
 * One node's part of a round: stats, assessment, hysteresis and score against a reference head
 * computed for the chain. Workers call it as each sample arrives; `evaluateChain` calls it for
 * every node of a chain.
 */
export function evaluateNode(input: NodeRoundInput): { evaluation: NodeEvaluation; transition: Transition | null } {
  const { node, sample, chain, reference, now, policy } = input;
  const lag = sample === null ? null : sampleLag(sample, node, chain, reference, now, policy);
  const stats = updateStats(input.stats ?? emptyStats(node.id), { sample, lag, chain, policy });
  const assessment: Assessment = assess({ node, chain, sample, reference, stats, now, policy });
  const { health, transition } = advanceHealth(input.health, { assessment, drained: input.drained, now, policy });
  const score = scoreNode(stats, node.tier, policy);
  return { evaluation: { nodeId: node.id, assessment, health, stats, score }, transition };
}

/** The chain's reference head from its nodes' latest samples. */
export function chainReference(
  chain: ChainSpec,
  nodes: ReadonlyArray<{ readonly node: NodeInfo; readonly sample: Sample | null; readonly stats?: NodeStats | null; readonly health?: NodeHealth | null }>,
  now: number,
  policy: HealthPolicy,
): ReferenceHead {
  const candidates: HeadCandidate[] = [];
  for (const n of nodes) if (n.sample !== null) candidates.push({ sample: n.sample, intervalMs: n.node.intervalMs, stats: n.stats ?? null, latest: n.health?.latest ?? null });
  return referenceHead(candidates, chain, now, policy);
}

/**
 * One round for one chain: reference head, then per node stats, assessment, hysteresis and
 * score, then ranking and selection. Feed `nodes[].health`, `nodes[].stats` and `selection` back
 * in next round. Evaluating again with the same samples changes nothing but time-driven facts
 * (staleness, dwell times).
 */
export function evaluateChain(input: ChainInput): ChainEvaluation {
  const { chain, now } = input;
  const policy = policyForChain(input.policy, chain.name);
  const reference = chainReference(chain, input.nodes, now, policy);

  const nodes: NodeEvaluation[] = [];
  const transitions: Transition[] = [];
  const rankInputs: RankInput[] = [];
  for (const n of input.nodes) {
    const { evaluation, transition } = evaluateNode({ ...n, chain, reference, now, policy });
    if (transition !== null) transitions.push(transition);
    nodes.push(evaluation);
    rankInputs.push({ node: n.node, health: evaluation.health, score: evaluation.score });
  }

  const ranking = rankNodes(rankInputs);
  const { selection, change } = nextSelection(input.selection, ranking, chain.name, now, policy);
  return { chain: chain.name, evaluatedAt: now, reference, nodes, ranking, selection, transitions, selectionChange: change };
}
