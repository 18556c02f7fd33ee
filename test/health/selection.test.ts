import fc from 'fast-check';
import { initialHealth, type NodeHealth } from '../../src/health/hysteresis.js';
import { DEFAULT_HEALTH_POLICY as P, mergePolicy } from '../../src/health/policy.js';
import { type RankedNode, rankNodes } from '../../src/health/ranking.js';
import { reasons } from '../../src/health/reasons.js';
import type { ScoreBreakdown } from '../../src/health/score.js';
import { type Selection, nextSelection } from '../../src/health/selection.js';
import type { HealthState } from '../../src/health/states.js';
import { T0, nodeInfo } from './fixtures.js';

interface Spec {
  id: string;
  state?: HealthState;
  total?: number;
  tier?: number;
  usableSince?: number | null;
  extra?: Partial<NodeHealth>;
}

function ranking(...specs: Spec[]): RankedNode[] {
  return rankingOf(specs);
}

function rankingOf(specs: readonly Spec[]): RankedNode[] {
  return rankNodes(
    specs.map(({ id, state = 'healthy', total = 0.9, tier = 0, usableSince, extra = {} }) => {
      const part = { grade: total, weight: 1, contribution: total, value: null, detail: '' };
      const score: ScoreBreakdown = {
        total,
        parts: { lag: part, errors: part, latency: part, peers: part, tier: part },
      };
      const usable = state === 'healthy' || state === 'degraded';
      const health: NodeHealth = {
        ...initialHealth(id, 'bsc', T0),
        state,
        usableSince: usableSince === undefined ? (usable ? T0 - 3_600_000 : null) : usableSince,
        ...extra,
      };
      return { node: nodeInfo(id, { tier }), health, score };
    }),
  );
}

function chosen(nodeId: string | null, overrides: Partial<Selection> = {}): Selection {
  return {
    chain: 'bsc',
    nodeId,
    tier: 0,
    mode: 'normal',
    degradedChoice: false,
    reason: 'initial',
    since: T0,
    top: nodeId === null ? [] : [nodeId],
    pendingFailback: null,
    evaluatedAt: T0,
    ...overrides,
  };
}

const FAIL_OPEN = mergePolicy({ whenAllUnhealthy: 'fail-open' });

describe('nextSelection: one chain, rule by rule', () => {
  it.each<[string, Selection | null, RankedNode[], number, string | null, string]>([
    [
      'first choice: the best ranked',
      null,
      ranking({ id: 'a', total: 0.8 }, { id: 'b', total: 0.9 }),
      T0,
      'b',
      'initial',
    ],
    [
      'sticky: a better node by less than the margin',
      chosen('b'),
      ranking({ id: 'a', total: 0.99 }, { id: 'b', total: 0.9 }),
      T0 + 60_000,
      'b',
      'kept',
    ],
    [
      'sticky: better by the margin, but held only 10 s',
      chosen('b'),
      ranking({ id: 'a', total: 1 }, { id: 'b', total: 0.85 }),
      T0 + 10_000,
      'b',
      'kept',
    ],
    [
      'better by the margin and held 30 s: switch',
      chosen('b'),
      ranking({ id: 'a', total: 1 }, { id: 'b', total: 0.85 }),
      T0 + 30_000,
      'a',
      'better_candidate',
    ],
    [
      'exactly the margin is enough',
      chosen('b'),
      ranking({ id: 'a', total: 0.95 }, { id: 'b', total: 0.85 }),
      T0 + 30_000,
      'a',
      'better_candidate',
    ],
    [
      'a healthy node beats a degraded current one, whatever the score (after the dwell)',
      chosen('b'),
      ranking({ id: 'a', total: 0.5 }, { id: 'b', state: 'degraded', total: 0.9 }),
      T0 + 30_000,
      'a',
      'better_candidate',
    ],
    [
      '... but not before the dwell',
      chosen('b'),
      ranking({ id: 'a', total: 0.5 }, { id: 'b', state: 'degraded', total: 0.9 }),
      T0 + 1_000,
      'b',
      'kept',
    ],
    [
      'current unusable: the best other at once',
      chosen('b'),
      ranking({ id: 'a', total: 0.2 }, { id: 'b', state: 'unhealthy' }),
      T0 + 1_000,
      'a',
      'current_unusable',
    ],
    [
      'current drained',
      chosen('b'),
      ranking({ id: 'a', total: 0.2 }, { id: 'b', state: 'maintenance' }),
      T0 + 1_000,
      'a',
      'current_unusable',
    ],
    ['current gone from the config', chosen('zz'), ranking({ id: 'a' }), T0 + 1_000, 'a', 'current_unusable'],
    [
      'backups serve only while no primary is usable',
      null,
      ranking({ id: 'p', total: 0.3 }, { id: 'b', tier: 1, total: 1 }),
      T0,
      'p',
      'initial',
    ],
    [
      'a degraded primary still outranks a healthy backup',
      null,
      ranking({ id: 'p', state: 'degraded', total: 0.3 }, { id: 'b', tier: 1, total: 1 }),
      T0,
      'p',
      'initial',
    ],
    [
      'no primary usable: the backup',
      chosen('p'),
      ranking({ id: 'p', state: 'unhealthy' }, { id: 'b', tier: 1 }),
      T0,
      'b',
      'current_unusable',
    ],
    [
      'a recovered primary waits out the failback dwell',
      chosen('b', { tier: 1 }),
      ranking({ id: 'p', usableSince: T0 - 59_000 }, { id: 'b', tier: 1 }),
      T0,
      'b',
      'kept',
    ],
    [
      'after the dwell: failback',
      chosen('b', { tier: 1 }),
      ranking({ id: 'p', usableSince: T0 - 60_000 }, { id: 'b', tier: 1 }),
      T0,
      'p',
      'failback',
    ],
    [
      "failback ignores the margin: tiers are the operator's preference",
      chosen('b', { tier: 1 }),
      ranking({ id: 'p', usableSince: T0 - 60_000, total: 0.2 }, { id: 'b', tier: 1, total: 1 }),
      T0,
      'p',
      'failback',
    ],
    [
      'the backup fails while the primary waits: the primary at once',
      chosen('b', { tier: 1 }),
      ranking({ id: 'p', usableSince: T0 - 1_000 }, { id: 'b', tier: 1, state: 'unhealthy' }),
      T0,
      'p',
      'current_unusable',
    ],
    [
      'tier 2 serving, tier 1 recovered and dwelled, tier 0 still waiting: tier 1',
      chosen('c', { tier: 2 }),
      ranking(
        { id: 'p', usableSince: T0 - 1_000 },
        { id: 'b', tier: 1, usableSince: T0 - 120_000 },
        { id: 'c', tier: 2 },
      ),
      T0,
      'b',
      'failback',
    ],
  ])('%s', (_name, prev, ranked, now, nodeId, reason) => {
    const { selection } = nextSelection(prev, ranked, 'bsc', now, P);
    expect(selection.nodeId).toBe(nodeId);
    expect(selection.reason).toBe(reason);
    expect(selection.mode).toBe('normal');
    expect(selection.degradedChoice).toBe(false);
  });

  it('says which preferred node is waiting, and until when', () => {
    const { selection } = nextSelection(
      chosen('b', { tier: 1 }),
      ranking({ id: 'p', usableSince: T0 - 20_000 }, { id: 'b', tier: 1 }),
      'bsc',
      T0,
      P,
    );
    expect(selection.pendingFailback).toEqual({ nodeId: 'p', tier: 0, readyAt: T0 + 40_000 });
  });

  it('`since` is when the node became the choice; a change is reported once', () => {
    const first = nextSelection(null, ranking({ id: 'a' }), 'bsc', T0, P);
    expect(first.change).toEqual({
      chain: 'bsc',
      from: null,
      to: 'a',
      fromMode: null,
      mode: 'normal',
      reason: 'initial',
      at: T0,
    });
    const again = nextSelection(first.selection, ranking({ id: 'a' }), 'bsc', T0 + 5_000, P);
    expect(again.change).toBeNull();
    expect(again.selection).toMatchObject({ nodeId: 'a', since: T0, reason: 'kept', evaluatedAt: T0 + 5_000 });
  });

  it('lists the top N: the choice first, then usable nodes with backups after primaries', () => {
    const ranked = ranking(
      { id: 'b1', tier: 1, total: 1 },
      { id: 'p1', total: 0.5 },
      { id: 'p2', total: 0.4 },
      { id: 'x', state: 'unhealthy' },
    );
    expect(nextSelection(null, ranked, 'bsc', T0, P).selection.top).toEqual(['p1', 'p2', 'b1']);
    expect(nextSelection(null, ranked, 'bsc', T0, mergePolicy({ topN: 2 })).selection.top).toEqual(['p1', 'p2']);
    expect(nextSelection(chosen('p2', { since: T0 }), ranked, 'bsc', T0 + 1_000, P).selection.top).toEqual([
      'p2',
      'p1',
      'b1',
    ]);
  });

  it('the top N is the choice, then the other usable nodes stably sorted by tier, cut to N (any fleet)', () => {
    const state = fc.constantFrom<HealthState>('healthy', 'degraded', 'unhealthy', 'unknown', 'maintenance');
    const spec = fc.record({
      state,
      total: fc.integer({ min: 0, max: 20 }).map((x) => x / 20),
      tier: fc.integer({ min: 0, max: 3 }),
      recent: fc.boolean(),
    });
    fc.assert(
      fc.property(
        fc.array(spec, { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 1, max: 6 }),
        fc.option(fc.nat(39), { nil: undefined }),
        (specs, topN, prevAt) => {
          // `recent`: usable for less than the failback dwell, so a serving backup may keep serving.
          const ranked = rankingOf(
            specs.map((x, i) => ({ id: `n${i}`, ...x, usableSince: x.recent ? T0 - 1_000 : T0 - 3_600_000 })),
          );
          const policy = mergePolicy({ topN });
          const prev =
            prevAt === undefined || prevAt >= specs.length ? null : chosen(`n${prevAt}`, { since: T0 - 60_000 });
          const { selection } = nextSelection(prev, ranked, 'bsc', T0, policy);
          if (selection.mode !== 'normal' || selection.nodeId === null) return;
          const others = ranked
            .filter((r) => r.usable && r.nodeId !== selection.nodeId)
            .sort((a, b) => a.tier - b.tier)
            .map((r) => r.nodeId);
          expect(selection.top).toEqual([selection.nodeId, ...others].slice(0, topN));
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('nextSelection: when every node is unhealthy', () => {
  const allDown = ranking(
    { id: 'a', state: 'unhealthy', total: 0.3 },
    { id: 'b', state: 'unhealthy', total: 0.6 },
    { id: 'c', state: 'unknown', total: 0.9 },
  );

  it('fail-closed (default): no endpoint, clearly so', () => {
    const { selection, change } = nextSelection(chosen('a'), allDown, 'bsc', T0 + 1_000, P);
    expect(selection).toMatchObject({
      nodeId: null,
      tier: null,
      mode: 'fail-closed',
      reason: 'all_unhealthy',
      top: [],
    });
    expect(change).toMatchObject({ from: 'a', to: null, fromMode: 'normal', mode: 'fail-closed' });
  });

  it('fail-open: the least bad node, flagged', () => {
    const { selection } = nextSelection(null, allDown, 'bsc', T0, FAIL_OPEN);
    expect(selection).toMatchObject({
      nodeId: 'b',
      mode: 'fail-open',
      degradedChoice: true,
      reason: 'all_unhealthy',
      top: ['b', 'a', 'c'],
    });
  });

  it('fail-open is sticky too', () => {
    const prev = chosen('a', { mode: 'fail-open', since: T0 });
    expect(nextSelection(prev, allDown, 'bsc', T0 + 10_000, FAIL_OPEN).selection.nodeId).toBe('a');
    expect(nextSelection(prev, allDown, 'bsc', T0 + 30_000, FAIL_OPEN).selection).toMatchObject({
      nodeId: 'b',
      reason: 'better_candidate',
    });
  });

  it('fail-open never picks a drained node or one on another chain', () => {
    const ranked = ranking(
      { id: 'm', state: 'maintenance' },
      { id: 'w', state: 'unhealthy', extra: { wrongChainSince: T0, reasons: [reasons.wrongChain('0x61', '0x38')] } },
    );
    expect(nextSelection(null, ranked, 'bsc', T0, FAIL_OPEN).selection).toMatchObject({
      nodeId: null,
      mode: 'fail-open',
      reason: 'no_candidates',
    });
  });

  it('no nodes at all', () => {
    expect(nextSelection(null, [], 'bsc', T0, P).selection).toMatchObject({
      nodeId: null,
      mode: 'fail-closed',
      reason: 'no_candidates',
    });
  });

  it('leaves fail-closed as soon as a node is usable', () => {
    const prev = chosen(null, { mode: 'fail-closed', reason: 'all_unhealthy' });
    const { selection, change } = nextSelection(prev, ranking({ id: 'a' }), 'bsc', T0 + 1_000, P);
    expect(selection).toMatchObject({ nodeId: 'a', mode: 'normal', since: T0 + 1_000 });
    expect(change).toMatchObject({ from: null, to: 'a', fromMode: 'fail-closed', mode: 'normal' });
  });
});

describe("nextSelection: start-up waits for the primaries' first samples", () => {
  const confirming = { state: 'unknown' as const, extra: { reasons: [reasons.confirming(1, 2)] } };
  const backupFirst = () =>
    ranking({ id: 'p1', ...confirming }, { id: 'p2', state: 'unknown' }, { id: 'b', tier: 1, usableSince: T0 });

  it('when only a backup has answered, then there is no choice yet, until a bounded deadline', () => {
    const first = nextSelection(null, backupFirst(), 'bsc', T0, P);
    expect(first.selection).toMatchObject({
      nodeId: null,
      mode: 'normal',
      reason: 'awaiting_first_samples',
      startupUntil: T0 + P.startupWaitMs,
      top: [],
    });
    const later = nextSelection(first.selection, backupFirst(), 'bsc', T0 + P.startupWaitMs - 1, P);
    expect(later.selection).toMatchObject({ nodeId: null, reason: 'awaiting_first_samples' });
    expect(later.change).toBeNull();
  });

  it('when the primaries are confirmed, then a primary is the first choice, not the backup that answered first', () => {
    const waiting = nextSelection(null, backupFirst(), 'bsc', T0, P).selection;
    const seen = ranking(
      { id: 'p1', usableSince: T0 + 300 },
      { id: 'p2', usableSince: T0 + 400 },
      { id: 'b', tier: 1, usableSince: T0 },
    );
    const { selection } = nextSelection(waiting, seen, 'bsc', T0 + 500, P);
    expect(selection).toMatchObject({
      nodeId: 'p1',
      tier: 0,
      reason: 'initial',
      startupUntil: null,
      preliminary: false,
    });
  });

  it('when a primary fails its first probe, then it counts as seen and the backup serves at once', () => {
    const ranked = ranking({ id: 'p1', state: 'unhealthy' }, { id: 'b', tier: 1, usableSince: T0 });
    expect(nextSelection(null, ranked, 'bsc', T0, P).selection).toMatchObject({
      nodeId: 'b',
      preliminary: false,
      startupUntil: null,
    });
  });

  it('when the wait runs out, then the backup serves, preliminary, and a primary takes over as soon as it is usable (no failback dwell)', () => {
    const waiting = nextSelection(null, backupFirst(), 'bsc', T0, P).selection;
    const timedOut = nextSelection(waiting, backupFirst(), 'bsc', T0 + P.startupWaitMs, P).selection;
    expect(timedOut).toMatchObject({ nodeId: 'b', preliminary: true, startupUntil: null });
    const kept = nextSelection(timedOut, backupFirst(), 'bsc', T0 + P.startupWaitMs + 1_000, P).selection;
    expect(kept).toMatchObject({ nodeId: 'b', reason: 'kept', preliminary: true });
    const now = T0 + P.startupWaitMs + 2_000;
    const back = nextSelection(
      kept,
      ranking({ id: 'p1', usableSince: now }, { id: 'p2', state: 'unknown' }, { id: 'b', tier: 1, usableSince: T0 }),
      'bsc',
      now,
      P,
    ).selection;
    expect(back).toMatchObject({ nodeId: 'p1', reason: 'failback' });
  });

  it('once every primary has been seen, the failback dwell holds again', () => {
    const prelim = chosen('b', { tier: 1, preliminary: true });
    const seenDown = nextSelection(
      prelim,
      ranking({ id: 'p1', state: 'unhealthy' }, { id: 'b', tier: 1 }),
      'bsc',
      T0,
      P,
    ).selection;
    expect(seenDown).toMatchObject({ nodeId: 'b', preliminary: false });
    const recovered = nextSelection(
      seenDown,
      ranking({ id: 'p1', usableSince: T0 + 1_000 }, { id: 'b', tier: 1 }),
      'bsc',
      T0 + 2_000,
      P,
    ).selection;
    expect(recovered).toMatchObject({
      nodeId: 'b',
      reason: 'kept',
      pendingFailback: { nodeId: 'p1', readyAt: T0 + 1_000 + P.failbackDwellMs },
    });
  });

  it('a restart that finds a choice already made does not wait', () => {
    const { selection } = nextSelection(chosen('p2'), backupFirst(), 'bsc', T0, P);
    expect(selection.reason).not.toBe('awaiting_first_samples');
  });

  it('the same tier does not wait: the first usable primary is chosen at once', () => {
    const ranked = ranking({ id: 'p1', ...confirming }, { id: 'p2' });
    expect(nextSelection(null, ranked, 'bsc', T0, P).selection).toMatchObject({
      nodeId: 'p2',
      reason: 'initial',
      preliminary: false,
    });
  });
});

describe('nextSelection at the size of the largest fleets', () => {
  it('chooses among 200,000 usable nodes of one chain (more than a call takes as spread arguments)', () => {
    const specs: Spec[] = Array.from({ length: 200_000 }, (_, i) => ({
      id: `n${String(i).padStart(6, '0')}`,
      total: 0.5 + (i % 1000) / 2000,
      tier: i % 3 === 0 ? 1 : 0,
    }));
    const { selection } = nextSelection(null, rankingOf(specs), 'bsc', T0, P);
    // The best score (i % 1000 = 999) of the primary tier (i % 3 !== 0: 999 is a backup), the lowest id among equals.
    expect(selection).toMatchObject({ nodeId: 'n001999', tier: 0, mode: 'normal' });
  });
});
