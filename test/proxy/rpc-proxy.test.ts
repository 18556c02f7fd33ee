import request from 'supertest';
import type { Fault } from '../../src/simulator/fault.js';
import { SecretUrl } from '../../src/rpc/secret-url.js';
import { startHarness, type Harness } from '../support/api-harness.js';

const PASSWORD = 's3cret-rpc-pass-77';
const TOKEN = 'tok3n-in-path-5e4d';
const rpc = (method: string, params: unknown[] = [], id: unknown = 1) => ({ jsonrpc: '2.0', id, method, params });
const legacy = (method: string, params: unknown[] = [], id: unknown = 1) => ({ jsonrpc: '1.0', id, method, params });
const TX =
  '0xf86c808504a817c800825208943535353535353535353535353535353535353535880de0b6b3a76400008025a028ef61340bd939bc2195fe537567866003e1a15d3c71ff63e1590620aa636276a067cbe9d8997f761aecb703304b3800ccf555c9f3dc64214b297fb1966a3b6d83';
const BTC_TX = '0200000001aabbccdd';

type Part = { status: number; text: string; headers: Record<string, unknown> };

describe('POST /rpc/<chain> over the simulator', () => {
  let h: Harness;
  const seen: string[] = [];
  const keep = (r: Part) => {
    seen.push(r.text, JSON.stringify(r.headers));
    return r;
  };
  const post = async (path: string, body: unknown, headers: Record<string, string> = {}) => {
    const type = headers['content-type'] ?? 'application/json';
    return keep(
      await request(h.app)
        .post(path)
        .set({ ...headers, 'content-type': type })
        .send(JSON.stringify(body)),
    );
  };
  const failovers = () => h.logs().filter((l) => typeof l.msg === 'string' && l.msg.includes('failover'));

  beforeAll(async () => {
    h = await startHarness({
      specs: [
        { id: 'bsc-a', kind: 'bsc', ownPort: true, auth: { username: 'rpcuser', password: PASSWORD } },
        { id: 'bsc-b', kind: 'bsc' },
        { id: 'bsc-c', kind: 'bsc' },
        { id: TOKEN, kind: 'bsc' },
        { id: 'dfi-a', kind: 'defid', auth: { username: 'rpcuser', password: PASSWORD } },
        { id: 'dfi-b', kind: 'defid' },
      ],
      // The breaker would carry one test's failures into the next; its timeline has its own test.
      env: {
        NODESENTRY_RPC_BREAKER_MS: '0',
        NODESENTRY_RPC_ATTEMPT_TIMEOUT_MS: '400',
        NODESENTRY_RPC_CONSISTENCY_WAIT_MS: '300',
        PROVIDER_TOKEN: TOKEN,
      },
      // A fixed walk order: a, then b, then c (and the provider node last).
      mapNodes: (nodes) =>
        nodes.map((n) => {
          if (n.id === TOKEN) {
            const real = n.url;
            return {
              ...n,
              id: 'bsc-provider',
              url: real.replace(TOKEN, '${PROVIDER_TOKEN}'),
              requestUrl: new SecretUrl(real),
              tier: 3,
            };
          }
          return { ...n, tier: /-a$/.test(n.id) ? 0 : /-b$/.test(n.id) ? 1 : 2 };
        }),
    });
    await h.sweep();
  });
  afterAll(async () => {
    await h?.close();
  });
  beforeEach(async () => {
    for (const id of ['bsc-a', 'bsc-b', 'bsc-c', 'dfi-a', 'dfi-b']) await h.sim.setFault(id, { type: 'none' });
    await h.sim.startNode('bsc-a');
    h.sim.resetStats();
  });

  it('when a backend calls eth_blockNumber, then the chosen node answers it, with the credentials added inside', async () => {
    const r = await post('/rpc/bsc', rpc('eth_blockNumber'));
    expect(r.status).toBe(200);
    expect(JSON.parse(r.text)).toEqual({ jsonrpc: '2.0', id: 1, result: expect.stringMatching(/^0x[0-9a-f]+$/) });
    expect(r.headers['x-nodesentry-node']).toBe('bsc-a');
    expect(Number(r.headers['x-nodesentry-head'])).toBe(Number.parseInt(JSON.parse(r.text).result, 16));
    expect(h.sim.stats('bsc-a').calls.eth_blockNumber).toBe(1);
  });

  it('when a batch is sent, then it reaches one node in one request and every reply comes back with its id', async () => {
    const r = await post('/rpc/bsc', [
      rpc('eth_chainId', [], 'a'),
      rpc('eth_blockNumber', [], 7),
      rpc('net_version', [], null),
    ]);
    expect(r.status).toBe(200);
    const replies = JSON.parse(r.text) as Array<{ id: unknown; result: unknown }>;
    expect(replies.map((x) => x.id).sort()).toEqual([7, 'a', null].sort());
    expect(replies.find((x) => x.id === 'a')!.result).toBe('0x38');
    expect(h.sim.stats('bsc-a').requests).toBe(1);
    expect(h.sim.stats('bsc-b').requests).toBe(0);
  });

  it('when the node answers a JSON-RPC error, then it is passed on unchanged and no other node is asked', async () => {
    const r = await post('/rpc/bsc', rpc('eth_getBlockByNumber', ['nonsense', false]));
    expect(r.status).toBe(200);
    expect(JSON.parse(r.text)).toEqual({
      jsonrpc: '2.0',
      id: 1,
      error: { code: -32602, message: expect.stringContaining('invalid argument 0') },
    });
    expect(h.sim.stats('bsc-b').requests + h.sim.stats('bsc-c').requests).toBe(0);
  });

  it('when a Bitcoin-family client speaks 1.0, then the node answers in its dialect, its errors with their own status', async () => {
    const ok = await post('/rpc/defichain', legacy('getblockcount'), { 'content-type': 'text/plain' });
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.text)).toEqual({ result: expect.any(Number), error: null, id: 1 });
    expect(ok.headers['x-nodesentry-node']).toBe('dfi-a');
    const missing = await post('/rpc/defichain', legacy('nosuchcall'));
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.text)).toEqual({
      result: null,
      error: { code: -32601, message: 'Method not found' },
      id: 1,
    });
    const range = await post('/rpc/defichain', legacy('getblockhash', [999_999_999]));
    expect(range.status).toBe(500);
    expect(JSON.parse(range.text).error.code).toBe(-8);
    // Core 28+ style 2.0 requests are forwarded as they are.
    const v2 = await post('/rpc/defichain', rpc('getblockcount'));
    expect(v2.status).toBe(200);
    expect(h.sim.stats('dfi-b').requests).toBe(0);
  });

  const readFailures: Array<[string, Fault, string]> = [
    ['the connection is reset', { type: 'reset' }, 'RPC_CONNECTION_RESET'],
    ['a gateway answers 502', { type: 'http', status: 502 }, 'RPC_HTTP_STATUS'],
    ['a gateway answers 429', { type: 'http', status: 429, body: 'slow down' }, 'RPC_HTTP_STATUS'],
    ['the node hangs past the attempt timeout', { type: 'hang' }, 'RPC_TIMEOUT'],
    ['the body is garbage', { type: 'malformed' }, 'RPC_MALFORMED_RESPONSE'],
    ['the body is cut short', { type: 'truncated' }, 'RPC_MALFORMED_RESPONSE'],
    ['the node rejects our credentials', { type: 'unauthorized' }, 'RPC_AUTH_FAILED'],
  ];

  it.each(readFailures)(
    'when %s, then a read is answered by the next node and one failover line is logged',
    async (_what, fault, code) => {
      await h.sim.setFault('bsc-a', fault);
      const before = failovers().length;
      const r = await post('/rpc/bsc', rpc('eth_blockNumber'));
      expect(r.status).toBe(200);
      expect(JSON.parse(r.text).result).toMatch(/^0x/);
      expect(r.headers['x-nodesentry-node']).toBe('bsc-b');
      const lines = failovers().slice(before);
      expect(lines).toEqual([expect.objectContaining({ chain: 'bsc', from: 'bsc-a', to: 'bsc-b', code, attempt: 1 })]);
    },
  );

  it('when the node is down (connection refused), then a read and even a write go to the next node: the first never got them', async () => {
    await h.sim.stopNode('bsc-a');
    const read = await post('/rpc/bsc', rpc('eth_blockNumber'));
    expect(read.headers['x-nodesentry-node']).toBe('bsc-b');
    const write = await post('/rpc/bsc', rpc('eth_sendRawTransaction', [TX]));
    expect(write.status).toBe(200);
    expect(JSON.parse(write.text).result).toMatch(/^0x[0-9a-f]{64}$/);
    expect(h.sim.stats('bsc-b').calls.eth_sendRawTransaction).toBe(1);
  });

  it('when a node drips its answer slower than the attempt timeout allows, then the attempt is cut and the next node answers', async () => {
    // Each chunk comes well within the 400 ms attempt timeout, the whole body long after it:
    // only the attempt's own bound (checked per chunk) cuts it, not undici's idle body timeout.
    await h.sim.setFault('bsc-a', { type: 'drip', chunkIntervalMs: 300 });
    const before = failovers().length;
    const read = await post('/rpc/bsc', rpc('eth_blockNumber'));
    expect(read.status).toBe(200);
    expect(read.headers['x-nodesentry-node']).toBe('bsc-b');
    expect(failovers().slice(before)[0]).toMatchObject({ from: 'bsc-a', to: 'bsc-b', code: 'RPC_TIMEOUT' });
  });

  it('when a Bitcoin-family node is warming up (-28), then the call (a write too) goes to the next node', async () => {
    await h.sim.setFault('dfi-a', { type: 'warmup' });
    const r = await post('/rpc/defichain', legacy('sendrawtransaction', [BTC_TX]));
    expect(r.status).toBe(200);
    expect(r.headers['x-nodesentry-node']).toBe('dfi-b');
    expect(h.sim.stats('dfi-b').calls.sendrawtransaction).toBe(1);
  });

  it.each([
    ['the connection is reset', { type: 'reset' } as Fault],
    ['a gateway answers 502', { type: 'http', status: 502 } as Fault],
    ['the node hangs past the attempt timeout', { type: 'hang' } as Fault],
  ])(
    'when %s during a write, then the write is not sent to another node and the client is told it may have run',
    async (_what, fault) => {
      await h.sim.setFault('bsc-a', fault);
      const r = await post('/rpc/bsc', rpc('eth_sendRawTransaction', [TX], 9));
      expect(r.status).toBe(502);
      expect(JSON.parse(r.text)).toEqual({
        jsonrpc: '2.0',
        id: 9,
        error: {
          code: -32013,
          message: expect.stringContaining('never sent twice'),
          data: expect.objectContaining({ reason: 'RPC_PROXY_WRITE_UNCERTAIN', node: 'bsc-a' }),
        },
      });
      expect(
        (h.sim.stats('bsc-b').calls.eth_sendRawTransaction ?? 0) +
          (h.sim.stats('bsc-c').calls.eth_sendRawTransaction ?? 0),
      ).toBe(0);
    },
  );

  it('when a batch holds a write and the node fails mid-way, then the batch is not resent either', async () => {
    await h.sim.setFault('bsc-a', { type: 'http', status: 503 });
    const r = await post('/rpc/bsc', [rpc('eth_blockNumber', [], 1), rpc('eth_sendRawTransaction', [TX], 2)]);
    expect(r.status).toBe(502);
    expect((JSON.parse(r.text) as Array<{ id: number }>).map((x) => x.id).sort()).toEqual([1, 2]);
    expect(h.sim.stats('bsc-b').requests).toBe(0);
  });

  it('when every candidate fails, then the client gets one clear error after trying each once', async () => {
    for (const id of ['bsc-a', 'bsc-b', 'bsc-c']) await h.sim.setFault(id, { type: 'http', status: 502 });
    const r = await post('/rpc/bsc', rpc('eth_blockNumber'));
    expect(r.status).toBe(502);
    expect(JSON.parse(r.text).error).toEqual({
      code: -32011,
      message: expect.stringContaining('3 tried'),
      data: { reason: 'RPC_PROXY_UPSTREAM_FAILED', attempts: 3, lastFailure: 'RPC_HTTP_STATUS' },
    });
    expect(r.headers['retry-after']).toBe('1');
    expect([h.sim.stats('bsc-a').requests, h.sim.stats('bsc-b').requests, h.sim.stats('bsc-c').requests]).toEqual([
      1, 1, 1,
    ]);
  });

  it('when a node is pinned, then only it is asked, even when it fails; unknown or foreign nodes are a 404', async () => {
    const r = await post('/rpc/bsc/bsc-c', rpc('eth_blockNumber'));
    expect(r.headers['x-nodesentry-node']).toBe('bsc-c');
    await h.sim.setFault('bsc-c', { type: 'reset' });
    const failed = await post('/rpc/bsc/bsc-c', rpc('eth_blockNumber'));
    expect(failed.status).toBe(502);
    expect(h.sim.stats('bsc-a').requests + h.sim.stats('bsc-b').requests).toBe(0);
    for (const path of ['/rpc/bsc/nope', '/rpc/bsc/dfi-a']) {
      const nf = await post(path, rpc('eth_blockNumber'));
      expect(nf.status).toBe(404);
      expect(JSON.parse(nf.text).error.data.reason).toBe('RPC_PROXY_NODE_NOT_FOUND');
    }
    expect((await post('/rpc/nochain', rpc('eth_blockNumber'))).status).toBe(404);
  });

  it('when a node has a provider token in its URL, then the proxy reaches it with the token and never shows it', async () => {
    const r = await post('/rpc/bsc/bsc-provider', rpc('eth_chainId'));
    expect(r.status).toBe(200);
    expect(h.sim.stats(TOKEN).calls.eth_chainId).toBe(1);
  });

  it('when methods that administer a node are called, then they are refused with 403 by default, and a batch keeps its allowed calls', async () => {
    for (const m of ['admin_addPeer', 'debug_traceTransaction', 'personal_unlockAccount', 'miner_start', 'eth_sign']) {
      const r = await post('/rpc/bsc', rpc(m, []));
      expect(r.status).toBe(403);
      expect(JSON.parse(r.text).error).toEqual({
        code: -32601,
        message: `method ${m} is not allowed on this endpoint`,
        data: { reason: 'RPC_PROXY_METHOD_REFUSED' },
      });
    }
    for (const m of [
      'stop',
      'setnetworkactive',
      'getnewaddress',
      'dumpprivkey',
      'walletpassphrase',
      'generatetoaddress',
    ]) {
      const r = await post('/rpc/defichain', legacy(m, [false]));
      expect(r.status).toBe(403);
      expect(JSON.parse(r.text)).toEqual({ result: null, error: expect.objectContaining({ code: -32601 }), id: 1 });
    }
    const mixed = await post('/rpc/bsc', [rpc('eth_chainId', [], 1), rpc('admin_peers', [], 2), { id: 3 }]);
    expect(mixed.status).toBe(200);
    const byId = new Map((JSON.parse(mixed.text) as Array<{ id: number }>).map((x) => [x.id, x]));
    expect(byId.get(1)).toEqual({ jsonrpc: '2.0', id: 1, result: '0x38' });
    expect(byId.get(2)).toEqual({ jsonrpc: '2.0', id: 2, error: expect.objectContaining({ code: -32601 }) });
    expect(byId.get(3)).toEqual({ jsonrpc: '2.0', id: 3, error: expect.objectContaining({ code: -32600 }) });
    expect(h.sim.stats('bsc-a').calls.admin_peers).toBeUndefined();
    expect(h.sim.stats('dfi-a').calls.setnetworkactive).toBeUndefined();
  });

  it('when the body is not JSON-RPC, then a JSON-RPC error with the right status; EVM chains want JSON', async () => {
    const cases: Array<[unknown, number, number]> = [
      ['{"jsonrpc":"2.0",', 400, -32700],
      [[], 400, -32600],
      [{ jsonrpc: '1.0', id: 1, method: 'eth_chainId' }, 400, -32600],
      [{ jsonrpc: '2.0', id: 1 }, 400, -32600],
    ];
    for (const [body, status, code] of cases) {
      const r = keep(
        await request(h.app)
          .post('/rpc/bsc')
          .set('content-type', 'application/json')
          .send(typeof body === 'string' ? body : JSON.stringify(body)),
      );
      expect([r.status, JSON.parse(r.text).error.code]).toEqual([status, code]);
    }
    const plain = await request(h.app)
      .post('/rpc/bsc')
      .set('content-type', 'text/plain')
      .send(JSON.stringify(rpc('eth_chainId')));
    expect(plain.status).toBe(415);
    const get = await request(h.app).get('/rpc/bsc');
    expect([get.status, get.headers.allow]).toEqual([405, 'POST']);
  });

  it('when a session was served a head, then a later read never goes to a node below it, and an unreachable head is a 503', async () => {
    const first = await post('/rpc/bsc', rpc('eth_blockNumber'), { 'x-nodesentry-session': 'backend-1' });
    const served = Number.parseInt(JSON.parse(first.text).result, 16);
    expect(first.headers['x-nodesentry-node']).toBe('bsc-a');
    // The primary fails and the next backup is 50 blocks behind: the read must skip it.
    await h.sim.setFault('bsc-a', { type: 'http', status: 502 });
    h.sim.setHeight('bsc-b', served - 50);
    try {
      const next = await post('/rpc/bsc', rpc('eth_blockNumber'), { 'x-nodesentry-session': 'backend-1' });
      expect(next.status).toBe(200);
      expect(next.headers['x-nodesentry-node']).toBe('bsc-c');
      expect(Number.parseInt(JSON.parse(next.text).result, 16)).toBeGreaterThanOrEqual(served);
      expect(Number(next.headers['x-nodesentry-head'])).toBeGreaterThanOrEqual(served);
      // Without the session the same read may go to the lagging node: the guarantee is opt-in.
      const loose = await post('/rpc/bsc', rpc('eth_blockNumber'));
      expect(loose.headers['x-nodesentry-node']).toBe('bsc-b');
    } finally {
      h.sim.setHeight('bsc-b', h.sim.height('bsc-c'));
    }
    const ahead = await post('/rpc/bsc', rpc('eth_blockNumber'), {
      'x-nodesentry-min-head': String(served + 1_000_000),
    });
    expect(ahead.status).toBe(503);
    expect(JSON.parse(ahead.text).error).toEqual({
      code: -32012,
      message: expect.stringContaining(String(served + 1_000_000)),
      data: { reason: 'RPC_PROXY_BEHIND_CLIENT', minHead: served + 1_000_000 },
    });
    expect((await post('/rpc/bsc', rpc('eth_blockNumber'), { 'x-nodesentry-min-head': 'soon' })).status).toBe(400);
  });

  it('when requests were proxied, then /metrics counts them by chain, class and outcome, with bounded labels', async () => {
    await h.sim.setFault('bsc-a', { type: 'reset' });
    await post('/rpc/bsc', rpc('eth_blockNumber'));
    await post('/rpc/bsc', rpc('admin_peers'));
    const text = (await request(h.app).get('/metrics')).text;
    expect(text).toMatch(/nodesentry_rpc_requests_total\{chain="bsc",class="read",outcome="answered"\} [1-9]/);
    expect(text).toMatch(/nodesentry_rpc_requests_total\{chain="bsc",class="read",outcome="refused"\} [1-9]/);
    expect(text).toMatch(/nodesentry_rpc_retries_total\{chain="bsc",code="RPC_CONNECTION_RESET"\} [1-9]/);
    expect(text).toMatch(/nodesentry_rpc_failovers_total\{chain="bsc"\} [1-9]/);
    expect(text).toMatch(
      /nodesentry_rpc_node_failures_total\{chain="bsc",node="bsc-a",code="RPC_CONNECTION_RESET"\} [1-9]/,
    );
    expect(text).toMatch(
      /nodesentry_rpc_request_duration_seconds_bucket\{le="0.005",chain="bsc",class="read",outcome="answered"\}/,
    );
    // Clients choose method names: never a label.
    expect(text).not.toMatch(/eth_blockNumber|admin_peers/);
  });

  it('credentials and URL tokens never appear in any answer or log line of this suite', () => {
    expect(seen.length).toBeGreaterThan(40);
    const all = seen.join('\n') + h.logText();
    expect(all).not.toContain(PASSWORD);
    expect(all).not.toContain(TOKEN);
    expect(all).not.toContain(Buffer.from(`rpcuser:${PASSWORD}`).toString('base64'));
  });
});
