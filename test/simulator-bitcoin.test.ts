import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { Simulator } from '../src/simulator/simulator.js';

// Bitcoin-family dialects (defid, paicoind, bitcoind old and new), auth and cookies, over real HTTP.

const T0 = 1_750_000_000_000;
// Long enough that "answered at once" and "answered after the delay" cannot be confused under load.
const AUTH_DELAY_MS = 150;
let now = T0;
let sim: Simulator;
let dir: string;
const agent = new Agent({ keepAliveTimeout: 1_000 });
const PASSWORD = 'p@ss:w/rd %x';

async function post(url: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await request(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    dispatcher: agent,
  });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, text, json: () => JSON.parse(text) as any };
}

function call(
  id: string,
  method: string,
  params: unknown[] = [],
  reqId: unknown = 1,
  headers: Record<string, string> = {},
) {
  return post(sim.url(id), { jsonrpc: '1.0', id: reqId, method, params }, headers);
}

async function result(id: string, method: string, params: unknown[] = []): Promise<any> {
  const res = await call(id, method, params);
  expect(res.status).toBe(200);
  return res.json().result;
}

function basic(user: string, pass: string): string {
  return `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nodesentry-sim-'));
  sim = await Simulator.start({
    authDelayMs: AUTH_DELAY_MS,
    now: () => now,
    nodes: [
      { id: 'defi-main', kind: 'defid', peers: { inbound: 3, outbound: 7 } },
      { id: 'defi-test', kind: 'defid', network: 'test', peers: { inbound: 0, outbound: 2 } },
      { id: 'pai', kind: 'paicoind', peers: { inbound: 2, outbound: 5 } },
      { id: 'core28', kind: 'bitcoind', version: '28.0', peers: { inbound: 4, outbound: 6 } },
      { id: 'core21', kind: 'bitcoind', version: '0.21.1', peers: { inbound: 1, outbound: 8 } },
      { id: 'defi-nonet', kind: 'defid', disabledMethods: ['getpeerinfo'] },
      { id: 'defi-auth', kind: 'defid', auth: { username: 'rpc user', password: PASSWORD } },
      { id: 'core-cookie', kind: 'bitcoind', auth: { cookieFile: join(dir, 'regtest', '.cookie') } },
    ],
  });
});

afterAll(async () => {
  await sim.close();
  await agent.close();
  await rm(dir, { recursive: true, force: true });
});

beforeEach(() => {
  now = T0;
});

describe('Bitcoin-family legacy JSON-RPC', () => {
  it('answers a single call in 1.0 form with result, error and the echoed id', async () => {
    const res = await call('defi-main', 'getconnectioncount', [], 'probe-1');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json');
    expect(res.json()).toEqual({ result: 10, error: null, id: 'probe-1' });
    expect((await call('pai', 'getblockcount', [], 7)).json()).toEqual({ result: 395_000, error: null, id: 7 });
  });

  it('maps single-request errors to HTTP statuses and still sends the JSON body', async () => {
    const notFound = await call('defi-main', 'eth_blockNumber', [], 3);
    expect(notFound.status).toBe(404);
    expect(notFound.json()).toEqual({ result: null, error: { code: -32601, message: 'Method not found' }, id: 3 });

    const invalid = await post(sim.url('defi-main'), { id: 4, params: [] });
    expect(invalid.status).toBe(400);
    expect(invalid.json()).toEqual({
      result: null,
      error: { code: -32600, message: 'Method must be a string' },
      id: 4,
    });

    const parse = await post(sim.url('defi-main'), '{"method":');
    expect(parse.status).toBe(500);
    expect(parse.json()).toEqual({ result: null, error: { code: -32700, message: 'Parse error' }, id: null });

    const badParam = await call('core28', 'setnetworkactive', ['yes'], 5);
    expect(badParam.status).toBe(500);
    expect(badParam.json().error.code).toBe(-3);
  });

  it('answers a batch with 200 and one result or error per element', async () => {
    const res = await post(sim.url('defi-main'), [
      { jsonrpc: '1.0', id: 1, method: 'getblockcount' },
      { jsonrpc: '1.0', id: 'x', method: 'nope' },
      { jsonrpc: '1.0', id: 3, method: 'getconnectioncount' },
      42,
    ]);
    expect(res.status).toBe(200);
    expect(res.json()).toEqual([
      { result: 5_000_000, error: null, id: 1 },
      { result: null, error: { code: -32601, message: 'Method not found' }, id: 'x' },
      { result: 10, error: null, id: 3 },
      { result: null, error: { code: -32600, message: 'Invalid Request object' }, id: null },
    ]);
  });

  it('refuses anything but POST with 405', async () => {
    const res = await request(sim.url('defi-main'), { method: 'GET', dispatcher: agent });
    expect(res.statusCode).toBe(405);
    expect(await res.body.text()).toBe('JSONRPC server handles only POST requests');
  });

  it('answers disabled methods as method not found, 404 alone and per element in a batch', async () => {
    const single = await call('defi-nonet', 'getpeerinfo');
    expect(single.status).toBe(404);
    expect(single.json().error).toEqual({ code: -32601, message: 'Method not found' });
    const batch = await post(sim.url('defi-nonet'), [
      { id: 1, method: 'getpeerinfo' },
      { id: 2, method: 'getconnectioncount' },
    ]);
    expect(batch.status).toBe(200);
    expect(batch.json()).toEqual([
      { result: null, error: { code: -32601, message: 'Method not found' }, id: 1 },
      { result: 18, error: null, id: 2 },
    ]);
  });
});

describe('per-client and per-version shapes', () => {
  it("getpeerinfo lists inbound + outbound peers with the version's field set", async () => {
    const pai = (await result('pai', 'getpeerinfo')) as Record<string, unknown>[];
    expect(pai).toHaveLength(7);
    expect(pai.filter((p) => p.inbound === true)).toHaveLength(2);
    for (const field of [
      'id',
      'addr',
      'addrbind',
      'addrlocal',
      'services',
      'relaytxes',
      'lastsend',
      'lastrecv',
      'bytessent',
      'bytesrecv',
      'conntime',
      'timeoffset',
      'pingtime',
      'minping',
      'version',
      'subver',
      'inbound',
      'addnode',
      'startingheight',
      'banscore',
      'synced_headers',
      'synced_blocks',
      'inflight',
      'whitelisted',
      'minfeefilter',
      'bytessent_per_msg',
      'bytesrecv_per_msg',
    ]) {
      expect(pai[0]).toHaveProperty(field);
    }
    expect(pai[0]).not.toHaveProperty('permissions');

    const defi = (await result('defi-main', 'getpeerinfo')) as Record<string, unknown>[];
    expect(defi.filter((p) => p.inbound === true)).toHaveLength(3);
    expect(defi[0]).toHaveProperty('permissions', []);
    expect(defi[0]).toHaveProperty('banscore');

    const core28 = (await result('core28', 'getpeerinfo')) as Record<string, unknown>[];
    expect(core28).toHaveLength(10);
    expect(core28[0]).not.toHaveProperty('banscore');
    expect(core28[0]).not.toHaveProperty('whitelisted');
    expect(core28.filter((p) => p.connection_type === 'inbound')).toHaveLength(4);

    const core21 = (await result('core21', 'getpeerinfo')) as Record<string, unknown>[];
    expect(core21[0]).toHaveProperty('banscore');
    expect(core21[0]).toHaveProperty('connection_type');
    // The per-message byte counts add up to the totals.
    const sent = core21[0]?.bytessent_per_msg as Record<string, number>;
    expect(Object.values(sent).reduce((a, b) => a + b, 0)).toBe(core21[0]?.bytessent);
  });

  it('getpeerinfo is deterministic and keeps existing peers when more connect', async () => {
    const before = (await result('defi-test', 'getpeerinfo')) as { id: number; addr: string }[];
    expect(await result('defi-test', 'getpeerinfo')).toEqual(before);
    sim.setPeers('defi-test', { inbound: 2, outbound: 4 });
    const after = (await result('defi-test', 'getpeerinfo')) as { id: number; addr: string }[];
    expect(after).toHaveLength(6);
    for (const peer of before) expect(after.find((p) => p.id === peer.id)?.addr).toBe(peer.addr);
    sim.setPeers('defi-test', { inbound: 0, outbound: 2 });
  });

  it('getnetworkinfo: connections_in/out and a warnings array only where the version has them', async () => {
    const defi = await result('defi-main', 'getnetworkinfo');
    expect(defi).toMatchObject({
      subversion: '/DeFiChain:4.2.5/',
      version: 4_020_500,
      connections: 10,
      networkactive: true,
      warnings: '',
    });
    expect(defi).not.toHaveProperty('connections_in');
    for (const field of [
      'protocolversion',
      'localservices',
      'localrelay',
      'timeoffset',
      'networks',
      'relayfee',
      'incrementalfee',
      'localaddresses',
    ])
      expect(defi).toHaveProperty(field);

    const pai = await result('pai', 'getnetworkinfo');
    expect(pai).toMatchObject({ subversion: '/Turing:3.0.0/', connections: 7, warnings: '' });
    expect(pai).not.toHaveProperty('connections_out');

    const core28 = await result('core28', 'getnetworkinfo');
    expect(core28).toMatchObject({
      subversion: '/Satoshi:28.0.0/',
      version: 280_000,
      connections: 10,
      connections_in: 4,
      connections_out: 6,
      warnings: [],
    });

    const core21 = await result('core21', 'getnetworkinfo');
    expect(core21).toMatchObject({
      subversion: '/Satoshi:0.21.1/',
      version: 210_100,
      connections_in: 1,
      connections_out: 8,
      warnings: '',
    });
  });

  it('getblockchaininfo: paicoind has no initialblockdownload; defid reports its network name', async () => {
    const pai = await result('pai', 'getblockchaininfo');
    expect(pai).toMatchObject({ chain: 'main', blocks: 395_000, headers: 395_000 });
    expect(pai).not.toHaveProperty('initialblockdownload');
    expect(pai.bestblockhash).toMatch(/^0{12}[0-9a-f]{52}$/);

    const defiTest = await result('defi-test', 'getblockchaininfo');
    expect(defiTest).toMatchObject({ chain: 'test', initialblockdownload: false });
    expect(defiTest.verificationprogress).toBeGreaterThan(0.9999);

    const core = await result('core28', 'getblockchaininfo');
    expect(core).toMatchObject({ chain: 'main', blocks: 920_000, initialblockdownload: false, warnings: [] });
    expect(core.bestblockhash).toBe(await result('core28', 'getbestblockhash'));
    expect(core.mediantime).toBeLessThan(core.time);
  });

  it('getnodestatusinfo exists on defid only', async () => {
    expect(await result('defi-main', 'getnodestatusinfo')).toEqual({
      health_status: true,
      sync_to_tip: true,
      active_peer_nodes: true,
    });
    // defi-test has 2 peers: fewer than the 5 defid wants.
    expect(await result('defi-test', 'getnodestatusinfo')).toEqual({
      health_status: false,
      sync_to_tip: true,
      active_peer_nodes: false,
    });
    expect((await call('core28', 'getnodestatusinfo')).status).toBe(404);
  });

  it('getnettotals grows with time', async () => {
    const first = await result('defi-main', 'getnettotals');
    expect(first).toMatchObject({ timemillis: T0, uploadtarget: { timeframe: 86_400, target_reached: false } });
    now = T0 + 60_000;
    const later = await result('defi-main', 'getnettotals');
    expect(later.totalbytesrecv).toBeGreaterThan(first.totalbytesrecv);
    expect(later.totalbytessent).toBeGreaterThan(first.totalbytessent);
    expect(later.timemillis).toBe(T0 + 60_000);
  });

  it('setnetworkactive toggles P2P: 0 connections and no peers while off', async () => {
    expect(await result('core21', 'setnetworkactive', [false])).toBe(false);
    expect(await result('core21', 'getnetworkinfo')).toMatchObject({
      networkactive: false,
      connections: 0,
      connections_in: 0,
      connections_out: 0,
    });
    expect(await result('core21', 'getpeerinfo')).toEqual([]);
    expect(await result('core21', 'getconnectioncount')).toBe(0);
    // Named parameters work too.
    const on = await post(sim.url('core21'), { id: 1, method: 'setnetworkactive', params: { state: true } });
    expect(on.json().result).toBe(true);
    expect(await result('core21', 'getconnectioncount')).toBe(9);
  });
});

describe('Bitcoin Core 28 JSON-RPC 2.0 opt-in', () => {
  it('answers "jsonrpc":"2.0" requests the 2.0 way: errors in a 200, one of result/error', async () => {
    const ok = await post(sim.url('core28'), { jsonrpc: '2.0', id: 1, method: 'getblockcount' });
    expect(ok.status).toBe(200);
    expect(ok.json()).toEqual({ jsonrpc: '2.0', result: 920_000, id: 1 });

    const missing = await post(sim.url('core28'), { jsonrpc: '2.0', id: 2, method: 'nope' });
    expect(missing.status).toBe(200);
    expect(missing.json()).toEqual({ jsonrpc: '2.0', error: { code: -32601, message: 'Method not found' }, id: 2 });

    const notification = await post(sim.url('core28'), { jsonrpc: '2.0', method: 'getblockcount' });
    expect(notification.status).toBe(204);
    expect(notification.text).toBe('');
  });

  it('keeps "1.0" and absent versions legacy, and rejects unknown versions', async () => {
    const legacy = await post(sim.url('core28'), { jsonrpc: '1.0', id: 3, method: 'nope' });
    expect(legacy.status).toBe(404);
    expect(legacy.json()).toEqual({ result: null, error: { code: -32601, message: 'Method not found' }, id: 3 });
    const absent = await post(sim.url('core28'), { id: 4, method: 'nope' });
    expect(absent.status).toBe(404);
    const bad = await post(sim.url('core28'), { jsonrpc: '3.0', id: 5, method: 'getblockcount' });
    expect(bad.status).toBe(400);
    expect(bad.json().error).toEqual({ code: -32600, message: 'JSON-RPC version not supported' });
  });

  it('ignores "jsonrpc" before Core 28', async () => {
    const res = await post(sim.url('core21'), { jsonrpc: '2.0', id: 6, method: 'nope' });
    expect(res.status).toBe(404);
    expect(res.json()).toEqual({ result: null, error: { code: -32601, message: 'Method not found' }, id: 6 });
  });
});

describe('authentication', () => {
  it('answers a missing Authorization header with an immediate empty 401', async () => {
    const started = performance.now();
    const res = await call('defi-auth', 'getblockcount');
    expect(res.status).toBe(401);
    expect(res.text).toBe('');
    expect(res.headers['www-authenticate']).toBe('Basic realm="jsonrpc"');
    expect(performance.now() - started).toBeLessThan(AUTH_DELAY_MS);
  });

  it('answers wrong credentials with an empty 401 after the auth delay', async () => {
    const started = performance.now();
    const res = await call('defi-auth', 'getblockcount', [], 1, { authorization: basic('rpc user', 'wrong') });
    expect(performance.now() - started).toBeGreaterThanOrEqual(AUTH_DELAY_MS - 10);
    expect(res.status).toBe(401);
    expect(res.text).toBe('');
    expect(res.headers['www-authenticate']).toBe('Basic realm="jsonrpc"');
  });

  it('accepts the right credentials and builds a percent-encoded URL with them', async () => {
    expect(
      (await call('defi-auth', 'getblockcount', [], 1, { authorization: basic('rpc user', PASSWORD) })).json().result,
    ).toBe(5_000_000);
    const url = new URL(sim.urlWithCredentials('defi-auth'));
    expect(decodeURIComponent(url.username)).toBe('rpc user');
    expect(decodeURIComponent(url.password)).toBe(PASSWORD);
    expect(sim.url('defi-auth')).not.toContain('@');
    expect(sim.urlWithCredentials('defi-main')).toBe(sim.url('defi-main'));
  });

  it('writes a bitcoind cookie file and honours only the current cookie after rotation', async () => {
    const file = join(dir, 'regtest', '.cookie');
    const first = await readFile(file, 'utf8');
    expect(first).toMatch(/^__cookie__:[0-9a-f]{64}$/);
    expect(((await stat(file)).mode & 0o777).toString(8)).toBe('600');
    const [user, pass] = [first.slice(0, first.indexOf(':')), first.slice(first.indexOf(':') + 1)];
    expect((await call('core-cookie', 'getblockcount', [], 1, { authorization: basic(user, pass) })).status).toBe(200);

    await sim.rotateCookie('core-cookie');
    const second = await readFile(file, 'utf8');
    expect(second).toMatch(/^__cookie__:[0-9a-f]{64}$/);
    expect(second).not.toBe(first);
    expect((await call('core-cookie', 'getblockcount', [], 1, { authorization: basic(user, pass) })).status).toBe(401);
    expect(
      (await call('core-cookie', 'getblockcount', [], 1, { authorization: basic('__cookie__', second.slice(11)) }))
        .status,
    ).toBe(200);
    await expect(sim.rotateCookie('defi-main')).rejects.toMatchObject({ code: 'SIM_NO_COOKIE' });
  });
});
