import { Agent, request } from 'undici';
import { Simulator } from '../src/simulator/simulator.js';

// BSC (geth) dialect of the simulator, over real HTTP.

const T0 = 1_750_000_000_000;
let now = T0;
let sim: Simulator;
const agent = new Agent({ keepAliveTimeout: 1_000 });

async function post(url: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await request(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    dispatcher: agent,
  });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, text, json: () => JSON.parse(text) as unknown };
}

function call(id: string, method: string, params: unknown[] = [], reqId: number | string = 1) {
  return post(sim.url(id), { jsonrpc: '2.0', id: reqId, method, params });
}

beforeAll(async () => {
  sim = await Simulator.start({
    authDelayMs: 5,
    now: () => now,
    nodes: [
      { id: 'bsc-main', kind: 'bsc', peers: { inbound: 8, outbound: 10 }, startHeight: 1_000 },
      { id: 'bsc-test', kind: 'bsc', chainId: 97, peers: { inbound: 1, outbound: 2 } },
      { id: 'bsc-nonet', kind: 'bsc', disabledMethods: ['net_peerCount', 'net_version', 'net_listening'] },
    ],
  });
});

afterAll(async () => {
  await sim.close();
  await agent.close();
});

beforeEach(() => {
  now = T0;
});

describe('EVM (geth) dialect', () => {
  it('answers the probe calls with geth shapes and echoes ids', async () => {
    const peers = await call('bsc-main', 'net_peerCount', [], 67);
    expect(peers.status).toBe(200);
    expect(peers.headers['content-type']).toBe('application/json');
    expect(peers.json()).toEqual({ jsonrpc: '2.0', id: 67, result: '0x12' });
    expect((await call('bsc-main', 'net_version', [], 'abc')).json()).toEqual({
      jsonrpc: '2.0',
      id: 'abc',
      result: '56',
    });
    expect((await call('bsc-main', 'eth_chainId')).json()).toMatchObject({ result: '0x38' });
    expect((await call('bsc-main', 'net_listening')).json()).toMatchObject({ result: true });
    expect((await call('bsc-main', 'eth_blockNumber')).json()).toMatchObject({ result: '0x3e8' });
    expect((await call('bsc-main', 'eth_syncing')).json()).toMatchObject({ result: false });
    const version = (await call('bsc-main', 'web3_clientVersion')).json() as { result: string };
    expect(version.result).toMatch(/^Geth\/v1\.5\.\d+-[0-9a-f]{8}-\d{8}\/linux-amd64\/go1\.23\.\d+$/);
  });

  it('reports the configured chain (testnet 97)', async () => {
    expect((await call('bsc-test', 'eth_chainId')).json()).toMatchObject({ result: '0x61' });
    expect((await call('bsc-test', 'net_version')).json()).toMatchObject({ result: '97' });
    expect((await call('bsc-test', 'net_peerCount')).json()).toMatchObject({ result: '0x3' });
  });

  it('answers a batch with an array in order, skipping notifications', async () => {
    const res = await post(sim.url('bsc-main'), [
      { jsonrpc: '2.0', id: 'a', method: 'eth_blockNumber' },
      { jsonrpc: '2.0', method: 'net_peerCount' },
      { jsonrpc: '2.0', id: 2, method: 'nope_nothing' },
      { jsonrpc: '2.0', id: 3, method: 'eth_chainId', params: [] },
    ]);
    expect(res.status).toBe(200);
    expect(res.json()).toEqual([
      { jsonrpc: '2.0', id: 'a', result: '0x3e8' },
      {
        jsonrpc: '2.0',
        id: 2,
        error: { code: -32601, message: 'the method nope_nothing does not exist/is not available' },
      },
      { jsonrpc: '2.0', id: 3, result: '0x38' },
    ]);
  });

  it('rejects requests without "jsonrpc":"2.0" with -32600 in a 200', async () => {
    const missing = await post(sim.url('bsc-main'), { id: 9, method: 'eth_blockNumber' });
    expect(missing.status).toBe(200);
    expect(missing.json()).toEqual({ jsonrpc: '2.0', id: 9, error: { code: -32600, message: 'invalid request' } });
    const legacy = await post(sim.url('bsc-main'), { jsonrpc: '1.0', id: 10, method: 'eth_blockNumber' });
    expect(legacy.json()).toMatchObject({ id: 10, error: { code: -32600 } });
  });

  it('maps parse errors, empty batches and oversized batches to JSON-RPC errors in a 200', async () => {
    const parse = await post(sim.url('bsc-main'), '{"jsonrpc":"2.0",');
    expect(parse.status).toBe(200);
    expect(parse.json()).toEqual({ jsonrpc: '2.0', id: null, error: { code: -32700, message: 'parse error' } });

    const empty = await post(sim.url('bsc-main'), []);
    expect(empty.json()).toEqual({ jsonrpc: '2.0', id: null, error: { code: -32600, message: 'empty batch' } });

    const big = Array.from({ length: 1001 }, (_, i) => ({ jsonrpc: '2.0', id: i + 1, method: 'eth_blockNumber' }));
    const tooLarge = await post(sim.url('bsc-main'), big);
    expect(tooLarge.status).toBe(200);
    expect(tooLarge.json()).toEqual([{ jsonrpc: '2.0', id: 1, error: { code: -32600, message: 'batch too large' } }]);

    const exactly = await post(sim.url('bsc-main'), big.slice(0, 1000));
    expect((exactly.json() as unknown[]).length).toBe(1000);
  });

  it("answers unknown and disabled methods with geth's -32601 text", async () => {
    const res = await call('bsc-nonet', 'net_peerCount', [], 4);
    expect(res.status).toBe(200);
    expect(res.json()).toEqual({
      jsonrpc: '2.0',
      id: 4,
      error: { code: -32601, message: 'the method net_peerCount does not exist/is not available' },
    });
    // The rest of the node still works.
    expect((await call('bsc-nonet', 'eth_blockNumber')).json()).toMatchObject({
      result: expect.stringMatching(/^0x[0-9a-f]+$/),
    });
  });

  it('checks arguments like geth', async () => {
    expect((await call('bsc-main', 'eth_blockNumber', [1])).json()).toMatchObject({
      error: { code: -32602, message: 'too many arguments, want at most 0' },
    });
    const nonArray = await post(sim.url('bsc-main'), {
      jsonrpc: '2.0',
      id: 1,
      method: 'eth_blockNumber',
      params: { a: 1 },
    });
    expect(nonArray.json()).toMatchObject({ error: { code: -32602, message: 'non-array args' } });
  });

  it("applies geth's HTTP transport rules: 405, 415, 413 and the empty GET health check", async () => {
    const put = await request(sim.url('bsc-main'), {
      method: 'PUT',
      body: '{}',
      headers: { 'content-type': 'application/json' },
      dispatcher: agent,
    });
    expect(put.statusCode).toBe(405);
    expect(await put.body.text()).toBe('method not allowed\n');

    const noType = await post(
      sim.url('bsc-main'),
      { jsonrpc: '2.0', id: 1, method: 'eth_blockNumber' },
      { 'content-type': 'text/plain' },
    );
    expect(noType.status).toBe(415);
    expect(noType.text).toContain('invalid content type');

    const withCharset = await post(
      sim.url('bsc-main'),
      { jsonrpc: '2.0', id: 1, method: 'eth_blockNumber' },
      { 'content-type': 'application/json; charset=utf-8' },
    );
    expect(withCharset.status).toBe(200);

    const huge = await post(sim.url('bsc-main'), 'x'.repeat(5 * 1024 * 1024 + 1));
    expect(huge.status).toBe(413);

    const health = await request(sim.url('bsc-main'), { method: 'GET', dispatcher: agent });
    expect(health.statusCode).toBe(200);
    expect(await health.body.text()).toBe('');
  });

  it('grows the height with the injected clock and jumps on setHeight', async () => {
    const height = async (): Promise<number> =>
      Number.parseInt(((await call('bsc-main', 'eth_blockNumber')).json() as { result: string }).result, 16);
    expect(await height()).toBe(1_000);
    now = T0 + 750 * 10 + 500;
    expect(await height()).toBe(1_010);
    sim.setHeight('bsc-main', 5_000);
    expect(await height()).toBe(5_000);
    now += 750 * 4;
    expect(await height()).toBe(5_004);
    expect(sim.height('bsc-main')).toBe(5_004);
    // Back to where the other tests expect it.
    now = T0;
    sim.setHeight('bsc-main', 1_000);
  });

  it('serves the latest block header consistent with eth_blockNumber', async () => {
    const block = (await call('bsc-main', 'eth_getBlockByNumber', ['latest', false])).json() as {
      result: { number: string; timestamp: string; hash: string };
    };
    expect(block.result.number).toBe('0x3e8');
    expect(Number.parseInt(block.result.timestamp, 16)).toBe(Math.floor(T0 / 1000));
    expect(block.result.hash).toMatch(/^0x[0-9a-f]{64}$/);
    expect((await call('bsc-main', 'eth_getBlockByNumber', ['0xffffff', false])).json()).toMatchObject({
      result: null,
    });
  });
});
