import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import type { Dispatcher } from 'undici';
import { BUILTIN_CHAINS, type ChainSpec } from '../../src/chains/chain-spec.js';
import { NodeProber, type NodeProberOptions, peerListPhaseMs } from '../../src/chains/node-prober.js';
import type { NodeConfig } from '../../src/config/node-config.js';
import { Credentials } from '../../src/rpc/credentials.js';
import { createNodeDispatcher } from '../../src/rpc/dispatcher.js';
import { splitUrlCredentials } from '../../src/rpc/url-credentials.js';
import { Simulator } from '../../src/simulator/simulator.js';
import type { SimNodeSpec } from '../../src/simulator/sim-node-spec.js';

const BSC = BUILTIN_CHAINS.bsc!;
const DEFI = BUILTIN_CHAINS.defichain!;
const PAI = BUILTIN_CHAINS.pai!;
const CORE: ChainSpec = {
  name: 'bitcoin',
  family: 'bitcoin',
  networkName: 'main',
  blockTimeMs: 600_000,
  targetPeers: 8,
  minPeers: 1,
};

let sim: Simulator;
let dispatcher: Dispatcher;
let dir: string;

beforeAll(async () => {
  sim = await Simulator.start({ authDelayMs: 5 });
  dispatcher = createNodeDispatcher({ connectTimeoutMs: 1_000 });
  dir = mkdtempSync(join(tmpdir(), 'nodesentry-probe-'));
});

afterAll(async () => {
  await sim.close();
  await dispatcher.close();
  rmSync(dir, { recursive: true, force: true });
});

let seq = 0;
/** A fresh simulated node and a prober pointed at it. */
async function nodeWith(
  spec: Omit<SimNodeSpec, 'id'>,
  chain: ChainSpec,
  opts: {
    timeoutMs?: number;
    maxResponseBytes?: number;
    credentials?: Credentials;
    url?: string;
    prober?: Partial<Omit<NodeProberOptions, 'dispatcher'>>;
  } = {},
) {
  const id = `n${++seq}`;
  await sim.addNode({ id, ...spec });
  const node: NodeConfig = {
    id,
    chain,
    url: opts.url ?? sim.url(id),
    ...(opts.credentials ? { credentials: opts.credentials } : {}),
    tags: [],
    tier: 0,
    intervalMs: 5_000,
    timeoutMs: opts.timeoutMs ?? 1_000,
  };
  const prober = new NodeProber(node, {
    dispatcher,
    maxResponseBytes: opts.maxResponseBytes ?? 1024 * 1024,
    ...opts.prober,
  });
  return { id, node, prober };
}

describe('EVM dialect (BSC)', () => {
  it('when the node is healthy, then one batched request yields peers, head, sync state, chain id and client', async () => {
    const { id, prober } = await nodeWith(
      { kind: 'bsc', peers: { inbound: 7, outbound: 12 }, startHeight: 40_000_000 },
      BSC,
    );
    const s = await prober.probe();
    expect(s.ok).toBe(true);
    expect(s.error).toBeUndefined();
    expect(s.peers).toEqual({ total: 19, source: 'net_peerCount' });
    expect(s.height).toBeGreaterThanOrEqual(40_000_000);
    expect(s.syncing).toBe(false);
    expect(s.chainId).toBe(56);
    expect(s.clientVersion).toMatch(/^Geth\//);
    expect(s.missingMethods).toEqual([]);
    expect(s.latencyMs).toBeGreaterThan(0);
    expect(sim.stats(id).requests).toBe(1);
    expect(prober.capabilities.batch).toBe('yes');
  });

  it('when the net namespace is not enabled, then peers are a missing capability, not a failure, and are not asked again', async () => {
    const { id, prober } = await nodeWith({ kind: 'bsc', disabledMethods: ['net_peerCount'] }, BSC);
    const first = await prober.probe();
    expect(first.ok).toBe(true);
    expect(first.peers).toBeUndefined();
    expect(first.missingMethods).toEqual(['net_peerCount']);
    await prober.probe();
    expect(sim.stats(id).calls.net_peerCount).toBe(1);
    expect(sim.stats(id).calls.eth_blockNumber).toBe(2);
  });

  it('when the node reports another chain id, then the sample is RPC_WRONG_CHAIN with both ids in hex', async () => {
    const { prober } = await nodeWith({ kind: 'bsc', fault: { type: 'wrong-chain' } }, BSC);
    const s = await prober.probe();
    expect(s.ok).toBe(false);
    expect(s.error?.code).toBe('RPC_WRONG_CHAIN');
    expect(s.error?.expected).toBe('0x38');
    expect(s.error?.actual).toMatch(/^0x[0-9a-f]+$/);
    expect(s.error?.actual).not.toBe('0x38');
    expect(s.chainId).not.toBe(56);
  });

  it('when the node is syncing, then the sample says so with where it is and where it heads', async () => {
    const { prober } = await nodeWith({ kind: 'bsc', fault: { type: 'syncing', behindBlocks: 500 } }, BSC);
    const s = await prober.probe();
    expect(s.ok).toBe(true);
    expect(s.syncing).toBe(true);
    expect(s.syncTarget!.highestBlock - s.syncTarget!.currentBlock).toBeGreaterThan(0);
  });

  it('when batches are refused, then it falls back to single calls and remembers', async () => {
    const { id, prober } = await nodeWith({ kind: 'bsc', batch: false }, BSC);
    const first = await prober.probe();
    expect(first.ok).toBe(true);
    expect(first.peers?.total).toBeGreaterThan(0);
    expect(prober.capabilities.batch).toBe('no');
    sim.resetStats();
    await prober.probe();
    const st = sim.stats(id);
    expect(st.requests).toBe(Object.values(st.calls).reduce((a, b) => a + b, 0));
    expect(st.requests).toBeGreaterThan(1);
  });
});

describe('Bitcoin dialect', () => {
  it('defid: peers total / inbound / outbound, blocks, headers, network, P2P switch, client, traffic, warnings', async () => {
    const { prober } = await nodeWith({ kind: 'defid', peers: { inbound: 3, outbound: 8 } }, DEFI, {
      prober: { peerDetailsPhaseMs: 0 },
    });
    const s = await prober.probe();
    expect(s.ok).toBe(true);
    expect(s.peers).toEqual({ total: 11, inbound: 3, outbound: 8, source: 'getnetworkinfo' });
    expect(s.height).toBeGreaterThan(0);
    expect(s.headers).toBeGreaterThanOrEqual(s.height!);
    expect(s.syncing).toBe(false);
    expect(s.networkName).toBe('main');
    expect(s.networkActive).toBe(true);
    expect(s.clientVersion).toMatch(/DeFiChain/);
    expect(s.netTotals!.totalBytesRecv).toBeGreaterThan(0);
    expect(s.warnings).toEqual([]);
    expect(s.peerList).toHaveLength(11);
    expect(s.peerList!.filter((p) => p.inbound)).toHaveLength(3);
  });

  it('paicoind without initialblockdownload: initial sync is inferred from headers ahead of blocks', async () => {
    const healthy = await nodeWith({ kind: 'paicoind' }, PAI);
    const ok = await healthy.prober.probe();
    expect(ok.ok).toBe(true);
    expect(ok.syncing).toBe(false);
    expect(ok.clientVersion).toMatch(/^\/Turing:/);
    const syncing = await nodeWith({ kind: 'paicoind', fault: { type: 'syncing', behindBlocks: 50 } }, PAI);
    const s = await syncing.prober.probe();
    expect(s.ok).toBe(true);
    expect(s.syncing).toBe(true);
    expect(s.headers! - s.height!).toBeGreaterThanOrEqual(50);
  });

  it('per-peer lists are built once a minute, the first phased by the node id, and at once when the peer count changes', async () => {
    let now = 1_700_000_000_000;
    const { id, prober } = await nodeWith({ kind: 'defid', peers: { inbound: 3, outbound: 8 } }, DEFI, {
      prober: { now: () => now },
    });
    const phase = peerListPhaseMs(id, 60_000);
    expect(phase).toBeGreaterThan(0);
    // First contact: getpeerinfo is asked for the inbound / outbound split, but no list is built.
    const first = await prober.probe();
    expect(first.peers).toEqual({ total: 11, inbound: 3, outbound: 8, source: 'getnetworkinfo' });
    expect(first.peerList).toBeUndefined();
    expect(sim.stats(id).calls.getpeerinfo).toBe(1);
    // Before its phase: neither asked nor built; the split of the last reading still holds.
    now += phase - 1;
    const early = await prober.probe();
    expect(early.peerList).toBeUndefined();
    expect(early.peers).toEqual({ total: 11, inbound: 3, outbound: 8, source: 'getnetworkinfo' });
    expect(sim.stats(id).calls.getpeerinfo).toBe(1);
    // At its phase: the first list.
    now += 1;
    const due = await prober.probe();
    expect(due.peerList).toHaveLength(11);
    expect(sim.stats(id).calls.getpeerinfo).toBe(2);
    now += 59_999;
    expect((await prober.probe()).peerList).toBeUndefined();
    expect(sim.stats(id).calls.getpeerinfo).toBe(2);

    sim.setPeers(id, { inbound: 5, outbound: 8 });
    const changed = await prober.probe();
    // A new total with an old split would be a lie: only the total, and details next time.
    expect(changed.peers).toEqual({ total: 13, source: 'getnetworkinfo' });
    const refreshed = await prober.probe();
    expect(refreshed.peers).toEqual({ total: 13, inbound: 5, outbound: 8, source: 'getnetworkinfo' });
    expect(refreshed.peerList).toHaveLength(13);
    expect(sim.stats(id).calls.getpeerinfo).toBe(3);
    // The next refresh is a minute after that list, not after the phase.
    now += 59_999;
    expect((await prober.probe()).peerList).toBeUndefined();
    now += 1;
    expect((await prober.probe()).peerList).toHaveLength(13);
    expect(sim.stats(id).calls.getpeerinfo).toBe(4);
  });

  it('when the node has neither getnetworkinfo nor getconnectioncount, then getpeerinfo is read every probe for the count, and the list is still built only when due', async () => {
    let now = 1_700_000_000_000;
    const { id, prober } = await nodeWith(
      { kind: 'defid', disabledMethods: ['getnetworkinfo', 'getconnectioncount'], peers: { inbound: 2, outbound: 4 } },
      DEFI,
      { prober: { now: () => now, peerDetailsPhaseMs: 30_000 } },
    );
    const first = await prober.probe();
    expect(first.peers).toEqual({ total: 6, inbound: 2, outbound: 4, source: 'getpeerinfo' });
    expect(first.peerList).toBeUndefined();
    now += 10_000;
    sim.setPeers(id, { inbound: 1, outbound: 4 });
    const counted = await prober.probe();
    expect(counted.peers).toEqual({ total: 5, inbound: 1, outbound: 4, source: 'getpeerinfo' });
    expect(counted.peerList).toBeUndefined();
    now += 20_000;
    expect((await prober.probe()).peerList).toHaveLength(5);
    expect(sim.stats(id).calls.getpeerinfo).toBe(3);
  });

  it('the first lists of many nodes are phased over the refresh interval by a stable hash of the node id', () => {
    const every = 60_000;
    const ids = Array.from({ length: 10_000 }, (_, i) => `node-${i}`);
    const phases = ids.map((id) => peerListPhaseMs(id, every));
    expect(phases.every((p) => Number.isInteger(p) && p >= 0 && p < every)).toBe(true);
    // Stable: the same id, the same phase (every replica and restart agree).
    expect(ids.slice(0, 50).map((id) => peerListPhaseMs(id, every))).toEqual(phases.slice(0, 50));
    expect(new Set(phases).size).toBeGreaterThan(8_000);
    // Spread: each tenth of the minute holds about a tenth of the nodes (a cold sweep of a few
    // seconds builds a few hundred lists, not 10,000).
    const tenths = new Array<number>(10).fill(0);
    for (const p of phases) tenths[Math.floor((p / every) * 10)]!++;
    for (const n of tenths) {
      expect(n).toBeGreaterThan(800);
      expect(n).toBeLessThan(1_200);
    }
    expect(peerListPhaseMs('node-1', 0)).toBe(0);
  });

  it('with peerDetailsEveryMs 0, every probe asks for per-peer details', async () => {
    const id = `n${++seq}`;
    await sim.addNode({ id, kind: 'paicoind' });
    const prober = new NodeProber(
      { id, chain: PAI, url: sim.url(id), tags: [], tier: 0, intervalMs: 5_000, timeoutMs: 1_000 },
      { dispatcher, maxResponseBytes: 1 << 20, peerDetailsEveryMs: 0 },
    );
    await prober.probe();
    await prober.probe();
    expect(sim.stats(id).calls.getpeerinfo).toBe(2);
  });

  it('Bitcoin Core 28: warnings as an array, inbound/outbound from connections_in/out', async () => {
    const { prober } = await nodeWith({ kind: 'bitcoind', version: '28.0', peers: { inbound: 2, outbound: 10 } }, CORE);
    const s = await prober.probe();
    expect(s.ok).toBe(true);
    expect(s.peers).toEqual({ total: 12, inbound: 2, outbound: 10, source: 'getnetworkinfo' });
    expect(Array.isArray(s.warnings)).toBe(true);
  });

  it('when the node is loading its block index, then the sample is RPC_WARMING_UP (-28), matched by code', async () => {
    const { prober } = await nodeWith({ kind: 'defid', fault: { type: 'warmup' } }, DEFI);
    const s = await prober.probe();
    expect(s.ok).toBe(false);
    expect(s.error).toMatchObject({ code: 'RPC_WARMING_UP', rpcCode: -28, transient: true });
  });

  it('when the node has no getnetworkinfo, then peers come from getpeerinfo; without that too, from getconnectioncount', async () => {
    const a = await nodeWith(
      { kind: 'defid', disabledMethods: ['getnetworkinfo'], peers: { inbound: 1, outbound: 4 } },
      DEFI,
    );
    const sa = await a.prober.probe();
    expect(sa.ok).toBe(true);
    expect(sa.peers).toEqual({ total: 5, inbound: 1, outbound: 4, source: 'getpeerinfo' });
    expect(sa.missingMethods).toEqual(['getnetworkinfo']);

    const b = await nodeWith(
      { kind: 'defid', disabledMethods: ['getnetworkinfo', 'getpeerinfo'], peers: { inbound: 1, outbound: 4 } },
      DEFI,
    );
    const sb = await b.prober.probe();
    expect(sb.ok).toBe(true);
    expect(sb.peers).toEqual({ total: 5, source: 'getconnectioncount' });
    expect(sb.missingMethods).toEqual(['getnetworkinfo', 'getpeerinfo']);
  });

  it('when getblockchaininfo is missing, then the height comes from getblockcount', async () => {
    const { prober } = await nodeWith({ kind: 'paicoind', disabledMethods: ['getblockchaininfo'] }, PAI);
    const s = await prober.probe();
    expect(s.ok).toBe(true);
    expect(s.height).toBeGreaterThan(0);
    expect(s.missingMethods).toEqual(['getblockchaininfo']);
  });

  it('when P2P networking is switched off, then the sample says network inactive with 0 peers', async () => {
    const { prober } = await nodeWith({ kind: 'defid', fault: { type: 'network-inactive' } }, DEFI);
    const s = await prober.probe();
    expect(s.ok).toBe(true);
    expect(s.networkActive).toBe(false);
    expect(s.peers?.total).toBe(0);
  });

  it('when batches are refused, then single calls read HTTP 404 / 500 JSON bodies for method-not-found and errors', async () => {
    const { prober } = await nodeWith({ kind: 'defid', batch: false, disabledMethods: ['getnettotals'] }, DEFI);
    const s = await prober.probe();
    expect(s.ok).toBe(true);
    expect(prober.capabilities.batch).toBe('no');
    expect(s.missingMethods).toEqual(['getnettotals']);
    expect(s.netTotals).toBeUndefined();

    const w = await nodeWith({ kind: 'paicoind', batch: false, fault: { type: 'warmup' } }, PAI);
    const sw = await w.prober.probe();
    expect(sw.error).toMatchObject({ code: 'RPC_WARMING_UP', httpStatus: 500, rpcCode: -28 });
  });

  it('when a defid node is on testnet but configured for mainnet, then RPC_WRONG_CHAIN names both networks', async () => {
    const { prober } = await nodeWith({ kind: 'defid', network: 'test' }, DEFI);
    const s = await prober.probe();
    // The genesis block names both chains exactly (chain: main alone is also Bitcoin's and PAI's).
    expect(s.error).toMatchObject({ code: 'RPC_WRONG_CHAIN', expected: 'defichain main', actual: 'defichain test' });
  });
});

describe('faults are classified exactly', () => {
  const cases: Array<{
    name: string;
    spec: Omit<SimNodeSpec, 'id'>;
    code: string;
    transient: boolean;
    httpStatus?: number;
  }> = [
    {
      name: 'HTTP 502 from a proxy',
      spec: {
        kind: 'bsc',
        fault: { type: 'http', status: 502, body: '<html>bad gateway</html>', contentType: 'text/html' },
      },
      code: 'RPC_HTTP_STATUS',
      transient: true,
      httpStatus: 502,
    },
    {
      name: 'HTTP 401 (bad credentials)',
      spec: { kind: 'defid', fault: { type: 'unauthorized' } },
      code: 'RPC_AUTH_FAILED',
      transient: false,
      httpStatus: 401,
    },
    {
      name: 'HTTP 403 (IP not allowed)',
      spec: { kind: 'paicoind', fault: { type: 'forbidden' } },
      code: 'RPC_FORBIDDEN',
      transient: false,
      httpStatus: 403,
    },
    {
      name: 'malformed JSON',
      spec: { kind: 'bsc', fault: { type: 'malformed' } },
      code: 'RPC_MALFORMED_RESPONSE',
      transient: true,
    },
    {
      name: 'truncated body',
      spec: { kind: 'defid', fault: { type: 'truncated' } },
      code: 'RPC_MALFORMED_RESPONSE',
      transient: true,
    },
    {
      name: 'oversized body',
      spec: { kind: 'bsc', fault: { type: 'oversized', bytes: 3 * 1024 * 1024 } },
      code: 'RPC_RESPONSE_TOO_LARGE',
      transient: false,
    },
    {
      name: 'connection reset',
      spec: { kind: 'bsc', fault: { type: 'reset' } },
      code: 'RPC_CONNECTION_RESET',
      transient: true,
    },
    { name: 'EVM loading error', spec: { kind: 'bsc', fault: { type: 'warmup' } }, code: 'RPC_ERROR', transient: true },
  ];
  it.each(cases)('$name -> $code', async ({ spec, code, transient, httpStatus }) => {
    const { prober } = await nodeWith(spec, spec.kind === 'bsc' ? BSC : spec.kind === 'paicoind' ? PAI : DEFI);
    const s = await prober.probe();
    expect(s.ok).toBe(false);
    expect(s.error?.code).toBe(code);
    expect(s.error?.transient).toBe(transient);
    if (httpStatus !== undefined) expect(s.error?.httpStatus).toBe(httpStatus);
  });

  it('a truncated body is reported as truncated', async () => {
    const { prober } = await nodeWith({ kind: 'bsc', fault: { type: 'truncated' } }, BSC);
    expect((await prober.probe()).error?.message).toMatch(/truncated/);
  });

  it('a hung node costs its timeout and no more', async () => {
    const { prober } = await nodeWith({ kind: 'bsc', fault: { type: 'hang' } }, BSC, { timeoutMs: 300 });
    const s = await prober.probe();
    expect(s.error).toMatchObject({ code: 'RPC_TIMEOUT', transient: true });
    expect(s.latencyMs).toBeGreaterThanOrEqual(290);
    expect(s.latencyMs).toBeLessThan(1_500);
  });

  it('a slow drip cannot outlive the deadline', async () => {
    const { prober } = await nodeWith({ kind: 'defid', fault: { type: 'drip', chunkIntervalMs: 100 } }, DEFI, {
      timeoutMs: 300,
    });
    const s = await prober.probe();
    expect(s.error?.code).toBe('RPC_TIMEOUT');
    expect(s.latencyMs).toBeLessThan(1_500);
  });

  it('a slow node inside the deadline is fine, outside it is a timeout', async () => {
    const inside = await nodeWith({ kind: 'bsc', fault: { type: 'slow', delayMs: 50 } }, BSC, { timeoutMs: 500 });
    const a = await inside.prober.probe();
    expect(a.ok).toBe(true);
    expect(a.latencyMs).toBeGreaterThanOrEqual(45);
    const outside = await nodeWith({ kind: 'bsc', fault: { type: 'slow', delayMs: 800 } }, BSC, { timeoutMs: 200 });
    expect((await outside.prober.probe()).error?.code).toBe('RPC_TIMEOUT');
  });

  it('a stopped node is connection refused', async () => {
    const { id, prober } = await nodeWith({ kind: 'bsc', ownPort: true }, BSC);
    expect((await prober.probe()).ok).toBe(true);
    await sim.stopNode(id);
    const s = await prober.probe();
    expect(s.error).toMatchObject({ code: 'RPC_CONNECTION_REFUSED', transient: true });
    await sim.startNode(id);
    expect((await prober.probe()).ok).toBe(true);
  });

  it('TLS spoken to a plain HTTP port is a TLS failure', async () => {
    const { id } = await nodeWith({ kind: 'bsc', ownPort: true }, BSC);
    const url = sim.url(id).replace('http://', 'https://');
    const { prober } = await nodeWith({ kind: 'bsc' }, BSC, { url });
    const s = await prober.probe();
    expect(s.error).toMatchObject({ code: 'RPC_TLS', transient: false });
  });
});

describe('authentication', () => {
  const USER = 'rpcuser';
  const PASS = 's3cr3t-Pa55:word';

  it('inline user:pass@ in the URL authenticates, and the password appears nowhere in the sample', async () => {
    const id = `auth${++seq}`;
    await sim.addNode({ id, kind: 'defid', auth: { username: USER, password: PASS } });
    const { url, credentials } = splitUrlCredentials(sim.urlWithCredentials(id));
    expect(url).not.toContain(PASS);
    const prober = new NodeProber(
      {
        id,
        chain: DEFI,
        url,
        ...(credentials ? { credentials } : {}),
        tags: [],
        tier: 0,
        intervalMs: 5_000,
        timeoutMs: 1_000,
      },
      { dispatcher, maxResponseBytes: 1 << 20 },
    );
    const s = await prober.probe();
    expect(s.ok).toBe(true);
    const text = JSON.stringify(s) + inspect(prober, { depth: 5 }) + JSON.stringify(credentials) + String(credentials);
    expect(text).not.toContain(PASS);
    expect(text).not.toContain(Buffer.from(`${USER}:${PASS}`).toString('base64'));
  });

  it('a wrong password or none at all is RPC_AUTH_FAILED, with no secret in the message', async () => {
    const { prober } = await nodeWith({ kind: 'bsc', auth: { username: USER, password: PASS } }, BSC, {
      credentials: new Credentials({ kind: 'basic', username: USER, password: 'wrong-password-123' }),
    });
    const s = await prober.probe();
    expect(s.error).toMatchObject({ code: 'RPC_AUTH_FAILED', httpStatus: 401 });
    expect(JSON.stringify(s)).not.toContain('wrong-password-123');
    const none = await nodeWith({ kind: 'defid', auth: { username: USER, password: PASS } }, DEFI);
    expect((await none.prober.probe()).error?.code).toBe('RPC_AUTH_FAILED');
  });

  it('a .cookie file authenticates, and after the node rotates it the next probe re-reads it', async () => {
    const cookieFile = join(dir, `cookie-${++seq}`);
    const { id, prober } = await nodeWith({ kind: 'defid', auth: { cookieFile } }, DEFI, {
      credentials: new Credentials({ kind: 'cookie', path: cookieFile }),
    });
    expect((await prober.probe()).ok).toBe(true);
    await sim.rotateCookie(id);
    const s = await prober.probe();
    expect(s.ok).toBe(true);
  });

  it('a missing cookie file is a clear credentials error naming the path', async () => {
    const missing = join(dir, 'no-such-cookie');
    const { prober } = await nodeWith({ kind: 'defid', auth: { cookieFile: join(dir, `c-${++seq}`) } }, DEFI, {
      credentials: new Credentials({ kind: 'cookie', path: missing }),
    });
    const s = await prober.probe();
    expect(s.error?.code).toBe('CREDENTIALS_UNAVAILABLE');
    expect(s.error?.message).toContain('no-such-cookie');
  });
});
