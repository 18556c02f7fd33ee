// Hysteresis: a state changes only after enough samples agree.
import type { Assessment } from './assess.js';
import type { HealthPolicy } from './policy.js';
import { type Reason, ReasonCode, reasons } from './reasons.js';
import { type HealthState, type Verdict, isUsable, severityOf } from './states.js';

/** The state hysteresis tracks underneath maintenance. */
export type TrackedState = Verdict;

/** Runs of consecutive samples, by how good they were. */
export interface Consecutive {
  readonly healthy: number;
  /** healthy or degraded */
  readonly usable: number;
  /** degraded or unhealthy */
  readonly notHealthy: number;
  readonly unhealthy: number;
}

/** A state change the caller should log (once: it is returned, not stored). */
export interface Transition {
  readonly nodeId: string;
  readonly chain: string;
  /** null the first time nodesentry sees the node. */
  readonly from: HealthState | null;
  readonly to: HealthState;
  readonly at: number;
  readonly reasons: readonly Reason[];
}

/**
 * A node's persisted health: the confirmed state, when it began and why, plus what hysteresis
 * needs to decide the next one. Plain JSON, absent values are null.
 */
export interface NodeHealth {
  readonly nodeId: string;
  readonly chain: string;
  /** What nodesentry reports: `tracked`, or `maintenance` while drained. */
  readonly state: HealthState;
  /** When `state` began (epoch ms, the `now` of the evaluation that changed it). */
  readonly since: number;
  /**
   * Why the node is in `state`: for degraded / unhealthy, the reasons of the latest sample at
   * least that bad (so a recovering node still says what put it there), after `recovering(1/2)`
   * while good samples are being counted, or `failing(1/3): rpc_timeout` while bad ones are;
   * `stale_sample` / `no_sample` / `confirming(1/2)` for unknown; `drained` for maintenance;
   * none when healthy, but `failing(n/m): ...` while a healthy node's probes fail.
   */
  readonly reasons: readonly Reason[];
  readonly tracked: TrackedState;
  /** Start of the current unbroken run of `tracked` healthy-or-degraded (failback dwell). */
  readonly usableSince: number | null;
  /**
   * When the node was first seen on another chain since it was last usable; null once it is
   * usable again. Such a node is never a last resort (fail-open), even between bad samples.
   */
  readonly wrongChainSince: number | null;
  /** The latest assessment, confirmed or not. */
  readonly latest: Assessment | null;
  /** A change under way but not yet confirmed: `count` of `needed` samples seen. */
  readonly pending: { readonly toward: Verdict; readonly count: number; readonly needed: number } | null;
  readonly consecutive: Consecutive;
  /** Latest reasons of a sample at least degraded / at least unhealthy (see `reasons`). */
  readonly held: { readonly degraded: readonly Reason[]; readonly unhealthy: readonly Reason[] };
  /** `observedAt` of the last sample counted: the same sample is never counted twice. */
  readonly lastSampleAt: number | null;
  readonly evaluatedAt: number;
}

export interface AdvanceInput {
  readonly assessment: Assessment;
  /** Drained by an operator: the node reports maintenance whatever its samples say. */
  readonly drained: boolean;
  readonly now: number;
  readonly policy: HealthPolicy;
}

export interface AdvanceResult {
  readonly health: NodeHealth;
  /** Set only by the evaluation that changed `state`. */
  readonly transition: Transition | null;
}

const ZERO: Consecutive = { healthy: 0, usable: 0, notHealthy: 0, unhealthy: 0 };

/** A node nodesentry has not judged yet: unknown. */
export function initialHealth(nodeId: string, chain: string, now: number): NodeHealth {
  return {
    nodeId,
    chain,
    state: 'unknown',
    since: now,
    reasons: [reasons.noSample()],
    tracked: 'unknown',
    usableSince: null,
    wrongChainSince: null,
    latest: null,
    pending: null,
    consecutive: ZERO,
    held: { degraded: [], unhealthy: [] },
    lastSampleAt: null,
    evaluatedAt: now,
  };
}

/**
 * Fold one assessment into a node's health, HAProxy-style:
 *
 * - worse: after `failAfter` consecutive samples all at least that bad (a mix of degraded and
 *   unhealthy samples confirms degraded);
 * - better: after `riseAfter` consecutive samples all at least that good;
 * - one blip (with failAfter >= 2) never moves it;
 * - no fresh sample: unknown at once, counters cleared (the staleness window is the grace);
 * - from unknown (a new node, or after staleness): the first unhealthy sample is believed at
 *   once (nothing was being served, so nothing flaps) but usable needs `riseAfter` good
 *   samples: no traffic on the strength of one answer;
 * - drained: maintenance, whatever the samples; they are still tracked, so an undrained node
 *   resumes its true state at once.
 *
 * Counts samples, not evaluations: re-evaluating the same sample changes nothing but time.
 */
export function advanceHealth(prev: NodeHealth | null, input: AdvanceInput): AdvanceResult {
  const { assessment: a, drained, now, policy } = input;
  const base = prev ?? initialHealth(a.nodeId, a.chain, now);

  let tracked = base.tracked;
  let consecutive = base.consecutive;
  let held = base.held;
  let lastSampleAt = base.lastSampleAt;
  let sawWrongChain = false;

  if (a.verdict === 'unknown') {
    tracked = 'unknown';
    consecutive = ZERO;
    held = { degraded: [], unhealthy: [] };
  } else if (a.sampleAt !== null && (lastSampleAt === null || a.sampleAt > lastSampleAt)) {
    const v = a.verdict;
    consecutive = {
      healthy: v === 'healthy' ? consecutive.healthy + 1 : 0,
      usable: v !== 'unhealthy' ? consecutive.usable + 1 : 0,
      notHealthy: v !== 'healthy' ? consecutive.notHealthy + 1 : 0,
      unhealthy: v === 'unhealthy' ? consecutive.unhealthy + 1 : 0,
    };
    if (v !== 'healthy') held = { degraded: a.reasons, unhealthy: v === 'unhealthy' ? a.reasons : held.unhealthy };
    tracked = nextTracked(tracked, consecutive, policy);
    lastSampleAt = a.sampleAt;
    sawWrongChain = a.reasons.some((r) => r.code === ReasonCode.WrongChain);
  }

  const usableSince = isUsable(tracked)
    ? isUsable(base.tracked) && base.usableSince !== null
      ? base.usableSince
      : now
    : null;
  const wrongChainSince = isUsable(tracked)
    ? null
    : sawWrongChain
      ? (base.wrongChainSince ?? now)
      : base.wrongChainSince;
  const state: HealthState = drained ? 'maintenance' : tracked;
  const stateReasons = drained ? [reasons.drained()] : trackedReasons(tracked, a, consecutive, held, policy);
  const changed = prev === null || prev.state !== state;

  const health: NodeHealth = {
    nodeId: base.nodeId,
    chain: base.chain,
    state,
    since: changed ? now : base.since,
    reasons: stateReasons,
    tracked,
    usableSince,
    wrongChainSince,
    latest: a,
    pending: pendingChange(tracked, a.verdict, consecutive, policy),
    consecutive,
    held,
    lastSampleAt,
    evaluatedAt: now,
  };
  const transition: Transition | null = changed
    ? { nodeId: base.nodeId, chain: base.chain, from: prev?.state ?? null, to: state, at: now, reasons: stateReasons }
    : null;
  return { health, transition };
}

function nextTracked(current: TrackedState, c: Consecutive, policy: HealthPolicy): TrackedState {
  const { failAfter, riseAfter } = policy;
  switch (current) {
    case 'unknown':
      if (c.unhealthy >= 1) return 'unhealthy';
      if (c.healthy >= riseAfter) return 'healthy';
      if (c.usable >= riseAfter) return 'degraded';
      return 'unknown';
    case 'healthy':
      if (c.unhealthy >= failAfter) return 'unhealthy';
      if (c.notHealthy >= failAfter) return 'degraded';
      return 'healthy';
    case 'degraded':
      if (c.unhealthy >= failAfter) return 'unhealthy';
      if (c.healthy >= riseAfter) return 'healthy';
      return 'degraded';
    case 'unhealthy':
      if (c.healthy >= riseAfter) return 'healthy';
      if (c.usable >= riseAfter) return 'degraded';
      return 'unhealthy';
  }
}

function trackedReasons(
  tracked: TrackedState,
  a: Assessment,
  c: Consecutive,
  held: NodeHealth['held'],
  policy: HealthPolicy,
): readonly Reason[] {
  // Between two confirmed states the node says what is happening (failing / recovering), so
  // the first refused probe of a healthy node is visible at once, not after `failAfter` probes.
  const pending = pendingChange(tracked, a.verdict, c, policy);
  switch (tracked) {
    case 'healthy':
      return pending === null || pending.toward === 'healthy' || pending.toward === 'unknown'
        ? []
        : [failing(pending, a)];
    case 'degraded':
      // (held.degraded already holds this sample's reasons: the failing reason names them.)
      if (pending?.toward === 'unhealthy') return [failing(pending, a)];
      if (pending?.toward === 'healthy') return [reasons.recovering(pending.count, pending.needed), ...held.degraded];
      return held.degraded;
    case 'unhealthy':
      return pending !== null && pending.toward !== 'unknown'
        ? [reasons.recovering(pending.count, pending.needed), ...held.unhealthy]
        : held.unhealthy;
    case 'unknown':
      return a.verdict === 'unknown' ? a.reasons : [reasons.confirming(c.usable, policy.riseAfter)];
  }
}

function failing(pending: NonNullable<NodeHealth['pending']>, a: Assessment): Reason {
  const toward = pending.toward === 'degraded' ? 'degraded' : 'unhealthy';
  return reasons.failing(pending.count, pending.needed, toward, a.reasons);
}

function pendingChange(
  tracked: TrackedState,
  observed: Verdict,
  c: Consecutive,
  policy: HealthPolicy,
): NodeHealth['pending'] {
  if (observed === 'unknown' || observed === tracked) return null;
  if (tracked === 'unknown') return { toward: observed, count: c.usable, needed: policy.riseAfter };
  if (severityOf(observed) > severityOf(tracked)) {
    return { toward: observed, count: observed === 'unhealthy' ? c.unhealthy : c.notHealthy, needed: policy.failAfter };
  }
  return { toward: observed, count: observed === 'healthy' ? c.healthy : c.usable, needed: policy.riseAfter };
}
