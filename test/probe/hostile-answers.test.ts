import type { Dispatcher } from 'undici';
import { BUILTIN_CHAINS } from '../../src/chains/chain-spec.js';
import { NodeProber } from '../../src/chains/node-prober.js';
import { createNodeDispatcher } from '../../src/rpc/dispatcher.js';
import { Simulator } from '../../src/simulator/simulator.js';

// Nodes that lie: every answer below is sent over a real socket by the simulator's raw-body
// fault, in reply to the prober's batch (ids 0..n-1 in the order of the EVM plan:
// eth_blockNumber, net_peerCount, eth_syncing, eth_chainId, web3_clientVersion,
// eth_getBlockByNumber; Bitcoin family: getblockchaininfo, getnetworkinfo, getpeerinfo,
// getnettotals, uptime, getblockhash).

let sim: Simulator;
let dispatcher: Dispatcher;
beforeAll(async () => {
  sim = await Simulator.start({ authDelayMs: 5 });
  dispatcher = createNodeDispatcher();
});
afterAll(async () => {
  await sim.close();
  await dispatcher.close();
});

const reply = (results: unknown[]) => JSON.stringify(results.map((result, id) => ({ jsonrpc: '2.0', id, result })));
const header = { number: '0x10', timestamp: '0x6553f100', hash: `0x${'ab'.repeat(32)}` };
const good = ['0x10', '0x5', false, '0x38', 'Geth/v1.5.0', header];

let n = 0;
/** `peerList`: build the peer list on the first probe (by default it is due later, phased by the id). */
async function probeWithBody(body: string, family: 'bsc' | 'defichain' = 'bsc', peerList = false) {
  const id = `h${++n}`;
  await sim.addNode({
    id,
    kind: family === 'bsc' ? 'bsc' : 'defid',
    fault: { type: 'http', status: 200, body, contentType: 'application/json' },
  });
  const chain = BUILTIN_CHAINS[family]!;
  const prober = new NodeProber(
    { id, chain, url: sim.url(id), tags: [], tier: 0, intervalMs: 5_000, timeoutMs: 1_000 },
    { dispatcher, maxResponseBytes: 1 << 20, ...(peerList ? { peerDetailsPhaseMs: 0 } : {}) },
  );
  return prober.probe();
}

describe('hostile answers are contained and classified', () => {
  it('a well-formed crafted answer is read (the harness itself works)', async () => {
    const s = await probeWithBody(reply(good));
    expect(s.ok).toBe(true);
    expect(s.height).toBe(16);
    expect(s.peers?.total).toBe(5);
  });

  it.each([
    ['a non-hex block number', ['12345', ...good.slice(1)]],
    ['a negative peer count', [good[0], '-0x5', ...good.slice(2)]],
    ['a block number beyond 2^53', ['0xffffffffffffffffff', ...good.slice(1)]],
    ['a block number of 14 hex digits beyond 2^53', ['0x3fffffffffffff', ...good.slice(1)]],
    ['a safe but implausible block number (0xfffffffffffff)', ['0xfffffffffffff', ...good.slice(1)]],
    ['a peer count of 0xffffffffffffff', [good[0], '0xffffffffffffff', ...good.slice(2)]],
    ['a peer count as a number instead of hex', [good[0], 5, ...good.slice(2)]],
    [
      'an eth_syncing object with garbage',
      [good[0], good[1], { currentBlock: 'x', highestBlock: null }, ...good.slice(3)],
    ],
  ])('%s -> RPC_MALFORMED_RESPONSE', async (_name, results) => {
    const s = await probeWithBody(reply(results as unknown[]));
    expect(s.ok).toBe(false);
    expect(s.error?.code).toBe('RPC_MALFORMED_RESPONSE');
    expect(s.height === undefined || Number.isSafeInteger(s.height)).toBe(true);
  });

  it('deeply nested JSON is malformed, not a crash', async () => {
    const s = await probeWithBody('['.repeat(200_000) + ']'.repeat(200_000));
    expect(s.ok).toBe(false);
    expect(s.error?.code).toBe('RPC_MALFORMED_RESPONSE');
  });

  it('__proto__ keys in answers do not pollute prototypes', async () => {
    const body = JSON.stringify([
      { jsonrpc: '2.0', id: 0, result: '0x10', __proto__: { polluted: true } },
      { jsonrpc: '2.0', id: 1, result: '0x5' },
      { jsonrpc: '2.0', id: 2, result: false },
      { jsonrpc: '2.0', id: 3, result: '0x38' },
      { jsonrpc: '2.0', id: 4, result: 'Geth' },
      { jsonrpc: '2.0', id: 5, result: header },
    ]).replace('"jsonrpc":"2.0","id":0', '"__proto__":{"polluted":true},"jsonrpc":"2.0","id":0');
    const s = await probeWithBody(body);
    expect(s.ok).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('getpeerinfo with prototype keys in per-message byte maps keeps only sane entries', async () => {
    const peers = [
      {
        id: 1,
        addr: '192.0.2.1:8555',
        inbound: true,
        bytessent_per_msg: JSON.parse('{"__proto__":{"x":1},"ping":32,"inv":-4}'),
      },
    ];
    const body = JSON.stringify([
      { result: { chain: 'main', blocks: 10, headers: 10 }, error: null, id: 0 },
      {
        result: { connections: 1, networkactive: true, subversion: '/DeFiChain:4.2.5/', warnings: '' },
        error: null,
        id: 1,
      },
      { result: peers, error: null, id: 2 },
      { result: { totalbytesrecv: 1, totalbytessent: 2, timemillis: 3 }, error: null, id: 3 },
      { result: 100, error: null, id: 4 },
      { result: BUILTIN_CHAINS.defichain!.genesisHash, error: null, id: 5 },
    ]);
    const s = await probeWithBody(body, 'defichain', true);
    expect(s.ok).toBe(true);
    expect(s.peerList?.[0]?.bytesSentPerMsg).toEqual({ ping: 32 });
    expect(Object.getPrototypeOf(s.peerList?.[0]?.bytesSentPerMsg)).toBe(Object.prototype);
  });

  it('getpeerinfo read for its counts only (no list due) is checked as the list would be: a non-boolean inbound or a non-object peer is malformed', async () => {
    const answer = (peers: unknown) =>
      JSON.stringify([
        { result: { chain: 'main', blocks: 10, headers: 10 }, error: null, id: 0 },
        { result: { connections: 2, networkactive: true, subversion: '/DeFiChain:4.2.5/' }, error: null, id: 1 },
        { result: peers, error: null, id: 2 },
        { result: { totalbytesrecv: 1, totalbytessent: 2, timemillis: 3 }, error: null, id: 3 },
        { result: 100, error: null, id: 4 },
        { result: BUILTIN_CHAINS.defichain!.genesisHash, error: null, id: 5 },
      ]);
    const good = await probeWithBody(
      answer([
        { id: 1, addr: '192.0.2.1:8555', inbound: true },
        { id: 2, addr: '192.0.2.2:8555', inbound: false },
      ]),
      'defichain',
    );
    expect(good.ok).toBe(true);
    expect(good.peerList).toBeUndefined();
    expect(good.peers).toEqual({ total: 2, inbound: 1, outbound: 1, source: 'getnetworkinfo' });
    for (const peers of [[{ id: 1, addr: 'a', inbound: 'yes' }], [7], [null]]) {
      for (const list of [false, true]) {
        const s = await probeWithBody(answer(peers), 'defichain', list);
        expect(s.error?.code).toBe('RPC_MALFORMED_RESPONSE');
        expect(s.error?.message).toMatch(/getpeerinfo\[0\]/);
      }
    }
  });

  it('a batch answered with a single non-error object is malformed', async () => {
    const s = await probeWithBody(JSON.stringify({ jsonrpc: '2.0', id: 0, result: '0x1' }));
    expect(s.error?.code).toBe('RPC_MALFORMED_RESPONSE');
  });

  it.each([
    [
      'short by one element (no header)',
      JSON.stringify(good.slice(0, 5).map((result, id) => ({ jsonrpc: '2.0', id, result }))),
    ],
    [
      '2 of 6 elements (the chain id among the missing)',
      JSON.stringify(good.slice(0, 2).map((result, id) => ({ jsonrpc: '2.0', id, result }))),
    ],
    ['ids renumbered', JSON.stringify(good.map((result, i) => ({ jsonrpc: '2.0', id: i + 1, result })))],
    ['an id twice', JSON.stringify(good.map((result, i) => ({ jsonrpc: '2.0', id: i === 5 ? 4 : i, result })))],
    ['one element too many', JSON.stringify([...good, '0x1'].map((result, id) => ({ jsonrpc: '2.0', id, result })))],
  ])('a batch reply %s is malformed as a whole: none of its answers is trusted', async (_name, body) => {
    const s = await probeWithBody(body);
    expect(s.ok).toBe(false);
    expect(s.error?.code).toBe('RPC_MALFORMED_RESPONSE');
    expect(s.height).toBeUndefined();
    expect(s.chainId).toBeUndefined();
  });

  it('control characters in client strings are stripped and long strings capped', async () => {
    const s = await probeWithBody(reply([...good.slice(0, 4), `Geth\u0000\u001b[31m${'x'.repeat(1000)}`, header]));
    // eslint-disable-next-line no-control-regex -- no control character may survive
    expect(s.clientVersion).not.toMatch(/[\u0000-\u001f]/);
    expect(s.clientVersion!.length).toBeLessThanOrEqual(260);
  });
});
