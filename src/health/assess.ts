// Assessment: what one sample says about a node, before hysteresis.
import type { ChainSpec } from '../chains/chain-spec.js';
import type { Sample } from '../chains/sample.js';
import { chainIdentity, chainMismatch } from './chain-identity.js';
import { isFresh, sampleAgeMs } from './freshness.js';
import { lagReaches } from './grades.js';
import type { NodeInfo } from './node-info.js';
import type { HealthPolicy } from './policy.js';
import { isFailedSample, probeFailureReason } from './probe-failure.js';
import { type Reason, ReasonCode, formatDuration, formatPercent, reasons, worstSeverity } from './reasons.js';
import { type Lag, type ReferenceHead, lagBehind, stallWindowMs, tipAgeMs } from './reference-head.js';
import type { Verdict } from './states.js';
import type { NodeStats } from './stats.js';

export interface AssessInput {
  readonly node: NodeInfo;
  readonly chain: ChainSpec;
  /** The node's latest sample, or null if it has never been sampled. */
  readonly sample: Sample | null;
  readonly reference: ReferenceHead;
  /** The node's stats with this sample already folded in (`updateStats`). */
  readonly stats: NodeStats;
  readonly now: number;
  readonly policy: HealthPolicy;
}

/** What one sample says about a node, before hysteresis. */
export interface Assessment {
  readonly nodeId: string;
  readonly chain: string;
  readonly verdict: Verdict;
  /** Worst first; empty when healthy. */
  readonly reasons: readonly Reason[];
  /** `observedAt` of the judged sample; null when there was none. */
  readonly sampleAt: number | null;
  readonly lag: Lag | null;
  readonly assessedAt: number;
}

/**
 * Judge one node from its latest sample: unknown if there is no fresh sample; unhealthy if the
 * probe failed or the node is on the wrong chain, syncing, far behind, cut off from its network
 * or short of peers; degraded if usable but worse (a little behind, few peers, stalled, slow,
 * flaky); healthy otherwise. Every finding is a `Reason`; the verdict is the worst of them.
 */
export function assess(input: AssessInput): Assessment {
  const { node, chain, sample, reference, stats, now, policy } = input;
  // `found` is always a list made here for this assessment: sorted in place (stable), not copied.
  const result = (verdict: Verdict, found: Reason[], lag: Lag | null): Assessment => ({
    nodeId: node.id,
    chain: chain.name,
    verdict,
    reasons: found.length < 2 ? found : found.sort(worstFirst),
    sampleAt: sample?.observedAt ?? null,
    lag,
    assessedAt: now,
  });

  if (sample === null) return result('unknown', [reasons.noSample()], null);
  if (!isFresh(sample, node.intervalMs, now, policy))
    return result('unknown', [reasons.staleSample(sampleAgeMs(sample, now))], null);

  const found: Reason[] = [];
  const mismatch = chainMismatch(sample, chain);
  if (mismatch !== null) found.push(reasons.wrongChain(mismatch.actual, mismatch.expected));
  const failed = isFailedSample(sample);
  if (failed && mismatch === null) found.push(probeFailureReason(sample.error));
  // Fail closed: a node that does not prove its chain is not healthy, whatever else it says.
  if (!failed && mismatch === null) {
    const identity = chainIdentity(sample, chain);
    if (identity.status === 'unverified') found.push(reasons.chainUnverified(identity.why));
  }

  const lag = sampleLag(sample, node, chain, reference, now, policy);
  if (!failed && mismatch === null)
    for (const r of judgeReport(sample, chain, lag, stats, reference, now, policy)) found.push(r);
  for (const r of judgeHistory(sample, stats, policy)) found.push(r);

  const worst = worstSeverity(found);
  return result(worst, found, lag);
}

function worstFirst(a: Reason, b: Reason): number {
  return a.severity === b.severity ? 0 : a.severity === 'unhealthy' ? -1 : 1;
}

/**
 * How far a sample is behind the reference: null when it is stale, on another chain, or
 * either has no height. `evaluateNode` feeds the same value to `updateStats`.
 */
export function sampleLag(
  sample: Sample,
  node: NodeInfo,
  chain: ChainSpec,
  reference: ReferenceHead,
  now: number,
  policy: HealthPolicy,
): Lag | null {
  if (!isFresh(sample, node.intervalMs, now, policy) || chainMismatch(sample, chain) !== null) return null;
  return lagBehind(reference, sample, chain, node.intervalMs);
}

/** Findings from what a successful probe reported. */
function judgeReport(
  sample: Sample,
  chain: ChainSpec,
  lag: Lag | null,
  stats: NodeStats,
  reference: ReferenceHead,
  now: number,
  policy: HealthPolicy,
): Reason[] {
  const found: Reason[] = [];
  if (sample.height === undefined) found.push(reasons.heightUnknown());
  if (sample.networkActive === false) found.push(reasons.networkInactive());
  const sync = judgeSync(sample, chain, lag, now, policy);
  found.push(...sync);

  if (lag !== null) {
    if (lagReaches(lag.blocks, chain, policy.lagUnhealthyBlocks, policy.lagUnhealthyMs))
      found.push(reasons.lagging(lag.blocks, lag.ms, 'unhealthy'));
    else if (lagReaches(lag.blocks, chain, policy.lagDegradedBlocks, policy.lagDegradedMs))
      found.push(reasons.lagging(lag.blocks, lag.ms, 'degraded'));
  }

  // A head that has not moved for the stall window: degraded, never unhealthy by itself. When
  // no node of the chain advanced the chain itself halted, and that is what every node is told;
  // a node stuck while others advance also falls behind the reference and is caught as lagging.
  // The tip's own timestamp says it exactly; without one, how long nodesentry saw the same head.
  if (reference.basis === 'halted' && reference.height !== null) {
    found.push(reasons.chainHalted(reference.height, reference.haltedForMs ?? 0));
  } else if (sample.height !== undefined && !sync.some((r) => r.code === ReasonCode.Syncing)) {
    // (A syncing node's old tip is the syncing finding itself.)
    const window = stallWindowMs(chain, policy);
    const tipAge = tipAgeMs(sample, chain, sample.observedAt);
    const head = stats.head;
    if (tipAge !== null) {
      if (tipAge > window) found.push(reasons.stalled(sample.height, tipAge, tipAge));
    } else if (head !== null && sample.height === head.height) {
      const stillFor = sample.observedAt - head.since;
      if (stillFor >= window) found.push(reasons.stalled(head.height, stillFor));
    }
  }

  const peers = sample.peers;
  if (peers !== undefined) {
    const lowPeers = Math.max(chain.minPeers, Math.ceil(chain.targetPeers * policy.peersLowFraction));
    if (peers.total < chain.minPeers) found.push(reasons.peersBelowMin(peers.total, chain.minPeers));
    else if (peers.total < lowPeers) found.push(reasons.peersLow(peers.total, lowPeers));
    // Only inbound peers: the node cannot reach out, and its view of the chain is whatever
    // connected to it.
    if (peers.outbound === 0 && peers.total > 0) found.push(reasons.noOutboundPeers(peers.inbound ?? peers.total));
  }
  return found;
}

/**
 * Initial sync, from every hint the node gives: its own `syncing` flag, an EVM sync target
 * still far away, Bitcoin-family headers ahead of blocks, a tip older than `maxTipAgeMs`
 * (Bitcoin Core's own IBD rule; PAI has no `initialblockdownload`), and a low
 * `verificationprogress` -- the last only when the node is also behind the reference, because
 * forks with stale chain parameters report well under 1 at the tip.
 */
function judgeSync(sample: Sample, chain: ChainSpec, lag: Lag | null, now: number, policy: HealthPolicy): Reason[] {
  const details: string[] = [];
  const data: Record<string, number> = {};
  let flagged = sample.syncing === true;

  const txIndexLeft = sample.syncTarget?.txIndexRemainingBlocks;
  if (txIndexLeft !== undefined && sample.syncTarget !== undefined) {
    // geth 1.13+ says exactly what it is doing: blocks still to fetch, or only transactions
    // still to index at the head. No heuristic needed.
    const left = Math.max(0, sample.syncTarget.highestBlock - sample.syncTarget.currentBlock);
    if (left === 0) return txIndexLeft > 0 ? [reasons.txIndexing(txIndexLeft)] : [];
    flagged = true;
    details.push(`${left} blocks left`);
    data.blocksLeft = left;
  } else if (sample.syncing === true && sample.syncTarget !== undefined) {
    const left = Math.max(0, sample.syncTarget.highestBlock - sample.syncTarget.currentBlock);
    // geth keeps answering an object until transaction indexing is done, even at the head.
    if (!lagReaches(left, chain, policy.lagDegradedBlocks, policy.lagDegradedMs) && !behind(lag, chain, policy)) {
      return [reasons.syncingAtHead(left)];
    }
    details.push(`${left} blocks left`);
    data.blocksLeft = left;
  }
  if (sample.headers !== undefined && sample.height !== undefined) {
    const ahead = sample.headers - sample.height;
    if (lagReaches(ahead, chain, policy.lagUnhealthyBlocks, policy.lagUnhealthyMs)) {
      flagged = true;
      details.push(`${ahead} headers ahead`);
      data.headersAhead = ahead;
    }
  }
  if (sample.tipMedianTime !== undefined) {
    const tipAgeMs = now - sample.tipMedianTime * 1000;
    if (tipAgeMs > policy.maxTipAgeMs) {
      flagged = true;
      details.push(`tip ${formatDuration(tipAgeMs)} old`);
      data.tipAgeMs = tipAgeMs;
    }
  }
  if (
    sample.verificationProgress !== undefined &&
    sample.verificationProgress < policy.minVerificationProgress &&
    behind(lag, chain, policy)
  ) {
    flagged = true;
    details.push(`progress ${formatPercent(sample.verificationProgress)}`);
    data.verificationProgress = sample.verificationProgress;
  }
  return flagged ? [reasons.syncing(details, data)] : [];
}

function behind(lag: Lag | null, chain: ChainSpec, policy: HealthPolicy): boolean {
  return lag !== null && lagReaches(lag.blocks, chain, policy.lagDegradedBlocks, policy.lagDegradedMs);
}

/** Findings from the node's recent history: slow, flaky. */
function judgeHistory(sample: Sample, stats: NodeStats, policy: HealthPolicy): Reason[] {
  const found: Reason[] = [];
  // Slow only when the average AND this sample are slow: one slow answer is not a slow node,
  // and a node that has become fast again is not slow while its average catches up.
  const ewmaMs = stats.latencyEwmaMs;
  if (
    !isFailedSample(sample) &&
    ewmaMs !== null &&
    ewmaMs >= policy.latencySlowMs &&
    sample.latencyMs >= policy.latencySlowMs
  ) {
    found.push(reasons.slow(ewmaMs));
  }
  const rate = stats.errorRate;
  const n = stats.outcomes.length;
  if (rate !== null && n >= policy.errorRateMinSamples) {
    if (rate >= policy.errorRateUnhealthy) found.push(reasons.errorRate(rate, n, 'unhealthy'));
    else if (rate >= policy.errorRateDegraded) found.push(reasons.errorRate(rate, n, 'degraded'));
  }
  return found;
}
