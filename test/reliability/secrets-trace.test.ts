import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { get as httpGet, request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { startHttp, type HttpHandle } from '../../src/api/http-server.js';
import { openApiDocument } from '../../src/api/openapi.js';
import { httpDeps, startRunning, type Running } from '../../src/main.js';
import { createLogger } from '../../src/logging/logger.js';
import { Simulator } from '../../src/simulator/simulator.js';
import { RedisStore } from '../../src/store/redis-store.js';
import { RedisServer } from '../support/redis-server.js';

// The whole service as `serve` wires it (settings from the environment, the nodes file, the
// real logger with its redaction, the HTTP server with file reloads), at LOG_LEVEL=trace, with
// credentials in node URLs, in variables, in a cookie file and in REDIS_URL, an API key and an
// admin token. Every route is driven, error paths included (a wrong node password, a Redis
// that goes away, a Redis password that is wrong, a refused reload, bad requests of every
// kind), and no log line, answer, header, event or metric may hold any secret, in any form.

const API_KEY = 'trace-Key-3b9d2f71ac';
const ADMIN_TOKEN = 'trace-Admin-Token-6e0c94d1b7';
const REDIS_PASS = 'redis-Pa55-S3cret-%41-42';
const INLINE = { user: 'inl', pass: 'inline-P@ss/Secret-5150' };
const ENV_ONE = { user: 'dfiuser', pass: 'dfi-Env-S3cret-9911' };
const ENV_PAIR = { user: 'bscuser', pass: 'bsc-Pair-S3cret-7272' };
const WRONG = { user: 'rpc', pass: 'wr0ng-Node-Pass-3434' };
const RIGHT_FOR_WRONG = 'the-Real-Pass-8080';
const WRONG_REDIS_PASS = 'wrong-Redis-Pass-6161';
/** A misspelt setting variable holding a secret: its name is warned about, its value never shown. */
const MISSPELT_VALUE = 'misspelt-Admin-Token-2929';

describe('no secret at LOG_LEVEL=trace, on any route, in any error', () => {
  let sim: Simulator;
  let redis: RedisServer;
  let dir: string;
  let running: Running;
  let http: HttpHandle;
  let base: string;
  let configFile: string;
  let goodConfig: string;
  const log: string[] = [];
  const seen: string[] = [];
  const saved: Record<string, string | undefined> = {};
  const CREDENTIAL_VARS: Record<string, string> = {
    NODE_DFI_ENV: `${ENV_ONE.user}:${ENV_ONE.pass}`,
    BSC_USER: ENV_PAIR.user,
    BSC_PASS: ENV_PAIR.pass,
    PAI_WRONG: `${WRONG.user}:${WRONG.pass}`,
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nodesentry-trace-'));
    const cookieFile = join(dir, '.cookie');
    redis = await RedisServer.start({ password: REDIS_PASS });
    sim = await Simulator.start({
      authDelayMs: 5,
      nodes: [
        { id: 'pai-inline', kind: 'paicoind', auth: { username: INLINE.user, password: INLINE.pass } },
        { id: 'dfi-env', kind: 'defid', auth: { username: ENV_ONE.user, password: ENV_ONE.pass } },
        { id: 'bsc-pair', kind: 'bsc', auth: { username: ENV_PAIR.user, password: ENV_PAIR.pass } },
        { id: 'dfi-cookie', kind: 'defid', auth: { cookieFile } },
        { id: 'pai-wrong', kind: 'paicoind', auth: { username: WRONG.user, password: RIGHT_FOR_WRONG } },
      ],
    });
    const inline = new URL(sim.url('pai-inline'));
    inline.username = encodeURIComponent(INLINE.user);
    inline.password = encodeURIComponent(INLINE.pass);
    goodConfig = [
      'defaults: { intervalMs: 300, timeoutMs: 250 }',
      'nodes:',
      `  - { id: pai-inline, chain: pai, url: "${inline.href}" }`,
      `  - { id: dfi-env, chain: defichain, url: "${sim.url('dfi-env')}", auth: { env: NODE_DFI_ENV } }`,
      `  - { id: bsc-pair, chain: bsc, url: "${sim.url('bsc-pair')}", auth: { usernameEnv: BSC_USER, passwordEnv: BSC_PASS } }`,
      `  - { id: dfi-cookie, chain: defichain, url: "${sim.url('dfi-cookie')}", auth: { cookieFile: .cookie } }`,
      `  - { id: pai-wrong, chain: pai, url: "${sim.url('pai-wrong')}", auth: { env: PAI_WRONG } }`,
      '',
    ].join('\n');
    configFile = join(dir, 'nodes.yaml');
    await writeFile(configFile, goodConfig);
    // The process environment, as `serve` sees it (a reload reads the credential variables there).
    for (const [k, v] of Object.entries(CREDENTIAL_VARS)) {
      saved[k] = process.env[k];
      process.env[k] = v;
    }
    const env: NodeJS.ProcessEnv = {
      ...CREDENTIAL_VARS,
      REDIS_URL: redis.url,
      NODESENTRY_REDIS_PREFIX: `trace-${process.pid}`,
      NODESENTRY_API_KEY: API_KEY,
      NODESENTRY_ADMIN_TOKEN: ADMIN_TOKEN,
      NODESENTRY_ADMIN_TOKNE: MISSPELT_VALUE,
      LOG_LEVEL: 'trace',
      PORT: '0',
      HOST: '127.0.0.1',
    };
    const sink = new Writable({
      write(chunk, _enc, cb) {
        log.push(String(chunk));
        cb();
      },
    });
    running = await startRunning({
      configPath: configFile,
      env,
      logger: createLogger({ level: 'trace', destination: sink }),
    });
    http = await startHttp(httpDeps(running));
    base = http.url;
  });

  afterAll(async () => {
    await http?.close();
    await running?.close();
    await sim.close();
    await redis.close();
    await rm(dir, { recursive: true, force: true });
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!(await cond())) {
      if (Date.now() > end) throw new Error(`not within ${timeoutMs} ms: ${what}`);
      await sleep(25);
    }
  }

  /** One request; headers and body are kept for the scan. */
  function call(
    method: string,
    path: string,
    headers: Record<string, string> = { 'x-api-key': API_KEY },
    body?: string,
  ): Promise<{ status: number; text: string }> {
    return new Promise((resolve, reject) => {
      const req = httpRequest(
        `${base}${path}`,
        {
          method,
          agent: false,
          headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (text += c));
          res.on('end', () => {
            seen.push(`${res.statusCode} ${JSON.stringify(res.headers)}\n${text}`);
            resolve({ status: res.statusCode ?? 0, text });
          });
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }
  const admin = (method: string, path: string, body?: string, extra: Record<string, string> = {}) =>
    call(method, path, { authorization: `Bearer ${ADMIN_TOKEN}`, ...extra }, body);

  /** Read an event stream for a moment. */
  function sse(path: string, ms: number): Promise<string> {
    return new Promise((resolve, reject) => {
      let text = '';
      const req = httpGet(`${base}${path}`, { agent: false, headers: { 'x-api-key': API_KEY } }, (res) => {
        text += JSON.stringify(res.headers);
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        setTimeout(() => {
          req.destroy();
          resolve(text);
        }, ms);
      });
      req.on('error', reject);
    });
  }

  async function driveEveryRoute(): Promise<void> {
    const ids = [...running.service.nodes.keys()];
    const chains = [...new Set([...running.service.nodes.values()].map((n) => n.chain.name))];
    const doc = openApiDocument() as { paths: Record<string, Record<string, unknown>> };
    for (const [template, item] of Object.entries(doc.paths)) {
      const concrete = template.includes('{id}')
        ? ids.map((id) => template.replace('{id}', id))
        : template.includes('{chain}')
          ? chains.map((c) => template.replace('{chain}', c))
          : [template];
      for (const path of concrete) {
        for (const method of Object.keys(item)) {
          if (path === '/v1/events') continue;
          const m = method.toUpperCase();
          const isAdmin = path.startsWith('/v1/admin') || /\/(drain|network)$/.test(path);
          const good = isAdmin ? { authorization: `Bearer ${ADMIN_TOKEN}` } : { 'x-api-key': API_KEY };
          const body =
            m === 'POST' ? (path.endsWith('/network') ? '{"active":true}' : '{"reason":"trace scan"}') : undefined;
          await call(m, path, good, body);
          // Wrong, near-miss and missing credentials, a bad query, a bad body.
          await call(
            m,
            path,
            isAdmin ? { authorization: `Bearer ${ADMIN_TOKEN}x` } : { 'x-api-key': `${API_KEY}x` },
            body,
          );
          await call(m, path, {}, body);
          await call(m, `${path}?bogus=${encodeURIComponent(INLINE.pass)}`, good, body);
          if (m === 'POST') await call(m, path, good, '{"active":');
        }
      }
    }
    for (const id of ids) {
      await call('GET', `/probe/nodes/${id}?format=text`);
      await call('GET', `/v1/nodes/${id}/history?limit=360`);
      await admin('DELETE', `/v1/nodes/${id}/drain`);
    }
    await call('GET', '/probe/host', { 'x-api-key': API_KEY, host: 'pai-wrong' });
    await call('GET', '/metrics', { authorization: `Bearer ${API_KEY}` });
  }

  it('when everything is driven, errors and outages included, then no secret appears anywhere', async () => {
    // The fleet really authenticates (else this would prove nothing): four nodes up, the one
    // with the wrong password down for exactly that reason.
    await until(
      'the fleet is judged',
      async () => {
        const r = await call('GET', '/v1/nodes');
        const items = (JSON.parse(r.text) as { items: Array<{ id: string; state: string }> }).items;
        const s = new Map(items.map((n) => [n.id, n.state]));
        return (
          ['pai-inline', 'dfi-env', 'bsc-pair', 'dfi-cookie'].every((id) => s.get(id) === 'healthy') &&
          s.get('pai-wrong') === 'unhealthy'
        );
      },
      10_000,
    );
    const wrong = JSON.parse((await call('GET', '/v1/nodes/pai-wrong')).text) as {
      sample: { error: { code: string } };
    };
    expect(wrong.sample.error.code).toBe('RPC_AUTH_FAILED');

    await driveEveryRoute();
    // The admin call to the node with the wrong password fails at the node: a 502 error path.
    expect((await admin('POST', '/v1/nodes/pai-wrong/network', '{"active":false}')).status).toBe(502);
    const events = sse('/v1/events', 600);
    await admin('POST', '/v1/nodes/dfi-env/drain', '{"reason":"during the stream"}', { 'x-operator': 'tracer' });
    await admin('DELETE', '/v1/nodes/dfi-env/drain');
    seen.push(await events);

    // A reload the config refuses, with credentials in its URL and misused variables.
    await writeFile(
      configFile,
      goodConfig
        .replace('auth: { env: NODE_DFI_ENV }', 'auth: { env: NODE_DFI_ENV, usernameEnv: BSC_USER }')
        .replace(
          `url: "${sim.url('bsc-pair')}"`,
          `url: "http://x:${ENV_PAIR.pass}@127.0.0.1:1/", bogus: ${REDIS_PASS}`,
        ),
    );
    const refused = await admin('POST', '/v1/admin/reload');
    expect(refused.status).toBe(422);
    await writeFile(configFile, goodConfig);
    expect((await admin('POST', '/v1/admin/reload')).status).toBe(200);

    // Redis goes away (warnings, 503s) and comes back (it asks for the password again).
    await redis.stop();
    await until('the store is seen down', () => !running.service.store.health().connected, 5_000);
    await sleep(1_200);
    await driveEveryRoute();
    await redis.restart();
    await until('the store is back', () => running.service.store.health().connected, 8_000);
    await sleep(1_200);
    await driveEveryRoute();

    // A replica with the wrong Redis password: its warnings must not show either password.
    const bad = new URL(redis.url);
    bad.password = encodeURIComponent(WRONG_REDIS_PASS);
    const badStore = new RedisStore({
      url: bad.href,
      prefix: 'trace-bad',
      replica: 'bad',
      reconnectMaxDelayMs: 100,
      connectTimeoutMs: 500,
      onWarning: (m, d) => running.logger.warn(d ?? {}, m),
    });
    await expect(badStore.ready(1_000)).rejects.toThrow();
    await badStore.close();

    const text = `${seen.join('\n')}\n${log.join('')}`;
    // The scan saw a great deal, at every level: trace and debug lines included, errors too.
    expect(text.length).toBeGreaterThan(100_000);
    const levels = new Set(log.map((l) => (JSON.parse(l) as { level: number }).level));
    expect([...levels].some((l) => l <= 20)).toBe(true);
    expect(levels.has(40)).toBe(true);
    expect(log.some((l) => l.includes('NODESENTRY_ADMIN_TOKNE'))).toBe(true);
    expect(log.some((l) => /WRONGPASS|NOAUTH|invalid (username|password)/i.test(l))).toBe(true);
    expect(seen.some((s) => s.startsWith('200 ') && s.includes('nodesentry_'))).toBe(true);

    const cookie = (await readFile(join(dir, '.cookie'), 'utf8')).trim();
    const cookieSecret = cookie.slice(cookie.indexOf(':') + 1);
    const secrets = [
      API_KEY,
      ADMIN_TOKEN,
      REDIS_PASS,
      encodeURIComponent(REDIS_PASS),
      WRONG_REDIS_PASS,
      INLINE.pass,
      encodeURIComponent(INLINE.pass),
      ENV_ONE.pass,
      ENV_PAIR.pass,
      WRONG.pass,
      RIGHT_FOR_WRONG,
      cookieSecret,
      MISSPELT_VALUE,
    ];
    for (const [user, pass] of [
      [INLINE.user, INLINE.pass],
      [ENV_ONE.user, ENV_ONE.pass],
      [ENV_PAIR.user, ENV_PAIR.pass],
      [WRONG.user, WRONG.pass],
      ['__cookie__', cookieSecret],
      ['default', REDIS_PASS],
    ] as const) {
      secrets.push(Buffer.from(`${user}:${pass}`).toString('base64'));
    }
    expect(secrets.filter((s) => text.includes(s))).toEqual([]);
  }, 60_000);
});
