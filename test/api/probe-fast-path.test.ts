// The probe fast path in front of express: routed as express routed the probes, with the same metrics, log and key check.
import request from 'supertest';
import { startHarness, type Harness } from '../support/api-harness.js';

const KEY = 'fast-path-key-0123456789';
const PROBLEM = /^application\/problem\+json; charset=utf-8$/;

/**
 * `/probe/*` and `/livez` are answered by a plain node:http handler in front of express
 * (src/api/fast-path.ts). These pin what moving them out of express must not change: which
 * paths reach them, the answers to what they do not serve, the request metrics, the sampled
 * access log and the probe key check.
 */
describe('probe fast path', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      specs: [
        { id: 'bsc-ok', kind: 'bsc' },
        { id: 'bsc-down', kind: 'bsc', fault: { type: 'unauthorized' } },
      ],
      env: { NODESENTRY_API_KEY: KEY, NODESENTRY_PROTECT_PROBES: 'true', NODESENTRY_ACCESS_LOG_PROBES: '1' },
    });
    await h.sweep();
  });
  afterAll(() => h.close());

  const keyed = (r: request.Test) => r.set('x-api-key', KEY);
  const access = () => h.logs().filter((l) => l.req !== undefined && l.res !== undefined);

  it('when a probe path differs in case, ends in a slash or percent-encodes its id, then it answers as express routed it', async () => {
    for (const path of ['/PROBE/Nodes/bsc-ok', '/probe/nodes/bsc-ok/', '/probe/nodes/bsc%2Dok', '/Probe/Chains/bsc/']) {
      const r = await keyed(request(h.app).get(path));
      expect({ path, status: r.status, state: r.headers['x-nodesentry-state'] }).toEqual({
        path,
        status: 200,
        state: 'healthy',
      });
    }
    // The id keeps its case: node ids are case-sensitive.
    expect((await keyed(request(h.app).get('/probe/nodes/BSC-OK')).expect(404)).headers['x-nodesentry-state']).toBe(
      'not_configured',
    );
  });

  it('when an id is not valid percent-encoding, then a 400 problem, never cached', async () => {
    const r = await keyed(request(h.app).get('/probe/nodes/%E0%A4%A')).expect(400);
    expect(r.headers['content-type']).toMatch(PROBLEM);
    expect(r.headers['cache-control']).toBe('no-store');
    expect(r.body).toMatchObject({
      type: 'urn:nodesentry:problem:bad_request',
      status: 400,
      instance: '/probe/nodes/%E0%A4%A',
    });
  });

  it('when a path only looks like a probe, then express answers it: a 404 route problem, not a probe verdict', async () => {
    for (const path of ['/probe/nodes/', '/probe/nodes/bsc-ok/extra', '/probe/nodesx/bsc-ok', '/livez/more']) {
      const r = await keyed(request(h.app).get(path)).expect(404);
      expect({ path, type: r.body.type, state: r.headers['x-nodesentry-state'] }).toEqual({
        path,
        type: 'urn:nodesentry:problem:route_not_found',
        state: undefined,
      });
    }
  });

  it('when express is asked for a probe or /livez directly, then it has no such route: only the fast path serves them', async () => {
    for (const path of ['/probe/nodes/bsc-ok', '/probe/chains/bsc', '/probe/host', '/livez']) {
      const r = await keyed(request(h.api.express).get(path)).expect(404);
      expect(r.body.type).toBe('urn:nodesentry:problem:route_not_found');
    }
  });

  it('when /livez is asked with GET or HEAD, then it answers alike, open and never cached; other methods get the 404 they got from express', async () => {
    const get = await request(h.app).get('/livez').expect(200);
    expect(get.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(get.headers['cache-control']).toBe('no-store');
    expect(get.body).toMatchObject({ status: 'ok', replica: h.service.replica });
    expect(Number.isInteger(get.body.uptimeS)).toBe(true);
    const head = await request(h.app).head('/livez').expect(200);
    expect(head.headers['content-length']).toBe(get.headers['content-length']);
    expect(head.text ?? '').toBe('');
    for (const method of ['post', 'options'] as const) {
      const r = await request(h.app)[method]('/livez').expect(404);
      expect(r.body.type).toBe('urn:nodesentry:problem:route_not_found');
    }
  });

  it('when probes are protected, then every probe route wants the key before anything else; a 405 and /livez do not', async () => {
    for (const path of [
      '/probe/nodes/bsc-ok',
      '/probe/chains/bsc',
      '/probe/host',
      '/probe/nodes/no-such-node',
      '/probe/nodes/bsc-ok?degrade=429',
    ]) {
      const none = await request(h.app).get(path).set('host', 'bsc-ok').expect(401);
      expect(none.headers['cache-control']).toBe('no-store');
      expect(none.headers['content-type']).toMatch(PROBLEM);
      expect(none.headers['x-nodesentry-state']).toBeUndefined();
      await request(h.app).head(path).set('host', 'bsc-ok').set('x-api-key', 'wrong').expect(403);
    }
    await request(h.app)
      .get('/probe/host')
      .set('host', 'bsc-ok:8080')
      .set('authorization', `Bearer ${KEY}`)
      .expect(200);
    await request(h.app).get('/probe/host').set('host', 'bsc-down').set('x-api-key', KEY).expect(503);
    const post = await request(h.app).post('/probe/chains/bsc').expect(405);
    expect(post.headers.allow).toBe('GET, HEAD, OPTIONS');
    await request(h.app).get('/livez').expect(200);
  });

  it('when probes are answered, then the metrics count them by route template and status class, problems included', async () => {
    const scrape = async () => (await keyed(request(h.app).get('/metrics')).expect(200)).text;
    const count = (text: string, method: string, route: string, cls: string): number => {
      const line = text
        .split('\n')
        .find((l) =>
          l.startsWith(
            `nodesentry_http_request_duration_seconds_count{method="${method}",route="${route}",status_class="${cls}"}`,
          ),
        );
      return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
    };
    const before = await scrape();
    await keyed(request(h.app).options('/probe/nodes/bsc-ok')).expect(200);
    await keyed(request(h.app).get('/probe/nodes/bsc-down')).expect(503);
    await keyed(request(h.app).get('/probe/nodes/no-such-node')).expect(404);
    await request(h.app).delete('/probe/nodes/bsc-ok').expect(405);
    await request(h.app).get('/probe/chains/bsc').expect(401);
    await request(h.app).head('/livez').expect(200);
    const after = await scrape();
    const delta = (method: string, route: string, cls: string) =>
      count(after, method, route, cls) - count(before, method, route, cls);
    expect({
      options2xx: delta('OPTIONS', '/probe/nodes/:id', '2xx'),
      get5xx: delta('GET', '/probe/nodes/:id', '5xx'),
      get4xx: delta('GET', '/probe/nodes/:id', '4xx'),
      delete4xx: delta('DELETE', '/probe/nodes/:id', '4xx'),
      chain4xx: delta('GET', '/probe/chains/:chain', '4xx'),
      livez: delta('HEAD', '/livez', '2xx'),
    }).toEqual({ options2xx: 1, get5xx: 1, get4xx: 1, delete4xx: 1, chain4xx: 1, livez: 1 });
    expect(after).not.toContain('no-such-node');
  });

  it('when probes are sampled at 1, then each gets an access line with its route template and request id, and no secret', async () => {
    const before = access().length;
    const r = await keyed(request(h.app).get('/probe/nodes/bsc-down?format=text'))
      .set('x-request-id', 'lb-check-7')
      .expect(503);
    expect(r.headers['x-request-id']).toBe('lb-check-7');
    await request(h.app).get('/probe/chains/bsc').expect(401);
    await request(h.app).get('/livez').expect(200);
    const lines = access().slice(before);
    expect(lines.map((l) => [l.route, (l.res as { statusCode: number }).statusCode])).toEqual([
      ['/probe/nodes/:id', 503],
      ['/probe/chains/:chain', 401],
      ['/livez', 200],
    ]);
    // The path without its query; 503 from a probe is an answer, not an error: warn.
    expect(lines[0]).toMatchObject({
      level: 40,
      req: { id: 'lb-check-7', method: 'GET', url: '/probe/nodes/bsc-down' },
    });
    expect(lines[0]!.msg).toMatch(/^GET \/probe\/nodes\/:id 503/);
    expect(h.logText()).not.toContain(KEY);
  });
});
