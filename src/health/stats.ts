// NodeStats: a node's recent history, updated once per new sample.
import type { ChainSpec } from '../chains/chain-spec.js';
import type { Sample } from '../chains/sample.js';
import { lagGrade, latencyGrade, peersGrade } from './grades.js';
import type { HealthPolicy } from './policy.js';
import { isFailedSample } from './probe-failure.js';
import type { HeadAnswer, Lag } from './reference-head.js';

/**
 * A node's recent history, updated once per new sample (re-feeding the same sample changes
 * nothing). Plain JSON: absent values are `null`, never `undefined`.
 */
export interface NodeStats {
  readonly nodeId: string;
  /** Samples counted so far. */
  readonly samples: number;
  /** `observedAt` of the last counted sample: how re-evaluation is told from a new sample. */
  readonly lastSampleAt: number | null;
  /** Outcomes of the last `errorWindowSamples` samples, oldest first; true = the probe failed. */
  readonly outcomes: readonly boolean[];
  /** Failed share of `outcomes`; null before the first sample. */
  readonly errorRate: number | null;
  /** EWMA of the latency of successful probes (failed ones would flatter a refused connection). */
  readonly latencyEwmaMs: number | null;
  readonly lastLatencyMs: number | null;
  /** EWMA of the per-sample grades (0..1) that feed the score; null until first observed. */
  readonly grades: {
    readonly peers: number | null;
    readonly lag: number | null;
    readonly latency: number | null;
  };
  /** Latest peer counts, or null when the node did not report them. */
  readonly peers: { readonly total: number; readonly inbound: number | null; readonly outbound: number | null } | null;
  /** Methods the node lacks, from the latest sample (explains an unknown peer count). */
  readonly missingMethods: readonly string[];
  readonly lagBlocks: number | null;
  /** The node's own head and when it was first seen there, for the stall rule. */
  readonly head: { readonly height: number; readonly since: number } | null;
  /** `observedAt` of the last sample whose height was above the one before: seen advancing. */
  readonly advancedAt: number | null;
  /**
   * While the node's probes fail: what its last answer said of the chain's head, when that answer
   * had a vote (the head keeps it for fewer than `failAfter` failures in a row, see keptAnswer);
   * null while the latest sample answered. Records of older versions lack it (read as null).
   */
  readonly lastAnswer: HeadAnswer | null;
}

export function emptyStats(nodeId: string): NodeStats {
  return {
    nodeId,
    samples: 0,
    lastSampleAt: null,
    outcomes: [],
    errorRate: null,
    latencyEwmaMs: null,
    lastLatencyMs: null,
    grades: { peers: null, lag: null, latency: null },
    peers: null,
    missingMethods: [],
    lagBlocks: null,
    head: null,
    advancedAt: null,
    lastAnswer: null,
  };
}

export interface StatsUpdate {
  readonly sample: Sample | null;
  /** The sample's lag behind the reference, when both have a height. */
  readonly lag: Lag | null;
  readonly chain: ChainSpec;
  readonly policy: HealthPolicy;
  /** For a failed sample: the answer of the sample it replaces, when that one had a vote on the head. */
  readonly replaced?: HeadAnswer | null;
}

/** `prev` with the sample folded in; `prev` itself when the sample is absent or already counted. */
export function updateStats(prev: NodeStats, update: StatsUpdate): NodeStats {
  const { sample, lag, chain, policy } = update;
  if (sample === null || (prev.lastSampleAt !== null && sample.observedAt <= prev.lastSampleAt)) return prev;

  const failed = isFailedSample(sample);
  // A run of failures counts at most `failAfter` times: beyond that it is an outage, which
  // hysteresis has already judged (the node is down). Counted again as flakiness, a 150 s
  // outage would fill the window and keep the node down for a window of good samples after
  // it answers again. Isolated failures (a flaky node) all count.
  const outageRun = failed && endsWithFailures(prev.outcomes, policy.failAfter);
  const outcomes = outageRun ? prev.outcomes : appendOutcome(prev.outcomes, failed, policy.errorWindowSamples);
  let failures = 0;
  for (const o of outcomes) if (o) failures++;
  const errorRate = failures / outcomes.length;
  const base = {
    ...prev,
    samples: prev.samples + 1,
    lastSampleAt: sample.observedAt,
    outcomes,
    errorRate,
    // Kept through a run of failures from its first: the answer before them.
    lastAnswer: failed ? (prev.lastAnswer ?? update.replaced ?? null) : null,
  };
  if (failed) return base;

  const alpha = policy.ewmaAlpha;
  const height = sample.height;
  const head =
    height === undefined
      ? prev.head
      : prev.head !== null && prev.head.height === height
        ? prev.head
        : { height, since: sample.observedAt };
  return {
    ...base,
    latencyEwmaMs: ewmaRounded(prev.latencyEwmaMs, sample.latencyMs, alpha, LATENCY_QUANTUM),
    lastLatencyMs: sample.latencyMs,
    grades: {
      peers: ewmaRounded(prev.grades.peers, peersGrade(sample.peers, chain, policy), alpha, GRADE_QUANTUM),
      lag: lag === null ? prev.grades.lag : ewmaRounded(prev.grades.lag, lagGrade(lag, policy), alpha, GRADE_QUANTUM),
      latency: ewmaRounded(prev.grades.latency, latencyGrade(sample.latencyMs, policy), alpha, GRADE_QUANTUM),
    },
    peers: peersOf(sample.peers, prev.peers),
    // Stats are immutable: an unchanged list (nearly always empty) is shared with `prev`, not copied.
    missingMethods: sameList(prev.missingMethods, sample.missingMethods)
      ? prev.missingMethods
      : [...sample.missingMethods],
    lagBlocks: lag === null ? prev.lagBlocks : lag.blocks,
    head,
    advancedAt:
      height !== undefined && prev.head !== null && height > prev.head.height
        ? sample.observedAt
        : (prev.advancedAt ?? null),
  };
}

/** Whether the last `n` outcomes are all failures (and there are at least `n`). */
function endsWithFailures(outcomes: readonly boolean[], n: number): boolean {
  if (outcomes.length < n) return false;
  for (let i = outcomes.length - n; i < outcomes.length; i++) if (!outcomes[i]) return false;
  return true;
}

/** `[...outcomes, failed].slice(-window)`, in one allocation. */
function appendOutcome(outcomes: readonly boolean[], failed: boolean, window: number): boolean[] {
  if (!(window >= 1)) return [...outcomes, failed].slice(-window);
  const start = Math.max(0, outcomes.length + 1 - window);
  const next: boolean[] = [];
  for (let i = start; i < outcomes.length; i++) next.push(outcomes[i]!);
  next.push(failed);
  return next;
}

/** The stats' peer counts from the sample's; `prev`'s object again when nothing changed. */
function peersOf(peers: Sample['peers'], prev: NodeStats['peers']): NodeStats['peers'] {
  if (peers === undefined) return null;
  const inbound = peers.inbound ?? null;
  const outbound = peers.outbound ?? null;
  if (prev !== null && prev.total === peers.total && prev.inbound === inbound && prev.outbound === outbound)
    return prev;
  return { total: peers.total, inbound, outbound };
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Exponentially weighted moving average; the first observation seeds it. */
export function ewma(prev: number | null, value: number, alpha: number): number {
  return prev === null ? value : prev + alpha * (value - prev);
}

/**
 * The averages a record keeps, rounded: latency to 1 µs (samples are measured to 10 µs), grades
 * to 1e-6 (the score rounds them to 1e-4). Unrounded, each was a 17-digit float that changes at
 * every probe, in every change on the records feed and in the stored record (issue #16: the
 * shard's network out); a 2,000-node scale run's feed: 413 -> 406 B per change, 2,124 -> 2,112 B
 * stored. The rounding is in the value the judge uses, so what is stored is what is judged; its
 * error against the exact average stays within half a quantum / alpha.
 */
const LATENCY_QUANTUM = 1_000;
const GRADE_QUANTUM = 1_000_000;

function ewmaRounded(prev: number | null, value: number, alpha: number, quantum: number): number {
  return Math.round(ewma(prev, value, alpha) * quantum) / quantum;
}
