import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import request from 'supertest';
import { Simulator } from '../../src/simulator/simulator.js';
import { startHarness, type Harness } from '../support/api-harness.js';
import { freePort } from '../support/redis-server.js';

const KEY = 'access-key-0123456789';

const access = (h: Harness) => h.logs().filter((l) => l.req !== undefined && l.res !== undefined);

describe('access log', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      specs: [
        { id: 'bsc-a', kind: 'bsc' },
        { id: 'dfi-a', kind: 'defid' },
      ],
      env: { NODESENTRY_API_KEY: KEY },
    });
    await h.sweep();
  });
  afterAll(() => h.close());

  it('when the API is used, then each request gets one line: method, route template, status, time, request id; never a header', async () => {
    const before = access(h).length;
    const ok = await request(h.app)
      .get('/v1/nodes/bsc-a')
      .set('x-api-key', KEY)
      .set('x-request-id', 'lb-req-42')
      .expect(200);
    expect(ok.headers['x-request-id']).toBe('lb-req-42');
    const missing = await request(h.app)
      .get('/v1/nodes/nope')
      .set('x-api-key', KEY)
      .set('x-request-id', 'not a plain {token}')
      .expect(404);
    expect(missing.headers['x-request-id']).toMatch(/^[a-z0-9]+-[a-z0-9]+$/);
    await request(h.app).get('/v1/nodes?state=healthy&limit=5').set('authorization', `Bearer ${KEY}`).expect(200);
    const lines = access(h).slice(before);
    expect(lines).toHaveLength(3);
    // The path, never the query string (a client may put a secret there).
    expect(lines[2]).toMatchObject({ route: '/v1/nodes', req: { url: '/v1/nodes' } });
    expect(lines[0]).toMatchObject({
      level: 30,
      route: '/v1/nodes/:id',
      req: { id: 'lb-req-42', method: 'GET', url: '/v1/nodes/bsc-a' },
      res: { statusCode: 200 },
    });
    expect(lines[0]!.msg).toMatch(/^GET \/v1\/nodes\/:id 200 \d+ ms$/);
    expect(typeof lines[0]!.responseTime).toBe('number');
    // 4xx at warn, with the id it made up and echoed.
    expect(lines[1]).toMatchObject({
      level: 40,
      route: '/v1/nodes/:id',
      req: { id: missing.headers['x-request-id'] },
      res: { statusCode: 404 },
    });
    for (const l of lines) {
      expect(Object.keys(l.req as object).sort()).toEqual(['id', 'method', 'remoteAddress', 'url']);
      expect(Object.keys(l.res as object)).toEqual(['statusCode']);
    }
    expect(h.logText()).not.toContain(KEY);
  });

  it('when load balancers and orchestrators probe, then no line by default (sample 0)', async () => {
    const before = access(h).length;
    for (let i = 0; i < 20; i++) await request(h.app).get('/probe/nodes/bsc-a').expect(200);
    await request(h.app).get('/livez').expect(200);
    await request(h.app).get('/readyz');
    expect(access(h).length).toBe(before);
  });

  it('when the API answers JSON or the dashboard, then it is compressed for clients that ask; probes and event streams never are', async () => {
    const gz = { 'accept-encoding': 'gzip' };
    const nodes = await request(h.app).get('/v1/nodes/dfi-a').set(gz).set('x-api-key', KEY).expect(200);
    expect(JSON.stringify(nodes.body).length).toBeGreaterThan(1024);
    expect(nodes.headers['content-encoding']).toBe('gzip');
    expect(nodes.headers.vary).toMatch(/accept-encoding/i);
    expect(nodes.body.id).toBe('dfi-a');
    // Small answers (under 1 KiB) are not worth it.
    const small = await request(h.app).get('/v1/chains/bsc/best').set(gz).set('x-api-key', KEY);
    expect(small.headers['content-encoding']).toBeUndefined();
    expect((await request(h.app).get('/openapi.json').set(gz).expect(200)).headers['content-encoding']).toBe('gzip');
    const page = await request(h.app).get('/').set(gz).expect(200);
    expect(page.headers['content-encoding']).toBe('gzip');
    const script = /src="(\/ui\/[^"]+\.js)"/.exec(page.text)![1]!;
    expect((await request(h.app).get(script).set(gz).expect(200)).headers['content-encoding']).toBe('gzip');
    // Without the ask: plain.
    expect(
      (await request(h.app).get('/openapi.json').set('accept-encoding', 'identity').expect(200)).headers[
        'content-encoding'
      ],
    ).toBeUndefined();
    for (const path of ['/probe/nodes/bsc-a', '/probe/chains/bsc?format=json', '/livez', '/readyz']) {
      const r = await request(h.app).get(path).set(gz);
      expect({ path, encoding: r.headers['content-encoding'] }).toEqual({ path, encoding: undefined });
    }
    // The event stream: read its first bytes and check they came plain.
    const server = createServer(h.app).listen(0, '127.0.0.1');
    try {
      await new Promise<void>((r) => server.once('listening', () => r()));
      const { port } = server.address() as { port: number };
      const controller = new AbortController();
      const r = await fetch(`http://127.0.0.1:${port}/v1/events`, {
        headers: { ...gz, 'x-api-key': KEY },
        signal: controller.signal,
      });
      expect(r.headers.get('content-type')).toMatch(/^text\/event-stream/);
      expect(r.headers.get('content-encoding')).toBeNull();
      const reader = r.body!.getReader();
      const first = new TextDecoder().decode((await reader.read()).value);
      expect(first).toMatch(/event: hello|retry:/);
      controller.abort();
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});

describe('access log settings', () => {
  it('when probes are sampled at 1, then each probe gets a line; when the access log is off, then nothing', async () => {
    const all = await startHarness({
      specs: [{ id: 'bsc-a', kind: 'bsc' }],
      env: { NODESENTRY_ACCESS_LOG_PROBES: '1' },
    });
    const off = await startHarness({ specs: [{ id: 'bsc-a', kind: 'bsc' }], env: { NODESENTRY_ACCESS_LOG: 'false' } });
    try {
      for (let i = 0; i < 5; i++) await request(all.app).head('/probe/nodes/bsc-a');
      const probes = access(all).filter((l) => l.route === '/probe/nodes/:id');
      expect(probes).toHaveLength(5);
      expect(probes[0]).toMatchObject({ req: { method: 'HEAD' } });
      await request(off.app).get('/v1/nodes').expect(200);
      await request(off.app).get('/probe/nodes/bsc-a');
      expect(access(off)).toEqual([]);
    } finally {
      await all.close();
      await off.close();
    }
  });
});

describe('access log: ids and ends', () => {
  it('when probes (fast path) and API calls (express) come without an id, then every id made up is a different one', async () => {
    const h = await startHarness({
      specs: [{ id: 'bsc-a', kind: 'bsc' }],
      env: { NODESENTRY_ACCESS_LOG_PROBES: '1' },
    });
    try {
      await h.sweep();
      const given: string[] = [];
      for (let i = 0; i < 4; i++) {
        given.push(String((await request(h.app).get('/probe/nodes/bsc-a').expect(200)).headers['x-request-id']));
        given.push(String((await request(h.app).get('/v1/nodes/bsc-a').expect(200)).headers['x-request-id']));
      }
      expect(new Set(given).size).toBe(given.length);
      const logged = access(h).map((l) => (l.req as { id: string }).id);
      expect(logged).toEqual(given);
      // The probes' lines come from the fast path, the API's from express: both faces are in it.
      expect(new Set(access(h).map((l) => l.route))).toEqual(new Set(['/probe/nodes/:id', '/v1/nodes/:id']));
    } finally {
      await h.close();
    }
  });

  it('when a client goes away before the answer ends (an event stream closed), then its request still gets its line', async () => {
    const h = await startHarness({ specs: [{ id: 'bsc-a', kind: 'bsc' }] });
    const server = createServer(h.app).listen(0, '127.0.0.1');
    try {
      await new Promise<void>((r) => server.once('listening', () => r()));
      const { port } = server.address() as { port: number };
      const controller = new AbortController();
      const r = await fetch(`http://127.0.0.1:${port}/v1/events?heartbeat=30`, {
        signal: controller.signal,
        headers: { 'x-request-id': 'sse-1' },
      });
      await r.body!.getReader().read();
      expect(access(h).filter((l) => l.route === '/v1/events')).toEqual([]);
      controller.abort();
      const deadline = Date.now() + 5_000;
      while (!access(h).some((l) => l.route === '/v1/events') && Date.now() < deadline) {
        await new Promise((res) => setTimeout(res, 20));
      }
      const line = access(h).find((l) => l.route === '/v1/events');
      expect(line).toMatchObject({
        level: 30,
        req: { id: 'sse-1', method: 'GET', url: '/v1/events' },
        res: { statusCode: 200 },
      });
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await h.close();
    }
  });
});

describe('log format', () => {
  let sim: Simulator;
  let dir: string;
  beforeAll(async () => {
    sim = await Simulator.start({ nodes: [{ id: 'bsc-a', kind: 'bsc' }] });
    dir = mkdtempSync(join(tmpdir(), 'nodesentry-logfmt-'));
    writeFileSync(join(dir, 'nodes.yaml'), `nodes:\n  - id: bsc-a\n    chain: bsc\n    url: ${sim.url('bsc-a')}\n`);
  });
  afterAll(async () => {
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** `serve` until it says the API listens, on a terminal (script(1) gives it a pty) or on a pipe. */
  async function firstLines(tty: boolean, env: Record<string, string> = {}): Promise<string> {
    const port = await freePort();
    const cmd = `${process.execPath} ${resolve('dist/cli.js')} serve --config ${join(dir, 'nodes.yaml')}`;
    // REDIS_URL empty: the in-process store, never the shared test Redis.
    const childEnv = { ...process.env, REDIS_URL: '', PORT: String(port), HOST: '127.0.0.1', ...env };
    const child = tty
      ? spawn('script', ['-qfec', cmd, '/dev/null'], { env: childEnv })
      : spawn(process.execPath, [resolve('dist/cli.js'), 'serve', '--config', join(dir, 'nodes.yaml')], {
          env: childEnv,
        });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d));
    try {
      const deadline = Date.now() + 15_000;
      while (!out.includes('API listening') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      return out;
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
  }

  it('when run on a terminal, then logs are human-readable; on a pipe, JSON lines; LOG_FORMAT=json forces JSON', async () => {
    // eslint-disable-next-line no-control-regex
    const onTty = (await firstLines(true)).replace(/\x1b\[[0-9;]*m/g, '');
    expect(onTty).toMatch(/\] INFO \(nodesentry\): API listening/);
    expect(onTty).not.toMatch(/"level":\d+/);
    const onPipe = await firstLines(false);
    const listening = onPipe.split('\n').find((l) => l.includes('API listening'))!;
    expect(JSON.parse(listening)).toMatchObject({ level: 30, msg: 'API listening' });
    const forced = await firstLines(true, { LOG_FORMAT: 'json' });
    expect(forced).toMatch(/"msg":"API listening"/);
  });
});
