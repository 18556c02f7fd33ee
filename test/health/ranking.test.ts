import fc from 'fast-check';
import { initialHealth, type NodeHealth } from '../../src/health/hysteresis.js';
import { type RankInput, compareForRanking, rankNodes } from '../../src/health/ranking.js';
import { reasons } from '../../src/health/reasons.js';
import type { ScoreBreakdown } from '../../src/health/score.js';
import type { HealthState } from '../../src/health/states.js';
import { T0, nodeInfo } from './fixtures.js';

function entry(id: string, state: HealthState, total: number, tier = 0, extra: Partial<NodeHealth> = {}): RankInput {
  const part = { grade: total, weight: 1, contribution: total, value: null, detail: '' };
  const score: ScoreBreakdown = { total, parts: { lag: part, errors: part, latency: part, peers: part, tier: part } };
  return { node: nodeInfo(id, { tier }), health: { ...initialHealth(id, 'bsc', T0), state, ...extra }, score };
}

describe('rankNodes', () => {
  it.each([
    ['state class first', [entry('a', 'degraded', 1), entry('b', 'healthy', 0.1)], ['b', 'a']],
    ['then score', [entry('a', 'healthy', 0.5), entry('b', 'healthy', 0.9)], ['b', 'a']],
    ['then tier', [entry('a', 'healthy', 0.5, 1), entry('b', 'healthy', 0.5, 0)], ['b', 'a']],
    ['then id', [entry('b', 'healthy', 0.5), entry('a', 'healthy', 0.5)], ['a', 'b']],
    [
      'full class order: healthy, degraded, unhealthy, unknown, maintenance',
      [
        entry('m', 'maintenance', 1),
        entry('k', 'unknown', 1),
        entry('u', 'unhealthy', 1),
        entry('d', 'degraded', 0),
        entry('h', 'healthy', 0),
      ],
      ['h', 'd', 'u', 'k', 'm'],
    ],
  ])('%s', (_name, inputs, order) => {
    expect(rankNodes(inputs).map((r) => r.nodeId)).toEqual(order);
  });

  it('numbers ranks from 1 and carries what selection needs', () => {
    const [first, second] = rankNodes([
      entry('a', 'healthy', 0.9, 0, { usableSince: T0 }),
      entry('b', 'unhealthy', 0.2, 1),
    ]);
    expect(first).toMatchObject({ rank: 1, nodeId: 'a', usable: true, usableSince: T0, tier: 0, lastResort: true });
    expect(second).toMatchObject({ rank: 2, nodeId: 'b', usable: false, tier: 1, lastResort: true });
  });

  it('never offers a drained node or one on another chain as a last resort', () => {
    const wrong = entry('w', 'unhealthy', 0.5, 0, {
      wrongChainSince: T0,
      reasons: [reasons.wrongChain('0x61', '0x38')],
    });
    const drained = entry('m', 'maintenance', 0.5);
    expect(rankNodes([wrong, drained]).map((r) => r.lastResort)).toEqual([false, false]);
  });
});

const STATES: HealthState[] = ['healthy', 'degraded', 'unhealthy', 'unknown', 'maintenance'];
const arbEntries = fc
  .uniqueArray(
    fc.record({
      id: fc.string({ minLength: 1, maxLength: 4 }),
      state: fc.constantFrom(...STATES),
      total: fc.integer({ min: 0, max: 20 }).map((n) => n / 20),
      tier: fc.integer({ min: 0, max: 2 }),
    }),
    { selector: (e) => e.id, minLength: 0, maxLength: 12 },
  )
  .map((list) => list.map((e) => entry(e.id, e.state, e.total, e.tier)));

describe('property: the order is total and deterministic', () => {
  it('any permutation of the same nodes gives the same order', () => {
    fc.assert(
      fc.property(
        arbEntries.chain((entries) =>
          fc.tuple(
            fc.constant(entries),
            fc.shuffledSubarray(entries, { minLength: entries.length, maxLength: entries.length }),
          ),
        ),
        ([entries, shuffled]) => {
          expect(rankNodes(shuffled).map((r) => r.nodeId)).toEqual(rankNodes(entries).map((r) => r.nodeId));
        },
      ),
    );
  });

  it('the comparison is a strict total order on distinct ids (antisymmetric, transitive, never 0)', () => {
    fc.assert(
      fc.property(arbEntries, (entries) => {
        for (const a of entries) {
          for (const b of entries) {
            const ab = Math.sign(compareForRanking(a, b));
            expect(ab + Math.sign(compareForRanking(b, a))).toBe(0);
            if (a !== b) expect(ab).not.toBe(0);
            for (const c of entries) {
              if (ab < 0 && compareForRanking(b, c) < 0) expect(compareForRanking(a, c)).toBeLessThan(0);
            }
          }
        }
      }),
    );
  });
});
