import type { Dispatcher } from 'undici';
import { BUILTIN_CHAINS, type ChainSpec } from '../../src/chains/chain-spec.js';
import { NodeProber } from '../../src/chains/node-prober.js';
import type { Sample } from '../../src/chains/sample.js';
import { trafficRates } from '../../src/api/traffic.js';
import { mergePolicy } from '../../src/health/policy.js';
import { createNodeDispatcher } from '../../src/rpc/dispatcher.js';
import type { SimNodeSpec } from '../../src/simulator/sim-node-spec.js';
import { Simulator } from '../../src/simulator/simulator.js';
import { sleep } from '../support/wait.js';
import { codesOf, fleet, nodeInfo, round, stateOf } from '../health/fixtures.js';

// Each case of issue #12 against the simulator given that behaviour: real sockets, the real
// prober, the real health core. Chains run fast here (200 ms blocks) so a stall window is 1 s.

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

const DEFI = BUILTIN_CHAINS.defichain!;
const PAI = BUILTIN_CHAINS.pai!;
const BSC = BUILTIN_CHAINS.bsc!;
/** A private EVM chain with 200 ms blocks. */
const DEV: ChainSpec = { name: 'evm', family: 'evm', chainId: 1337, blockTimeMs: 200, targetPeers: 10, minPeers: 1 };
const INTERVAL_MS = 250;
// Stall window 5 x 200 ms = 1 s; lag in time: degraded from 0.4 s, unhealthy from 1 s.
const POLICY = mergePolicy({
  stallMinMs: 0,
  stallAfterBlocks: 5,
  riseAfter: 1,
  failAfter: 1,
  lagDegradedMs: 400,
  lagUnhealthyMs: 1_000,
  staleAfterMs: 5_000,
});

let n = 0;
async function node(
  spec: Omit<SimNodeSpec, 'id'>,
  chain: ChainSpec,
  prefix = 'j',
): Promise<{ id: string; prober: NodeProber }> {
  const id = `${prefix}${++n}`;
  await sim.addNode({ id, ...spec });
  const prober = new NodeProber(
    { id, chain, url: sim.url(id), tags: [], tier: 0, intervalMs: INTERVAL_MS, timeoutMs: 3_000 },
    { dispatcher, maxResponseBytes: 1 << 20, peerDetailsEveryMs: 0 },
  );
  return { id, prober };
}

/** One probe judged alone: the verdict and reason codes of its assessment. */
async function judgeOnce(
  chain: ChainSpec,
  p: { id: string; prober: NodeProber },
): Promise<{ sample: Sample; verdict: string; texts: string[] }> {
  const sample = await p.prober.probe();
  const ev = round(fleet(chain, [nodeInfo(p.id)]), sample.observedAt, { [p.id]: sample });
  const a = ev.nodes[0]!.assessment;
  return { sample, verdict: a.verdict, texts: a.reasons.map((r) => r.text) };
}

describe('chain identity fails closed', () => {
  it('an EVM node whose eth_chainId and net_version both error is chain_unverified (unhealthy), never healthy', async () => {
    const p = await node(
      { kind: 'bsc', fault: { type: 'method-error', methods: ['eth_chainId', 'net_version'] } },
      BSC,
    );
    const r = await judgeOnce(BSC, p);
    expect(r.sample.ok).toBe(true);
    expect(r.sample.chainId).toBeUndefined();
    expect(r.verdict).toBe('unhealthy');
    expect(r.texts).toEqual(['chain_unverified(no chain id: eth_chainId and net_version gave no answer)']);
    // ...and both were really asked, in the same probe.
    expect(sim.stats(p.id).calls).toMatchObject({ eth_chainId: 1, net_version: 1 });
  });

  it('an erroring eth_chainId is asked again as net_version in the same probe, and that verifies the chain', async () => {
    const p = await node({ kind: 'bsc', fault: { type: 'method-error', methods: ['eth_chainId'] } }, BSC);
    const r = await judgeOnce(BSC, p);
    expect(r.sample.chainId).toBe(56);
    expect(r.verdict).toBe('healthy');
  });

  it('a defid whose getblockchaininfo lacks `chain` is verified by its genesis block; without getblockhash it is unverified', async () => {
    const withGenesis = await node({ kind: 'defid', quirks: ['no-chain-field'] }, DEFI);
    const a = await judgeOnce(DEFI, withGenesis);
    expect(a.sample.networkName).toBeUndefined();
    expect(a.sample.genesisHash).toBe(DEFI.genesisHash);
    expect(a.texts).toEqual([]);
    const blind = await node({ kind: 'defid', quirks: ['no-chain-field'], disabledMethods: ['getblockhash'] }, DEFI);
    const b = await judgeOnce(DEFI, blind);
    expect(b.verdict).toBe('unhealthy');
    expect(b.texts).toEqual(['chain_unverified(no genesis hash: getblockhash 0 gave no answer)']);
  });

  it.each([
    [
      'paicoind main configured as defichain',
      { kind: 'paicoind' as const },
      DEFI,
      'wrong_chain(pai main!=defichain main)',
    ],
    ['bitcoind main configured as pai', { kind: 'bitcoind' as const }, PAI, 'wrong_chain(bitcoin main!=pai main)'],
    [
      'defid testnet configured as defichain',
      { kind: 'defid' as const, network: 'test' },
      DEFI,
      'wrong_chain(defichain test!=defichain main)',
    ],
  ])('%s: told apart by the genesis hash although each says chain "main"', async (_name, spec, chain, text) => {
    const p = await node(spec, chain);
    const r = await judgeOnce(chain, p);
    expect(r.sample.error?.code).toBe('RPC_WRONG_CHAIN');
    expect(r.texts).toEqual([text]);
  });

  it('the genesis hash is asked once per connection: again only after the node stopped answering', async () => {
    const p = await node({ kind: 'defid', ownPort: true }, DEFI);
    for (let i = 0; i < 3; i++) expect((await p.prober.probe()).genesisHash).toBe(DEFI.genesisHash);
    expect(sim.stats(p.id).calls.getblockhash).toBe(1);
    await sim.stopNode(p.id);
    expect((await p.prober.probe()).ok).toBe(false);
    await sim.startNode(p.id);
    const back = await p.prober.probe();
    expect(back.genesisHash).toBe(DEFI.genesisHash);
    expect(sim.stats(p.id).calls.getblockhash).toBe(2);
  });

  it('a batch reply with 2 of its elements is malformed, although those two are good', async () => {
    const p = await node({ kind: 'bsc', fault: { type: 'short-batch', keep: 2 } }, BSC);
    const r = await judgeOnce(BSC, p);
    expect(r.sample.error?.code).toBe('RPC_MALFORMED_RESPONSE');
    expect(r.sample.error?.message).toMatch(/batch reply has 2 elements for 6 calls/);
    expect(r.texts).toEqual(['malformed_response']);
  });

  it('a Bitcoin-family probe of an EVM node says "not a Bitcoin-family node"; an EVM probe of a defid "not an EVM node"', async () => {
    const evmNode = await node({ kind: 'bsc' }, DEFI);
    const a = await evmNode.prober.probe();
    expect(a.error).toMatchObject({ code: 'RPC_WRONG_FAMILY' });
    expect(a.error?.message).toMatch(/^not a Bitcoin-family node/);
    const btcNode = await node({ kind: 'defid' }, BSC);
    const b = await btcNode.prober.probe();
    expect(b.error).toMatchObject({ code: 'RPC_WRONG_FAMILY' });
    expect(b.error?.message).toMatch(/^not an EVM node/);
    // Asked again, it still says so (nothing was learned as "missing").
    expect((await btcNode.prober.probe()).error?.code).toBe('RPC_WRONG_FAMILY');
  });
});

describe('range checks on every figure', () => {
  it.each([
    ['bsc', BSC, /out of range/],
    ['defid', DEFI, /out of range|not a non-negative integer/],
  ] as const)(
    'a %s node claiming height 0xfffffffffffff and 0xffffffffffffff peers is malformed, not healthy',
    async (kind, chain, message) => {
      const p = await node({ kind, fault: { type: 'huge-values' } }, chain);
      const r = await judgeOnce(chain, p);
      expect(r.sample.ok).toBe(false);
      expect(r.sample.error?.code).toBe('RPC_MALFORMED_RESPONSE');
      expect(r.sample.error?.message).toMatch(message);
      expect(r.sample.height).toBeUndefined();
      expect(r.verdict).toBe('unhealthy');
    },
  );
});

describe('exact tip age', () => {
  it('an EVM node stuck with a 45 s old tip is judged on its first probe, from the header timestamp', async () => {
    // It stopped 45 s (60 blocks) ago.
    const p = await node(
      { kind: 'bsc', startHeight: 68_000_000 - 60, fault: { type: 'stuck', tipAgeMs: 45_000 } },
      BSC,
    );
    const r = await judgeOnce(BSC, p);
    expect(r.sample.tipTime).toBeDefined();
    const age = r.sample.observedAt - r.sample.tipTime! * 1000;
    expect(age).toBeGreaterThanOrEqual(45_000);
    expect(age).toBeLessThan(47_000);
    // Alone, on its very first sample, the judge has no head yet (its own record is not in the
    // view): the stopped tip alone makes it stalled, degraded.
    expect(r.verdict).toBe('degraded');
    expect(r.texts).toEqual([expect.stringMatching(/^stalled\(tip 4[4-6]s old\)$/)]);
    // Next to a node that advances, the same node is stalled and lagging.
    const live = await node({ kind: 'bsc', startHeight: 68_000_000 }, BSC);
    const [a, b] = await Promise.all([p.prober.probe(), live.prober.probe()]);
    // The live node's sample is judged first, so the head the stuck one is judged against has it.
    const ev = round(fleet(BSC, [nodeInfo(live.id), nodeInfo(p.id)]), Date.now(), { [p.id]: a, [live.id]: b });
    expect(ev.reference).toMatchObject({ basis: 'advancing', voters: [live.id] });
    expect(ev.nodes[1]!.assessment.reasons.map((x) => x.text)).toEqual([
      expect.stringMatching(/^lagging\(6\d blocks/),
      expect.stringMatching(/^stalled\(tip 4[4-6]s old\)$/),
    ]);
  });

  it('a Bitcoin Core node reports its tip time; a fresh one is not stalled', async () => {
    const p = await node(
      { kind: 'bitcoind', version: '28.0' },
      { name: 'bitcoin', family: 'bitcoin', networkName: 'main', blockTimeMs: 600_000, targetPeers: 8, minPeers: 1 },
    );
    const s = await p.prober.probe();
    expect(s.tipTime).toBeDefined();
    expect(s.observedAt - s.tipTime! * 1000).toBeLessThan(600_000 + 2_000);
  });

  it('geth at the head still indexing transactions is tx_indexing (degraded), read from txIndexRemainingBlocks', async () => {
    const p = await node({ kind: 'bsc', fault: { type: 'syncing', txIndexRemainingBlocks: 12_345 } }, BSC);
    const r = await judgeOnce(BSC, p);
    expect(r.sample.syncTarget).toMatchObject({ txIndexRemainingBlocks: 12_345 });
    expect(r.sample.syncing).toBe(false);
    expect(r.texts).toEqual(['tx_indexing(12345 blocks left)']);
    expect(r.verdict).toBe('degraded');
  });
});

describe('peer tables and traffic from nodes that differ from Core', () => {
  it('pingtime -1 is "not measured" (absent), conntime as a duration is read as one', async () => {
    const p = await node(
      { kind: 'defid', quirks: ['ping-unmeasured', 'conntime-duration'], peers: { inbound: 2, outbound: 2 } },
      DEFI,
    );
    const s = await p.prober.probe();
    expect(s.peerList).toHaveLength(4);
    const nowS = s.observedAt / 1000;
    for (const peer of s.peerList!) {
      expect(peer.pingTime).toBeUndefined();
      expect(peer.minPing).toBeUndefined();
      expect(peer.connTimeFrom).toBe('duration');
      // Connected between 1 minute and 6 hours before the node was added (the simulator's range).
      expect(nowS - peer.connTime!).toBeGreaterThanOrEqual(59);
      expect(nowS - peer.connTime!).toBeLessThanOrEqual(6 * 3600 + 5);
    }
    const core = await node({ kind: 'defid', peers: { inbound: 1, outbound: 1 } }, DEFI);
    const c = await core.prober.probe();
    expect(
      c.peerList!.every((x) => x.connTimeFrom === 'epoch' && typeof x.pingTime === 'number' && x.pingTime > 0),
    ).toBe(true);
  });

  it('byte totals that drop when a peer leaves, with uptime still growing, are a drop, not a restart, and draw no spike', async () => {
    const p = await node(
      { kind: 'defid', quirks: ['nettotals-connected-only'], peers: { inbound: 4, outbound: 4 } },
      DEFI,
    );
    const points = [];
    for (let i = 0; i < 4; i++) {
      if (i === 2) sim.setPeers(p.id, { inbound: 1, outbound: 1 });
      const s = await p.prober.probe();
      points.push({
        t: s.observedAt,
        ok: s.ok,
        latencyMs: s.latencyMs,
        bytesRecv: s.netTotals!.totalBytesRecv,
        bytesSent: s.netTotals!.totalBytesSent,
        uptimeS: s.uptimeS!,
      });
      await sleep(1_100);
    }
    expect(points[2]!.bytesRecv).toBeLessThan(points[1]!.bytesRecv);
    expect(points[2]!.uptimeS).toBeGreaterThanOrEqual(points[1]!.uptimeS);
    const rates = trafficRates(points)!;
    expect(rates).toMatchObject({ resets: 0, drops: 1 });
    expect(rates.series.find((x) => x.drop)).toMatchObject({ reset: false, recvBytesPerSec: 0 });
    // Without uptime the same drop reads as a restart (Prometheus' rule), with the spike it implies.
    const blind = trafficRates(points.map(({ uptimeS: _u, ...rest }) => rest))!;
    expect(blind.resets).toBe(1);
    expect(Math.max(...blind.series.map((x) => x.recvBytesPerSec))).toBeGreaterThan(
      10 * Math.max(...rates.series.map((x) => x.recvBytesPerSec)),
    );
  });
});

/** Rounds of real probes of `nodes`, `INTERVAL_MS` apart, through the health core; one record per round. */
async function rounds(
  chain: ChainSpec,
  nodes: ReadonlyArray<{ id: string; prober: NodeProber }>,
  count: number,
  at?: (i: number) => Promise<void> | void,
) {
  const f = fleet(
    chain,
    nodes.map((x) => nodeInfo(x.id, { intervalMs: INTERVAL_MS })),
    POLICY,
  );
  const out = [];
  for (let i = 0; i < count; i++) {
    await at?.(i);
    const samples = await Promise.all(nodes.map((x) => x.prober.probe()));
    const now = Date.now();
    const ev = round(f, now, Object.fromEntries(samples.map((s) => [s.nodeId, s])));
    out.push({
      i,
      now,
      ev,
      // The heights the probes saw, and the simulator's once the round is judged (it has moved
      // on by then, by as many blocks as the machine was slow).
      seen: Object.fromEntries(samples.map((s) => [s.nodeId, s.height ?? 0])),
      sim: Object.fromEntries(nodes.map((x) => [x.id, sim.height(x.id)])),
    });
    await sleep(INTERVAL_MS);
  }
  return out;
}

describe('the reference head, from evidence that deserves a vote', () => {
  it('a rogue node far ahead (and advancing) never raises the head; the honest three stay healthy', async () => {
    const honest = await Promise.all(
      [0, 1, 2].map(() => node({ kind: 'bsc', chainId: 1337, blockTimeMs: 200, startHeight: 1_000 }, DEV, 'r')),
    );
    const rogue = await node({ kind: 'bsc', chainId: 1337, blockTimeMs: 200, startHeight: 900_000 }, DEV, 'r');
    const rs = await rounds(DEV, [...honest, rogue], 6);
    for (const r of rs.slice(1)) {
      const top = Math.max(...honest.map((h) => r.sim[h.id]!));
      expect(r.ev.reference.height).toBeGreaterThanOrEqual(top - 3);
      expect(r.ev.reference.height).toBeLessThanOrEqual(top + 2);
      expect(r.ev.reference).toMatchObject({ basis: 'advancing', contributors: 4, quorum: 3 });
      expect(r.ev.reference.highest).toBeGreaterThan(899_000);
    }
    const last = rs[rs.length - 1]!.ev;
    for (const h of honest) expect(stateOf(last, h.id)).toBe('healthy');
    expect(stateOf(last, rogue.id)).toBe('healthy');
  });

  it('a majority stuck while one node advances: the advancing one is the head and the stuck ones lag', async () => {
    const live = await node({ kind: 'bsc', chainId: 1337, blockTimeMs: 200, startHeight: 5_000 }, DEV, 'm');
    const stuck = await Promise.all(
      [0, 1, 2].map(() =>
        node(
          {
            kind: 'bsc',
            chainId: 1337,
            blockTimeMs: 200,
            startHeight: 4_950,
            fault: { type: 'stuck', tipAgeMs: 10_000 },
          },
          DEV,
          'm',
        ),
      ),
    );
    const rs = await rounds(DEV, [live, ...stuck], 5);
    for (const r of rs) {
      expect(r.ev.reference).toMatchObject({ basis: 'advancing', voters: [live.id], stalled: 3 });
      // Within two blocks of the live node's heights around the round: what its probe saw, and
      // the simulator's just after (a fixed distance to the latter failed under a busy core).
      expect(r.ev.reference.height!).toBeGreaterThanOrEqual(r.seen[live.id]! - 2);
      expect(r.ev.reference.height!).toBeLessThanOrEqual(r.sim[live.id]! + 2);
    }
    const last = rs[rs.length - 1]!.ev;
    expect(stateOf(last, live.id)).toBe('healthy');
    for (const s of stuck) {
      expect(stateOf(last, s.id)).toBe('unhealthy');
      expect(codesOf(last, s.id)).toEqual(['lagging', 'stalled']);
    }
  });

  it('two nodes, one gets stuck: the lower head while both advance, then the advancing one once the other stalls', async () => {
    const a = await node({ kind: 'bsc', chainId: 1337, blockTimeMs: 200, startHeight: 100 }, DEV, 't');
    const b = await node({ kind: 'bsc', chainId: 1337, blockTimeMs: 200, startHeight: 100 }, DEV, 't');
    let stuckAt = 0;
    const rs = await rounds(DEV, [a, b], 14, async (i) => {
      if (i === 2) {
        await sim.setFault(b.id, { type: 'stuck' });
        stuckAt = Date.now();
      }
    });
    for (const r of rs.filter((x) => x.i < 2)) expect(r.ev.reference.contributors).toBe(2);
    // Right after b froze its tip is recent: it still votes, and the lower head is the reference.
    expect(rs[2]!.ev.reference.voters).toEqual(expect.arrayContaining([a.id, b.id]));
    expect(rs[2]!.ev.reference.height).toBeLessThanOrEqual(rs[2]!.sim[b.id]! + 1);
    // Once its tip is surely older than the window (1 s, plus the stamp's 1 s resolution and a
    // block) it has lost its vote and lags behind a.
    const late = rs.filter((r) => r.now - stuckAt > 2_200);
    expect(late.length).toBeGreaterThanOrEqual(1);
    for (const r of late) expect(r.ev.reference).toMatchObject({ voters: [a.id], stalled: 1 });
    const last = rs[rs.length - 1]!.ev;
    expect(stateOf(last, a.id)).toBe('healthy');
    expect(stateOf(last, b.id)).toBe('unhealthy');
  });

  it('one node: its own head; stuck, it is chain_halted (degraded) once its tip outgrows the window; then healthy again', async () => {
    const solo = await node({ kind: 'bsc', chainId: 1337, blockTimeMs: 200, startHeight: 7 }, DEV, 's');
    let frozenAt = 0;
    // Stuck for 12 rounds (>= 3 s): the halt is called up to 2.2 s after the freeze (window,
    // the stamp's 1 s resolution, a block), so at least three stuck rounds see it.
    const rs = await rounds(DEV, [solo], 18, async (i) => {
      if (i === 2) {
        await sim.setFault(solo.id, { type: 'stuck' });
        frozenAt = Date.now();
      }
      if (i === 14) await sim.setFault(solo.id, { type: 'none' });
    });
    expect(stateOf(rs[1]!.ev, solo.id)).toBe('healthy');
    const halted = rs.filter((r) => r.i >= 2 && r.i < 14 && r.ev.reference.basis === 'halted');
    expect(halted.length).toBeGreaterThanOrEqual(2);
    // The halt is called from the tip's age: not before the window (1 s; the last block may be
    // one block time older than the freeze), and within the timestamp's 1 s resolution and two
    // rounds after it.
    const first = halted[0]!;
    const gap = Math.max(...rs.slice(1).map((r, k) => r.now - rs[k]!.now));
    expect(first.now - frozenAt).toBeGreaterThanOrEqual(1_000 - 200);
    expect(first.now - frozenAt).toBeLessThanOrEqual(1_000 + 1_000 + 2 * gap);
    expect(codesOf(first.ev, solo.id)).toEqual(['chain_halted']);
    expect(stateOf(rs[13]!.ev, solo.id)).toBe('degraded');
    const end = rs[rs.length - 1]!.ev;
    expect(end.reference.basis).toBe('advancing');
    expect(stateOf(end, solo.id)).toBe('healthy');
  });

  it('every node stuck at the same block: chain_halted for all at the frozen head, nobody healthy', async () => {
    const ids = await Promise.all(
      [0, 1, 2].map(() =>
        node(
          { kind: 'bsc', chainId: 1337, blockTimeMs: 200, startHeight: 321, fault: { type: 'stuck', tipAgeMs: 3_000 } },
          DEV,
          'h',
        ),
      ),
    );
    const rs = await rounds(DEV, ids, 3);
    for (const r of rs)
      expect(r.ev.reference).toMatchObject({ basis: 'halted', height: 321, contributors: 3, stalled: 3 });
    // Frozen 3 s before it was added; whole-second stamps make that at least 2 s.
    expect(rs[2]!.ev.reference.haltedForMs).toBeGreaterThanOrEqual(2_000);
    for (const x of ids) {
      expect(stateOf(rs[2]!.ev, x.id)).toBe('degraded');
      expect(codesOf(rs[2]!.ev, x.id)).toEqual(['chain_halted']);
    }
  });
});
