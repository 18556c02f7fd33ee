// A node's score: weighted grades with their parts, for ranking.
import { tierGrade } from './grades.js';
import type { HealthPolicy, ScoreWeights } from './policy.js';
import { formatDuration, formatPercent } from './reasons.js';
import type { NodeStats } from './stats.js';

const PEER_METHODS: readonly string[] = ['net_peerCount', 'getconnectioncount', 'getnetworkinfo', 'getpeerinfo'];

/** One part of a score: its grade (0..1, smoothed), weight, share of the total and the raw value. */
export interface ScorePart {
  readonly grade: number;
  readonly weight: number;
  /** weight x grade / sum of weights: the parts' contributions add up to the total. */
  readonly contribution: number;
  /** Latest raw value (peers, blocks behind, latency EWMA ms, error rate, tier); null if unknown. */
  readonly value: number | null;
  readonly detail: string;
}

/** The score of a node never judged: every part unknown. Workers and API rank such nodes alike. */
export const NO_SCORE: ScoreBreakdown = Object.freeze({
  total: 0,
  parts: Object.freeze({
    lag: { grade: 0, weight: 0, contribution: 0, value: null, detail: 'no data' },
    errors: { grade: 0, weight: 0, contribution: 0, value: null, detail: 'no data' },
    latency: { grade: 0, weight: 0, contribution: 0, value: null, detail: 'no data' },
    peers: { grade: 0, weight: 0, contribution: 0, value: null, detail: 'no data' },
    tier: { grade: 0, weight: 0, contribution: 0, value: null, detail: 'no data' },
  }),
});

export interface ScoreBreakdown {
  /** 0..1, rounded to 4 decimals so equal nodes tie exactly and JSON stays short. */
  readonly total: number;
  readonly parts: Readonly<Record<keyof ScoreWeights, ScorePart>>;
}

/**
 * A node's score: the weighted mean of its smoothed grades. Smoothing (EWMA, `ewmaAlpha`) and
 * the error window keep the score from swinging with single samples, which is what lets the
 * selection's margin hold a choice steady. A part with no data yet grades 0 (an unknown peer
 * count grades `unknownPeersGrade` instead, and says so).
 */
export function scoreNode(stats: NodeStats | null, tier: number, policy: HealthPolicy): ScoreBreakdown {
  const w = policy.weights;
  const sum = w.lag + w.errors + w.latency + w.peers + w.tier;
  const part = (weight: number, grade: number | null, value: number | null, detail: string): ScorePart => {
    const g = grade ?? 0;
    return {
      grade: round4(g),
      weight,
      contribution: round4((weight * g) / sum),
      value,
      detail: grade === null ? `no data${detail ? `: ${detail}` : ''}` : detail,
    };
  };

  const s = stats;
  const peersKnown = s?.peers ?? null;
  const peersDetail =
    s === null || s.grades.peers === null
      ? ''
      : peersKnown === null
        ? `unknown (${s.missingMethods.some((m) => PEER_METHODS.includes(m)) ? 'peer count not offered by the node' : 'not reported'}): neutral grade ${policy.unknownPeersGrade}`
        : `${peersKnown.total} peers${peersKnown.inbound !== null && peersKnown.outbound !== null ? ` (${peersKnown.inbound} in, ${peersKnown.outbound} out)` : ''}`;
  const rate = s?.errorRate ?? null;

  const parts = {
    lag: part(
      w.lag,
      s?.grades.lag ?? null,
      s?.lagBlocks ?? null,
      s?.lagBlocks == null ? '' : `${s.lagBlocks} blocks behind`,
    ),
    errors: part(
      w.errors,
      rate === null ? null : 1 - rate,
      rate,
      rate === null || s === null ? '' : `${formatPercent(rate)} failed of last ${s.outcomes.length}`,
    ),
    latency: part(
      w.latency,
      s?.grades.latency ?? null,
      s?.latencyEwmaMs == null ? null : Math.round(s.latencyEwmaMs),
      s?.latencyEwmaMs == null ? '' : `${formatDuration(s.latencyEwmaMs)} average`,
    ),
    peers: part(w.peers, s?.grades.peers ?? null, peersKnown?.total ?? null, peersDetail),
    tier: part(w.tier, tierGrade(tier), tier, tier === 0 ? 'primary' : `backup tier ${tier}`),
  };
  const total = round4(
    (w.lag * parts.lag.grade +
      w.errors * parts.errors.grade +
      w.latency * parts.latency.grade +
      w.peers * parts.peers.grade +
      w.tier * parts.tier.grade) /
      sum,
  );
  return { total, parts };
}

function round4(x: number): number {
  return Math.round(x * 10_000) / 10_000;
}
