import type { ChainSpec } from '../../src/chains/chain-spec.js';
import type { Sample } from '../../src/chains/sample.js';
import { RpcErrorCode } from '../../src/errors/rpc-errors.js';
import { assess, sampleLag } from '../../src/health/assess.js';
import { DEFAULT_HEALTH_POLICY as P } from '../../src/health/policy.js';
import { emptyReference, type ReferenceHead } from '../../src/health/reference-head.js';
import { emptyStats, updateStats } from '../../src/health/stats.js';
import { BSC, DEFICHAIN, PAI, type SampleOverrides, T0, failedSample, goodSample, nodeInfo } from './fixtures.js';

const H = 1_000_000;

interface Opts {
  /** Reference head height (default: the sample's own height, or H). */
  refHeight?: number;
  /** Earlier samples folded into the stats first, oldest first, 5 s apart ending 5 s before the sample. */
  history?: readonly Sample[];
  intervalMs?: number;
  reference?: ReferenceHead;
}

function judge(chain: ChainSpec, sample: Sample | null, opts: Opts = {}) {
  const node = nodeInfo('n', { intervalMs: opts.intervalMs ?? 5_000 });
  const refHeight = opts.refHeight ?? sample?.height ?? H;
  const reference: ReferenceHead = opts.reference ?? {
    ...emptyReference(chain.name, T0),
    height: refHeight,
    contributors: 3,
    quorum: 2,
    highest: refHeight,
    basis: 'advancing',
    eligible: 3,
  };
  let stats = emptyStats(node.id);
  for (const s of [...(opts.history ?? []), ...(sample === null ? [] : [sample])]) {
    stats = updateStats(stats, { sample: s, lag: sampleLag(s, node, chain, reference, T0, P), chain, policy: P });
  }
  return assess({ node, chain, sample, reference, stats, now: T0, policy: P });
}

/** `n` samples ending 5 s before T0, built by `make(observedAt)`. */
function history(n: number, make: (at: number, i: number) => Sample): Sample[] {
  return Array.from({ length: n }, (_, i) => make(T0 - (n - i) * 5_000, i));
}

const good = (chain: ChainSpec, overrides: SampleOverrides = {}) => goodSample(chain, 'n', T0, overrides);
const fail = (code: string, extra: object = {}) => failedSample(BSC, 'n', T0, code, extra);

type Row = [string, ChainSpec, Sample | null, Opts, string, string[]];

const rows: Row[] = [
  // Freshness
  ['never sampled', BSC, null, {}, 'unknown', ['no_sample']],
  ['41 s old', BSC, goodSample(BSC, 'n', T0 - 41_000), {}, 'unknown', ['stale_sample(41s)']],
  ['exactly 30 s old is still fresh', BSC, goodSample(BSC, 'n', T0 - 30_000), {}, 'healthy', []],
  [
    '150 s old with a 60 s interval is fresh (3 intervals)',
    BSC,
    goodSample(BSC, 'n', T0 - 150_000),
    { intervalMs: 60_000 },
    'healthy',
    [],
  ],
  [
    '181 s old with a 60 s interval is stale',
    BSC,
    goodSample(BSC, 'n', T0 - 181_000),
    { intervalMs: 60_000 },
    'unknown',
    ['stale_sample(3m)'],
  ],
  // In good shape
  ['BSC at head', BSC, good(BSC), {}, 'healthy', []],
  ['DeFiChain at head', DEFICHAIN, good(DEFICHAIN), {}, 'healthy', []],
  ['PAI at head', PAI, good(PAI), {}, 'healthy', []],
  // Probe failures
  ['timeout', BSC, fail(RpcErrorCode.Timeout), {}, 'unhealthy', ['rpc_timeout']],
  ['401', BSC, fail(RpcErrorCode.AuthFailed, { httpStatus: 401 }), {}, 'unhealthy', ['auth_failed']],
  ['-28 warm-up', BSC, fail(RpcErrorCode.WarmingUp, { rpcCode: -28 }), {}, 'unhealthy', ['warming_up']],
  [
    'wrong chain (decimal ids)',
    BSC,
    fail(RpcErrorCode.WrongChain, { expected: '56', actual: '97' }),
    {},
    'unhealthy',
    ['wrong_chain(0x61!=0x38)'],
  ],
  [
    'wrong chain (hex ids)',
    BSC,
    fail(RpcErrorCode.WrongChain, { expected: '0x38', actual: '0x61' }),
    {},
    'unhealthy',
    ['wrong_chain(0x61!=0x38)'],
  ],
  [
    'wrong chain seen in the data although the probe said ok',
    BSC,
    good(BSC, { chainId: 97 }),
    {},
    'unhealthy',
    ['wrong_chain(0x61!=0x38)'],
  ],
  [
    'Bitcoin family on testnet',
    DEFICHAIN,
    good(DEFICHAIN, { networkName: 'test' }),
    {},
    'unhealthy',
    ['wrong_chain(test!=main)'],
  ],
  // Chain identity fails closed
  [
    'EVM without a chain id (eth_chainId and net_version failed)',
    BSC,
    good(BSC, { chainId: undefined }),
    {},
    'unhealthy',
    ['chain_unverified(no chain id: eth_chainId and net_version gave no answer)'],
  ],
  [
    'DeFiChain without a genesis hash',
    DEFICHAIN,
    good(DEFICHAIN, { genesisHash: undefined }),
    {},
    'unhealthy',
    ['chain_unverified(no genesis hash: getblockhash 0 gave no answer)'],
  ],
  [
    'DeFiChain without `chain` but with its genesis hash: verified',
    DEFICHAIN,
    good(DEFICHAIN, { networkName: undefined }),
    {},
    'healthy',
    [],
  ],
  [
    'DeFiChain config, PAI genesis',
    DEFICHAIN,
    good(DEFICHAIN, { genesisHash: PAI.genesisHash }),
    {},
    'unhealthy',
    ['wrong_chain(pai main!=defichain main)'],
  ],
  // Tip age, exactly
  ['BSC tip 10 s old: fine', BSC, good(BSC, { tipTime: (T0 - 10_000) / 1000 }), {}, 'healthy', []],
  // Timestamps are whole seconds: a tip stamped 46 s ago is at least 45 s old.
  [
    'BSC tip stamped 46 s ago: stalled at once',
    BSC,
    good(BSC, { tipTime: (T0 - 46_000) / 1000 }),
    {},
    'degraded',
    ['stalled(tip 45s old)'],
  ],
  [
    'BSC tip stamped 31 s ago: within the 30 s window (at least 30 s old)',
    BSC,
    good(BSC, { tipTime: (T0 - 31_000) / 1000 }),
    {},
    'healthy',
    [],
  ],
  [
    'chain halted',
    BSC,
    good(BSC),
    {
      reference: {
        ...emptyReference('bsc', T0),
        height: H,
        contributors: 2,
        quorum: 2,
        basis: 'halted',
        haltedForMs: 60_000,
      },
    },
    'degraded',
    [`chain_halted(no node advanced in 60s, head ${H})`],
  ],
  // geth's txIndexRemainingBlocks
  [
    'at the head, indexing transactions',
    BSC,
    good(BSC, { syncing: false, syncTarget: { currentBlock: H, highestBlock: H, txIndexRemainingBlocks: 5_000 } }),
    {},
    'degraded',
    ['tx_indexing(5000 blocks left)'],
  ],
  [
    'indexing and 2 blocks behind: still syncing (no heuristic)',
    BSC,
    good(BSC, { syncing: true, syncTarget: { currentBlock: H - 2, highestBlock: H, txIndexRemainingBlocks: 5_000 } }),
    {},
    'unhealthy',
    ['syncing(2 blocks left)'],
  ],
  // Capabilities are not failures
  [
    'net_peerCount missing: no peer reason',
    BSC,
    good(BSC, {
      ok: false,
      error: { code: RpcErrorCode.MethodUnavailable, message: 'x', transient: false },
      peers: undefined,
      missingMethods: ['net_peerCount'],
    }),
    {},
    'healthy',
    [],
  ],
  ['peers not reported', BSC, good(BSC, { peers: undefined }), {}, 'healthy', []],
  ['no height: cannot be judged current', BSC, good(BSC, { height: undefined }), {}, 'unhealthy', ['height_unknown']],
  // Peers, graded
  [
    'BSC 0 peers',
    BSC,
    good(BSC, { peers: { total: 0, source: 'net_peerCount' } }),
    {},
    'unhealthy',
    ['peers_below_min(0<3)'],
  ],
  [
    'BSC 2 peers (min 3)',
    BSC,
    good(BSC, { peers: { total: 2, source: 'net_peerCount' } }),
    {},
    'unhealthy',
    ['peers_below_min(2<3)'],
  ],
  [
    'BSC 3 peers: above min, below half the target',
    BSC,
    good(BSC, { peers: { total: 3, source: 'net_peerCount' } }),
    {},
    'degraded',
    ['peers_low(3<13)'],
  ],
  [
    'BSC 12 peers',
    BSC,
    good(BSC, { peers: { total: 12, source: 'net_peerCount' } }),
    {},
    'degraded',
    ['peers_low(12<13)'],
  ],
  ['BSC 13 peers', BSC, good(BSC, { peers: { total: 13, source: 'net_peerCount' } }), {}, 'healthy', []],
  [
    'DeFiChain 1 peer (min 2)',
    DEFICHAIN,
    good(DEFICHAIN, { peers: { total: 1, source: 'getnetworkinfo' } }),
    {},
    'unhealthy',
    ['peers_below_min(1<2)'],
  ],
  [
    'DeFiChain 3 peers (low below 4)',
    DEFICHAIN,
    good(DEFICHAIN, { peers: { total: 3, source: 'getnetworkinfo' } }),
    {},
    'degraded',
    ['peers_low(3<4)'],
  ],
  [
    'inbound only',
    DEFICHAIN,
    good(DEFICHAIN, { peers: { total: 8, inbound: 8, outbound: 0, source: 'getnetworkinfo' } }),
    {},
    'degraded',
    ['no_outbound_peers(8 inbound)'],
  ],
  [
    'P2P switched off',
    DEFICHAIN,
    good(DEFICHAIN, { networkActive: false, peers: { total: 0, source: 'getnetworkinfo' } }),
    {},
    'unhealthy',
    ['network_inactive', 'peers_below_min(0<2)'],
  ],
  // Lag: blocks AND seconds
  ['BSC 6 blocks (4.5 s): fine', BSC, good(BSC, { height: H - 6 }), { refHeight: H }, 'healthy', []],
  [
    'BSC 7 blocks (5.25 s)',
    BSC,
    good(BSC, { height: H - 7 }),
    { refHeight: H },
    'degraded',
    ['lagging(7 blocks, 5.3s)'],
  ],
  ['BSC 12 blocks (9 s)', BSC, good(BSC, { height: H - 12 }), { refHeight: H }, 'degraded', ['lagging(12 blocks, 9s)']],
  [
    'BSC 39 blocks (29.25 s)',
    BSC,
    good(BSC, { height: H - 39 }),
    { refHeight: H },
    'degraded',
    ['lagging(39 blocks, 29s)'],
  ],
  [
    'BSC 40 blocks (30 s)',
    BSC,
    good(BSC, { height: H - 40 }),
    { refHeight: H },
    'unhealthy',
    ['lagging(40 blocks, 30s)'],
  ],
  ['DeFiChain 1 block', DEFICHAIN, good(DEFICHAIN, { height: H - 1, headers: H - 1 }), { refHeight: H }, 'healthy', []],
  [
    'DeFiChain 2 blocks',
    DEFICHAIN,
    good(DEFICHAIN, { height: H - 2, headers: H - 2 }),
    { refHeight: H },
    'degraded',
    ['lagging(2 blocks, 60s)'],
  ],
  [
    'DeFiChain 3 blocks',
    DEFICHAIN,
    good(DEFICHAIN, { height: H - 3, headers: H - 3 }),
    { refHeight: H },
    'unhealthy',
    ['lagging(3 blocks, 90s)'],
  ],
  [
    'PAI 2 blocks',
    PAI,
    good(PAI, { height: H - 2, headers: H - 2 }),
    { refHeight: H },
    'degraded',
    ['lagging(2 blocks, 20m)'],
  ],
  [
    'PAI 3 blocks',
    PAI,
    good(PAI, { height: H - 3, headers: H - 3 }),
    { refHeight: H },
    'unhealthy',
    ['lagging(3 blocks, 30m)'],
  ],
  ['ahead of the reference is not lag', BSC, good(BSC, { height: H + 500 }), { refHeight: H }, 'healthy', []],
  // Syncing
  ['EVM eth_syncing, no target', BSC, good(BSC, { syncing: true }), {}, 'unhealthy', ['syncing']],
  [
    'EVM eth_syncing far from target',
    BSC,
    good(BSC, { syncing: true, syncTarget: { currentBlock: H, highestBlock: H + 1_000 } }),
    {},
    'unhealthy',
    ['syncing(1000 blocks left)'],
  ],
  [
    'EVM eth_syncing at the head (geth indexing)',
    BSC,
    good(BSC, { syncing: true, syncTarget: { currentBlock: H, highestBlock: H } }),
    {},
    'degraded',
    ['syncing_at_head(0 blocks left)'],
  ],
  [
    'EVM eth_syncing "at its target" but behind the fleet',
    BSC,
    good(BSC, { height: H - 100, syncing: true, syncTarget: { currentBlock: H - 100, highestBlock: H - 100 } }),
    { refHeight: H },
    'unhealthy',
    ['syncing(0 blocks left)', 'lagging(100 blocks, 75s)'],
  ],
  ['Bitcoin initial block download', DEFICHAIN, good(DEFICHAIN, { syncing: true }), {}, 'unhealthy', ['syncing']],
  [
    'headers far ahead of blocks',
    DEFICHAIN,
    good(DEFICHAIN, { headers: H + 1_200 }),
    {},
    'unhealthy',
    ['syncing(1200 headers ahead)'],
  ],
  ['headers 1 ahead (a block in flight)', DEFICHAIN, good(DEFICHAIN, { headers: H + 1 }), {}, 'healthy', []],
  [
    'PAI tip 3 days old (no initialblockdownload field)',
    PAI,
    good(PAI, { tipMedianTime: Math.floor(T0 / 1000) - 3 * 86_400 }),
    {},
    'unhealthy',
    ['syncing(tip 3d old)'],
  ],
  [
    'low verificationprogress at the head: stale chain params, not syncing',
    PAI,
    good(PAI, { verificationProgress: 0.45 }),
    {},
    'healthy',
    [],
  ],
  [
    'low verificationprogress and behind: syncing',
    DEFICHAIN,
    good(DEFICHAIN, { height: H - 2, headers: H - 2, verificationProgress: 0.452 }),
    { refHeight: H },
    'unhealthy',
    ['syncing(progress 45.2%)', 'lagging(2 blocks, 60s)'],
  ],
  // History: stall, latency, error rate
  // The stall window is 20 block times, but at least stallMinMs (30 s) so clock skew is no halt.
  [
    'BSC head unchanged for 30 s',
    BSC,
    good(BSC),
    { history: history(6, (at) => goodSample(BSC, 'n', at)) },
    'degraded',
    ['stalled(no new block in 30s)'],
  ],
  [
    'BSC head unchanged for 25 s',
    BSC,
    good(BSC),
    { history: history(5, (at) => goodSample(BSC, 'n', at)) },
    'healthy',
    [],
  ],
  [
    'DeFiChain head unchanged for 20 block times (10 min)',
    DEFICHAIN,
    good(DEFICHAIN, { tipTime: undefined, tipMedianTime: undefined }),
    { history: history(120, (at) => goodSample(DEFICHAIN, 'n', at, { tipTime: undefined, tipMedianTime: undefined })) },
    'degraded',
    ['stalled(no new block in 10m)'],
  ],
  [
    'slow on average and now',
    BSC,
    good(BSC, { latencyMs: 2_000 }),
    { history: history(9, (at, i) => goodSample(BSC, 'n', at, { latencyMs: 2_000, height: H - 9 + i })) },
    'degraded',
    ['slow(2000ms)'],
  ],
  [
    'one slow answer after fast ones',
    BSC,
    good(BSC, { latencyMs: 9_000 }),
    { history: history(9, (at, i) => goodSample(BSC, 'n', at, { height: H - 9 + i })) },
    'healthy',
    [],
  ],
  [
    'fast again after a slow spell',
    BSC,
    good(BSC, { latencyMs: 40 }),
    { history: history(9, (at, i) => goodSample(BSC, 'n', at, { latencyMs: 3_000, height: H - 9 + i })) },
    'healthy',
    [],
  ],
  [
    '2 of the last 10 failed',
    BSC,
    good(BSC),
    {
      history: history(9, (at, i) =>
        i < 2 ? failedSample(BSC, 'n', at, RpcErrorCode.Timeout) : goodSample(BSC, 'n', at, { height: H - 9 + i }),
      ),
    },
    'degraded',
    ['error_rate(20% of 10)'],
  ],
  [
    '5 of the last 10 failed, this one too',
    BSC,
    fail(RpcErrorCode.Timeout),
    {
      history: history(9, (at, i) =>
        i % 2 === 0
          ? failedSample(BSC, 'n', at, RpcErrorCode.Timeout)
          : goodSample(BSC, 'n', at, { height: H - 9 + i }),
      ),
    },
    'unhealthy',
    ['rpc_timeout', 'error_rate(60% of 10)'],
  ],
  [
    '2 of 9 failed: too few samples to judge a rate',
    BSC,
    good(BSC),
    {
      history: history(8, (at, i) =>
        i < 2 ? failedSample(BSC, 'n', at, RpcErrorCode.Timeout) : goodSample(BSC, 'n', at, { height: H - 8 + i }),
      ),
    },
    'healthy',
    [],
  ],
];

describe('assess: one sample -> verdict and reasons', () => {
  it.each(rows)('%s', (_name, chain, sample, opts, verdict, texts) => {
    const a = judge(chain, sample, opts);
    expect(a.reasons.map((r) => r.text)).toEqual(texts);
    expect(a.verdict).toBe(verdict);
  });

  it('reports the lag and when the sample was taken', () => {
    const a = judge(BSC, good(BSC, { height: H - 12 }), { refHeight: H });
    expect(a.lag).toEqual({ blocks: 12, ms: 9_000, referenceHeight: H });
    expect(a.sampleAt).toBe(T0);
    expect(a.assessedAt).toBe(T0);
  });

  it('lists unhealthy reasons before degraded ones', () => {
    const a = judge(BSC, good(BSC, { height: H - 12, peers: { total: 1, source: 'net_peerCount' } }), { refHeight: H });
    expect(a.reasons.map((r) => r.severity)).toEqual(['unhealthy', 'degraded']);
  });
});
