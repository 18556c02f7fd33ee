import { Agent, request } from 'undici';
import type { Fault } from '../src/simulator/fault.js';
import { Simulator } from '../src/simulator/simulator.js';

// Every fault type, against real HTTP.

let sim: Simulator;
const agent = new Agent({ keepAliveTimeout: 1_000 });
const AUTH = { username: 'u', password: 'p' };
const GOOD_AUTH = `Basic ${Buffer.from('u:p').toString('base64')}`;

async function post(url: string, body: unknown, opts: { headers?: Record<string, string>; signal?: AbortSignal } = {}) {
  const res = await request(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...opts.headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    dispatcher: agent,
    ...(opts.signal !== undefined ? { signal: opts.signal } : {}),
  });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, text, json: () => JSON.parse(text) as any };
}

const evm = (method: string, id: unknown = 1) => ({ jsonrpc: '2.0', id, method, params: [] });
const btc = (method: string, id: unknown = 1) => ({ jsonrpc: '1.0', id, method, params: [] });

beforeAll(async () => {
  sim = await Simulator.start({
    authDelayMs: 5,
    nodes: [
      { id: 'bsc', kind: 'bsc', peers: { inbound: 5, outbound: 5 } },
      { id: 'defi', kind: 'defid', peers: { inbound: 3, outbound: 4 } },
      { id: 'pai', kind: 'paicoind' },
      { id: 'core', kind: 'bitcoind', version: '28.0' },
      { id: 'core-auth', kind: 'bitcoind', auth: AUTH },
      { id: 'nobatch', kind: 'defid', batch: false },
      { id: 'own', kind: 'bsc', ownPort: true },
    ],
  });
});

afterAll(async () => {
  await sim.close();
  await agent.close();
});

afterEach(async () => {
  for (const id of sim.nodeIds()) await sim.setFault(id, { type: 'none' });
});

describe('faults', () => {
  it('hang: reads the request and never answers', async () => {
    sim.setFault('defi', { type: 'hang' });
    sim.resetStats();
    await expect(
      post(sim.url('defi'), btc('getblockcount'), { signal: AbortSignal.timeout(150) }),
    ).rejects.toMatchObject({ name: 'TimeoutError' });
    expect(sim.stats('defi')).toEqual({ requests: 1, calls: { getblockcount: 1 } });
  });

  it('slow: answers correctly after the delay', async () => {
    sim.setFault('bsc', { type: 'slow', delayMs: 120 });
    const started = performance.now();
    const res = await post(sim.url('bsc'), evm('net_peerCount'));
    expect(performance.now() - started).toBeGreaterThanOrEqual(110);
    expect(res.json()).toEqual({ jsonrpc: '2.0', id: 1, result: '0xa' });
  });

  it('drip: sends the correct body a few bytes at a time', async () => {
    sim.setFault('defi', { type: 'drip', chunkIntervalMs: 25 });
    const started = performance.now();
    const res = await request(sim.url('defi'), {
      method: 'POST',
      body: JSON.stringify(btc('getconnectioncount', 'drip')),
      dispatcher: agent,
    });
    let chunks = 0;
    let body = '';
    for await (const chunk of res.body) {
      chunks++;
      body += String(chunk);
    }
    expect(JSON.parse(body)).toEqual({ result: 7, error: null, id: 'drip' });
    expect(chunks).toBeGreaterThan(2);
    expect(performance.now() - started).toBeGreaterThanOrEqual((Math.ceil(body.length / 16) - 1) * 25 - 10);
  });

  it('http: a proxy error page, or the status and body given', async () => {
    sim.setFault('bsc', { type: 'http', status: 502 });
    const page = await post(sim.url('bsc'), evm('eth_blockNumber'));
    expect(page.status).toBe(502);
    expect(page.headers['content-type']).toBe('text/html');
    expect(page.text).toContain('502 Bad Gateway');

    sim.setFault('bsc', {
      type: 'http',
      status: 429,
      body: '{"error":"rate limited"}',
      contentType: 'application/json',
    });
    const limited = await post(sim.url('bsc'), evm('eth_blockNumber'));
    expect(limited.status).toBe(429);
    expect(limited.json()).toEqual({ error: 'rate limited' });
  });

  it('unauthorized: 401 with an empty body even with the right credentials', async () => {
    expect(
      (await post(sim.url('core-auth'), btc('getblockcount'), { headers: { authorization: GOOD_AUTH } })).status,
    ).toBe(200);
    sim.setFault('core-auth', { type: 'unauthorized' });
    const res = await post(sim.url('core-auth'), btc('getblockcount'), { headers: { authorization: GOOD_AUTH } });
    expect(res.status).toBe(401);
    expect(res.text).toBe('');
    expect(res.headers['www-authenticate']).toBe('Basic realm="jsonrpc"');
    // Also on a node that needs no credentials at all.
    sim.setFault('bsc', { type: 'unauthorized' });
    expect((await post(sim.url('bsc'), evm('eth_blockNumber'), { headers: { authorization: GOOD_AUTH } })).status).toBe(
      401,
    );
  });

  it("forbidden: 403, empty for bitcoind, geth's reason for EVM", async () => {
    sim.setFault('defi', { type: 'forbidden' });
    const btcRes = await post(sim.url('defi'), btc('getblockcount'));
    expect(btcRes.status).toBe(403);
    expect(btcRes.text).toBe('');
    sim.setFault('bsc', { type: 'forbidden' });
    const evmRes = await post(sim.url('bsc'), evm('eth_blockNumber'));
    expect(evmRes.status).toBe(403);
    expect(evmRes.text).toBe('invalid host specified\n');
  });

  it('malformed: 200 application/json whose body does not parse', async () => {
    sim.setFault('core', { type: 'malformed' });
    const res = await post(sim.url('core'), btc('getblockcount'));
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json');
    expect(() => JSON.parse(res.text)).toThrow(SyntaxError);
  });

  it('truncated: Content-Length larger than the body, then the socket closes', async () => {
    sim.setFault('bsc', { type: 'truncated' });
    const res = await request(sim.url('bsc'), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(evm('eth_blockNumber')),
      dispatcher: agent,
    });
    expect(res.statusCode).toBe(200);
    expect(Number(res.headers['content-length'])).toBeGreaterThan(10);
    await expect(res.body.text()).rejects.toThrow();
  });

  it('oversized: a valid JSON reply of about the requested size', async () => {
    sim.setFault('defi', { type: 'oversized', bytes: 2_000_000 });
    const res = await post(sim.url('defi'), btc('getblockcount', 8));
    expect(res.status).toBe(200);
    expect(Math.abs(res.text.length - 2_000_000)).toBeLessThan(100);
    expect(res.json()).toMatchObject({ result: 5_000_000, error: null, id: 8 });

    const batch = await post(sim.url('defi'), [btc('getblockcount', 1), btc('getconnectioncount', 2)]);
    expect(batch.json()).toHaveLength(2);
  });

  it('warmup: -28 on Bitcoin-family nodes (500 alone, 200 in a batch), -32000 on EVM', async () => {
    sim.setFault('defi', { type: 'warmup' });
    const single = await post(sim.url('defi'), btc('getnetworkinfo', 2));
    expect(single.status).toBe(500);
    expect(single.json()).toEqual({ result: null, error: { code: -28, message: 'Loading block index...' }, id: 2 });
    const batch = await post(sim.url('defi'), [btc('getblockcount', 1), btc('nope', 2)]);
    expect(batch.status).toBe(200);
    expect(batch.json().map((r: { error: { code: number } }) => r.error.code)).toEqual([-28, -28]);

    sim.setFault('core', { type: 'warmup' });
    expect((await post(sim.url('core'), btc('getblockcount'))).json().error).toEqual({
      code: -28,
      message: 'Loading block index…',
    });
    sim.setFault('pai', { type: 'warmup', message: 'Verifying blocks...' });
    expect((await post(sim.url('pai'), btc('getblockcount'))).json().error).toEqual({
      code: -28,
      message: 'Verifying blocks...',
    });

    sim.setFault('bsc', { type: 'warmup' });
    const evmRes = await post(sim.url('bsc'), evm('eth_blockNumber'));
    expect(evmRes.status).toBe(200);
    expect(evmRes.json().error.code).toBe(-32000);
  });

  it('wrong-chain: another chain id / network name', async () => {
    sim.setFault('bsc', { type: 'wrong-chain' });
    expect((await post(sim.url('bsc'), evm('eth_chainId'))).json().result).toBe('0x61');
    expect((await post(sim.url('bsc'), evm('net_version'))).json().result).toBe('97');
    sim.setFault('defi', { type: 'wrong-chain' });
    expect((await post(sim.url('defi'), btc('getblockchaininfo'))).json().result.chain).toBe('test');
  });

  it("syncing: behind the head and saying so, in each client's way", async () => {
    const head = sim.height('bsc');
    sim.setFault('bsc', { type: 'syncing', behindBlocks: 50 });
    const syncing = (await post(sim.url('bsc'), evm('eth_syncing'))).json().result;
    expect(Number.parseInt(syncing.highestBlock, 16) - Number.parseInt(syncing.currentBlock, 16)).toBe(50);
    expect(Number.parseInt(syncing.highestBlock, 16)).toBeGreaterThanOrEqual(head);
    // eth_blockNumber says the same height as eth_syncing's currentBlock; the chain advances with
    // the wall clock, so a block may have passed between the two requests (never more on BSC's 3 s).
    const current =
      Number.parseInt((await post(sim.url('bsc'), evm('eth_blockNumber'))).json().result, 16) -
      Number.parseInt(syncing.currentBlock, 16);
    expect(current).toBeGreaterThanOrEqual(0);
    expect(current).toBeLessThanOrEqual(1);

    sim.setFault('core', { type: 'syncing', behindBlocks: 7 });
    const core = (await post(sim.url('core'), btc('getblockchaininfo'))).json().result;
    expect(core.initialblockdownload).toBe(true);
    expect(core.headers - core.blocks).toBe(7);
    expect(core.verificationprogress).toBeLessThan(1);

    sim.setFault('pai', { type: 'syncing' });
    const pai = (await post(sim.url('pai'), btc('getblockchaininfo'))).json().result;
    expect(pai).not.toHaveProperty('initialblockdownload');
    expect(pai.headers - pai.blocks).toBe(1000);

    sim.setFault('defi', { type: 'syncing' });
    expect((await post(sim.url('defi'), btc('getnodestatusinfo'))).json().result).toMatchObject({
      sync_to_tip: false,
      health_status: false,
    });
  });

  it('reset: the connection is destroyed when the request arrives', async () => {
    sim.setFault('bsc', { type: 'reset' });
    await expect(post(sim.url('bsc'), evm('eth_blockNumber'))).rejects.toMatchObject({
      code: expect.stringMatching(/^(UND_ERR_SOCKET|ECONNRESET)$/),
    });
  });

  it('no-batch (and batch: false): arrays get 400 with -32600, single calls pass', async () => {
    sim.setFault('bsc', { type: 'no-batch' });
    const batch = await post(sim.url('bsc'), [evm('eth_blockNumber')]);
    expect(batch.status).toBe(400);
    expect(batch.json()).toMatchObject({ id: null, error: { code: -32600 } });
    expect((await post(sim.url('bsc'), evm('eth_chainId'))).json().result).toBe('0x38');

    expect((await post(sim.url('nobatch'), [btc('getblockcount')])).status).toBe(400);
    expect((await post(sim.url('nobatch'), btc('getblockcount'))).status).toBe(200);
  });

  it('network-inactive: networkactive false, no connections, no peers (EVM: 0 peers)', async () => {
    sim.setFault('defi', { type: 'network-inactive' });
    const info = (await post(sim.url('defi'), btc('getnetworkinfo'))).json().result;
    expect(info).toMatchObject({ networkactive: false, connections: 0 });
    expect((await post(sim.url('defi'), btc('getpeerinfo'))).json().result).toEqual([]);
    expect((await post(sim.url('defi'), btc('getconnectioncount'))).json().result).toBe(0);
    sim.setFault('bsc', { type: 'network-inactive' });
    expect((await post(sim.url('bsc'), evm('net_peerCount'))).json().result).toBe('0x0');
  });

  it('down: connection refused on an ownPort node, back on the same port afterwards', async () => {
    const url = sim.url('own');
    expect((await post(url, evm('eth_chainId'))).status).toBe(200);
    await sim.setFault('own', { type: 'down' });
    await expect(post(url, evm('eth_chainId'))).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await sim.setFault('own', { type: 'none' });
    expect(sim.url('own')).toBe(url);
    expect((await post(url, evm('eth_chainId'))).json().result).toBe('0x38');
    expect(() => sim.setFault('bsc', { type: 'down' })).toThrow(expect.objectContaining({ code: 'SIM_INVALID_FAULT' }));
  });

  it('rejects invalid faults with a coded error', () => {
    expect(() => sim.setFault('bsc', { type: 'slow' } as unknown as Fault)).toThrow(
      expect.objectContaining({ code: 'SIM_INVALID_FAULT' }),
    );
    expect(() => sim.setFault('bsc', { type: 'explode' } as unknown as Fault)).toThrow(
      expect.objectContaining({ code: 'SIM_INVALID_FAULT' }),
    );
    expect(() => sim.setFault('nope', { type: 'none' })).toThrow(expect.objectContaining({ code: 'SIM_UNKNOWN_NODE' }));
  });
});
