import fc from 'fast-check';
import { RpcErrorCode } from '../../src/errors/rpc-errors.js';
import { DEFAULT_HEALTH_POLICY as P } from '../../src/health/policy.js';
import { emptyReference, lagBehind, projectedHeight, referenceHead } from '../../src/health/reference-head.js';
import { emptyStats } from '../../src/health/stats.js';
import { BSC, DEFICHAIN, PAI, T0, failedSample, goodSample } from './fixtures.js';

const at = (heights: readonly number[], observedAt = T0) =>
  heights.map((h, i) => ({ sample: goodSample(BSC, `n${i}`, observedAt, { height: h }), intervalMs: 5_000 }));

describe('referenceHead: the highest head a strict majority has reached', () => {
  it.each([
    [[], null, 0, 'no fresh heads: no reference'],
    [[100], 100, 1, '1 node: its own head'],
    [[100, 200], 100, 2, '2 nodes: the lower one (neither can condemn the other)'],
    [[100, 101, 5_000], 101, 2, '3 nodes: the median, the one far ahead is ignored'],
    [[100, 101, 102, 5_000], 101, 3, '4 nodes: 3 must have reached it'],
    [[90, 100, 100, 100, 5_000], 100, 3, '5 nodes: the median'],
    [[5_000, 5_000, 100], 5_000, 2, 'two nodes ahead are a majority of 3: the third is behind'],
  ])('%j -> %s (quorum %d): %s', (heights, expected, quorum, _why) => {
    const ref = referenceHead(at(heights), BSC, T0, P);
    expect(ref.height).toBe(expected);
    expect(ref.quorum).toBe(quorum);
    expect(ref.contributors).toBe(heights.length);
    expect(ref.highest).toBe(heights.length === 0 ? null : Math.max(...heights));
  });

  it('leaves out stale, syncing, wrong-chain and height-less samples', () => {
    const candidates = [
      { sample: goodSample(BSC, 'ok1', T0, { height: 100 }), intervalMs: 5_000 },
      { sample: goodSample(BSC, 'ok2', T0, { height: 101 }), intervalMs: 5_000 },
      { sample: goodSample(BSC, 'stale', T0 - 31_000, { height: 9_000 }), intervalMs: 5_000 },
      { sample: goodSample(BSC, 'sync', T0, { height: 9_000, syncing: true }), intervalMs: 5_000 },
      { sample: goodSample(BSC, 'testnet', T0, { height: 9_000, chainId: 97 }), intervalMs: 5_000 },
      { sample: failedSample(BSC, 'down', T0, RpcErrorCode.Timeout), intervalMs: 5_000 },
    ];
    const ref = referenceHead(candidates, BSC, T0, P);
    expect(ref).toMatchObject({ height: 100, contributors: 2 });
  });

  it('a slowly polled node is fresh for 3 of its intervals', () => {
    const candidates = [{ sample: goodSample(BSC, 'slow', T0 - 150_000, { height: 100 }), intervalMs: 60_000 }];
    expect(referenceHead(candidates, BSC, T0, P).contributors).toBe(1);
  });

  it('projects heights sampled at different times to now', () => {
    // BSC 0.75 s blocks: a node seen at 100 three seconds ago is at 104 by now; one seen at 104 now is not ahead of it.
    // Both tips are fresh (their timestamps say so): both are advancing, both are projected.
    const candidates = [
      {
        sample: goodSample(BSC, 'early', T0 - 3_000, { height: 100, tipTime: (T0 - 3_000) / 1000 }),
        intervalMs: 5_000,
      },
      { sample: goodSample(BSC, 'late', T0, { height: 104, tipTime: T0 / 1000 }), intervalMs: 5_000 },
    ];
    const ref = referenceHead(candidates, BSC, T0, P);
    expect(ref.height).toBe(104);
    const early = candidates[0]!.sample;
    expect(lagBehind(ref, early, BSC)).toEqual({ blocks: 0, ms: 0, referenceHeight: 104 });
  });
});

describe('projectedHeight / lagBehind', () => {
  it.each([
    [100, T0, T0, 750, 100],
    [100, T0 - 749, T0, 750, 100],
    [100, T0 - 750, T0, 750, 101],
    [100, T0 - 7_500, T0, 750, 110],
    [100, T0 - 29_000, T0, 30_000, 100],
    [100, T0 + 5_000, T0, 750, 100],
  ])('height %d seen at %d, projected to %d with %d ms blocks -> %d', (h, seen, now, bt, expected) => {
    expect(projectedHeight(h, seen, now, bt)).toBe(expected);
  });

  it.each([
    [BSC, 1_012, 1_000, 12, 9_000],
    [DEFICHAIN, 102, 100, 2, 60_000],
    [PAI, 103, 100, 3, 1_800_000],
    [BSC, 1_000, 1_010, 0, 0],
  ])('%#: (chain per row) reference %d, node %d -> %d blocks, %d ms', (chain, refHeight, nodeHeight, blocks, ms) => {
    const ref = {
      ...emptyReference(chain.name, T0),
      height: refHeight,
      contributors: 3,
      quorum: 2,
      highest: refHeight,
    };
    expect(lagBehind(ref, goodSample(chain, 'n', T0, { height: nodeHeight }), chain)).toEqual({
      blocks,
      ms,
      referenceHeight: refHeight,
    });
  });

  it('is null without a reference or a height', () => {
    const none = emptyReference('bsc', T0);
    expect(lagBehind(none, goodSample(BSC, 'n', T0), BSC)).toBeNull();
    expect(lagBehind({ ...none, height: 5 }, failedSample(BSC, 'n', T0, RpcErrorCode.Timeout), BSC)).toBeNull();
  });
});

describe('property: a lone node far ahead never makes the majority lagging', () => {
  it('holds for any group of close heads and any lone head above them', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1_000, max: 10_000_000 }),
        fc.array(fc.integer({ min: 0, max: 1 }), { minLength: 8, maxLength: 8 }),
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.integer({ min: 0, max: 8 }),
        (groupSize, base, spread, ahead, lonePosition) => {
          // The group's heads differ by less than the degraded lag: none of them is lagging among themselves.
          const group = spread.slice(0, groupSize).map((d) => base + d);
          const lone = Math.max(...group) + ahead;
          const heights = [...group];
          heights.splice(Math.min(lonePosition, heights.length), 0, lone);
          const candidates = at(heights);
          const ref = referenceHead(candidates, BSC, T0, P);
          for (const c of candidates) {
            if (c.sample.height === lone) continue;
            const lag = lagBehind(ref, c.sample, BSC);
            expect(lag).not.toBeNull();
            expect(lag!.blocks).toBeLessThanOrEqual(1);
          }
        },
      ),
    );
  });

  it('whatever the heads, a strict majority of contributors is at the reference (lag 0)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 1_000_000 }), { minLength: 1, maxLength: 15 }), (heights) => {
        const candidates = at(heights);
        const ref = referenceHead(candidates, BSC, T0, P);
        const atHead = candidates.filter((c) => lagBehind(ref, c.sample, BSC)!.blocks === 0).length;
        expect(atHead).toBeGreaterThanOrEqual(Math.floor(heights.length / 2) + 1);
      }),
    );
  });
});

describe('property: only evidence that deserves a vote sets the head', () => {
  const sample = (id: string, height: number, tipAgeMs: number) => ({
    sample: goodSample(BSC, id, T0, { height, tipTime: Math.floor((T0 - tipAgeMs) / 1000) }),
    intervalMs: 5_000,
  });

  // Stuck tips are stamped over 31 s ago (at least 31 s old with whole-second stamps: past the 30 s window).
  it('whatever the stuck nodes report, the head is a height an advancing node has; with none advancing it is a halt at the newest frozen head', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            height: fc.integer({ min: 0, max: 5_000 }),
            stuck: fc.boolean(),
            ageS: fc.integer({ min: 32, max: 86_400 }),
          }),
          { minLength: 1, maxLength: 9 },
        ),
        (nodes) => {
          const candidates = nodes.map((n, i) => sample(`n${i}`, n.height, n.stuck ? n.ageS * 1000 : 1_000));
          const ref = referenceHead(candidates, BSC, T0, P);
          const advancing = nodes.filter((n) => !n.stuck).map((n) => n.height);
          expect(ref.eligible).toBe(nodes.length);
          expect(ref.stalled).toBe(nodes.length - advancing.length);
          if (advancing.length > 0) {
            expect(ref.basis).toBe('advancing');
            expect(advancing).toContain(ref.height);
            expect(ref.contributors).toBe(advancing.length);
            // A strict majority of the advancing nodes is at or above it.
            expect(advancing.filter((h) => h >= ref.height!).length).toBeGreaterThanOrEqual(
              Math.floor(advancing.length / 2) + 1,
            );
          } else {
            expect(ref.basis).toBe('halted');
            const newestAge = Math.min(...nodes.map((n) => n.ageS));
            const newest = nodes.filter((n) => n.ageS === newestAge).map((n) => n.height);
            expect(newest).toContain(ref.height);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('a tip stamped far in the future', () => {
  it('does not make a frozen node advancing: its heights decide', () => {
    const stats = { ...emptyStats('liar'), head: { height: 500, since: T0 - 120_000 } };
    const liar = {
      sample: goodSample(BSC, 'liar', T0, { height: 500, tipTime: (T0 + 3_600_000) / 1000 }),
      intervalMs: 5_000,
      stats,
    };
    const ref = referenceHead([liar], BSC, T0, P);
    expect(ref).toMatchObject({ basis: 'halted', stalled: 1 });
  });
});
