import request from 'supertest';
import { BestNodeResolver } from '../../src/read/best-node.js';
import { NodeAnswers } from '../../src/read/node-answers.js';
import { ReadModel } from '../../src/read/read-model.js';
import { rankNodes } from '../../src/health/ranking.js';
import { NO_SCORE } from '../../src/health/score.js';
import { nextSelection, type Selection } from '../../src/health/selection.js';
import type { HealthState, Verdict } from '../../src/health/states.js';
import type { NodeVerdict } from '../../src/health/verdict.js';
import type { NodeRecord } from '../../src/store/store.js';
import { startHarness, type Harness } from '../support/api-harness.js';

type BestBody = Omit<Selection, 'top'> & {
  source: string;
  state: HealthState;
  top: Array<{ nodeId: string; state: string }>;
};

/** Samples go stale 2 s after they were observed (max(2 s, 1 x the 1 s interval)). */
const STALE_AFTER_MS = 2_000;
const SPECS = [
  { id: 'bsc-fra-1', kind: 'bsc' },
  { id: 'bsc-fra-2', kind: 'bsc' },
  { id: 'bsc-fra-3', kind: 'bsc' },
  // Tier 1 (a backup): its id says sgp.
  { id: 'bsc-sgp-1', kind: 'bsc' },
  { id: 'dfi-fra-1', kind: 'defid' },
] as const;

/**
 * The chain probe and the best endpoint answer from caches (per-chain counts, rankings, bodies)
 * that must never outlive what they were computed from: a node going down, a drain set straight
 * on the view, a sample going stale, a reload. Records are put into the view with `ingest`, as
 * a worker would, so the workers' shared selection has not moved yet when the API is asked.
 */
describe('cached chain answers', () => {
  let h: Harness;
  /** The API's clock; undefined: the wall clock. */
  let clock: number | undefined;
  beforeAll(async () => {
    h = await startHarness({
      specs: [...SPECS],
      policy: { staleAfterMs: STALE_AFTER_MS, staleAfterIntervals: 1 },
      now: () => clock ?? Date.now(),
    });
    await h.sweep();
  });
  afterAll(() => h.close());
  beforeEach(async () => {
    clock = undefined;
    // Fresh records for every node; hysteresis needs riseAfter good samples after a bad one.
    await h.sweep();
  });

  const chainProbe = async (query = '') =>
    (await request(h.app).get(`/probe/chains/bsc${query}`)).body as {
      state: string;
      usable: number;
      healthy: number;
      nodes: number;
    };
  const best = async (query = '') => (await request(h.app).get(`/v1/chains/bsc/best${query}`)).body as BestBody;
  /** Put a record of `id` with the given state into the view, observed at `at` (after its last one). */
  const ingestState = (id: string, state: HealthState, at = Date.now()): void => {
    const r = h.service.view.get(id)!;
    const v = r.health!;
    const observedAt = Math.max(at, r.sample.observedAt + 1);
    const usable = state === 'healthy' || state === 'degraded';
    const health: NodeVerdict = {
      ...v,
      health: {
        ...v.health,
        state,
        tracked: state === 'maintenance' ? v.health.tracked : state,
        usableSince: usable ? (v.health.usableSince ?? observedAt) : null,
      },
    };
    const record: NodeRecord = {
      ...r,
      sample: { ...r.sample, observedAt },
      health,
      writtenAt: Math.max(r.writtenAt + 1, observedAt),
    };
    h.service.view.ingest([record]);
  };
  const stateOf = (id: string): HealthState => h.service.view.get(id)!.health!.health.state;
  const drain = (id: string, on: boolean) =>
    h.service.view.setDrain(id, on ? { nodeId: id, by: 'test', at: Date.now() } : null);

  describe('chain probe', () => {
    it('when a node goes down, then the cached chain answer changes at the next request, and back', async () => {
      expect(await chainProbe()).toEqual({ chain: 'bsc', state: 'healthy', nodes: 4, usable: 4, healthy: 4, min: 1 });
      // Answered from the cache: the same.
      expect(await chainProbe()).toMatchObject({ usable: 4 });
      ingestState('bsc-fra-1', 'unhealthy');
      expect(await chainProbe()).toMatchObject({ usable: 3, healthy: 3 });
      await request(h.app).get('/probe/chains/bsc?min=4').expect(503);
      ingestState('bsc-fra-1', 'degraded');
      expect(await chainProbe()).toMatchObject({ usable: 4, healthy: 3 });
      await request(h.app).get('/probe/chains/bsc?min=4&degraded=429').expect(429);
      expect((await request(h.app).get('/probe/chains/bsc?format=text&min=4').expect(200)).text).toBe(
        'degraded 4/4 usable, 3 healthy, min 4\n',
      );
    });

    it('when a node is drained on the view (no event yet) and undrained, then the chain answer follows at once', async () => {
      await chainProbe();
      drain('bsc-fra-2', true);
      try {
        expect(await chainProbe()).toMatchObject({ usable: 3, healthy: 3 });
        const list = (await request(h.app).get('/v1/chains').expect(200)).body.chains[0];
        expect(list).toMatchObject({ chain: 'bsc', usable: 3, counts: { healthy: 3, maintenance: 1 } });
      } finally {
        drain('bsc-fra-2', false);
      }
      expect(await chainProbe()).toMatchObject({ usable: 4, healthy: 4 });
    });

    it('when samples go stale, then the chain answer says so at the first request past the limit, one node at a time, and back with the clock', async () => {
      const oldest = h.service.view.get('bsc-fra-3')!.sample.observedAt;
      await new Promise((r) => setTimeout(r, 5));
      // Every other bsc node has a newer sample than bsc-fra-3.
      for (const id of ['bsc-fra-1', 'bsc-fra-2', 'bsc-sgp-1']) ingestState(id, stateOf(id));
      clock = oldest + STALE_AFTER_MS;
      expect(await chainProbe()).toMatchObject({ usable: 4 });
      clock = oldest + STALE_AFTER_MS + 1;
      expect(await chainProbe()).toMatchObject({ usable: 3 });
      expect((await request(h.app).get('/probe/nodes/bsc-fra-3').expect(503)).body.reasons[0]).toMatch(/^stale_sample/);
      clock = oldest + 60_000;
      expect(await chainProbe()).toMatchObject({ state: 'unhealthy', usable: 0 });
      clock = oldest + 1_000;
      expect(await chainProbe()).toMatchObject({ state: 'healthy', usable: 4 });
    });
  });

  describe('best endpoint', () => {
    it('when the shared choice becomes unusable before the workers re-rank, then best fails over at once, never serving it, and stays put', async () => {
      const shared = await best();
      expect(shared).toMatchObject({ source: 'shared', mode: 'normal' });
      const chosen = shared.nodeId!;
      ingestState(chosen, 'unhealthy');
      const moved = await best();
      expect(moved).toMatchObject({
        source: 'local',
        reason: 'current_unusable',
        mode: 'normal',
        tier: 0,
        state: 'healthy',
      });
      expect(moved.nodeId).not.toBe(chosen);
      expect(moved.top.map((t) => t.nodeId)).not.toContain(chosen);
      // No flapping: the next answers keep the new node, from the cache.
      for (let i = 0; i < 3; i++)
        expect(await best()).toMatchObject({ nodeId: moved.nodeId, reason: 'kept', since: moved.since });
      // Another node changing (the chain's caches are rebuilt) does not move it either.
      const other = ['bsc-fra-1', 'bsc-fra-2', 'bsc-fra-3'].find((id) => id !== chosen && id !== moved.nodeId)!;
      ingestState(other, 'degraded');
      expect(await best()).toMatchObject({ nodeId: moved.nodeId, reason: 'kept', since: moved.since });
    });

    it('when only the chosen node goes stale while the shared report is fresh, then best fails over at the first request past its limit', async () => {
      const shared = await best();
      const chosen = shared.nodeId!;
      const observedAt = h.service.view.get(chosen)!.sample.observedAt;
      await new Promise((r) => setTimeout(r, 5));
      for (const id of ['bsc-fra-1', 'bsc-fra-2', 'bsc-fra-3', 'bsc-sgp-1'])
        if (id !== chosen) ingestState(id, stateOf(id));
      clock = observedAt + STALE_AFTER_MS;
      expect(await best()).toMatchObject({ source: 'shared', nodeId: chosen });
      clock = observedAt + STALE_AFTER_MS + 1;
      const moved = await best();
      expect(moved).toMatchObject({ source: 'local', reason: 'current_unusable', mode: 'normal' });
      expect(moved.nodeId).not.toBe(chosen);
      expect(moved.top.map((t) => t.nodeId)).not.toContain(chosen);
    });

    it('when a node of the shared top list goes down, then it leaves the list at once while the choice holds', async () => {
      const shared = await best();
      expect(shared.top.length).toBeGreaterThanOrEqual(2);
      const second = shared.top[1]!.nodeId;
      ingestState(second, 'unhealthy');
      const after = await best();
      expect(after).toMatchObject({ source: 'shared', nodeId: shared.nodeId });
      expect(after.top.map((t) => t.nodeId)).not.toContain(second);
      expect(after.top).toHaveLength(Math.min(shared.top.length, 3));
      // More entries than the workers listed: from the ranking, and still never the down node.
      const all = await best('?top=10');
      expect(all.top.map((t) => t.nodeId)).toEqual(expect.arrayContaining(after.top.map((t) => t.nodeId)));
      expect(all.top.map((t) => t.nodeId)).not.toContain(second);
      expect(all.top.at(-1)).toMatchObject({ nodeId: 'bsc-sgp-1' });
    });

    it('when a tagged (local) choice is drained on the view, then it fails over at once and does not flap back when undrained', async () => {
      clock = Date.now();
      const first = await best('?tag=region=fra');
      expect(first).toMatchObject({ source: 'local', mode: 'normal' });
      expect(await best('?tag=region=fra')).toMatchObject({ nodeId: first.nodeId, reason: 'kept', since: first.since });
      drain(first.nodeId!, true);
      let moved: Awaited<ReturnType<typeof best>>;
      try {
        moved = await best('?tag=region=fra');
        expect(moved).toMatchObject({ reason: 'current_unusable' });
        expect(moved.nodeId).not.toBe(first.nodeId);
      } finally {
        drain(first.nodeId!, false);
      }
      // Usable again, but the new choice is sticky (minimum dwell): no way back yet.
      expect(await best('?tag=region=fra')).toMatchObject({ nodeId: moved.nodeId, reason: 'kept' });
    });

    it('when every primary is down, then the backup serves, and the primaries get it back only after the failback dwell', async () => {
      // Every bsc node has this tag: a local choice over the whole chain (the workers' shared
      // choice, made before the primaries went down, would be served again as soon as it holds).
      const q = '?tag=simulated';
      const t0 = Date.now();
      clock = t0;
      await best(q);
      for (const id of ['bsc-fra-1', 'bsc-fra-2', 'bsc-fra-3']) ingestState(id, 'unhealthy', t0);
      expect(await best(q)).toMatchObject({ nodeId: 'bsc-sgp-1', tier: 1, reason: 'current_unusable' });
      ingestState('bsc-fra-1', 'healthy', t0 + 1);
      clock = t0 + 2;
      const waiting = await best(q);
      expect(waiting).toMatchObject({
        nodeId: 'bsc-sgp-1',
        reason: 'kept',
        pendingFailback: { nodeId: 'bsc-fra-1', tier: 0 },
      });
      // The default failback dwell is 60 s, beyond the samples' freshness here: keep them fresh.
      const readyAt = waiting.pendingFailback!.readyAt;
      for (const id of ['bsc-fra-1', 'bsc-sgp-1']) ingestState(id, 'healthy', readyAt - 10);
      clock = readyAt - 1;
      expect(await best(q)).toMatchObject({ nodeId: 'bsc-sgp-1', reason: 'kept' });
      expect(await best(q)).toMatchObject({ nodeId: 'bsc-sgp-1', reason: 'kept' });
      // The same ranking as the answers just before: only the clock says the dwell is over.
      clock = readyAt;
      expect(await best(q)).toMatchObject({ nodeId: 'bsc-fra-1', reason: 'failback', tier: 0 });
    });
  });

  describe('what is cached, and until when', () => {
    let read: ReadModel;
    beforeEach(() => {
      read = new ReadModel(h.service);
    });
    afterEach(() => read.close());

    it('a chain summary is reused until one of its nodes changes or a sample crosses its limit, and not when another chain changes', () => {
      const t = Date.now();
      const s1 = read.chainSummary('bsc', t)!;
      expect(s1.counts).toMatchObject({ healthy: 4 });
      expect(read.chainSummary('bsc', t + 1)).toBe(s1);
      const dfi = read.chainSummary('defichain', t)!;
      ingestState('dfi-fra-1', stateOf('dfi-fra-1'));
      expect(read.chainSummary('bsc', t + 2)).toBe(s1);
      expect(read.chainSummary('defichain', t + 2)).not.toBe(dfi);

      expect(s1.validUntil).toBe(
        Math.min(
          ...['bsc-fra-1', 'bsc-fra-2', 'bsc-fra-3', 'bsc-sgp-1'].map(
            (id) => h.service.view.get(id)!.sample.observedAt + STALE_AFTER_MS,
          ),
        ),
      );
      expect(read.chainSummary('bsc', s1.validUntil)).toBe(s1);
      const later = read.chainSummary('bsc', s1.validUntil + 1)!;
      expect(later).not.toBe(s1);
      expect(later.stale).toBeGreaterThanOrEqual(1);
      expect(later.usable).toBe(4 - later.stale);

      const s2 = read.chainSummary('bsc', t)!;
      ingestState('bsc-fra-2', 'healthy');
      const s3 = read.chainSummary('bsc', t)!;
      expect(s3).not.toBe(s2);
      drain('bsc-fra-2', true);
      try {
        expect(read.chainSummary('bsc', t)).not.toBe(s3);
        expect(read.chainSummary('bsc', t)!.counts.maintenance).toBe(1);
      } finally {
        drain('bsc-fra-2', false);
      }
      expect(read.chainSummary('bsc', t)!.counts.maintenance).toBe(0);
    });

    it('when the view reloads from the store (records upserted without events), then every chain summary is recomputed', async () => {
      const t = Date.now();
      const s1 = read.chainSummary('bsc', t)!;
      expect(read.chainSummary('bsc', t)).toBe(s1);
      expect(await h.service.view.reload()).toBe(true);
      expect(read.chainSummary('bsc', t)).not.toBe(s1);
    });

    it('a burst of local choices after a change ranks the chain once', () => {
      const resolver = new BestNodeResolver(read, new NodeAnswers(read));
      const t = Date.now();
      const first = resolver.resolve('bsc', t, 'simulated')!;
      const ranked = resolver.ranking('bsc', t, 'simulated');
      for (let i = 1; i <= 5; i++) {
        const b = resolver.resolve('bsc', t + i, 'simulated')!;
        expect(b.selection).toMatchObject({ nodeId: first.selection.nodeId, reason: 'kept', evaluatedAt: t + i });
        expect(resolver.ranking('bsc', t + i, 'simulated')).toBe(ranked);
      }
      ingestState('bsc-fra-1', 'degraded');
      expect(resolver.ranking('bsc', t + 10, 'simulated')).not.toBe(ranked);
    });

    it('after a reload, the chain answers count the new fleet', async () => {
      const nodes = [...h.service.nodes.values()];
      await h.service.reload(
        nodes.filter((n) => n.id !== 'bsc-fra-3'),
        h.service.policy,
      );
      try {
        expect(await chainProbe()).toMatchObject({ nodes: 3, usable: 3 });
        expect((await best('?top=10')).top.map((t) => t.nodeId)).not.toContain('bsc-fra-3');
      } finally {
        await h.service.reload(nodes, h.service.policy);
      }
      // Back, but never sampled since: unknown until the next sweeps.
      expect(await chainProbe()).toMatchObject({ nodes: 4, usable: 3 });
    });
  });
});

/**
 * The local choice is reused between requests (the same ranking, no dwell reached) instead of
 * being recomputed: it must be exactly what recomputing it every time would give.
 */
describe('cached local choice, against recomputing it every time', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      specs: [
        ...SPECS.filter((s) => s.kind === 'bsc'),
        { id: 'bsc-sgp-2', kind: 'bsc' },
        { id: 'bsc-ams-1', kind: 'bsc' },
      ],
      policy: { minDwellMs: 300, failbackDwellMs: 500, staleAfterMs: 60_000 },
    });
    await h.sweep();
  });
  afterAll(() => h.close());

  it('when states, drains and the clock change at random, then every answer equals the one recomputed from scratch', () => {
    const read = new ReadModel(h.service);
    const resolver = new BestNodeResolver(read, new NodeAnswers(read));
    const ids = [...h.service.nodes.keys()];
    const policy = read.policy('bsc');
    const states: Verdict[] = ['healthy', 'healthy', 'degraded', 'unhealthy', 'unknown'];
    // A deterministic generator (mulberry32): a failure reproduces.
    let seed = 42;
    const random = (): number => {
      seed = (seed + 0x6d2b79f5) | 0;
      let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
      return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
    };
    let t = Math.max(...ids.map((id) => h.service.view.get(id)!.sample.observedAt)) + 1;
    let reference: Selection | null = null;
    try {
      for (let step = 0; step < 400; step++) {
        const r = random();
        const id = ids[Math.floor(random() * ids.length)]!;
        if (r < 0.15) {
          const rec = h.service.view.get(id)!;
          const v = rec.health!;
          const state = states[Math.floor(random() * states.length)]!;
          const usable = state === 'healthy' || state === 'degraded';
          const health: NodeVerdict = {
            ...v,
            health: { ...v.health, state, tracked: state, usableSince: usable ? (v.health.usableSince ?? t) : null },
          };
          h.service.view.ingest([{ ...rec, sample: { ...rec.sample, observedAt: t }, health, writtenAt: t }]);
        } else if (r < 0.2) {
          h.service.view.setDrain(id, h.service.view.drain(id) ? null : { nodeId: id, by: 'test', at: t });
        }
        t += Math.floor(random() * 60);
        const got = resolver.resolve('bsc', t, 'simulated')!.selection;
        const views = read.chainViews('bsc', t)!;
        const ranking = rankNodes(
          views.map((v) => ({ node: v.node, health: v.health, score: v.verdict?.score ?? NO_SCORE })),
        );
        reference = nextSelection(reference, ranking, 'bsc', t, policy).selection;
        expect({ step, ...got }).toEqual({ step, ...reference });
      }
    } finally {
      for (const id of ids) h.service.view.setDrain(id, null);
      read.close();
    }
  });
});
