import { Agent, request } from 'undici';
import { GENESIS } from '../src/chains/chain-spec.js';
import { Simulator } from '../src/simulator/simulator.js';

// The simulator behaviours issue #12 needs, read over real HTTP as a client would see them.

let sim: Simulator;
const agent = new Agent({ keepAliveTimeout: 1_000 });
beforeAll(async () => {
  sim = await Simulator.start({ authDelayMs: 5 });
});
afterAll(async () => {
  await sim.close();
  await agent.close();
});

async function post(id: string, body: unknown) {
  const res = await request(sim.url(id), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    dispatcher: agent,
  });
  return JSON.parse(await res.body.text()) as any;
}
const btc = (method: string, params: unknown[] = [], id: unknown = 1) => ({ jsonrpc: '1.0', id, method, params });
const evm = (method: string, params: unknown[] = [], id: unknown = 1) => ({ jsonrpc: '2.0', id, method, params });

describe('simulator: what #12 needs', () => {
  it.each([
    ['bitcoind', 'main', GENESIS.bitcoinMain],
    ['bitcoind', 'test', GENESIS.bitcoinTest3],
    ['bitcoind', 'testnet4', GENESIS.bitcoinTest4],
    ['bitcoind', 'regtest', GENESIS.bitcoinRegtest],
    ['defid', 'main', GENESIS.defichainMain],
    ['defid', 'test', GENESIS.defichainTest],
    ['paicoind', 'main', GENESIS.paiMain],
    ['paicoind', 'test', GENESIS.paiTest],
  ] as const)('%s %s answers getblockhash 0 with its real genesis hash', async (kind, network, hash) => {
    const id = `g-${kind}-${network}`;
    await sim.addNode({ id, kind, network });
    expect((await post(id, btc('getblockhash', [0]))).result).toBe(hash);
    // Other heights are synthetic, and differ.
    expect((await post(id, btc('getblockhash', [1]))).result).not.toBe(hash);
  });

  it('a stuck node keeps its head and its tip ages; cleared, it is back at the head', async () => {
    await sim.addNode({
      id: 'stuck',
      kind: 'bsc',
      blockTimeMs: 100,
      startHeight: 500,
      fault: { type: 'stuck', tipAgeMs: 60_000 },
    });
    const a = await post('stuck', evm('eth_getBlockByNumber', ['latest', false]));
    await new Promise((r) => setTimeout(r, 350));
    const b = await post('stuck', evm('eth_getBlockByNumber', ['latest', false]));
    expect(b.result.number).toBe(a.result.number);
    const age = Date.now() / 1000 - Number.parseInt(b.result.timestamp, 16);
    expect(age).toBeGreaterThanOrEqual(60);
    expect(age).toBeLessThan(62);
    await sim.setFault('stuck', { type: 'none' });
    const c = await post('stuck', evm('eth_blockNumber'));
    expect(Number.parseInt(c.result, 16)).toBeGreaterThanOrEqual(503);
  });

  it('method-error, short-batch and huge-values answer as their names say', async () => {
    await sim.addNode({
      id: 'me',
      kind: 'bsc',
      fault: { type: 'method-error', methods: ['eth_chainId'], code: -32005, message: 'limit exceeded' },
    });
    expect((await post('me', evm('eth_chainId'))).error).toEqual({ code: -32005, message: 'limit exceeded' });
    expect((await post('me', evm('net_version'))).result).toBe('56');
    await sim.addNode({ id: 'sb', kind: 'defid', fault: { type: 'short-batch', keep: 2 } });
    const batch = await post('sb', [
      btc('getblockcount', [], 0),
      btc('uptime', [], 1),
      btc('getconnectioncount', [], 2),
    ]);
    expect(batch).toHaveLength(2);
    await sim.addNode({ id: 'hv', kind: 'bsc', fault: { type: 'huge-values' } });
    expect((await post('hv', evm('eth_blockNumber'))).result).toBe('0xfffffffffffff');
    expect((await post('hv', evm('net_peerCount'))).result).toBe('0xffffffffffffff');
  });

  it('quirks: no chain field, ping -1, conntime as a duration, totals of connected peers only', async () => {
    await sim.addNode({
      id: 'q',
      kind: 'defid',
      quirks: ['no-chain-field', 'ping-unmeasured', 'conntime-duration', 'nettotals-connected-only'],
      peers: { inbound: 2, outbound: 2 },
    });
    const bci = (await post('q', btc('getblockchaininfo'))).result;
    expect(bci).not.toHaveProperty('chain');
    const peers = (await post('q', btc('getpeerinfo'))).result as Array<Record<string, number>>;
    expect(peers.every((p) => p.pingtime === -1 && p.minping === -1 && p.conntime! < 1_000_000)).toBe(true);
    const before = (await post('q', btc('getnettotals'))).result;
    expect(before.totalbytesrecv).toBe(peers.reduce((s, p) => s + p.bytesrecv!, 0));
    sim.setPeers('q', { inbound: 0, outbound: 1 });
    const after = (await post('q', btc('getnettotals'))).result;
    expect(after.totalbytesrecv).toBeLessThan(before.totalbytesrecv);
    expect(typeof (await post('q', btc('uptime'))).result).toBe('number');
  });

  it('rejects unknown quirks and bad fault fields with the key named', async () => {
    await expect(sim.addNode({ id: 'bad-q', kind: 'defid', quirks: ['nope' as never] })).rejects.toThrow(/quirks/);
    expect(() => sim.setFault('q', { type: 'method-error', methods: [] } as never)).toThrow(/invalid fault/);
    expect(() => sim.setFault('q', { type: 'stuck', tipAgeMs: -1 } as never)).toThrow(/invalid fault/);
  });
});
