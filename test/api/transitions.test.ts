import request from 'supertest';
import { startHarness, type Harness } from '../support/api-harness.js';

const KEY = 'read-key-0123456789';
const PROBLEM = /^application\/problem\+json/;

interface TransitionJson {
  from: string;
  to: string;
  reasons: string[];
  at: number;
  replica: string;
}

for (const store of ['memory', 'redis'] as const) {
  describe(`GET /v1/nodes/:id/transitions (${store} store)`, () => {
    let h: Harness;
    const get = (path: string) => request(h.app).get(path).set('x-api-key', KEY);

    /** Sweeps one at a time until the node's state is `state`; returns the node as the API shows it. */
    const sweepUntil = async (
      id: string,
      state: string,
      max = 12,
    ): Promise<{ state: string; reasons: Array<{ code: string; text: string }> }> => {
      for (let i = 0; i < max; i++) {
        await h.sweep(1);
        const n = (await get(`/v1/nodes/${id}`).expect(200)).body;
        if (n.state === state) return n;
      }
      throw new Error(`${id} did not become ${state} in ${max} sweeps`);
    };

    beforeAll(async () => {
      h = await startHarness({
        specs: [
          { id: 'bsc-a', kind: 'bsc' },
          { id: 'bsc-b', kind: 'bsc' },
        ],
        store,
        env: { NODESENTRY_API_KEY: KEY },
      });
      await h.sweep();
    });
    afterAll(() => h.close());

    it('when a node starts failing, then its state changes are kept in the store and listed newest first with their reasons', async () => {
      const before = (await get('/v1/nodes/bsc-a/transitions').expect(200)).body;
      expect(before.transitions.length).toBeGreaterThan(0);
      expect(before.transitions[0]).toMatchObject({ to: 'healthy', replica: h.service.replica });

      await h.sim.setFault('bsc-a', { type: 'unauthorized' });
      const down = await sweepUntil('bsc-a', 'unhealthy');

      const r = await get('/v1/nodes/bsc-a/transitions').expect(200);
      expect(r.headers['cache-control']).toBe('no-store');
      expect(r.body).toMatchObject({ nodeId: 'bsc-a', chain: 'bsc', limit: 20 });
      const list = r.body.transitions as TransitionJson[];
      expect(list.length).toBeGreaterThan(before.transitions.length);
      const latest = list[0]!;
      expect(latest.to).toBe('unhealthy');
      expect(latest.replica).toBe(h.service.replica);
      expect(latest.reasons.length).toBeGreaterThan(0);
      // The reasons are those the node shows now, as texts.
      for (const reason of down.reasons) expect(latest.reasons).toContain(reason.text);
      // Newest first, and the walk from one state to the next is unbroken.
      expect(list.map((t) => t.at)).toEqual([...list.map((t) => t.at)].sort((a, b) => b - a));
      for (let i = 0; i < list.length - 1; i++) expect(list[i]!.from).toBe(list[i + 1]!.to);

      // Read straight from the store, not from memory: the store holds the same.
      const stored = await h.service.store.getTransitions('bsc-a', 50);
      expect(stored.map((t) => t.at)).toEqual(list.map((t) => t.at));

      // A node that never changed since it settled has only its start-up changes, none unhealthy.
      const other = (await get('/v1/nodes/bsc-b/transitions').expect(200)).body.transitions as TransitionJson[];
      expect(other.every((t) => t.to !== 'unhealthy')).toBe(true);

      // limit cuts the newest ones.
      const one = (await get('/v1/nodes/bsc-a/transitions?limit=1').expect(200)).body;
      expect(one).toMatchObject({ limit: 1, transitions: [latest] });
    });

    it('when the node is unknown, then 404; when the query is bad, then 400 naming the parameter', async () => {
      const nf = await get('/v1/nodes/nope/transitions').expect(404);
      expect(nf.headers['content-type']).toMatch(PROBLEM);
      expect(nf.body.type).toBe('urn:nodesentry:problem:node_not_found');
      for (const q of ['limit=0', 'limit=51', 'limit=abc', 'limit=1&limit=2', 'limt=5']) {
        const r = await get(`/v1/nodes/bsc-a/transitions?${q}`).expect(400);
        expect(r.headers['content-type']).toMatch(PROBLEM);
        expect(r.body.errors[0].parameter).toBe(q.startsWith('limt') ? 'limt' : 'limit');
      }
      expect((await get('/v1/nodes/bsc-a/transitions?limit=50').expect(200)).body.limit).toBe(50);
    });

    it('when no API key is sent, then 401', async () => {
      const r = await request(h.app).get('/v1/nodes/bsc-a/transitions').expect(401);
      expect(r.headers['content-type']).toMatch(PROBLEM);
    });

    it('when the store is closed, then 503 store_unavailable, not 500', async () => {
      await h.service.store.close();
      const r = await get('/v1/nodes/bsc-a/transitions').expect(503);
      expect(r.body).toMatchObject({ type: 'urn:nodesentry:problem:store_unavailable', storeError: 'STORE_CLOSED' });
      await get('/v1/nodes/bsc-a').expect(200);
    });
  });
}
