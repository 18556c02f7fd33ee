import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import request from 'supertest';
import { startHarness, type Harness } from '../support/api-harness.js';

const TOKEN = 'admin-token-0123456789abcdef';
const PROBLEM = /^application\/problem\+json/;

/** Percent-encode as UTF-8 bytes; unlike encodeURIComponent, never throws on a lone surrogate. */
const pct = (text: string): string =>
  [...Buffer.from(text, 'utf8')].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('');
/** Everything but unreserved characters encoded. */
const encodeAll = (text: string): string => text.replace(/[^A-Za-z0-9_.~-]/gu, pct);
/** Only what would break the URL itself encoded: the rest reaches the server raw. */
const encodeRaw = (text: string, breaking: RegExp): string => text.replace(/[^!-~]/gu, pct).replace(breaking, pct);

describe('errors are problem+json, never a 500', () => {
  let h: Harness;
  let server: Server;
  let base: string;
  beforeAll(async () => {
    h = await startHarness({
      specs: [
        { id: 'bsc-a', kind: 'bsc' },
        { id: 'dfi-a', kind: 'defid' },
      ],
      env: { NODESENTRY_ADMIN_TOKEN: TOKEN },
    });
    await h.sweep(3);
    // One listening server for hundreds of requests (supertest on an app listens per request).
    server = createServer(h.app);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
    await h.close();
  });

  const unexpected = () => h.logs().filter((l) => l.msg === 'unexpected error in a request');

  const expectProblem = (r: request.Response, status: number) => {
    expect(r.status).toBe(status);
    expect(r.headers['content-type']).toMatch(PROBLEM);
    expect(r.body).toMatchObject({
      status,
      type: expect.stringMatching(/^urn:nodesentry:problem:[a-z_]+$/),
      title: expect.any(String),
    });
    expect(r.text).not.toMatch(/\n\s+at |node_modules|\.ts:\d+/);
  };

  it.each([
    ['GET', '/v1/nodes?limit=x', 400],
    ['GET', '/v1/nodes/%E0%A4%A', 400],
    ['GET', '/v1/nodes/%E0%A4%A/history', 400],
    ['GET', '/v1/nodes/nope', 404],
    ['GET', '/v1/nodes/bsc-a/history?limit=-1', 400],
    ['GET', '/v1/nope', 404],
    ['PUT', '/v1/nodes', 404],
    ['GET', '/v1/events?chain=%00', 400],
  ])('when %s %s, then %d problem', async (method, path, status) => {
    const r = await request(base)[method.toLowerCase() as 'get' | 'put'](path);
    expectProblem(r, status);
  });

  it.each([
    ['malformed JSON', 400, 'application/json', '{'],
    ['wrong content type', 415, 'application/x-www-form-urlencoded', 'active=true'],
    ['an oversized body', 413, 'application/json', `{"active":true,"pad":"${'x'.repeat(10_000)}"}`],
    ['an unsupported charset', 415, 'application/json; charset=klingon', '{"active":true}'],
  ])('when an admin body is %s, then a %d problem', async (_what, status, type, body) => {
    const r = await request(base)
      .post('/v1/nodes/dfi-a/network')
      .set('authorization', `Bearer ${TOKEN}`)
      .set('content-type', type)
      .send(body);
    expectProblem(r, status);
  });

  it('when any query string is sent to /v1/nodes, then the answer is 200 or a 400 problem', async () => {
    const key = fc.oneof(
      fc.constantFrom(
        'chain',
        'tag',
        'state',
        'limit',
        'cursor',
        'offset',
        '__proto__',
        'constructor',
        'limit[]',
        'a.b',
      ),
      fc.string({ maxLength: 12 }),
    );
    const value = fc.oneof(
      fc.constantFrom(
        'bsc',
        'defichain',
        'healthy',
        'maintenance',
        '0',
        '1',
        '500',
        '501',
        '-1',
        '1e3',
        ' 5',
        'WyJic2MiLCJ6Il0',
        '',
        '%',
        '%ZZ',
      ),
      fc.string({ maxLength: 30 }),
      fc.string({ unit: 'binary', maxLength: 30 }),
      fc.integer().map(String),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(key, value, fc.boolean()), { maxLength: 6 }), async (pairs) => {
        // Half the values go raw (only what would break the URL itself is escaped), half encoded.
        const qs = pairs
          .map(([k, v, raw]) => `${encodeAll(k)}=${raw ? encodeRaw(v, /[#&]/g) : encodeAll(v)}`)
          .join('&');
        const r = await request(base).get(`/v1/nodes?${qs}`);
        if (r.status !== 200) expectProblem(r, 400);
        else expect(Array.isArray(r.body.items)).toBe(true);
      }),
      { numRuns: 120 },
    );
    expect(unexpected()).toEqual([]);
  });

  it('when any node id is asked on any node route, then the answer is 200, 400 or 404, never a 5xx', async () => {
    const id = fc.oneof(
      fc.constantFrom('bsc-a', 'dfi-a', '..', '.', '%2e%2e', '__proto__', 'constructor', 'toString', 'a/b'),
      fc.string({ maxLength: 40 }),
      fc.string({ unit: 'binary', maxLength: 20 }),
    );
    const route = fc.constantFrom('', '/peers', '/history');
    await fc.assert(
      fc.asyncProperty(id, route, fc.boolean(), async (raw, suffix, encode) => {
        const segment = encode ? encodeAll(raw) : encodeRaw(raw, /[#?/]/g);
        const r = await request(base).get(`/v1/nodes/${segment}${suffix}`);
        expect(r.status).toBeLessThan(500);
        if (r.status !== 200) {
          expect([400, 404]).toContain(r.status);
          expect(r.headers['content-type']).toMatch(PROBLEM);
        }
      }),
      { numRuns: 120 },
    );
    expect(unexpected()).toEqual([]);
  });

  it('when any JSON body is posted to the admin routes, then the answer is a 2xx or a 4xx problem', async () => {
    const body = fc.oneof(
      fc.jsonValue({ maxDepth: 3 }),
      fc.record({ reason: fc.jsonValue({ maxDepth: 1 }) }),
      fc.record({ active: fc.jsonValue({ maxDepth: 1 }) }),
    );
    const path = fc.constantFrom(
      '/v1/nodes/dfi-a/drain',
      '/v1/nodes/bsc-a/network',
      '/v1/nodes/ghost/drain',
      '/v1/admin/reload',
    );
    await fc.assert(
      fc.asyncProperty(path, body, async (p, b) => {
        const r = await request(base)
          .post(p)
          .set('authorization', `Bearer ${TOKEN}`)
          .set('content-type', 'application/json')
          .send(JSON.stringify(b));
        expect(r.status).toBeLessThan(500);
        if (r.status >= 400) expect(r.headers['content-type']).toMatch(PROBLEM);
      }),
      { numRuns: 150 },
    );
    await request(base).delete('/v1/nodes/dfi-a/drain').set('authorization', `Bearer ${TOKEN}`);
    expect(unexpected()).toEqual([]);
  });
});
