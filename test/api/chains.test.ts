import request from 'supertest';
import { startHarness, type Harness } from '../support/api-harness.js';

const KEY = 'chains-key-0123456789';
const NODE_PASSWORD = 'n0de-Pa55word';
const FAILBACK_DWELL_MS = 1_500;

/**
 * Chains, ranking and the endpoint choice, against a real service over the simulator. BSC has
 * two primaries (fra) and a backup (sgp, tier 1); DeFiChain fails closed; PAI fails open.
 */
describe('chains and the endpoint choice', () => {
  let h: Harness;
  let skewMs = 0;
  beforeAll(async () => {
    h = await startHarness({
      specs: [
        { id: 'bsc-fra-1', kind: 'bsc' },
        { id: 'bsc-fra-2', kind: 'bsc', auth: { username: 'rpc', password: NODE_PASSWORD } },
        { id: 'bsc-sgp-1', kind: 'bsc' },
        { id: 'dfi-fra-1', kind: 'defid', fault: { type: 'unauthorized' } },
        { id: 'pai-fra-1', kind: 'paicoind', fault: { type: 'unauthorized' } },
      ],
      env: { NODESENTRY_API_KEY: KEY },
      policy: { failAfter: 2, failbackDwellMs: FAILBACK_DWELL_MS, chains: { pai: { whenAllUnhealthy: 'fail-open' } } },
      now: () => Date.now() + skewMs,
    });
    await h.sweep();
  });
  afterAll(() => h.close());
  afterEach(() => {
    skewMs = 0;
  });

  const get = (path: string) => request(h.app).get(path).set('x-api-key', KEY);
  const best = async (chain = 'bsc', query = '') => (await get(`/v1/chains/${chain}/best${query}`)).body;

  it('when no API key is sent, then the chain routes answer 401', async () => {
    await request(h.app).get('/v1/chains').expect(401);
    await request(h.app).get('/v1/chains/bsc/best').expect(401);
    await request(h.app).get('/v1/chains/bsc/ranking').set('x-api-key', 'nope').expect(403);
  });

  it('when the chains are listed, then each has its reference head, counts and best node', async () => {
    const r = await get('/v1/chains').expect(200);
    expect(r.headers['cache-control']).toBe('no-store');
    expect(r.body.chains.map((c: { chain: string }) => c.chain)).toEqual(['bsc', 'defichain', 'pai']);
    const bsc = r.body.chains[0];
    expect(bsc).toMatchObject({
      chain: 'bsc',
      family: 'evm',
      nodes: 3,
      usable: 3,
      counts: { healthy: 3, degraded: 0, unhealthy: 0, unknown: 0, maintenance: 0 },
      reference: { contributors: 3, quorum: 2 },
      best: { mode: 'normal', degradedChoice: false, source: 'shared' },
      reportFresh: true,
    });
    expect(bsc.reference.height).toBeGreaterThan(60_000_000);
    expect(['bsc-fra-1', 'bsc-fra-2']).toContain(bsc.best.nodeId);
    expect(bsc.best.url).toBe(h.nodes.find((n) => n.id === bsc.best.nodeId)!.url);
    expect(r.body.chains[1]).toMatchObject({
      chain: 'defichain',
      usable: 0,
      counts: { unhealthy: 1 },
      best: { nodeId: null, mode: 'fail-closed' },
    });
    expect(r.body.chains[2]).toMatchObject({
      chain: 'pai',
      best: { nodeId: 'pai-fra-1', mode: 'fail-open', degradedChoice: true },
    });
  });

  it('when the ranking is asked, then nodes come in order with state, score parts, tier, tags and reasons, and no credential', async () => {
    const r = await get('/v1/chains/bsc/ranking').expect(200);
    const nodes = r.body.nodes as Array<
      Record<string, unknown> & { score: { total: number; parts: Record<string, unknown> } }
    >;
    expect(nodes.map((n) => n.rank)).toEqual([1, 2, 3]);
    // Primaries first; the backup ranks by score like the rest but serves only by tier.
    expect(nodes.map((n) => n.nodeId).sort()).toEqual(['bsc-fra-1', 'bsc-fra-2', 'bsc-sgp-1']);
    for (let i = 1; i < nodes.length; i++)
      expect(nodes[i - 1]!.score.total).toBeGreaterThanOrEqual(nodes[i]!.score.total);
    const sgp = nodes.find((n) => n.nodeId === 'bsc-sgp-1')!;
    expect(sgp).toMatchObject({
      tier: 1,
      tags: ['region=sgp', 'simulated'],
      state: 'healthy',
      usable: true,
      selected: false,
      reasons: [],
    });
    expect(Object.keys(sgp.score.parts).sort()).toEqual(['errors', 'lag', 'latency', 'peers', 'tier']);
    expect(nodes.filter((n) => n.selected).map((n) => n.nodeId)).toEqual([r.body.best]);
    expect(r.text).not.toContain(NODE_PASSWORD);

    const dfi = (await get('/v1/chains/defichain/ranking').expect(200)).body.nodes[0];
    expect(dfi).toMatchObject({
      nodeId: 'dfi-fra-1',
      state: 'unhealthy',
      usable: false,
      reasons: [{ code: 'auth_failed', text: 'auth_failed', severity: 'unhealthy' }],
    });
  });

  it('when the best node is asked, then the shared choice comes with its top list, urls and the policy', async () => {
    const b = await best();
    expect(b).toMatchObject({
      chain: 'bsc',
      tag: null,
      mode: 'normal',
      degradedChoice: false,
      source: 'shared',
      state: 'healthy',
      tier: 0,
      policy: { whenAllUnhealthy: 'fail-closed' },
    });
    expect(b.detail).toBeUndefined();
    // The choice first, the other primary, then the backup.
    expect(b.top.map((t: { nodeId: string }) => t.nodeId)).toEqual([
      b.nodeId,
      b.nodeId === 'bsc-fra-1' ? 'bsc-fra-2' : 'bsc-fra-1',
      'bsc-sgp-1',
    ]);
    expect(b.top[0].url).toBe(b.url);
    expect((await best('bsc', '?top=1')).top).toHaveLength(1);
    expect(JSON.stringify(b)).not.toContain(NODE_PASSWORD);
  });

  it('when the shared report is older than the freshness window, then the choice is computed here and stays where the workers left it', async () => {
    const shared = await best();
    skewMs = 15_000;
    const local = await best();
    expect(local).toMatchObject({ source: 'local', nodeId: shared.nodeId, reason: 'kept', since: shared.since });
  });

  it('when the chosen node is drained after the workers chose, then the answer moves off it at once', async () => {
    const shared = await best();
    const drain = { nodeId: shared.nodeId, by: 'test', at: Date.now() };
    h.service.view.setDrain(shared.nodeId, drain);
    try {
      const moved = await best();
      expect(moved).toMatchObject({ source: 'local', reason: 'current_unusable', mode: 'normal', tier: 0 });
      expect(moved.nodeId).not.toBe(shared.nodeId);
    } finally {
      h.service.view.setDrain(shared.nodeId, null);
    }
  });

  it('when a tag restricts the candidates, then only nodes with it are chosen; an unknown tag is a 404', async () => {
    const b = await best('bsc', '?tag=region=sgp');
    expect(b).toMatchObject({ tag: 'region=sgp', nodeId: 'bsc-sgp-1', source: 'local', mode: 'normal' });
    expect(b.top.map((t: { nodeId: string }) => t.nodeId)).toEqual(['bsc-sgp-1']);
    const ranking = (await get('/v1/chains/bsc/ranking?tag=region%3Dfra').expect(200)).body;
    expect(ranking.nodes.map((n: { nodeId: string }) => n.nodeId).sort()).toEqual(['bsc-fra-1', 'bsc-fra-2']);
    const missing = await get('/v1/chains/bsc/best?tag=region=nyc').expect(404);
    expect(missing.body.type).toBe('urn:nodesentry:problem:tag_not_found');
  });

  it('when every node of a fail-closed chain is unhealthy, then best answers 503 with the selection and the policy stated', async () => {
    const r = await get('/v1/chains/defichain/best').expect(503);
    expect(r.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(r.headers['x-nodesentry-mode']).toBe('fail-closed');
    expect(r.body).toMatchObject({
      type: 'urn:nodesentry:problem:no_usable_node',
      status: 503,
      chain: 'defichain',
      nodeId: null,
      url: null,
      mode: 'fail-closed',
      reason: 'all_unhealthy',
      top: [],
      policy: { whenAllUnhealthy: 'fail-closed' },
    });
    expect(r.body.detail).toMatch(/fails closed/);
  });

  it('when every node of a fail-open chain is unhealthy, then best answers the least bad node, flagged', async () => {
    const r = await get('/v1/chains/pai/best').expect(200);
    expect(r.headers['x-nodesentry-mode']).toBe('fail-open');
    expect(r.body).toMatchObject({
      nodeId: 'pai-fra-1',
      mode: 'fail-open',
      degradedChoice: true,
      state: 'unhealthy',
      policy: { whenAllUnhealthy: 'fail-open' },
    });
    // `all_unhealthy` when the workers first chose it, `kept` on each round since.
    expect(['all_unhealthy', 'kept']).toContain(r.body.reason);
    expect(r.body.detail).toMatch(/fails open.*pai-fra-1 \(unhealthy\)/);
  });

  it('when a chain is unknown, then it is a 404 problem; bad queries are 400s naming the parameter', async () => {
    expect((await get('/v1/chains/solana/best').expect(404)).body.type).toBe('urn:nodesentry:problem:chain_not_found');
    await get('/v1/chains/solana/ranking').expect(404);
    for (const [path, names] of [
      ['/v1/chains/bsc/best?top=0', ['top']],
      ['/v1/chains/bsc/best?top=101', ['top']],
      ['/v1/chains/bsc/best?tag=a%20b&x=1', ['tag', 'x']],
      ['/v1/chains/bsc/ranking?top=2', ['top']],
      ['/v1/chains?verbose=1', ['verbose']],
    ] as const) {
      const r = await get(path).expect(400);
      expect(r.body.errors.map((e: { parameter: string }) => e.parameter)).toEqual(names);
    }
  });

  it('when the best node fails, then the choice fails over at once, to the backup tier last, and fails back only after the dwell', async () => {
    const first = (await best()).nodeId as string;
    const other = first === 'bsc-fra-1' ? 'bsc-fra-2' : 'bsc-fra-1';

    await h.sim.setFault(first, { type: 'unauthorized' });
    await h.sweep(1);
    // One failed probe is not enough (failAfter 2): no flap.
    expect(await best()).toMatchObject({ nodeId: first, source: 'shared' });
    await h.sweep(1);
    expect(await best()).toMatchObject({ nodeId: other, reason: 'current_unusable', source: 'shared', tier: 0 });

    await h.sim.setFault(other, { type: 'unauthorized' });
    await h.sweep(2);
    const backup = await best();
    expect(backup).toMatchObject({ nodeId: 'bsc-sgp-1', tier: 1, reason: 'current_unusable', mode: 'normal' });
    expect(backup.top.map((t: { nodeId: string }) => t.nodeId)).toEqual(['bsc-sgp-1']);

    await h.sim.setFault(first, { type: 'none' });
    await h.sim.setFault(other, { type: 'none' });
    await h.sweep(2);
    // Both primaries are usable again, but the working backup keeps serving during the dwell.
    const waiting = await best();
    expect(waiting).toMatchObject({ nodeId: 'bsc-sgp-1', reason: 'kept' });
    expect(waiting.pendingFailback).toMatchObject({ tier: 0 });
    expect([first, other]).toContain(waiting.pendingFailback.nodeId);
    // The backup now lists after the recovered primaries for clients that fail over themselves.
    expect(waiting.top.map((t: { nodeId: string }) => t.nodeId)[0]).toBe('bsc-sgp-1');

    await new Promise((r) => setTimeout(r, Math.max(0, waiting.pendingFailback.readyAt - Date.now()) + 50));
    await h.sweep(1);
    const back = await best();
    expect(back).toMatchObject({ reason: 'failback', tier: 0, mode: 'normal' });
    expect([first, other]).toContain(back.nodeId);
  });
});
