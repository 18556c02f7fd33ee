// The choice of a chain's best node: tiers, stickiness and damped failover and failback.
import type { HealthPolicy } from './policy.js';
import type { RankedNode } from './ranking.js';
import { ReasonCode } from './reasons.js';
import { STATE_CLASS } from './states.js';

/**
 * How the choice was made:
 * - `normal`: a usable node, or none if the chain has no nodes to offer;
 * - `fail-open`: no node is usable and the policy fails open: the least bad node, flagged;
 * - `fail-closed`: no node is usable and the policy fails closed: no endpoint.
 */
export type SelectionMode = 'normal' | 'fail-open' | 'fail-closed';

/** Why the choice is what it is (stable codes). */
export type SelectionReason =
  /** no previous choice */
  | 'initial'
  /** the previous choice still stands: nothing clearly better, or not held long enough */
  | 'kept'
  /** the previous choice can no longer serve (unusable, drained, gone) */
  | 'current_unusable'
  /** another node of the same tier is clearly better (state class, or score by the margin) */
  | 'better_candidate'
  /** a node of a preferred tier has been usable for the failback dwell */
  | 'failback'
  /** no node is usable */
  | 'all_unhealthy'
  /** nothing to choose from (no nodes, or all drained / on a wrong chain) */
  | 'no_candidates'
  /** start-up: better-tier nodes have not had their first samples yet (bounded by `startupWaitMs`) */
  | 'awaiting_first_samples';

/** The endpoint choice for one chain. Plain JSON; persisted and fed back as `prev`. */
export interface Selection {
  readonly chain: string;
  readonly nodeId: string | null;
  readonly tier: number | null;
  readonly mode: SelectionMode;
  /** True when the chosen node is not usable (fail-open): clients should know. */
  readonly degradedChoice: boolean;
  readonly reason: SelectionReason;
  /** When `nodeId` became the choice. */
  readonly since: number;
  /** The chosen node first, then the next best in tier order: for clients that fail over themselves. */
  readonly top: readonly string[];
  /** A preferred-tier node waiting out the failback dwell, if any. */
  readonly pendingFailback: { readonly nodeId: string; readonly tier: number; readonly readyAt: number } | null;
  /**
   * Start-up: until when the first choice may wait for better-tier nodes' first samples; null
   * once the chain's start-up is over (absent in selections written before this existed).
   */
  readonly startupUntil?: number | null;
  /**
   * The choice was made before every better-tier node had been judged once (the start-up wait
   * ran out): it is not held by the failback dwell, and stops being preliminary once they have.
   */
  readonly preliminary?: boolean;
  readonly evaluatedAt: number;
}

/** A change of choice or mode the caller should log (once: it is returned, not stored). */
export interface SelectionChange {
  readonly chain: string;
  readonly from: string | null;
  readonly to: string | null;
  readonly fromMode: SelectionMode | null;
  readonly mode: SelectionMode;
  readonly reason: SelectionReason;
  readonly at: number;
}

export interface SelectionResult {
  readonly selection: Selection;
  readonly change: SelectionChange | null;
}

/**
 * The next endpoint choice for a chain, from the previous one and the current ranking.
 *
 * 1. Only the lowest tier with a usable node serves (backups only while no primary is usable).
 *    While a backup serves and still works, a recovered better-tier node must first stay usable
 *    for `failbackDwellMs`; if the backup fails, the recovered node takes over at once.
 * 2. Within the tier the current choice is sticky: it is replaced only by a node of a better
 *    state class or a score higher by `switchMargin`, and only after `minDwellMs`.
 * 3. No usable node: `fail-closed` gives no endpoint; `fail-open` gives the least bad node
 *    (never a drained one or one on another chain), with `degradedChoice` set, sticky as above.
 */
export function nextSelection(
  prev: Selection | null,
  ranking: readonly RankedNode[],
  chain: string,
  now: number,
  policy: HealthPolicy,
): SelectionResult {
  const current = prev?.nodeId == null ? undefined : ranking.find((r) => r.nodeId === prev.nodeId);
  // Start-up (see `startupWaitMs`): the phase opens with the chain's first evaluation and
  // closes once no better-tier node awaits its first samples, or at the deadline.
  const startupUntil = prev === null ? now + policy.startupWaitMs : (prev.startupUntil ?? null);
  const unseen = awaitingFirstSamples(ranking);
  const inStartup = startupUntil !== null && unseen && now < startupUntil;
  // Only a usable candidate can be chosen too early; with none, the choice is "none" (or a
  // flagged last resort) anyway.
  if (inStartup && (prev?.nodeId ?? null) === null && ranking.some((r) => r.usable))
    return waitForFirstSamples(prev, chain, now, startupUntil);
  const preliminary = unseen && (prev === null || prev.nodeId === null || prev.preliminary === true);

  const pick = ranking.some((r) => r.usable)
    ? pickUsable(prev, current, ranking, now, policy)
    : policy.whenAllUnhealthy === 'fail-open'
      ? pickLastResort(prev, current, ranking, now, policy)
      : failClosed(ranking);

  const { mode, choice } = pick;
  const nodeId = choice?.nodeId ?? null;
  const unchanged = prev !== null && prev.nodeId === nodeId && prev.mode === mode;
  const selection: Selection = {
    chain,
    nodeId,
    tier: choice?.tier ?? null,
    mode,
    degradedChoice: choice !== undefined && !choice.usable,
    reason: unchanged && nodeId !== null ? 'kept' : pick.reason,
    since: prev !== null && prev.nodeId === nodeId ? prev.since : now,
    top: pick.top.slice(0, policy.topN).map((r) => r.nodeId),
    pendingFailback: pick.pendingFailback,
    startupUntil: inStartup ? startupUntil : null,
    preliminary: nodeId !== null && preliminary,
    evaluatedAt: now,
  };
  const change: SelectionChange | null = unchanged
    ? null
    : {
        chain,
        from: prev?.nodeId ?? null,
        to: nodeId,
        fromMode: prev?.mode ?? null,
        mode,
        reason: selection.reason,
        at: now,
      };
  return { selection, change };
}

/**
 * Some node of a better tier than every usable one has not had its first samples judged yet
 * (`no_sample`, or `confirming` its first good ones): choosing now would pick whoever answered
 * first, not whoever is best.
 */
function awaitingFirstSamples(ranking: readonly RankedNode[]): boolean {
  let bestUsableTier = Infinity;
  for (const r of ranking) if (r.usable && r.tier < bestUsableTier) bestUsableTier = r.tier;
  return ranking.some(
    (r) =>
      r.tier < bestUsableTier &&
      r.state === 'unknown' &&
      (r.reasons[0]?.code === ReasonCode.NoSample || r.reasons[0]?.code === ReasonCode.Confirming),
  );
}

function waitForFirstSamples(
  prev: Selection | null,
  chain: string,
  now: number,
  startupUntil: number,
): SelectionResult {
  const selection: Selection = {
    chain,
    nodeId: null,
    tier: null,
    mode: 'normal',
    degradedChoice: false,
    reason: 'awaiting_first_samples',
    since: prev?.since ?? now,
    top: [],
    pendingFailback: null,
    startupUntil,
    preliminary: false,
    evaluatedAt: now,
  };
  const change: SelectionChange | null =
    prev === null
      ? { chain, from: null, to: null, fromMode: null, mode: 'normal', reason: 'awaiting_first_samples', at: now }
      : null;
  return { selection, change };
}

interface Pick {
  readonly mode: SelectionMode;
  readonly choice: RankedNode | undefined;
  readonly reason: SelectionReason;
  readonly top: readonly RankedNode[];
  readonly pendingFailback: Selection['pendingFailback'];
}

function pickUsable(
  prev: Selection | null,
  current: RankedNode | undefined,
  ranking: readonly RankedNode[],
  now: number,
  policy: HealthPolicy,
): Pick {
  const serving = current?.usable === true ? current : undefined;
  // While the current choice works, a node of a better tier must first stay usable for the
  // dwell, unless the choice was made before that node was ever judged (start-up).
  const ready = (r: RankedNode): boolean =>
    serving === undefined ||
    r.tier >= serving.tier ||
    prev?.preliminary === true ||
    (r.usableSince !== null && now - r.usableSince >= policy.failbackDwellMs);
  // Passes over the ranking, no array of the usable nodes made or sorted: a worker ranks every
  // chain of the fleet each second (issue #16), and only the first `topN` are published. A loop,
  // not Math.min(...tiers): spread into a call, a chain of ~125,000 usable nodes exceeded V8's
  // argument limit (RangeError) and no selection was made for it again.
  let activeTier = Number.POSITIVE_INFINITY;
  for (const r of ranking) if (r.usable && r.tier < activeTier && ready(r)) activeTier = r.tier;
  // Some usable node is ready (the serving one, or without one every usable node): `best` is found.
  let best = ranking[0]!;
  for (const r of ranking)
    if (r.usable && r.tier === activeTier && ready(r)) {
      best = r;
      break;
    }

  let choice: RankedNode;
  let reason: SelectionReason;
  if (serving === undefined || prev === null) {
    choice = best;
    reason = prev?.nodeId == null ? 'initial' : 'current_unusable';
  } else if (serving.tier > activeTier) {
    choice = best;
    reason = 'failback';
  } else {
    ({ choice, reason } = sticky(prev, serving, best, now, policy));
  }

  const waiting = ranking.find((r) => r.usable && r.tier < choice.tier && !ready(r));
  const pendingFailback =
    waiting?.usableSince == null
      ? null
      : { nodeId: waiting.nodeId, tier: waiting.tier, readyAt: waiting.usableSince + policy.failbackDwellMs };
  // Backups after primaries: a client walking the list honours the tiers too (by tier, then in
  // ranking order: what a stable sort of the usable nodes by tier gives, cut to the list's length).
  return { mode: 'normal', choice, reason, top: firstByTier(ranking, choice, policy.topN), pendingFailback };
}

/** `choice`, then the first `n - 1` other usable nodes of `ranking` by tier, ties in ranking order. */
function firstByTier(ranking: readonly RankedNode[], choice: RankedNode, n: number): RankedNode[] {
  const rest: RankedNode[] = [];
  const keep = n - 1;
  if (keep > 0)
    for (const r of ranking) {
      if (!r.usable || r === choice) continue;
      if (rest.length === keep && r.tier >= rest[keep - 1]!.tier) continue;
      let j = rest.length;
      while (j > 0 && rest[j - 1]!.tier > r.tier) j--;
      rest.splice(j, 0, r);
      if (rest.length > keep) rest.pop();
    }
  return [choice, ...rest];
}

function pickLastResort(
  prev: Selection | null,
  current: RankedNode | undefined,
  ranking: readonly RankedNode[],
  now: number,
  policy: HealthPolicy,
): Pick {
  const candidates = ranking.filter((r) => r.lastResort);
  const best = candidates[0];
  if (best === undefined)
    return { mode: 'fail-open', choice: undefined, reason: 'no_candidates', top: [], pendingFailback: null };
  const { choice, reason } =
    prev !== null && current?.lastResort === true
      ? sticky(prev, current, best, now, policy)
      : { choice: best, reason: 'all_unhealthy' as const };
  return {
    mode: 'fail-open',
    choice,
    reason: reason === 'kept' ? 'all_unhealthy' : reason,
    top: [choice, ...candidates.filter((r) => r !== choice)],
    pendingFailback: null,
  };
}

function failClosed(ranking: readonly RankedNode[]): Pick {
  const reason: SelectionReason = ranking.some((r) => r.lastResort) ? 'all_unhealthy' : 'no_candidates';
  return { mode: 'fail-closed', choice: undefined, reason, top: [], pendingFailback: null };
}

function sticky(
  prev: Selection,
  current: RankedNode,
  best: RankedNode,
  now: number,
  policy: HealthPolicy,
): { choice: RankedNode; reason: SelectionReason } {
  if (best === current || now - prev.since < policy.minDwellMs) return { choice: current, reason: 'kept' };
  const betterClass = STATE_CLASS[best.state] < STATE_CLASS[current.state];
  const sameClass = STATE_CLASS[best.state] === STATE_CLASS[current.state];
  // Scores are rounded to 1e-4; the epsilon keeps an exact margin from losing to float noise.
  const betterScore = sameClass && best.score.total - current.score.total >= policy.switchMargin - 1e-9;
  return betterClass || betterScore
    ? { choice: best, reason: 'better_candidate' }
    : { choice: current, reason: 'kept' };
}
