// One node's part of a round (stats, assessment, hysteresis, score against the chain's head): what the judge runs per sample.
import type { ChainSpec } from '../chains/chain-spec.js';
import type { Sample } from '../chains/sample.js';
import { type Assessment, assess, sampleLag } from './assess.js';
import { type NodeHealth, type Transition, advanceHealth } from './hysteresis.js';
import type { NodeInfo } from './node-info.js';
import type { HealthPolicy } from './policy.js';
import { type ReferenceHead, headAnswerOf } from './reference-head.js';
import { isFailedSample } from './probe-failure.js';
import { type ScoreBreakdown, scoreNode } from './score.js';
import { type NodeStats, emptyStats, updateStats } from './stats.js';

/** One node with everything known about it: persisted state from its last judgement. */
export interface NodeRoundInput {
  readonly node: NodeInfo;
  readonly drained: boolean;
  /** Latest sample, or null if never sampled. */
  readonly sample: Sample | null;
  /** The sample `sample` replaces (the node's record's), if any: a failed probe keeps its answer for the head. */
  readonly replaced?: Sample | null;
  /** From the previous evaluation, or null for a new node. */
  readonly health: NodeHealth | null;
  readonly stats: NodeStats | null;
  readonly chain: ChainSpec;
  readonly reference: ReferenceHead;
  readonly now: number;
  /** Already specialised for the chain (`policyForChain`). */
  readonly policy: HealthPolicy;
}

export interface NodeEvaluation {
  readonly nodeId: string;
  readonly assessment: Assessment;
  readonly health: NodeHealth;
  readonly stats: NodeStats;
  readonly score: ScoreBreakdown;
}

/**
 * One node's part of a round: stats, assessment, hysteresis and score against a reference head
 * computed for the chain. The judge calls it as each sample arrives.
 */
export function evaluateNode(input: NodeRoundInput): { evaluation: NodeEvaluation; transition: Transition | null } {
  const { node, sample, chain, reference, now, policy } = input;
  const lag = sample === null ? null : sampleLag(sample, node, chain, reference, now, policy);
  const replaced =
    sample !== null && isFailedSample(sample) && input.replaced != null
      ? headAnswerOf(input.replaced, chain, input.health?.latest)
      : null;
  const stats = updateStats(input.stats ?? emptyStats(node.id), { sample, lag, chain, policy, replaced });
  const assessment: Assessment = assess({ node, chain, sample, reference, stats, now, policy });
  const { health, transition } = advanceHealth(input.health, { assessment, drained: input.drained, now, policy });
  const score = scoreNode(stats, node.tier, policy);
  return { evaluation: { nodeId: node.id, assessment, health, stats, score }, transition };
}
