import request from 'supertest';
import { startHarness, type Harness } from '../support/api-harness.js';

const KEY = 'probe-key-0123456789';

/**
 * Probes over a real Redis: a node's answer changes as soon as the view changes (a new sample,
 * a drain arriving as a store event), although answers are cached between requests. And the
 * probes can be put behind the API key.
 */
describe('load-balancer probes over Redis', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      store: 'redis',
      specs: [
        { id: 'bsc-1', kind: 'bsc' },
        { id: 'bsc-2', kind: 'bsc' },
      ],
      env: { NODESENTRY_PROTECT_PROBES: 'true', NODESENTRY_API_KEY: KEY },
      policy: { failAfter: 2 },
    });
    await h.sweep();
  });
  afterAll(() => h.close());

  const probe = (path: string) => request(h.app).get(path).set('x-api-key', KEY);

  it('when probes are protected, then they need the API key, on every method', async () => {
    await request(h.app).get('/probe/nodes/bsc-1').expect(401);
    await request(h.app).options('/probe/nodes/bsc-1').expect(401);
    await request(h.app).head('/probe/chains/bsc').expect(401);
    await request(h.app).get('/probe/nodes/bsc-1').set('x-api-key', 'wrong').expect(403);
    await probe('/probe/nodes/bsc-1').expect(200);
    await request(h.app).options('/probe/nodes/bsc-1').set('authorization', `Bearer ${KEY}`).expect(200);
  });

  it('when a drain arrives as a store event only, then the cached answer gives way to maintenance', async () => {
    await probe('/probe/nodes/bsc-2').expect(200);
    await h.service.store.setDrain('bsc-2', { nodeId: 'bsc-2', by: 'test', at: Date.now() });
    await waitFor(() => h.service.view.drain('bsc-2') !== undefined);
    const r = await probe('/probe/nodes/bsc-2?drained=404').expect(404);
    expect(r.body.state).toBe('maintenance');
    await h.service.store.setDrain('bsc-2', null);
    await waitFor(() => h.service.view.drain('bsc-2') === undefined);
    await probe('/probe/nodes/bsc-2?drained=404').expect(200);
  });

  it('when a healthy node starts failing, then its probe follows the confirmed state, not a cached one', async () => {
    await probe('/probe/nodes/bsc-1').expect(200);
    await h.sim.setFault('bsc-1', { type: 'unauthorized' });
    // One failed sample does not flip it (failAfter 2)...
    await h.sweep(1);
    expect((await probe('/probe/nodes/bsc-1').expect(200)).body.state).toBe('healthy');
    // ...the second does.
    await h.sweep(1);
    const r = await probe('/probe/nodes/bsc-1').expect(503);
    expect(r.body).toMatchObject({ state: 'unhealthy', reasons: ['auth_failed'] });
    await probe('/probe/chains/bsc').expect(200);
    await probe('/probe/chains/bsc?min=2').expect(503);
    await h.sim.setFault('bsc-1', { type: 'none' });
    await h.sweep(2);
    await probe('/probe/nodes/bsc-1').expect(200);
  });
});

async function waitFor(cond: () => boolean, timeoutMs = 3_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
