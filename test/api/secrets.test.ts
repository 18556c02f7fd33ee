import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { get as httpGet, createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import type { ReloadOutcome } from '../../src/api/api-context.js';
import { openApiDocument } from '../../src/api/openapi.js';
import { parseConfig } from '../../src/config/load-config.js';
import { ConfigError } from '../../src/config/config-error.js';
import { startHarness, type Harness } from '../support/api-harness.js';

const API_KEY = 'read-Key-7f3a9c1e55';
const ADMIN_TOKEN = 'admin-Token-b41d0e8f2c7a';
const INLINE = { user: 'inlineuser', pass: 'inl1ne-P@ss-9d2' };
const ENV_PAIR = { user: 'bscuser', pass: 'bsc-Pair-S3cret-41' };
const ENV_ONE = { user: 'envuser', pass: 'env-S3cret-value-77' };
const WRONG = { user: 'rpc', pass: 'wr0ng-Pass-S3cret-13' };

/**
 * A fleet whose nodes hold credentials in every form the config takes (inline in the URL, one
 * variable, a variable pair, a cookie file, and a wrong password the node rejects), with an API
 * key and an admin token. Every route is driven, errors included; no response (body or header),
 * SSE frame or log line may contain a secret, raw, percent-encoded or as a Basic header.
 */
describe('no secret ever leaves through the API or the logs', () => {
  let h: Harness;
  let dir: string;
  let configText: string;
  let env: Record<string, string>;
  let server: Server;
  let base: string;
  const seen: string[] = [];
  let reloadImpl: () => Promise<ReloadOutcome>;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nodesentry-secrets-'));
    const cookieFile = join(dir, '.cookie');
    env = {
      NODE_DFI_ENV: `${ENV_ONE.user}:${ENV_ONE.pass}`,
      BSC_USER: ENV_PAIR.user,
      BSC_PASS: ENV_PAIR.pass,
      PAI_WRONG: `${WRONG.user}:${WRONG.pass}`,
    };
    h = await startHarness({
      specs: [
        { id: 'pai-inline', kind: 'paicoind', auth: { username: INLINE.user, password: INLINE.pass } },
        { id: 'dfi-env', kind: 'defid', auth: { username: ENV_ONE.user, password: ENV_ONE.pass } },
        { id: 'bsc-pair', kind: 'bsc', auth: { username: ENV_PAIR.user, password: ENV_PAIR.pass } },
        { id: 'dfi-cookie', kind: 'defid', auth: { cookieFile } },
        { id: 'pai-wrong', kind: 'paicoind', auth: { username: WRONG.user, password: 'the-right-one' } },
      ],
      env: { NODESENTRY_API_KEY: API_KEY, NODESENTRY_ADMIN_TOKEN: ADMIN_TOKEN },
      // The fleet goes through the real config loader, as a nodes file would.
      mapNodes: (nodes) => {
        const url = (id: string) => nodes.find((n) => n.id === id)!.url;
        const inline = new URL(url('pai-inline'));
        inline.username = encodeURIComponent(INLINE.user);
        inline.password = encodeURIComponent(INLINE.pass);
        configText = [
          'nodes:',
          `  - { id: pai-inline, chain: pai, url: "${inline.href}", timeoutMs: 500 }`,
          `  - { id: dfi-env, chain: defichain, url: "${url('dfi-env')}", auth: { env: NODE_DFI_ENV }, timeoutMs: 500 }`,
          `  - { id: bsc-pair, chain: bsc, url: "${url('bsc-pair')}", auth: { usernameEnv: BSC_USER, passwordEnv: BSC_PASS }, timeoutMs: 500 }`,
          `  - { id: dfi-cookie, chain: defichain, url: "${url('dfi-cookie')}", auth: { cookieFile: .cookie }, timeoutMs: 500 }`,
          `  - { id: pai-wrong, chain: pai, url: "${url('pai-wrong')}", auth: { env: PAI_WRONG }, timeoutMs: 500 }`,
          '',
        ].join('\n');
        return parseConfig(configText, join(dir, 'nodes.yaml'), env, dir).nodes;
      },
      reload: () => reloadImpl(),
    });
    reloadImpl = async () => {
      try {
        const loaded = parseConfig(configText, join(dir, 'nodes.yaml'), env, dir);
        return { ok: true, ...(await h.service.reload(loaded.nodes, loaded.policy)) };
      } catch (err) {
        if (err instanceof ConfigError) return { ok: false, errors: err.message.split('\n') };
        throw err;
      }
    };
    await h.sweep(3);
    server = createServer(h.app);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
    await h.close();
    await rm(dir, { recursive: true, force: true });
  });

  const keep = (r: request.Response) => {
    seen.push(JSON.stringify(r.headers), r.text ?? '', JSON.stringify(r.body ?? null));
    return r;
  };
  const read = (
    method: 'get' | 'head' | 'options',
    path: string,
    auth: Record<string, string> = { 'x-api-key': API_KEY },
  ) => request(base)[method](path).set(auth).then(keep);
  const admin = (
    method: 'post' | 'delete' | 'get',
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ) => {
    const agent = request(base);
    const r = agent[method](path).set({ authorization: `Bearer ${ADMIN_TOKEN}`, ...headers });
    return (body === undefined ? r : r.send(body as object)).then(keep);
  };

  it('the fleet really uses the credentials (otherwise this test proves nothing)', async () => {
    const nodes = (await read('get', '/v1/nodes')).body.items as Array<{ id: string; state: string; url: string }>;
    const byId = new Map(nodes.map((n) => [n.id, n]));
    for (const id of ['pai-inline', 'dfi-env', 'bsc-pair', 'dfi-cookie'])
      expect(['healthy', 'degraded']).toContain(byId.get(id)!.state);
    expect(byId.get('pai-wrong')!.state).toBe('unhealthy');
    expect(byId.get('pai-inline')!.url).not.toContain('@');
  });

  it('when every documented route is driven, errors and admin actions included, then no answer or log line holds a secret', async () => {
    const ids = h.nodes.map((n) => n.id);
    const chains = [...new Set(h.nodes.map((n) => n.chain.name))];
    const doc = openApiDocument() as { paths: Record<string, Record<string, unknown>> };
    for (const [template, item] of Object.entries(doc.paths)) {
      const concrete = template.includes('{id}')
        ? ids.map((id) => template.replace('{id}', id))
        : template.includes('{chain}')
          ? chains.map((c) => template.replace('{chain}', c))
          : [template];
      for (const path of concrete) {
        for (const method of ['get', 'head', 'options'] as const) {
          if (!item[method] || path === '/v1/events') continue;
          await read(method, path);
          // Wrong and missing credentials, and a bad query, on every read route.
          await read(method, path, { 'x-api-key': `${API_KEY}x` });
          await read(method, path, {});
          await read(method, `${path}?bogus=${encodeURIComponent(INLINE.pass)}`);
        }
      }
    }
    for (const id of ids) {
      await read('get', `/probe/nodes/${id}?format=text`);
      await read('get', `/probe/nodes/${id}?degraded=429&drained=404`);
      await read('get', `/v1/nodes/${id}/history?limit=360`);
      await admin('post', `/v1/nodes/${id}/drain`, { reason: 'secret scan' }, { 'x-operator': 'scanner' });
      await admin('delete', `/v1/nodes/${id}/drain`);
      await admin('post', `/v1/nodes/${id}/network`, { active: true });
      await request(base)
        .post(`/v1/nodes/${id}/drain`)
        .set('authorization', `Bearer ${ADMIN_TOKEN.slice(0, -1)}`)
        .then(keep);
      await request(base)
        .post(`/v1/nodes/${id}/network`)
        .set('authorization', `Bearer ${ADMIN_TOKEN}`)
        .set('content-type', 'application/json')
        .send('{"active":')
        .then(keep);
    }
    for (const chain of chains) {
      await read('get', `/v1/chains/${chain}/best?top=5`);
      await read('get', `/probe/chains/${chain}?min=2&format=text`);
    }
    await read('get', '/v1/nodes?state=unhealthy');
    await read('get', '/v1/nodes/nope');
    await admin('post', '/v1/nodes/nope/drain');
    await admin('get', '/v1/admin/audit?limit=1000');
    await admin('post', '/v1/admin/reload');
    // A reload the config refuses: its messages must not repeat the credentials either.
    const good = configText;
    configText = good
      .replace('auth: { env: NODE_DFI_ENV }', `auth: { env: NODE_DFI_ENV, usernameEnv: BSC_USER }`)
      .replace(
        `url: "${new URL(h.nodes.find((n) => n.id === 'bsc-pair')!.url).href}"`,
        `url: "http://x:${ENV_PAIR.pass}@127.0.0.1:1/", auth: { env: BSC_PASS }`,
      );
    const refused = await admin('post', '/v1/admin/reload');
    expect(refused.status).toBe(422);
    configText = good;
    await admin('post', '/v1/admin/reload');
    await h.sweep(1);
    seen.push(await sse('/v1/events', 300));
    seen.push(h.logText());
    expect(seen.join('').length).toBeGreaterThan(50_000);

    const cookie = (await readFile(join(dir, '.cookie'), 'utf8')).trim();
    const cookieSecret = cookie.slice(cookie.indexOf(':') + 1);
    const secrets = [
      API_KEY,
      ADMIN_TOKEN,
      INLINE.pass,
      encodeURIComponent(INLINE.pass),
      ENV_ONE.pass,
      ENV_PAIR.pass,
      WRONG.pass,
      cookieSecret,
      'the-right-one',
    ];
    for (const [user, pass] of [
      [INLINE.user, INLINE.pass],
      [ENV_ONE.user, ENV_ONE.pass],
      [ENV_PAIR.user, ENV_PAIR.pass],
      [WRONG.user, WRONG.pass],
      ['__cookie__', cookieSecret],
    ] as const) {
      secrets.push(Buffer.from(`${user}:${pass}`).toString('base64'));
    }
    const text = seen.join('\n');
    const leaked = secrets.filter((s) => text.includes(s));
    expect(leaked).toEqual([]);
  });

  /** Read an event stream for a moment while a drain happens, and return what came. */
  function sse(path: string, ms: number): Promise<string> {
    return new Promise((resolve, reject) => {
      let text = '';
      const req = httpGet(`${base}${path}`, { headers: { 'x-api-key': API_KEY } }, (res) => {
        text += JSON.stringify(res.headers);
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        void admin('post', '/v1/nodes/dfi-env/drain', { reason: 'sse' }).then(() =>
          admin('delete', '/v1/nodes/dfi-env/drain'),
        );
        setTimeout(() => {
          req.destroy();
          resolve(text);
        }, ms);
      });
      req.on('error', reject);
    });
  }
});
