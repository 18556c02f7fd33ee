import request from 'supertest';
import { startHarness, type Harness } from '../support/api-harness.js';

const PROBLEM = /^application\/problem\+json/;

describe('GET /v1/nodes and /v1/nodes/:id', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      specs: [
        { id: 'bsc-fra-1', kind: 'bsc' },
        { id: 'bsc-ams-1', kind: 'bsc', fault: { type: 'hang' } },
        { id: 'bsc-sgp-1', kind: 'bsc' },
        { id: 'dfi-fra-1', kind: 'defid', peers: { inbound: 3, outbound: 5 } },
        { id: 'dfi-ams-1', kind: 'defid', disabledMethods: ['getpeerinfo'] },
        { id: 'pai-1', kind: 'paicoind' },
      ],
      env: { NODESENTRY_API_KEY: 'read-key-0123456789' },
      // The hung node must time out fast (only it: 150 ms is too tight for a first probe of a
      // Bitcoin-family node on a loaded machine).
      mapNodes: (nodes) => nodes.map((n) => (n.id === 'bsc-ams-1' ? { ...n, timeoutMs: 150 } : n)),
      // Peer lists on the first probe (in production they are phased over the first minute).
      poller: { phasePeerDetails: false },
    });
    await h.sweep(3);
  });
  afterAll(() => h.close());

  const get = (path: string) => request(h.app).get(path).set('x-api-key', 'read-key-0123456789');

  it('when listed, then every node comes in chain-then-id order with a compact, credential-free summary', async () => {
    const r = await get('/v1/nodes').expect(200);
    expect(r.headers['cache-control']).toBe('no-store');
    expect(r.body.items.map((n: { id: string }) => n.id)).toEqual([
      'bsc-ams-1',
      'bsc-fra-1',
      'bsc-sgp-1',
      'dfi-ams-1',
      'dfi-fra-1',
      'pai-1',
    ]);
    expect(r.body).toMatchObject({ total: 6, limit: 100, nextCursor: null });
    const fra = r.body.items.find((n: { id: string }) => n.id === 'bsc-fra-1');
    expect(fra).toMatchObject({
      chain: 'bsc',
      family: 'evm',
      tier: 0,
      state: 'healthy',
      drained: false,
      stale: false,
      reasons: [],
    });
    expect(fra.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/n\/bsc-fra-1$/);
    expect(fra.peers).toEqual({ total: 18, in: null, out: null });
    expect(typeof fra.height).toBe('number');
    expect(fra.score).toBeGreaterThan(0);
    expect(fra.clientVersion).toMatch(/Geth/);
    const hung = r.body.items.find((n: { id: string }) => n.id === 'bsc-ams-1');
    expect(hung.state).toBe('unhealthy');
    expect(hung.reasons[0]).toMatchObject({ code: 'rpc_timeout' });
    const dfi = r.body.items.find((n: { id: string }) => n.id === 'dfi-fra-1');
    expect(dfi.peers).toEqual({ total: 8, in: 3, out: 5 });
  });

  it('when filtered by chain, tag and state, then only the matching nodes come back', async () => {
    expect((await get('/v1/nodes?chain=defichain').expect(200)).body.items.map((n: { id: string }) => n.id)).toEqual([
      'dfi-ams-1',
      'dfi-fra-1',
    ]);
    expect((await get('/v1/nodes?tag=region%3Dfra').expect(200)).body.items.map((n: { id: string }) => n.id)).toEqual([
      'bsc-fra-1',
      'dfi-fra-1',
    ]);
    expect(
      (await get('/v1/nodes?tag=region%3Dfra&tag=simulated&chain=bsc').expect(200)).body.items.map(
        (n: { id: string }) => n.id,
      ),
    ).toEqual(['bsc-fra-1']);
    expect((await get('/v1/nodes?state=unhealthy').expect(200)).body.items.map((n: { id: string }) => n.id)).toEqual([
      'bsc-ams-1',
    ]);
    expect((await get('/v1/nodes?state=maintenance').expect(200)).body).toMatchObject({ items: [], total: 0 });
  });

  it('when paged with a cursor, then pages are disjoint, ordered and complete', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const r: request.Response = await get(`/v1/nodes?limit=4${cursor ? `&cursor=${cursor}` : ''}`).expect(200);
      seen.push(...r.body.items.map((n: { id: string }) => n.id));
      expect(r.body.total).toBe(6);
      cursor = r.body.nextCursor;
      pages++;
    } while (cursor && pages < 10);
    expect(pages).toBe(2);
    expect(seen).toEqual(['bsc-ams-1', 'bsc-fra-1', 'bsc-sgp-1', 'dfi-ams-1', 'dfi-fra-1', 'pai-1']);
  });

  it('when paged with an offset, then it skips that many matching nodes', async () => {
    const r = await get('/v1/nodes?offset=4&limit=1').expect(200);
    expect(r.body.items.map((n: { id: string }) => n.id)).toEqual(['dfi-fra-1']);
    expect(r.body).toMatchObject({ offset: 4, limit: 1, total: 6 });
    expect(typeof r.body.nextCursor).toBe('string');
    expect((await get('/v1/nodes?offset=99').expect(200)).body.items).toEqual([]);
  });

  it.each([
    ['limit=0', 'limit'],
    ['limit=501', 'limit'],
    ['limit=abc', 'limit'],
    ['limit=1&limit=2', 'limit'],
    ['offset=-1', 'offset'],
    ['state=sick', 'state'],
    ['stat=healthy', 'stat'],
    ['chain=nochain', 'chain'],
    ['chain=', 'chain'],
    ['tag=-x', 'tag'],
    ['cursor=%%%', 'cursor'],
    ['cursor=bm90LWEtY3Vyc29y', 'cursor'],
    ['cursor=WyJic2MiLCJ4Il0&offset=1', 'offset'],
  ])('when the query is %s, then a 400 problem names %s', async (query, param) => {
    const r = await get(`/v1/nodes?${query}`).expect(400);
    expect(r.headers['content-type']).toMatch(PROBLEM);
    expect(r.body.type).toBe('urn:nodesentry:problem:bad_query');
    expect(r.body.errors.map((e: { parameter: string }) => e.parameter)).toContain(param);
    expect(r.body.detail).toContain(param);
  });

  it('when a parameter is misspelt, then the answer suggests the right one', async () => {
    const r = await get('/v1/nodes?limt=5').expect(400);
    expect(r.body.errors[0].message).toMatch(/did you mean limit\?/);
  });

  it('when one node is asked, then it comes with state, score parts, hysteresis, sample, capabilities and freshness', async () => {
    const r = await get('/v1/nodes/dfi-ams-1').expect(200);
    const b = r.body;
    expect(b).toMatchObject({
      id: 'dfi-ams-1',
      chain: 'defichain',
      family: 'bitcoin',
      auth: 'none',
      drained: false,
      drain: null,
    });
    expect(['healthy', 'degraded']).toContain(b.state);
    expect(typeof b.since).toBe('number');
    expect(b.score.parts.peers).toMatchObject({ weight: expect.any(Number) });
    expect(b.hysteresis).toMatchObject({ tracked: b.state, pending: null });
    expect(b.hysteresis.consecutive.usable).toBe(3);
    expect(b.sample).toMatchObject({ ok: true, family: 'bitcoin' });
    expect(b.sample.peerList).toBeUndefined();
    expect(b.capabilities).toEqual({ missingMethods: ['getpeerinfo'], batch: 'unknown' });
    expect(b.freshness).toMatchObject({ stale: false, staleAfterMs: 30_000 });
    expect(b.freshness.ageMs).toBeGreaterThanOrEqual(0);
    expect(b.writer).toMatchObject({ replica: h.service.replica, thisReplica: true });
  });

  it('when an unknown node is asked, then each node route answers a 404 problem', async () => {
    for (const path of ['/v1/nodes/nope', '/v1/nodes/nope/peers', '/v1/nodes/nope/history']) {
      const r = await get(path).expect(404);
      expect(r.headers['content-type']).toMatch(PROBLEM);
      expect(r.body).toMatchObject({ type: 'urn:nodesentry:problem:node_not_found', status: 404 });
    }
  });

  it('when the node detail gets a query parameter, then it is refused', async () => {
    await get('/v1/nodes/pai-1?verbose=1').expect(400);
  });

  it('when the API key is missing or wrong, then read routes refuse (401, 403)', async () => {
    await request(h.app).get('/v1/nodes').expect(401);
    await request(h.app).get('/v1/nodes/pai-1').set('x-api-key', 'wrong').expect(403);
    await request(h.app).get('/v1/nodes').set('authorization', 'Bearer read-key-0123456789').expect(200);
  });

  describe('peers', () => {
    it('when a Bitcoin-family node is asked, then getpeerinfo is summed up: directions, versions, pings, heights, bytes per message', async () => {
      const r = await get('/v1/nodes/dfi-fra-1/peers').expect(200);
      const b = r.body;
      expect(b).toMatchObject({
        nodeId: 'dfi-fra-1',
        family: 'bitcoin',
        source: 'getpeerinfo',
        total: 8,
        list: 'collected',
      });
      expect(b.summary).toMatchObject({ total: 8, inbound: 3, outbound: 5 });
      expect(b.reported).toMatchObject({ total: 8, inbound: 3, outbound: 5 });
      expect(b.summary.versions.reduce((s: number, v: { count: number }) => s + v.count, 0)).toBe(8);
      expect(b.summary.pingMs.count).toBe(8);
      expect(b.summary.pingMs.min).toBeLessThanOrEqual(b.summary.pingMs.max);
      expect(b.summary.heights.maxSyncedBlocks).toBeGreaterThan(0);
      expect(Object.keys(b.summary.bytesPerMessage.recv).length).toBeGreaterThan(0);
      expect(b.peers).toHaveLength(8);
      expect(b.peers[0]).toMatchObject({ addr: expect.any(String), inbound: expect.any(Boolean) });
    });

    it('when an EVM node is asked, then it answers the count only and says detail is not offered', async () => {
      const r = await get('/v1/nodes/bsc-fra-1/peers').expect(200);
      expect(r.body).toMatchObject({
        family: 'evm',
        source: 'net_peerCount',
        total: 18,
        list: 'not_offered',
        summary: null,
        peers: null,
      });
      expect(r.body.detail).toMatch(/^not offered/);
    });

    it('when a node lacks getpeerinfo, then it says so', async () => {
      const r = await get('/v1/nodes/dfi-ams-1/peers').expect(200);
      expect(r.body).toMatchObject({ peers: null, summary: null, list: 'not_offered' });
      expect(r.body.detail).toMatch(/does not answer getpeerinfo/);
    });
  });

  describe('history', () => {
    it('when asked, then points come newest first with traffic rates from the net totals', async () => {
      const r = await get('/v1/nodes/pai-1/history?limit=10').expect(200);
      const b = r.body;
      expect(b.points).toHaveLength(3);
      expect(b.points[0].t).toBeGreaterThanOrEqual(b.points[1].t);
      expect(b.points[0]).toMatchObject({
        ok: true,
        peers: 18,
        height: expect.any(Number),
        bytesRecv: expect.any(Number),
      });
      expect(b.rates).toMatchObject({ points: 3, resets: 0 });
      expect(b.rates.recvBytesPerSec).toBeGreaterThanOrEqual(0);
      expect(b.rates.series).toHaveLength(2);
    });

    it('when the node is EVM, then rates are null and say why', async () => {
      const r = await get('/v1/nodes/bsc-fra-1/history').expect(200);
      expect(r.body.rates).toBeNull();
      expect(r.body.ratesDetail).toMatch(/EVM/);
      expect(r.body.points[0].bytesRecv).toBeNull();
    });

    it('when limit is out of range, then 400', async () => {
      await get('/v1/nodes/pai-1/history?limit=0').expect(400);
      await get('/v1/nodes/pai-1/history?limit=361').expect(400);
      expect((await get('/v1/nodes/pai-1/history?limit=1').expect(200)).body.points).toHaveLength(1);
    });
  });
});

describe('GET /v1/nodes over Redis', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      specs: [{ id: 'pai-r', kind: 'paicoind', peers: { inbound: 1, outbound: 2 } }],
      store: 'redis',
      poller: { phasePeerDetails: false },
    });
    await h.sweep(2);
  });
  afterAll(() => h.close());

  it('when peers and history live in Redis, then they are read back from it', async () => {
    const peers = await request(h.app).get('/v1/nodes/pai-r/peers').expect(200);
    expect(peers.body.summary).toMatchObject({ inbound: 1, outbound: 2 });
    const hist = await request(h.app).get('/v1/nodes/pai-r/history').expect(200);
    expect(hist.body.points).toHaveLength(2);
    expect(hist.body.rates.points).toBe(2);
  });

  it('when the store is closed, then peers and history answer 503 problems, not 500', async () => {
    await h.service.store.close();
    const r = await request(h.app).get('/v1/nodes/pai-r/history').expect(503);
    expect(r.body).toMatchObject({ type: 'urn:nodesentry:problem:store_unavailable', storeError: 'STORE_CLOSED' });
    await request(h.app).get('/v1/nodes/pai-r/peers').expect(503);
    // The in-memory view still answers.
    await request(h.app).get('/v1/nodes/pai-r').expect(200);
  });
});
