import fc from 'fast-check';
import type { ChainSpec } from '../../src/chains/chain-spec.js';
import type { Sample } from '../../src/chains/sample.js';
import { RpcErrorCode } from '../../src/errors/rpc-errors.js';
import { HeadVotes } from '../../src/health/head-votes.js';
import { DEFAULT_HEALTH_POLICY as P } from '../../src/health/policy.js';
import { ReasonCode, reasons } from '../../src/health/reasons.js';
import {
  type HeadCandidate,
  type HeadStats,
  type JudgedReasons,
  MAX_LISTED_VOTERS,
  referenceHead,
} from '../../src/health/reference-head.js';
import { BSC, DEFICHAIN, T0, failedSample, goodSample } from './fixtures.js';

/** One node's evidence as the judge has it: latest sample (or none), stats before the round, latest reasons. */
interface Evidence {
  readonly sample: Sample | null;
  readonly intervalMs: number;
  readonly stats: HeadStats | null;
  readonly latest: JudgedReasons | null;
}

const BASE = 1_000_000;

/** Evidence covering every branch of the head's rules: stale, failed, syncing, wrong chain, stalled, unknown, halted, future tips. */
function evidence(chain: ChainSpec, id: string) {
  return fc
    .record({
      none: fc.integer({ min: 0, max: 12 }),
      kind: fc.constantFrom('good', 'good', 'good', 'failed', 'syncing', 'wrong-chain', 'no-height', 'unverified'),
      ageMs: fc.oneof(fc.integer({ min: -2_000, max: 8_000 }), fc.integer({ min: 8_000, max: 200_000 })),
      dh: fc.integer({ min: -30, max: 30 }),
      tip: fc.constantFrom('none', 'fresh', 'old', 'future', 'median'),
      tipLagMs: fc.integer({ min: 0, max: 120_000 }),
      intervalMs: fc.constantFrom(1_000, 5_000, 60_000),
      stats: fc.constantFrom('none', 'same', 'lower', 'higher'),
      sinceAgoMs: fc.integer({ min: 0, max: 200_000 }),
      advancedAgoMs: fc.option(fc.integer({ min: 0, max: 200_000 })),
      latest: fc.constantFrom('none', 'healthy', 'own-unhealthy', 'other-unhealthy', 'own-degraded'),
      // A failed probe's stats: failures in a row (failAfter is 3) and the answer before them.
      failures: fc.integer({ min: 1, max: 4 }),
      answer: fc.option(
        fc.record({
          ageMs: fc.integer({ min: -2_000, max: 60_000 }),
          dh: fc.integer({ min: -30, max: 30 }),
          tip: fc.constantFrom('none', 'fresh', 'old', 'median'),
        }),
      ),
    })
    .map((r): Evidence => {
      if (r.none === 0) return { sample: null, intervalMs: r.intervalMs, stats: null, latest: null };
      const observedAt = T0 - r.ageMs;
      const height = BASE + r.dh;
      let sample: Sample;
      if (r.kind === 'failed') sample = failedSample(chain, id, observedAt, RpcErrorCode.Timeout);
      else {
        const tipAt =
          r.tip === 'fresh'
            ? observedAt - (r.tipLagMs % 3_000)
            : r.tip === 'old'
              ? observedAt - r.tipLagMs
              : r.tip === 'future'
                ? observedAt + r.tipLagMs
                : undefined;
        sample = goodSample(chain, id, observedAt, {
          height: r.kind === 'no-height' ? undefined : height,
          syncing: r.kind === 'syncing' ? true : undefined,
          tipTime: tipAt === undefined ? undefined : Math.floor(tipAt / 1000),
          tipMedianTime: r.tip === 'median' ? Math.floor((observedAt - r.tipLagMs) / 1000) : undefined,
          ...(chain.family === 'evm'
            ? { chainId: r.kind === 'wrong-chain' ? 97 : r.kind === 'unverified' ? undefined : chain.chainId }
            : {
                genesisHash:
                  r.kind === 'wrong-chain' ? 'ff'.repeat(32) : r.kind === 'unverified' ? undefined : chain.genesisHash,
              }),
        });
      }
      const headHeight = r.stats === 'same' ? height : r.stats === 'lower' ? height - 3 : height + 2;
      const stats =
        r.stats === 'none'
          ? null
          : {
              head: { height: headHeight, since: T0 - r.sinceAgoMs },
              advancedAt: r.advancedAgoMs === null ? null : T0 - r.advancedAgoMs,
              ...(r.kind === 'failed'
                ? {
                    outcomes: [false, ...Array.from({ length: r.failures }, () => true)],
                    lastAnswer:
                      r.answer === null
                        ? null
                        : {
                            observedAt: T0 - r.answer.ageMs,
                            height: BASE + r.answer.dh,
                            tipTime:
                              r.answer.tip === 'fresh'
                                ? Math.floor((T0 - r.answer.ageMs - 500) / 1000)
                                : r.answer.tip === 'old'
                                  ? Math.floor((T0 - r.answer.ageMs - 90_000) / 1000)
                                  : null,
                            tipMedianTime:
                              r.answer.tip === 'median' ? Math.floor((T0 - r.answer.ageMs - 60_000) / 1000) : null,
                          },
                  }
                : {}),
            };
      const latest =
        r.latest === 'none'
          ? null
          : r.latest === 'healthy'
            ? { reasons: [] }
            : r.latest === 'own-unhealthy'
              ? { reasons: [reasons.peersBelowMin(0, 3)] }
              : r.latest === 'own-degraded'
                ? { reasons: [reasons.errorRate(0.2, 20, 'degraded')] }
                : { reasons: [reasons.lagging(500, 375_000, 'unhealthy')] };
      return { sample, intervalMs: r.intervalMs, stats, latest };
    });
}

function fullPass(fleet: readonly Evidence[], chain: ChainSpec, now: number) {
  const candidates: HeadCandidate[] = [];
  for (const e of fleet)
    if (e.sample !== null)
      candidates.push({ sample: e.sample, intervalMs: e.intervalMs, stats: e.stats, latest: e.latest });
  return referenceHead(candidates, chain, now, P);
}

function offerAll(votes: HeadVotes, fleet: readonly Evidence[]): void {
  fleet.forEach((e, slot) => votes.offer(slot, e.sample, e.intervalMs, e.stats, e.latest));
}

/** Same fields, same values, same key order (the head is serialised in the chain's facts). */
function expectSameHead(actual: unknown, expected: unknown): void {
  expect(actual).toStrictEqual(expected);
  expect(JSON.stringify(actual)).toBe(JSON.stringify(expected));
}

describe('HeadVotes: the reference head kept per node equals the full pass over the chain', () => {
  it.each([
    ['BSC', BSC],
    ['DeFiChain', DEFICHAIN],
  ])('%s: random fleets, random moments, nodes replaced one at a time', (_name, chain) => {
    fc.assert(
      fc.property(
        fc.array(
          fc.integer({ min: 0, max: 1_000 }).chain((i) => evidence(chain, `n${i}`)),
          { minLength: 0, maxLength: 40 },
        ),
        fc.array(fc.tuple(fc.nat(), evidence(chain, 'replaced'), fc.integer({ min: -3_000, max: 60_000 })), {
          maxLength: 12,
        }),
        fc.integer({ min: -3_000, max: 60_000 }),
        (initial, updates, firstOffsetMs) => {
          // Distinct ids, as a chain's nodes have.
          const fleet = initial.map((e, i) =>
            e.sample === null ? e : { ...e, sample: { ...e.sample, nodeId: `node-${i}` } },
          );
          const votes = new HeadVotes(chain, P);
          offerAll(votes, fleet);
          expectSameHead(votes.head(T0 + firstOffsetMs), fullPass(fleet, chain, T0 + firstOffsetMs));
          for (const [pick, next, offsetMs] of updates) {
            if (fleet.length === 0) break;
            const slot = pick % fleet.length;
            fleet[slot] = next.sample === null ? next : { ...next, sample: { ...next.sample, nodeId: `node-${slot}` } };
            // Every slot offered again, as the judge does: unchanged ones are kept, not rebuilt.
            offerAll(votes, fleet);
            expectSameHead(votes.head(T0 + offsetMs), fullPass(fleet, chain, T0 + offsetMs));
          }
        },
      ),
      { numRuns: 400 },
    );
  });

  it('lists at most MAX_LISTED_VOTERS voters, highest head first and ties by id', () => {
    const fleet: Evidence[] = Array.from({ length: 40 }, (_, i) => ({
      sample: goodSample(BSC, `n${String(i).padStart(2, '0')}`, T0, { height: BASE + (i % 7), tipTime: T0 / 1000 }),
      intervalMs: 5_000,
      stats: null,
      latest: null,
    }));
    const votes = new HeadVotes(BSC, P);
    offerAll(votes, fleet.reverse());
    const head = votes.head(T0);
    expect(head.voters).toHaveLength(MAX_LISTED_VOTERS);
    expect(head.voters.slice(0, 3)).toEqual(['n06', 'n13', 'n20']);
    expectSameHead(head, fullPass(fleet, BSC, T0));
  });

  it("a failed probe votes with the node's last answer until failAfter failures in a row, while that answer is fresh", () => {
    const votes = new HeadVotes(BSC, P);
    const answer = { observedAt: T0, height: BASE, tipTime: T0 / 1000, tipMedianTime: null };
    const statsAfter = (failures: number) => ({
      head: { height: BASE, since: T0 - 1_000 },
      advancedAt: T0,
      outcomes: [false, ...Array.from({ length: failures }, () => true)],
      lastAnswer: answer,
    });
    const failing = { reasons: [reasons.probeError(ReasonCode.RpcTimeout)] };
    for (const n of [1, 2]) {
      votes.offer(0, failedSample(BSC, 'a', T0 + n * 100, RpcErrorCode.Timeout), 5_000, statsAfter(n), failing);
      expect(votes.head(T0 + 1_000)).toMatchObject({ height: BASE + 1, basis: 'advancing', voters: ['a'] });
    }
    // Stale (30 s for BSC): no vote.
    expect(votes.head(T0 + 31_000)).toMatchObject({ height: null, contributors: 0 });
    // The third failure in a row (failAfter 3): an outage, no vote.
    votes.offer(0, failedSample(BSC, 'a', T0 + 300, RpcErrorCode.Timeout), 5_000, statsAfter(3), failing);
    expect(votes.head(T0 + 1_000)).toMatchObject({ height: null, contributors: 0, excluded: 1 });
    // Judged unhealthy for its own reasons (its error rate): excluded, as an answer would be.
    votes.offer(0, failedSample(BSC, 'a', T0 + 400, RpcErrorCode.Timeout), 5_000, statsAfter(1), {
      reasons: [reasons.errorRate(0.6, 20, 'unhealthy')],
    });
    expect(votes.head(T0 + 1_000)).toMatchObject({ height: null, contributors: 0, excluded: 1 });
  });

  it('a vote is rebuilt when its evidence changes, and offering the same evidence again keeps it', () => {
    const votes = new HeadVotes(BSC, P);
    const good = goodSample(BSC, 'a', T0, { height: BASE, tipTime: T0 / 1000 });
    const healthy = { reasons: [] };
    votes.offer(0, good, 5_000, null, healthy);
    votes.offer(0, good, 5_000, null, healthy);
    expect(votes.head(T0)).toMatchObject({ height: BASE, contributors: 1 });
    // A new assessment with the same sample: a node judged unhealthy for its own reasons loses its vote.
    votes.offer(0, good, 5_000, null, { reasons: [reasons.networkInactive()] });
    expect(votes.head(T0)).toMatchObject({ contributors: 0, excluded: 1, height: null });
    // A slot offered past the end leaves the ones between empty; truncate forgets the tail.
    votes.offer(3, goodSample(BSC, 'd', T0, { height: BASE + 5, tipTime: T0 / 1000 }), 5_000, null, null);
    expect(votes.head(T0)).toMatchObject({ height: BASE + 5, contributors: 1, excluded: 1, voters: ['d'] });
    votes.truncate(1);
    expect(votes.size).toBe(1);
    expect(votes.head(T0)).toMatchObject({ contributors: 0, excluded: 1 });
  });
});
