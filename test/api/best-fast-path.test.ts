// `/v1/chains/:chain/best` on the fast path: the same answers as the express route gave, for every documented query.
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';
import { request } from 'undici';
import { negotiateEncoding } from '../../src/api/compressed-answer.js';
import { startHarness, type Harness } from '../support/api-harness.js';

const KEY = 'best-fast-key-0123456789';
/** The frozen API clock: local choices say `evaluatedAt: now`, so both sides must see one instant. */
const FROZEN = Date.now();
/** Vary between the two servers by nature (and the request id only when the line is sampled). */
const TRANSPORT = new Set(['date', 'connection', 'keep-alive', 'transfer-encoding', 'content-length', 'x-request-id']);

interface Seen {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
  /** The plain body's declared length (absent when compressed: express streamed it chunked). */
  readonly length: string | undefined;
}

/**
 * The fast path answers GET and HEAD of the best endpoint in front of express; the express
 * route stays and is the reference. Each request goes to the whole app (fast path) and to the
 * express app alone, twice each in turn (a local choice reads `kept` from its second answer),
 * and the second answers must match: status, headers, body (decompressed), length.
 */
describe('best node on the fast path', () => {
  let h: Harness;
  let fast: Server;
  let slow: Server;
  beforeAll(async () => {
    h = await startHarness({
      specs: [
        { id: 'bsc-fra-1', kind: 'bsc' },
        { id: 'bsc-fra-2', kind: 'bsc' },
        { id: 'bsc-fra-3', kind: 'bsc' },
        { id: 'bsc-fra-4', kind: 'bsc' },
        { id: 'bsc-fra-5', kind: 'bsc' },
        { id: 'bsc-fra-6', kind: 'bsc' },
        { id: 'bsc-sgp-1', kind: 'bsc' },
        { id: 'bsc-sgp-2', kind: 'bsc' },
        { id: 'dfi-fra-1', kind: 'defid', fault: { type: 'unauthorized' } },
        { id: 'pai-fra-1', kind: 'paicoind', fault: { type: 'unauthorized' } },
      ],
      env: { NODESENTRY_API_KEY: KEY },
      policy: { failAfter: 1, chains: { pai: { whenAllUnhealthy: 'fail-open' } } },
      now: () => FROZEN,
    });
    await h.sweep();
    fast = await listen(h.app);
    slow = await listen(h.api.express);
  });
  afterAll(async () => {
    await Promise.all([close(fast), close(slow)]);
    await h.close();
  });

  const ask = async (server: Server, method: 'GET' | 'HEAD', path: string, headers: Record<string, string>) => {
    const { port } = server.address() as AddressInfo;
    const res = await request(`http://127.0.0.1:${port}${path}`, { method, headers });
    const raw = Buffer.from(await res.body.arrayBuffer());
    const out: Record<string, string> = {};
    for (const [name, value] of Object.entries(res.headers)) if (!TRANSPORT.has(name)) out[name] = String(value);
    const encoding = out['content-encoding'];
    const body =
      encoding === 'gzip'
        ? gunzipSync(raw)
        : encoding === 'br'
          ? brotliDecompressSync(raw)
          : encoding === 'deflate'
            ? inflateSync(raw)
            : raw;
    const length = encoding === undefined ? String(res.headers['content-length']) : undefined;
    return { status: res.statusCode, headers: out, body: body.toString('utf8'), length } satisfies Seen;
  };
  const both = async (method: 'GET' | 'HEAD', path: string, headers: Record<string, string> = { 'x-api-key': KEY }) => {
    await ask(fast, method, path, headers);
    await ask(slow, method, path, headers);
    return { fast: await ask(fast, method, path, headers), express: await ask(slow, method, path, headers) };
  };

  const BIG_BAD_QUERY = `?${Array.from({ length: 20 }, (_, i) => `unknown${i}=x`).join('&')}`;
  const cases: Array<{ path: string; headers?: Record<string, string>; status: number }> = [
    // Every query the OpenAPI documents (tag, top), alone and together, and their bad values.
    { path: '/v1/chains/bsc/best', status: 200 },
    { path: '/v1/chains/bsc/best?top=1', status: 200 },
    { path: '/v1/chains/bsc/best?top=3', status: 200 },
    { path: '/v1/chains/bsc/best?top=100', status: 200 },
    { path: '/v1/chains/bsc/best?tag=region=fra', status: 200 },
    { path: '/v1/chains/bsc/best?tag=region%3Dsgp&top=2', status: 200 },
    { path: '/v1/chains/bsc/best?tag=nope', status: 404 },
    { path: '/v1/chains/bsc/best?tag=', status: 400 },
    { path: '/v1/chains/bsc/best?tag=bad%20tag', status: 400 },
    { path: '/v1/chains/bsc/best?top=0', status: 400 },
    { path: '/v1/chains/bsc/best?top=101', status: 400 },
    { path: '/v1/chains/bsc/best?top=x', status: 400 },
    { path: '/v1/chains/bsc/best?top=1&top=2', status: 400 },
    { path: '/v1/chains/bsc/best?tpo=1&top=0', status: 400 },
    { path: '/v1/chains/bsc/best?/odd=1', status: 400 },
    { path: `/v1/chains/bsc/best${BIG_BAD_QUERY}`, status: 400 },
    // Routing as express routes: case, a trailing slash, an encoded chain name; unknown chains.
    { path: '/V1/Chains/bsc/BEST/', status: 200 },
    { path: '/v1/chains/%62sc/best', status: 200 },
    { path: '/v1/chains/nope/best', status: 404 },
    // Fail-closed with no usable node (503 problem with the selection), fail-open (the least bad).
    { path: '/v1/chains/defichain/best', status: 503 },
    { path: '/v1/chains/pai/best?top=2', status: 200 },
    // The API key.
    { path: '/v1/chains/bsc/best', headers: {}, status: 401 },
    { path: '/v1/chains/bsc/best', headers: { 'x-api-key': 'wrong' }, status: 403 },
    { path: '/v1/chains/bsc/best?top=2', headers: { authorization: `Bearer ${KEY}` }, status: 200 },
  ];
  const encodings = [
    undefined,
    'gzip',
    'gzip, deflate, br',
    'deflate',
    'identity',
    'gzip;q=0, identity',
    'br;q=0.5, gzip;q=0.8',
    '*',
  ];

  it('when asked with GET or HEAD, any documented query and any Accept-Encoding, then the fast path answers as express did', async () => {
    let compared = 0;
    for (const c of cases) {
      for (const method of ['GET', 'HEAD'] as const) {
        for (const enc of encodings) {
          const headers = {
            ...(c.headers ?? { 'x-api-key': KEY }),
            ...(enc === undefined ? {} : { 'accept-encoding': enc }),
          };
          const r = await both(method, c.path, headers);
          expect({ method, path: c.path, enc, ...r.fast }).toEqual({ method, path: c.path, enc, ...r.express });
          expect({ method, path: c.path, status: r.fast.status }).toEqual({ method, path: c.path, status: c.status });
          compared++;
        }
      }
    }
    expect(compared).toBe(cases.length * 2 * encodings.length);
  });

  it('when an answer is 1 KiB or more and the client takes gzip or br, then it is compressed; small ones never are', async () => {
    const large = await both('GET', '/v1/chains/bsc/best?top=8', { 'x-api-key': KEY, 'accept-encoding': 'gzip, br' });
    expect(Buffer.byteLength(large.express.body)).toBeGreaterThanOrEqual(1024);
    expect(large.fast.headers['content-encoding']).toBe('br');
    expect(JSON.parse(large.fast.body).top).toHaveLength(8);
    const bad = await both('GET', `/v1/chains/bsc/best${BIG_BAD_QUERY}`, {
      'x-api-key': KEY,
      'accept-encoding': 'gzip',
    });
    expect(bad.fast.headers['content-encoding']).toBe('gzip');
    const small = await both('GET', '/v1/chains/bsc/best', { 'x-api-key': KEY, 'accept-encoding': 'gzip, br' });
    expect(small.fast.headers['content-encoding']).toBeUndefined();
    expect(small.fast.headers.vary).toBe('Accept-Encoding');
    expect(small.fast.length).toBe(String(Buffer.byteLength(small.fast.body)));
  });

  it('when other methods are asked, then express answers them as before (OPTIONS lists GET and HEAD, POST is a 404)', async () => {
    const { port } = fast.address() as AddressInfo;
    const options = await request(`http://127.0.0.1:${port}/v1/chains/bsc/best`, { method: 'OPTIONS' });
    expect(options.statusCode).toBe(200);
    expect(options.headers.allow).toBe('GET, HEAD');
    await options.body.dump();
    const post = await request(`http://127.0.0.1:${port}/v1/chains/bsc/best`, {
      method: 'POST',
      headers: { 'x-api-key': KEY },
    });
    expect(post.statusCode).toBe(404);
    expect(((await post.body.json()) as { type: string }).type).toBe('urn:nodesentry:problem:route_not_found');
  });

  it('when requests are answered, then the metrics name the route as express did, and the access log samples them like probes', async () => {
    const before = h.logs().filter((l) => l.route === '/v1/chains/:chain/best').length;
    for (let i = 0; i < 5; i++) await ask(fast, 'GET', '/v1/chains/bsc/best', { 'x-api-key': KEY });
    // NODESENTRY_ACCESS_LOG_PROBES defaults to 0: no line for these.
    expect(h.logs().filter((l) => l.route === '/v1/chains/:chain/best')).toHaveLength(before);
    const { port } = fast.address() as AddressInfo;
    const metrics = await request(`http://127.0.0.1:${port}/metrics`, { headers: { 'x-api-key': KEY } });
    const text = await metrics.body.text();
    expect(text).toMatch(
      /nodesentry_http_request_duration_seconds_count\{method="GET",route="\/v1\/chains\/:chain\/best",status_class="2xx"\} \d+/,
    );
  });

  it('negotiates the encoding as the compression middleware does', () => {
    expect(
      [
        undefined,
        '',
        'gzip',
        'gzip, deflate, br',
        'deflate, gzip',
        'br;q=0.5, gzip',
        'gzip;q=0',
        'identity',
        'gzip;q=0.5, identity',
        '*',
        '*;q=0',
        'deflate',
        'deflate;q=0.5, identity;q=0.1',
        'GZIP',
        'compress, deflate',
      ].map((h) => [h, negotiateEncoding(h) ?? null]),
    ).toEqual([
      [undefined, null],
      ['', null],
      ['gzip', 'gzip'],
      ['gzip, deflate, br', 'br'],
      ['deflate, gzip', 'gzip'],
      ['br;q=0.5, gzip', 'gzip'],
      ['gzip;q=0', null],
      ['identity', null],
      ['gzip;q=0.5, identity', null],
      ['*', 'br'],
      ['*;q=0', null],
      ['deflate', 'deflate'],
      ['deflate;q=0.5, identity;q=0.1', 'deflate'],
      ['GZIP', 'gzip'],
      ['compress, deflate', 'deflate'],
    ]);
  });
});

async function listen(app: RequestListener): Promise<Server> {
  const server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return server;
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}
