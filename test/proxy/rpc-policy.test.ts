import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { MethodPolicy } from '../../src/proxy/method-policy.js';
import { startHarness, type Harness } from '../support/api-harness.js';
import { sleep } from '../support/wait.js';

const KEY = 'rpc-key-0123456789abcdef';
const rpc = (method: string, params: unknown[] = [], id: unknown = 1) => ({ jsonrpc: '2.0', id, method, params });
const send = (h: Harness, path: string, body: unknown, headers: Record<string, string> = { 'x-api-key': KEY }) =>
  request(h.app)
    .post(path)
    .set({ 'content-type': 'application/json', ...headers })
    .send(typeof body === 'string' ? body : JSON.stringify(body));

describe('JSON-RPC proxy policy: methods', () => {
  it('refuses the defaults, lets the operator allow some back and deny more; deny wins', () => {
    const evm = new MethodPolicy({
      family: 'evm',
      allow: ['debug_traceTransaction', 'txpool_*'],
      deny: ['eth_getLogs', 'txpool_inspect'],
    });
    expect(
      ['eth_call', 'eth_blockNumber', 'debug_traceTransaction', 'txpool_status'].filter((m) => !evm.allows(m)),
    ).toEqual([]);
    expect(
      ['debug_setHead', 'admin_peers', 'eth_getLogs', 'txpool_inspect', 'eth_sendTransaction'].filter((m) =>
        evm.allows(m),
      ),
    ).toEqual([]);
    const btc = new MethodPolicy({ family: 'bitcoin', allow: [], deny: [] });
    expect(
      ['getblockcount', 'getblockchaininfo', 'sendrawtransaction', 'listtokens', 'getrawtransaction'].filter(
        (m) => !btc.allows(m),
      ),
    ).toEqual([]);
    expect(
      [
        'stop',
        'setnetworkactive',
        'listwallets',
        'loadwallet',
        'walletlock',
        'getnewaddress',
        'addnode',
        'setban',
      ].filter((m) => btc.allows(m)),
    ).toEqual([]);
    expect(new MethodPolicy({ family: 'bitcoin', allow: ['*'], deny: ['stop'] }).allows('setnetworkactive')).toBe(true);
    expect(evm.isWrite('eth_sendRawTransaction') && btc.isWrite('sendrawtransaction') && !evm.isWrite('eth_call')).toBe(
      true,
    );
  });
});

describe('JSON-RPC proxy policy: key, allow and deny lists, limits', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({
      specs: [
        { id: 'bsc-1', kind: 'bsc' },
        { id: 'bsc-2', kind: 'bsc' },
        { id: 'dfi-1', kind: 'defid' },
      ],
      env: {
        NODESENTRY_API_KEY: KEY,
        NODESENTRY_RPC_MAX_BODY_BYTES: '2048',
        NODESENTRY_RPC_MAX_BATCH: '5',
        NODESENTRY_RPC_MAX_RESPONSE_BYTES: '4096',
        NODESENTRY_RPC_ALLOW_EVM: 'debug_*',
        NODESENTRY_RPC_DENY_EVM: 'eth_getBlockByNumber',
      },
    });
    await h.sweep();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('when the API key is missing or wrong, then 401 / 403 as JSON-RPC errors; with it, the call goes through', async () => {
    const none = await send(h, '/rpc/bsc', rpc('eth_chainId'), {});
    expect([none.status, none.body.error.code, none.body.error.data.reason]).toEqual([
      401,
      -32001,
      'RPC_PROXY_UNAUTHORIZED',
    ]);
    const wrong = await send(h, '/rpc/bsc', rpc('eth_chainId'), { authorization: 'Bearer nope' });
    expect([wrong.status, wrong.body.error.data.reason]).toEqual([403, 'RPC_PROXY_FORBIDDEN']);
    const bearer = await send(h, '/rpc/bsc', rpc('eth_chainId'), { authorization: `Bearer ${KEY}` });
    expect(bearer.body.result).toBe('0x38');
    expect(JSON.stringify(none.body) + JSON.stringify(wrong.body) + h.logText()).not.toContain(KEY);
  });

  it('when bitcoin-cli asks with -rpcwallet=<chain> and the key as its password, then it reaches the chain; other chains are a 404', async () => {
    // What bitcoin-cli sends: POST /wallet/<name>, Basic auth, a 1.0 (pre-28) or 2.0 body.
    const basic = (pass: string) => ({ authorization: `Basic ${Buffer.from(`backend:${pass}`).toString('base64')}` });
    const ok = await send(h, '/wallet/defichain', { method: 'getblockcount', params: [], id: 1 }, basic(KEY));
    expect([ok.status, typeof ok.body.result, ok.body.error]).toEqual([200, 'number', null]);
    expect(
      (await send(h, '/wallet/defichain', { method: 'getblockcount', params: [], id: 1 }, basic('wrong'))).status,
    ).toBe(403);
    const evm = await send(h, '/wallet/bsc', { method: 'getblockcount', params: [], id: 1 }, basic(KEY));
    expect([evm.status, evm.body.error.data.reason]).toEqual([404, 'RPC_PROXY_CHAIN_NOT_FOUND']);
  });

  it('when the operator allows debug_* and denies a read, then the proxy follows', async () => {
    const allowed = await send(h, '/rpc/bsc', rpc('debug_traceTransaction', ['0x00']));
    // Allowed: the node itself answers (the simulator has no debug namespace).
    expect(allowed.status).toBe(200);
    expect(allowed.body.error.message).toContain('does not exist');
    const denied = await send(h, '/rpc/bsc', rpc('eth_getBlockByNumber', ['latest', false]));
    expect([denied.status, denied.body.error.data.reason]).toEqual([403, 'RPC_PROXY_METHOD_REFUSED']);
  });

  it('when the body, the batch or the answer is too large, then 413 / 400 / 502 with -32600 / -32003, and no node is tried twice', async () => {
    const big = await send(h, '/rpc/bsc', rpc('eth_call', [{ data: `0x${'00'.repeat(2048)}` }]));
    expect([big.status, big.body.error.code, big.body.error.data.reason]).toEqual([
      413,
      -32600,
      'RPC_PROXY_BODY_TOO_LARGE',
    ]);
    const batch = await send(
      h,
      '/rpc/bsc',
      Array.from({ length: 6 }, (_, i) => rpc('eth_chainId', [], i)),
    );
    expect([batch.status, batch.body.error.code, batch.body.error.data]).toEqual([
      400,
      -32600,
      { reason: 'RPC_PROXY_BATCH_TOO_LARGE', calls: 6, max: 5 },
    ]);
    h.sim.resetStats();
    await h.sim.setFault('bsc-1', { type: 'oversized', bytes: 20_000 });
    await h.sim.setFault('bsc-2', { type: 'oversized', bytes: 20_000 });
    try {
      const huge = await send(h, '/rpc/bsc', rpc('eth_chainId'));
      expect([huge.status, huge.body.error.code, huge.body.error.data.reason]).toEqual([
        502,
        -32003,
        'RPC_PROXY_RESPONSE_TOO_LARGE',
      ]);
      expect(h.sim.stats('bsc-1').requests + h.sim.stats('bsc-2').requests).toBe(1);
    } finally {
      await h.sim.setFault('bsc-1', { type: 'none' });
      await h.sim.setFault('bsc-2', { type: 'none' });
    }
  });
});

describe('JSON-RPC proxy: a rate limit shared by two replicas through Redis', () => {
  const WINDOW_MS = 60_000;
  const prefix = `t-rl-${randomBytes(4).toString('hex')}`;
  // No API key: the client's address is the identity, the same for both replicas here.
  const env = { NODESENTRY_RPC_RATE_LIMIT: '6', NODESENTRY_RPC_RATE_WINDOW_MS: String(WINDOW_MS) };
  let a: Harness;
  let b: Harness;

  beforeAll(async () => {
    const specs = [{ id: 'bsc-1', kind: 'bsc' as const }];
    [a, b] = await Promise.all([
      startHarness({ specs, env, store: 'redis', redisPrefix: prefix }),
      startHarness({ specs, env, store: 'redis', redisPrefix: prefix }),
    ]);
    await Promise.all([a.sweep(), b.sweep()]);
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
  });

  it('when one client sends through two replicas, then they share one count: 6 pass in all, then 429 with Retry-After on both', async () => {
    // Never straddle two windows: wait for the next one if this one is about to end.
    const left = WINDOW_MS - (Date.now() % WINDOW_MS);
    if (left < 5_000) await sleep(left + 50);
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++)
      statuses.push((await send(i % 2 === 0 ? a : b, '/rpc/bsc', rpc('eth_chainId'), {})).status);
    // Counted per replica, 10 requests would all pass (5 each under a limit of 6).
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 429, 429, 429, 429]);
    const refused = await send(b, '/rpc/bsc', rpc('eth_chainId'), {});
    expect(refused.status).toBe(429);
    const retryAfter = Number(refused.headers['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(refused.body.error).toEqual({
      code: -32005,
      message: 'rate limit exceeded',
      data: { reason: 'RPC_PROXY_RATE_LIMITED', limit: 6, windowMs: WINDOW_MS },
    });
    // Batches count once, like any request: still refused.
    expect((await send(a, '/rpc/bsc', [rpc('eth_chainId', [], 1), rpc('eth_chainId', [], 2)], {})).status).toBe(429);
  });
});
