import request from 'supertest';
import { startHarness, type Harness } from '../support/api-harness.js';

const KEY = 'read-key-0123456789';
const PROBLEM = /^application\/problem\+json/;

interface Item {
  nodeId: string;
  chain: string;
  from: string;
  to: string;
  reasons: string[];
  at: number;
  replica: string;
}

for (const store of ['memory', 'redis'] as const) {
  describe(`GET /v1/transitions (${store} store)`, () => {
    let h: Harness;
    const get = (path: string) => request(h.app).get(path).set('x-api-key', KEY);
    const all = async (query = ''): Promise<Item[]> => {
      const out: Item[] = [];
      let cursor: string | null = null;
      do {
        const r = await get(`/v1/transitions?limit=2${query}${cursor ? `&cursor=${cursor}` : ''}`).expect(200);
        out.push(...(r.body.items as Item[]));
        cursor = r.body.nextCursor as string | null;
      } while (cursor);
      return out;
    };

    beforeAll(async () => {
      h = await startHarness({
        specs: [
          { id: 'bsc-a', kind: 'bsc' },
          { id: 'bsc-b', kind: 'bsc' },
          { id: 'dfi-a', kind: 'defid' },
        ],
        store,
        env: { NODESENTRY_API_KEY: KEY },
      });
      await h.sweep();
    });
    afterAll(() => h.close());

    it('when nodes settle and one then fails, then the fleet log lists every change, newest first, with node and chain', async () => {
      const start = (await get('/v1/transitions').expect(200)).body;
      expect(start.items.length).toBeGreaterThanOrEqual(3);
      expect(new Set((start.items as Item[]).map((t) => t.nodeId))).toEqual(new Set(['bsc-a', 'bsc-b', 'dfi-a']));

      const failedAt = Date.now();
      await h.sim.setFault('dfi-a', { type: 'unauthorized' });
      for (let i = 0; i < 12; i++) {
        await h.sweep(1);
        if ((await get('/v1/nodes/dfi-a').expect(200)).body.state === 'unhealthy') break;
      }
      const r = await get('/v1/transitions').expect(200);
      expect(r.headers['cache-control']).toBe('no-store');
      const items = r.body.items as Item[];
      const latest = items[0]!;
      expect(latest).toMatchObject({
        nodeId: 'dfi-a',
        chain: 'defichain',
        to: 'unhealthy',
        replica: h.service.replica,
      });
      expect(latest.at).toBeGreaterThanOrEqual(failedAt);
      expect(latest.reasons.join(' ')).toMatch(/auth_failed|unauthorized/);
      expect(items.map((t) => t.at)).toEqual([...items.map((t) => t.at)].sort((a, b) => b - a));
      // The fleet log holds what the node's own log holds, for each node.
      for (const id of ['bsc-a', 'dfi-a']) {
        const own = (await get(`/v1/nodes/${id}/transitions?limit=50`).expect(200)).body.transitions as Array<
          Omit<Item, 'nodeId' | 'chain'>
        >;
        expect(items.filter((t) => t.nodeId === id).map(({ nodeId: _n, chain: _c, ...t }) => t)).toEqual(own);
      }
    });

    it('when filtered by chain, node or state, then only matching changes; pages with a cursor cover the log once', async () => {
      const everything = (await get('/v1/transitions?limit=500').expect(200)).body.items as Item[];
      expect(await all()).toEqual(everything);
      const bsc = await all('&chain=bsc');
      expect(bsc.length).toBeGreaterThan(0);
      expect(bsc).toEqual(everything.filter((t) => t.chain === 'bsc'));
      expect(await all('&node=dfi-a')).toEqual(everything.filter((t) => t.nodeId === 'dfi-a'));
      const down = await all('&state=unhealthy');
      expect(down.map((t) => t.nodeId)).toEqual(['dfi-a']);
      expect(await all('&chain=defichain&state=healthy')).toEqual(
        everything.filter((t) => t.chain === 'defichain' && t.to === 'healthy'),
      );
      // A chain or node the log never saw: an empty page, not an error (history outlives config).
      expect((await get('/v1/transitions?node=gone').expect(200)).body).toMatchObject({ items: [], nextCursor: null });
    });

    it('when the query is bad, then 400 naming the parameter; without the API key, 401', async () => {
      for (const [q, param] of [
        ['limit=0', 'limit'],
        ['limit=501', 'limit'],
        ['state=sleepy', 'state'],
        ['cursor=!!', 'cursor'],
        ['cursor=eyJ4IjoxfQ', 'cursor'],
        ['node=a%20b', 'node'],
        ['nod=x', 'nod'],
      ] as const) {
        const r = await get(`/v1/transitions?${q}`).expect(400);
        expect(r.headers['content-type']).toMatch(PROBLEM);
        expect(r.body.errors[0].parameter).toBe(param);
      }
      await request(h.app).get('/v1/transitions').expect(401);
    });

    it('when the store is closed, then 503 store_unavailable', async () => {
      await h.service.store.close();
      const r = await get('/v1/transitions').expect(503);
      expect(r.body).toMatchObject({ type: 'urn:nodesentry:problem:store_unavailable' });
    });
  });
}
