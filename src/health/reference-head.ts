// The chain's reference head: the height the nodes corroborate, and each node's lag behind it.
import type { ChainSpec } from '../chains/chain-spec.js';
import type { Sample } from '../chains/sample.js';
import { chainIdentity } from './chain-identity.js';
import { staleAfterMs } from './freshness.js';
import type { HealthPolicy } from './policy.js';
import { isFailedSample } from './probe-failure.js';
import { type Reason, ReasonCode } from './reasons.js';

/** One node's latest sample, offered as evidence of where the chain's head is (the caller groups by chain). */
/** What the head rules read of a node's stats (a NodeStats has them; stats.ts imports this module, not the reverse). */
export interface HeadStats {
  /** The node's own head and when it was first seen there, for the stall rule. */
  readonly head: { readonly height: number; readonly since: number } | null;
  readonly advancedAt: number | null;
  /** The latest probes' outcomes, oldest first, true = failed (NodeStats): how many failed in a row. */
  readonly outcomes?: readonly boolean[];
  /** While its probes fail: what its last answer said of the head, if that answer had a vote (NodeStats). */
  readonly lastAnswer?: HeadAnswer | null;
}

/** What an answer said of the chain's head: the fields a vote reads of a sample. */
export interface HeadAnswer {
  readonly observedAt: number;
  readonly height: number;
  readonly tipTime: number | null;
  readonly tipMedianTime: number | null;
}

/** What the vote reads of a node's latest assessment (an Assessment has it; assess.ts imports this module). */
export interface JudgedReasons {
  readonly reasons: readonly Reason[];
}

export interface HeadCandidate {
  readonly sample: Sample;
  readonly intervalMs: number;
  /**
   * The node's stats as its record holds them (`head`, `advancedAt`; while its probes fail,
   * `outcomes` and `lastAnswer`, see keptAnswer); absent for a node never judged.
   */
  readonly stats?: HeadStats | null;
  /** The node's latest assessment: a node the judge finds unhealthy for its own reasons gets no vote. */
  readonly latest?: JudgedReasons | null;
}

/**
 * What the head is based on: nodes seen advancing (`advancing`); before any node could be seen
 * advancing, every eligible node (`unproven`: the first samples after start-up without tip
 * timestamps); the freshest of the frozen heads when no node advanced for the stall window
 * (`halted`); nothing (`none`).
 */
export type HeadBasis = 'advancing' | 'unproven' | 'halted' | 'none';

/** Node ids listed as the head's voters, at most. */
export const MAX_LISTED_VOTERS = 16;

/**
 * The corroborated head of one chain at `atMs`, built only from evidence that deserves a vote:
 * fresh, successful samples of nodes proven to be on the chain, not syncing, not found unhealthy
 * for their own reasons, and not stalled (tip older than the stall window, or no new block seen
 * for that long). Of those, nodes seen advancing (a recent tip timestamp, or a height that grew)
 * vote; the rest vote only while no node could be seen advancing yet.
 *
 * Among the voters the head is the highest height a strict majority has reached, so one node
 * ahead of the rest (a bad fork, a lucky poll) can never raise it (erpc PR #998):
 * 1 voter: its own head; 2 voters: the lower one (neither can condemn the other); 3+: the median
 * (the lower middle for even counts). A majority that is stuck does not outvote one node that
 * advances: stuck nodes do not vote.
 *
 * Advancing voters' heights are projected to `atMs` with the chain's block time, by at most one
 * poll interval, so a node polled 5 s earlier on a 0.75 s chain is not 6 blocks "behind"; a
 * node not seen advancing is never projected.
 *
 * When every eligible node is stalled the chain has halted (`halted`): the head is the height
 * of the nodes with the newest tip, and every node is told so (`chain_halted`) instead of being
 * called healthy.
 */
export interface ReferenceHead {
  readonly chain: string;
  /** Projected to `atMs`; null when no fresh node reports a head. */
  readonly height: number | null;
  readonly atMs: number;
  /** Voters: the samples the height was chosen from. */
  readonly contributors: number;
  /** How many of them must have reached `height`: floor(contributors / 2) + 1. */
  readonly quorum: number;
  /** The single highest head among eligible samples (stalled ones included), for context; never used to judge lag. */
  readonly highest: number | null;
  readonly basis: HeadBasis;
  /** The voters' lowest head and the spread between their highest and lowest, blocks. */
  readonly lowest: number | null;
  readonly spread: number | null;
  /** Fresh samples considered at all (with a head, on the chain, not syncing, not unhealthy). */
  readonly eligible: number;
  /** Eligible but stalled: no vote. */
  readonly stalled: number;
  /** Fresh samples left out: failed, on another or an unproven chain, syncing, unhealthy. */
  readonly excluded: number;
  /** Ids of the voters, highest head first, at most `MAX_LISTED_VOTERS`. */
  readonly voters: readonly string[];
  /** `halted`: how long no node has advanced, ms; null otherwise. */
  readonly haltedForMs: number | null;
}

/** How far a node is behind the reference head. */
export interface Lag {
  readonly blocks: number;
  /** `blocks` x the chain's block time. */
  readonly ms: number;
  readonly referenceHeight: number;
}

/** A head when there is no evidence at all. */
export function emptyReference(chain: string, atMs: number): ReferenceHead {
  return {
    chain,
    height: null,
    atMs,
    contributors: 0,
    quorum: 0,
    highest: null,
    basis: 'none',
    lowest: null,
    spread: null,
    eligible: 0,
    stalled: 0,
    excluded: 0,
    voters: [],
    haltedForMs: null,
  };
}

/** How long a head may stand still before it counts as stalled: stallAfterBlocks block times, at least stallMinMs. */
export function stallWindowMs(chain: ChainSpec, policy: HealthPolicy): number {
  return Math.max(policy.stallMinMs, policy.stallAfterBlocks * chain.blockTimeMs);
}

/**
 * Age of a sample's tip at `now`, ms, where the node reports it: from the tip's own timestamp
 * (whole seconds, so the block is at least `now - (time + 1 s)` old: the lower bound is taken,
 * and a fresh block is never called old for the rounding); from the Bitcoin-family median time
 * past less six block times (the median of the last 11 blocks is about six blocks old) where
 * only that is known; null otherwise. A tip from the future (clock skew) is age 0.
 */
export function tipAgeMs(sample: Sample, chain: ChainSpec, now: number): number | null {
  return tipAge(sample.tipTime, sample.tipMedianTime, chain.blockTimeMs, now);
}

/** `tipAgeMs` from the sample's two tip fields (undefined: not reported). */
function tipAge(
  tipTime: number | undefined,
  tipMedianTime: number | undefined,
  blockTimeMs: number,
  now: number,
): number | null {
  if (tipTime !== undefined) return Math.max(0, now - (tipTime + 1) * 1000);
  if (tipMedianTime !== undefined) return Math.max(0, now - tipMedianTime * 1000 - 6 * blockTimeMs);
  return null;
}

/** Whether a node's head moves, from its tip's age where known, else from what nodesentry saw of its heights. */
export type Progress = 'advancing' | 'stalled' | 'unknown';

export function headProgress(
  sample: Sample,
  stats: HeadStats | null | undefined,
  chain: ChainSpec,
  now: number,
  policy: HealthPolicy,
): { progress: Progress; at: number | null } {
  const out = { at: null as number | null };
  const head = stats?.head ?? null;
  const progress = progressInto(
    sample.tipTime,
    sample.tipMedianTime,
    sample.height,
    sample.observedAt,
    stats?.advancedAt ?? null,
    head === null ? null : head.height,
    head === null ? 0 : head.since,
    stallWindowMs(chain, policy),
    chain.blockTimeMs,
    now,
    out,
  );
  return { progress, at: out.at };
}

/**
 * `headProgress` on the plain fields it reads, without an allocation, for the head's votes
 * (HeadVotes keeps these numbers per node): the progress is returned and its `at` left in
 * `out.at`. `headHeight` null: no head seen yet (`headSince` then unused); `window` is
 * `stallWindowMs(chain, policy)`.
 */
export function progressInto(
  tipTime: number | undefined,
  tipMedianTime: number | undefined,
  height: number | undefined,
  observedAt: number,
  advancedAt: number | null,
  headHeight: number | null,
  headSince: number,
  window: number,
  blockTimeMs: number,
  now: number,
  out: { at: number | null },
): Progress {
  // A tip stamped more than a window in the future proves nothing (a skewed or lying clock would
  // otherwise look "advancing" forever): the heights seen decide instead.
  const futureTip = tipTime !== undefined && tipTime * 1000 - now > window;
  const age = futureTip ? null : tipAge(tipTime, tipMedianTime, blockTimeMs, now);
  if (age !== null) {
    out.at = now - age;
    return age <= window ? 'advancing' : 'stalled';
  }
  if (headHeight !== null && height !== undefined && height > headHeight) {
    out.at = observedAt;
    return 'advancing';
  }
  if (advancedAt !== null && now - advancedAt <= window && headHeight !== null && headHeight === height) {
    out.at = advancedAt;
    return 'advancing';
  }
  if (headHeight !== null && headHeight === height && now - headSince > window) {
    out.at = advancedAt ?? headSince;
    return 'stalled';
  }
  out.at = advancedAt;
  return 'unknown';
}

export function projectedHeight(
  height: number,
  observedAt: number,
  atMs: number,
  blockTimeMs: number,
  maxMs = Number.POSITIVE_INFINITY,
): number {
  return Math.floor(height + Math.min(maxMs, Math.max(0, atMs - observedAt)) / blockTimeMs);
}

/** Reasons found in a node's own answers (not in how it compares to the head): they cost it its vote. */
const OWN_REASONS: ReadonlySet<string> = new Set([
  ReasonCode.NetworkInactive,
  ReasonCode.PeersBelowMin,
  ReasonCode.ChainUnverified,
  ReasonCode.WrongChain,
  ReasonCode.HeightUnknown,
  ReasonCode.ErrorRate,
]);

export function judgedUnhealthy(latest: JudgedReasons | null | undefined): boolean {
  const found = latest?.reasons;
  if (found === undefined) return false;
  for (const r of found) if (r.severity === 'unhealthy' && OWN_REASONS.has(r.code)) return true;
  return false;
}

/**
 * Whether a fresh sample is left out of the head's evidence: failed, without a height, syncing,
 * not proven on the chain, or its node judged unhealthy for its own reasons. Depends on the
 * sample and the assessment only, not on the time (HeadVotes keeps it per node).
 */
export function excludedFromHead(sample: Sample, chain: ChainSpec, latest: JudgedReasons | null | undefined): boolean {
  return (
    isFailedSample(sample) ||
    sample.height === undefined ||
    !Number.isFinite(sample.height) ||
    sample.syncing === true ||
    chainIdentity(sample, chain).status !== 'verified' ||
    judgedUnhealthy(latest)
  );
}

/** `sample`'s answer as the head reads it, or null when it has no vote (see excludedFromHead). */
export function headAnswerOf(
  sample: Sample,
  chain: ChainSpec,
  latest: JudgedReasons | null | undefined,
): HeadAnswer | null {
  if (excludedFromHead(sample, chain, latest)) return null;
  return {
    observedAt: sample.observedAt,
    height: sample.height!,
    tipTime: sample.tipTime ?? null,
    tipMedianTime: sample.tipMedianTime ?? null,
  };
}

/**
 * The answer a node whose latest probe failed (`sample`, counted in `stats`) still votes with:
 * its last answer, while the failures in a row are fewer than `failAfter` (the count at which
 * hysteresis calls the node down); the head still takes it only while it is fresh and while the
 * node is not judged unhealthy for its own reasons. Null otherwise. A single timeout of the only
 * advancing node handed the head to whoever was left, a stuck majority's height with `basis:
 * halted` and `chain_halted` for every node, for one probe interval (seen under a busy core in
 * the dev-chain timeline test). Read from the record alone (NodeStats.lastAnswer), so every
 * replica, and one restarted, votes alike.
 */
export function keptAnswer(
  sample: Sample,
  stats: HeadStats | null | undefined,
  policy: HealthPolicy,
): HeadAnswer | null {
  if (!isFailedSample(sample)) return null;
  const answer = stats?.lastAnswer ?? null;
  const outcomes = stats?.outcomes;
  if (answer === null || outcomes === undefined) return null;
  let run = 0;
  for (let i = outcomes.length - 1; i >= 0 && outcomes[i] === true; i--) run++;
  return run < policy.failAfter ? answer : null;
}

interface Vote {
  readonly id: string;
  readonly height: number;
  readonly progress: Progress;
  /** When its head was produced or first seen advancing; null when unknown. */
  readonly at: number | null;
}

export function referenceHead(
  candidates: readonly HeadCandidate[],
  chain: ChainSpec,
  now: number,
  policy: HealthPolicy,
): ReferenceHead {
  const eligible: Vote[] = [];
  let excluded = 0;
  const window = stallWindowMs(chain, policy);
  for (const { sample, intervalMs, stats, latest } of candidates) {
    // A failed probe short of an outage votes with the node's last answer (keptAnswer); its
    // stats' head and advancedAt are that answer's (a failed sample changes neither).
    const kept = keptAnswer(sample, stats, policy);
    const seen = kept ?? sample;
    // isFresh, on the answer that votes (as HeadVotes.head does).
    if (!(Math.max(0, now - seen.observedAt) <= staleAfterMs(intervalMs, policy))) continue;
    if (kept !== null ? judgedUnhealthy(latest) : excludedFromHead(sample, chain, latest)) {
      excluded++;
      continue;
    }
    const own = seen.height!;
    const out = { at: null as number | null };
    const head = stats?.head ?? null;
    const progress = progressInto(
      seen.tipTime ?? undefined,
      seen.tipMedianTime ?? undefined,
      own,
      seen.observedAt,
      stats?.advancedAt ?? null,
      head === null ? null : head.height,
      head === null ? 0 : head.since,
      window,
      chain.blockTimeMs,
      now,
      out,
    );
    const height =
      progress === 'advancing' ? projectedHeight(own, seen.observedAt, now, chain.blockTimeMs, intervalMs) : own;
    eligible.push({ id: sample.nodeId, height, progress, at: out.at });
  }
  let highest: number | null = null;
  for (const v of eligible) if (highest === null || v.height > highest) highest = v.height;
  const base = { chain: chain.name, atMs: now, eligible: eligible.length, excluded, highest };
  if (eligible.length === 0) return { ...emptyReference(chain.name, now), ...base };

  const advancing = eligible.filter((v) => v.progress === 'advancing');
  const stalled = eligible.filter((v) => v.progress === 'stalled');
  let voters: Vote[];
  let basis: HeadBasis;
  let haltedForMs: number | null = null;
  if (advancing.length > 0) {
    voters = advancing;
    basis = 'advancing';
  } else if (stalled.length < eligible.length) {
    voters = eligible.filter((v) => v.progress === 'unknown');
    basis = 'unproven';
  } else {
    // Every head is frozen: the chain's last head is that of the nodes that moved last.
    let newest = Number.NEGATIVE_INFINITY;
    for (const v of stalled) if (v.at !== null && v.at > newest) newest = v.at;
    voters = Number.isFinite(newest)
      ? stalled.filter((v) => v.at !== null && v.at >= newest - chain.blockTimeMs)
      : stalled;
    basis = 'halted';
    haltedForMs = Number.isFinite(newest) ? Math.max(0, now - newest) : null;
  }
  voters.sort((a, b) => b.height - a.height || (a.id < b.id ? -1 : 1));
  const quorum = Math.floor(voters.length / 2) + 1;
  const lowest = voters[voters.length - 1]!.height;
  return {
    ...base,
    height: voters[quorum - 1]!.height,
    contributors: voters.length,
    quorum,
    basis,
    lowest,
    spread: voters[0]!.height - lowest,
    stalled: stalled.length,
    voters: voters.slice(0, MAX_LISTED_VOTERS).map((v) => v.id),
    haltedForMs,
  };
}

/**
 * Lag of one sample behind the reference; null when either has no height. Never negative. The
 * node's own height is projected to the reference's moment by at most `maxProjectMs` (one poll
 * interval), as the voters' are.
 */
export function lagBehind(
  reference: ReferenceHead,
  sample: Sample,
  chain: ChainSpec,
  maxProjectMs = Number.POSITIVE_INFINITY,
): Lag | null {
  if (reference.height === null || sample.height === undefined || !Number.isFinite(sample.height)) return null;
  const own = projectedHeight(sample.height, sample.observedAt, reference.atMs, chain.blockTimeMs, maxProjectMs);
  const blocks = Math.max(0, reference.height - own);
  return { blocks, ms: blocks * chain.blockTimeMs, referenceHeight: reference.height };
}
