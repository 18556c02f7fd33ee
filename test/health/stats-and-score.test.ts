import { RpcErrorCode } from '../../src/errors/rpc-errors.js';
import { lagGrade, latencyGrade, peersGrade, tierGrade } from '../../src/health/grades.js';
import { DEFAULT_HEALTH_POLICY as P } from '../../src/health/policy.js';
import { scoreNode } from '../../src/health/score.js';
import { type NodeStats, emptyStats, ewma, updateStats } from '../../src/health/stats.js';
import { BSC, DEFICHAIN, T0, failedSample, goodSample } from './fixtures.js';

const lag = (blocks: number, chainBlockMs = 750) => ({ blocks, ms: blocks * chainBlockMs, referenceHeight: 0 });

describe('grades (0..1)', () => {
  it.each([
    [undefined, 0.5, 'unknown: neutral'],
    [0, 0, 'none'],
    [2, 0, 'below minPeers (3)'],
    [3, 0.12, 'at minPeers: 3/25'],
    [10, 0.4, '10/25'],
    [25, 1, 'at target'],
    [50, 1, 'capped'],
  ])('peers %s -> %d (%s)', (total, grade, _why) => {
    const peers = total === undefined ? undefined : { total, source: 'net_peerCount' as const };
    expect(peersGrade(peers, BSC, P)).toBeCloseTo(grade, 10);
  });

  it.each([
    [0, 1],
    [20, 0.5], // BSC: 20 blocks = 15 s; blocks ratio 20/3 > 1, time ratio 15/30 = 0.5: the smaller decides
    [40, 0],
    [400, 0],
  ])('BSC lag %d blocks -> %d', (blocks, grade) => {
    expect(lagGrade(lag(blocks), P)).toBeCloseTo(grade, 10);
  });

  it.each([
    [1, 2 / 3],
    [2, 1 / 3],
    [3, 0],
  ])('DeFiChain lag %d blocks -> %d', (blocks, grade) => {
    expect(lagGrade(lag(blocks, DEFICHAIN.blockTimeMs), P)).toBeCloseTo(grade, 10);
  });

  it.each([
    [0, 1],
    [300, 1],
    [900, 0.5],
    [1_500, 0],
    [9_000, 0],
  ])('latency %d ms -> %d', (ms, grade) => {
    expect(latencyGrade(ms, P)).toBeCloseTo(grade, 10);
  });

  it.each([
    [0, 1],
    [1, 0.5],
    [3, 0.25],
  ])('tier %d -> %d', (tier, grade) => {
    expect(tierGrade(tier)).toBe(grade);
  });
});

describe('stats', () => {
  it.each([
    [null, 100, 0.1, 100],
    [100, 200, 0.1, 110],
    [100, 0, 0.5, 50],
  ])('ewma(%s, %d, %d) = %d', (prev, value, alpha, expected) => {
    expect(ewma(prev, value, alpha)).toBeCloseTo(expected, 10);
  });

  const feed = (samples: ReturnType<typeof goodSample>[]) =>
    samples.reduce<NodeStats>(
      (s, sample) => updateStats(s, { sample, lag: lag(0), chain: BSC, policy: P }),
      emptyStats('n'),
    );

  it('folds each sample in once; the same sample again changes nothing', () => {
    const s1 = feed([goodSample(BSC, 'n', T0, { latencyMs: 100 })]);
    const again = updateStats(s1, {
      sample: goodSample(BSC, 'n', T0, { latencyMs: 900 }),
      lag: lag(0),
      chain: BSC,
      policy: P,
    });
    expect(again).toBe(s1);
    expect(s1).toMatchObject({ samples: 1, latencyEwmaMs: 100, errorRate: 0, outcomes: [false], lastSampleAt: T0 });
  });

  it('keeps a window of the last 20 outcomes', () => {
    // Every other probe fails for 15 probes (a flaky node: every failure counts), then all pass.
    const samples = Array.from({ length: 30 }, (_, i) =>
      i < 15 && i % 2 === 0
        ? failedSample(BSC, 'n', T0 + i * 5_000, RpcErrorCode.Timeout)
        : goodSample(BSC, 'n', T0 + i * 5_000),
    );
    const s = feed(samples);
    expect(s.samples).toBe(30);
    expect(s.outcomes).toHaveLength(20);
    expect(s.errorRate).toBe(3 / 20);
  });

  it('an outage counts as one run of failAfter failures, so it does not keep a recovered node down', () => {
    const samples = Array.from({ length: 40 }, (_, i) =>
      i >= 10 && i < 35
        ? failedSample(BSC, 'n', T0 + i * 5_000, RpcErrorCode.ConnectionRefused)
        : goodSample(BSC, 'n', T0 + i * 5_000),
    );
    const s = feed(samples);
    expect(s.samples).toBe(40);
    expect(s.outcomes.filter(Boolean)).toHaveLength(3);
    expect(s.errorRate).toBe(3 / 18);
  });

  it('keeps its averages short (latency to 1 µs, grades to 1e-6) and within their rounding of the exact average', () => {
    const latencies = Array.from({ length: 60 }, (_, i) => Math.round((20 + ((i * 7919) % 1000) / 3) * 100) / 100);
    const s = feed(latencies.map((latencyMs, i) => goodSample(BSC, 'n', T0 + i * 5_000, { latencyMs })));
    let exact: number | null = null;
    let exactGrade: number | null = null;
    for (const l of latencies) {
      exact = ewma(exact, l, P.ewmaAlpha);
      exactGrade = ewma(exactGrade, latencyGrade(l, P), P.ewmaAlpha);
    }
    // What a record stores and every change on the feed carries: no 17-digit floats.
    expect(String(s.latencyEwmaMs)).toMatch(/^\d+(\.\d{1,3})?$/);
    expect(String(s.grades.latency)).toMatch(/^(0|1)(\.\d{1,6})?$/);
    // Each step rounds by at most half a quantum; the average forgets old errors at rate alpha.
    expect(Math.abs(s.latencyEwmaMs! - exact!)).toBeLessThanOrEqual(0.0005 / P.ewmaAlpha);
    expect(Math.abs(s.grades.latency! - exactGrade!)).toBeLessThanOrEqual(0.0000005 / P.ewmaAlpha);
  });

  it('failed probes count as errors but leave latency alone (a refused connection is fast)', () => {
    const s = feed([
      goodSample(BSC, 'n', T0, { latencyMs: 500 }),
      { ...failedSample(BSC, 'n', T0 + 5_000, RpcErrorCode.ConnectionRefused), latencyMs: 1 },
    ]);
    expect(s.latencyEwmaMs).toBe(500);
    expect(s.errorRate).toBe(0.5);
  });

  it('a missing method is not an error', () => {
    const s = feed([
      goodSample(BSC, 'n', T0, {
        ok: false,
        error: { code: RpcErrorCode.MethodUnavailable, message: 'x', transient: false },
      }),
    ]);
    expect(s.errorRate).toBe(0);
  });

  it('remembers since when the head has not moved', () => {
    const s = feed([
      goodSample(BSC, 'n', T0, { height: 10 }),
      goodSample(BSC, 'n', T0 + 5_000, { height: 11 }),
      goodSample(BSC, 'n', T0 + 10_000, { height: 11 }),
      failedSample(BSC, 'n', T0 + 15_000, RpcErrorCode.Timeout),
    ]);
    expect(s.head).toEqual({ height: 11, since: T0 + 5_000 });
  });

  it("keeps the answer a run of failures replaced (the head's evidence) until the node answers again", () => {
    const answer = { observedAt: T0, height: 11, tipTime: T0 / 1000, tipMedianTime: null };
    const other = { ...answer, height: 99 };
    const good = feed([goodSample(BSC, 'n', T0, { height: 11 })]);
    expect(good.lastAnswer).toBeNull();
    const fold = (s: NodeStats, sample: ReturnType<typeof goodSample>, replaced: typeof answer | null) =>
      updateStats(s, { sample, lag: null, chain: BSC, policy: P, replaced });
    const f1 = fold(good, failedSample(BSC, 'n', T0 + 5_000, RpcErrorCode.Timeout), answer);
    expect(f1.lastAnswer).toEqual(answer);
    // The second failure replaces a failed sample: the answer before the run stays.
    const f2 = fold(f1, failedSample(BSC, 'n', T0 + 10_000, RpcErrorCode.Timeout), other);
    expect(f2.lastAnswer).toEqual(answer);
    expect(fold(f2, goodSample(BSC, 'n', T0 + 15_000, { height: 12 }), null).lastAnswer).toBeNull();
    // A failure after an answer without a vote keeps nothing.
    expect(fold(good, failedSample(BSC, 'n', T0 + 5_000, RpcErrorCode.Timeout), null).lastAnswer).toBeNull();
  });

  it('is plain JSON', () => {
    const s = feed([goodSample(BSC, 'n', T0), failedSample(BSC, 'n', T0 + 5_000, RpcErrorCode.Timeout)]);
    expect(JSON.parse(JSON.stringify(s))).toEqual(s);
  });
});

describe('scoreNode', () => {
  const one = (sample: ReturnType<typeof goodSample>, lagBlocks = 0) =>
    updateStats(emptyStats('n'), { sample, lag: lag(lagBlocks), chain: BSC, policy: P });

  it.each([
    ['perfect primary', goodSample(BSC, 'n', T0), 0, 0, 1],
    ['perfect backup (tier 1)', goodSample(BSC, 'n', T0), 0, 1, 0.975],
    // lag 0.5, errors 1, latency 0.5, peers 0.4, tier 1: 0.3*0.5 + 0.3 + 0.2*0.5 + 0.15*0.4 + 0.05 = 0.66
    [
      'behind, slowish, few peers',
      goodSample(BSC, 'n', T0, { latencyMs: 900, peers: { total: 10, source: 'net_peerCount' } }),
      20,
      0,
      0.66,
    ],
    // peers unknown grade 0.5: 1 - 0.15*0.5 = 0.925
    [
      'peers not offered',
      goodSample(BSC, 'n', T0, { peers: undefined, missingMethods: ['net_peerCount'] }),
      0,
      0,
      0.925,
    ],
  ])('%s -> %d', (_name, sample, lagBlocks, tier, total) => {
    const score = scoreNode(one(sample, lagBlocks), tier, P);
    expect(score.total).toBeCloseTo(total, 4);
    const sum = Object.values(score.parts).reduce((s, p) => s + p.contribution, 0);
    expect(Math.abs(sum - score.total)).toBeLessThan(5e-4);
  });

  it('shows its parts, and says when peers are unknown and why', () => {
    const score = scoreNode(
      one(goodSample(BSC, 'n', T0, { peers: undefined, missingMethods: ['net_peerCount'] })),
      0,
      P,
    );
    expect(score.parts.peers).toMatchObject({ grade: 0.5, value: null, weight: 0.15 });
    expect(score.parts.peers.detail).toMatch(/unknown \(peer count not offered by the node\): neutral/);
    expect(score.parts.lag).toMatchObject({ grade: 1, value: 0, detail: '0 blocks behind' });
    expect(score.parts.errors).toMatchObject({ grade: 1, value: 0 });
    expect(score.parts.latency).toMatchObject({ grade: 1, value: 40 });
    expect(score.parts.tier).toMatchObject({ grade: 1, value: 0, detail: 'primary' });
  });

  it('without data a part grades 0 and says so', () => {
    const score = scoreNode(null, 0, P);
    expect(score.total).toBe(0.05);
    expect(score.parts.lag.detail).toBe('no data');
  });

  it('errors only: error part 0, the rest has no data', () => {
    const s = updateStats(emptyStats('n'), {
      sample: failedSample(BSC, 'n', T0, RpcErrorCode.Timeout),
      lag: null,
      chain: BSC,
      policy: P,
    });
    const score = scoreNode(s, 0, P);
    expect(score.parts.errors).toMatchObject({ grade: 0, value: 1 });
    expect(score.total).toBe(0.05);
  });
});
