import request from 'supertest';
import { startHarness, type Harness } from '../support/api-harness.js';

describe('API harness', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      specs: [
        { id: 'bsc-a', kind: 'bsc' },
        { id: 'bsc-b', kind: 'bsc', fault: { type: 'hang' } },
      ],
    });
  });
  afterAll(() => h.close());

  it('when nothing was probed yet, then the service is live and its view loaded', async () => {
    await request(h.app).get('/livez').expect(200);
    const r = await request(h.app).get('/readyz');
    expect(r.body.view).toBe(true);
  });

  it('when an unknown route is asked, then it answers a 404 problem, not an HTML page', async () => {
    const r = await request(h.app).get('/nope').expect(404);
    expect(r.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(r.body).toMatchObject({ type: 'urn:nodesentry:problem:route_not_found', status: 404 });
  });

  it('when swept, then the view holds a judged record per node', async () => {
    await h.sweep();
    expect(h.service.view.get('bsc-a')?.sample.ok).toBe(true);
    expect(h.service.view.get('bsc-b')?.sample.error?.code).toBe('RPC_TIMEOUT');
  });
});
