import request from 'supertest';
import { startHarness, type Harness } from '../support/api-harness.js';

/**
 * The load-balancer probes against a real service over the simulator. The API's clock is
 * `Date.now() + skewMs`, so a test can make every sample stale without waiting.
 */
describe('load-balancer probes', () => {
  let h: Harness;
  let skewMs = 0;
  beforeAll(async () => {
    h = await startHarness({
      specs: [
        { id: 'bsc-ok', kind: 'bsc' },
        // 4 peers: above BSC's minimum (3), below half its target (13): peers_low, degraded.
        { id: 'bsc-few-peers', kind: 'bsc', peers: { inbound: 2, outbound: 2 } },
        { id: 'bsc-bad-auth', kind: 'bsc', fault: { type: 'unauthorized' } },
        { id: 'bsc-drained', kind: 'bsc' },
        { id: 'dfi-down', kind: 'defid', fault: { type: 'unauthorized' } },
      ],
      now: () => Date.now() + skewMs,
    });
  });
  afterAll(() => h.close());
  afterEach(() => {
    skewMs = 0;
  });

  describe('before any sample', () => {
    it('when a node was never sampled, then its probe answers 503 unknown with no_sample', async () => {
      const r = await request(h.app).get('/probe/nodes/bsc-ok').expect(503);
      expect(r.body).toMatchObject({
        node: 'bsc-ok',
        chain: 'bsc',
        state: 'unknown',
        reasons: ['no_sample'],
        observedAt: null,
        ageMs: null,
      });
      expect(r.headers['x-nodesentry-state']).toBe('unknown');
    });

    it('when no node of a chain was sampled, then the chain probe answers 503', async () => {
      const r = await request(h.app).get('/probe/chains/bsc').expect(503);
      expect(r.body).toEqual({ chain: 'bsc', state: 'unhealthy', nodes: 4, usable: 0, healthy: 0, min: 1 });
    });
  });

  describe('after sweeps', () => {
    beforeAll(async () => {
      await h.sweep();
      const drain = { nodeId: 'bsc-drained', by: 'test', at: Date.now() };
      await h.service.store.setDrain('bsc-drained', drain);
      h.service.view.setDrain('bsc-drained', drain);
    });

    it.each([
      ['bsc-ok', 200, 'healthy'],
      ['bsc-few-peers', 200, 'degraded'],
      ['bsc-bad-auth', 503, 'unhealthy'],
      ['bsc-drained', 503, 'maintenance'],
    ])('when node %s is probed, then it answers %i (%s)', async (id, status, state) => {
      const r = await request(h.app).get(`/probe/nodes/${id}`).expect(status);
      expect(r.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(r.headers['cache-control']).toBe('no-store');
      expect(r.headers['x-nodesentry-state']).toBe(state);
      expect(r.body).toMatchObject({ node: id, chain: 'bsc', state });
      expect(typeof r.body.observedAt).toBe('number');
      expect(r.body.ageMs).toBeGreaterThanOrEqual(0);
      expect(Number(r.headers['content-length'])).toBeLessThan(1024);
    });

    it('when a node is degraded, then Envoy sees x-envoy-degraded and the body says why', async () => {
      const r = await request(h.app).get('/probe/nodes/bsc-few-peers').expect(200);
      expect(r.headers['x-envoy-degraded']).toBe('true');
      expect(r.body.reasons).toEqual(['peers_low(4<13)']);
      const healthy = await request(h.app).get('/probe/nodes/bsc-ok').expect(200);
      expect(healthy.headers['x-envoy-degraded']).toBeUndefined();
      expect(healthy.body.reasons).toEqual([]);
    });

    it('when a degraded node is probed with ?degraded=429 or 503, then Consul sees a warning and strict balancers a failure', async () => {
      await request(h.app).get('/probe/nodes/bsc-few-peers?degraded=429').expect(429);
      await request(h.app).get('/probe/nodes/bsc-few-peers?degraded=503').expect(503);
      await request(h.app).get('/probe/nodes/bsc-few-peers?degraded=200').expect(200);
      // The option touches degraded nodes only.
      await request(h.app).get('/probe/nodes/bsc-ok?degraded=503').expect(200);
      await request(h.app).get('/probe/nodes/bsc-bad-auth?degraded=200').expect(503);
    });

    it('when an unhealthy node is probed, then the body names the failure', async () => {
      const r = await request(h.app).get('/probe/nodes/bsc-bad-auth').expect(503);
      expect(r.body.reasons).toEqual(['auth_failed']);
    });

    it('when a drained node is probed with ?drained=404, then it answers 404 in JSON, told apart from an unknown node by type and state header', async () => {
      const drained = await request(h.app).get('/probe/nodes/bsc-drained?drained=404').expect(404);
      expect(drained.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(drained.headers['x-nodesentry-state']).toBe('maintenance');
      expect(drained.body).toMatchObject({ state: 'maintenance', reasons: ['drained'] });

      const unknown = await request(h.app).get('/probe/nodes/no-such-node?drained=404').expect(404);
      expect(unknown.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(unknown.headers['x-nodesentry-state']).toBe('not_configured');
      expect(unknown.headers['cache-control']).toBe('no-store');
      expect(unknown.body).toMatchObject({ type: 'urn:nodesentry:problem:node_not_found', status: 404 });
      // Only drained nodes change with the option.
      await request(h.app).get('/probe/nodes/bsc-ok?drained=404').expect(200);
      await request(h.app).get('/probe/nodes/bsc-bad-auth?drained=404').expect(503);
    });

    it('when ?format=text is asked, then the body is one line: state and reasons', async () => {
      const r = await request(h.app).get('/probe/nodes/bsc-few-peers?format=text').expect(200);
      expect(r.headers['content-type']).toBe('text/plain; charset=utf-8');
      expect(r.text).toBe('degraded peers_low(4<13)\n');
      expect((await request(h.app).get('/probe/nodes/bsc-ok?format=text')).text).toBe('healthy\n');
      expect((await request(h.app).get('/probe/chains/defichain?format=text').expect(503)).text).toBe(
        'unhealthy 0/1 usable, 0 healthy, min 1\n',
      );
    });

    it.each([
      '/probe/nodes/bsc-ok',
      '/probe/nodes/bsc-few-peers?degraded=429',
      '/probe/nodes/bsc-bad-auth',
      '/probe/nodes/bsc-drained?drained=404',
      '/probe/chains/bsc',
      '/probe/chains/defichain',
    ])(
      'when %s is asked with GET, HEAD and OPTIONS, then all three answer the same status and headers',
      async (path) => {
        const get = await request(h.app).get(path);
        const head = await request(h.app).head(path);
        const options = await request(h.app).options(path);
        expect(head.status).toBe(get.status);
        expect(options.status).toBe(get.status);
        for (const r of [head, options]) {
          expect(r.headers['x-nodesentry-state']).toBe(get.headers['x-nodesentry-state']);
          expect(r.headers['content-type']).toBe(get.headers['content-type']);
          expect(r.headers['x-envoy-degraded']).toBe(get.headers['x-envoy-degraded']);
        }
        expect(head.text ?? '').toBe('');
        // Same body too, but for the age, which moves between requests.
        const sameAge = (t: string): string => t.replace(/"ageMs":\d+/, '"ageMs":0');
        expect(sameAge(options.text)).toBe(sameAge(get.text));
      },
    );

    it('when a parameter is misspelt, then the 400 says what was meant', async () => {
      const r = await request(h.app).get('/probe/nodes/bsc-ok?degrade=429').expect(400);
      expect(r.body.errors[0].message).toMatch(/did you mean degraded\?/);
      // A problem is never cached by a proxy either; it names no node state.
      expect(r.headers['cache-control']).toBe('no-store');
      expect(r.headers['x-nodesentry-state']).toBeUndefined();
    });

    it('when another method is used, then it answers 405 with Allow, not 404 (which would drain under HAProxy)', async () => {
      const r = await request(h.app).post('/probe/nodes/bsc-ok').expect(405);
      expect(r.headers.allow).toBe('GET, HEAD, OPTIONS');
      expect(r.headers['cache-control']).toBe('no-store');
      expect(r.body.type).toBe('urn:nodesentry:problem:method_not_allowed');
    });

    it('when every sample is older than the staleness window, then every node answers 503 unknown with its age', async () => {
      skewMs = 60_000;
      const r = await request(h.app).get('/probe/nodes/bsc-ok').expect(503);
      expect(r.body.state).toBe('unknown');
      expect(r.body.reasons[0]).toMatch(/^stale_sample\(\d+s\)$/);
      expect(r.body.ageMs).toBeGreaterThanOrEqual(60_000);
      await request(h.app).get('/probe/nodes/bsc-few-peers').expect(503);
      await request(h.app).get('/probe/chains/bsc').expect(503);
      // A drained node stays maintenance: the operator's word does not go stale.
      expect((await request(h.app).get('/probe/nodes/bsc-drained')).headers['x-nodesentry-state']).toBe('maintenance');
      // And back: the same cached answers are fresh again once the clock is.
      skewMs = 0;
      await request(h.app).get('/probe/nodes/bsc-ok').expect(200);
    });

    describe('chain probe', () => {
      it('when at least one node is healthy, then the chain is up', async () => {
        const r = await request(h.app).get('/probe/chains/bsc').expect(200);
        expect(r.body).toEqual({ chain: 'bsc', state: 'healthy', nodes: 4, usable: 2, healthy: 1, min: 1 });
        expect(r.headers['x-envoy-degraded']).toBeUndefined();
      });

      it('when ?min asks for more usable nodes than there are, then it answers 503', async () => {
        await request(h.app).get('/probe/chains/bsc?min=2').expect(200);
        const r = await request(h.app).get('/probe/chains/bsc?min=3').expect(503);
        expect(r.body).toMatchObject({ state: 'unhealthy', usable: 2, min: 3 });
      });

      it('when the chain is up only thanks to degraded nodes, then ?degraded=429 answers 429 and Envoy sees degraded', async () => {
        // min=2: two usable nodes, but only one healthy.
        const r = await request(h.app).get('/probe/chains/bsc?min=2&degraded=429').expect(429);
        expect(r.body.state).toBe('degraded');
        expect(r.headers['x-envoy-degraded']).toBe('true');
        await request(h.app).get('/probe/chains/bsc?min=2&degraded=503').expect(503);
        await request(h.app).get('/probe/chains/bsc?min=1&degraded=429').expect(200);
      });

      it('when a chain is not configured, then it answers a 404 problem', async () => {
        const r = await request(h.app).get('/probe/chains/solana').expect(404);
        expect(r.body.type).toBe('urn:nodesentry:problem:chain_not_found');
        expect(r.headers['x-nodesentry-state']).toBe('not_configured');
        expect(r.headers['cache-control']).toBe('no-store');
      });
    });

    it.each([
      ['/probe/nodes/bsc-ok?degraded=500', ['degraded']],
      ['/probe/nodes/bsc-ok?drained=410', ['drained']],
      ['/probe/nodes/bsc-ok?format=xml&degrade=429', ['format', 'degrade']],
      ['/probe/nodes/bsc-ok?degraded=429&degraded=503', ['degraded']],
      ['/probe/chains/bsc?min=0', ['min']],
      ['/probe/chains/bsc?min=abc', ['min']],
      ['/probe/chains/bsc?drained=404', ['drained']],
    ])('when the query is %s, then it answers 400 naming %j', async (path, names) => {
      const r = await request(h.app).get(path).expect(400);
      expect(r.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(r.body.type).toBe('urn:nodesentry:problem:bad_query');
      expect(r.body.errors.map((e: { parameter: string }) => e.parameter)).toEqual(names);
      // The same bad query again comes from the cache, still a 400.
      await request(h.app).options(path).expect(400);
    });
  });
});
