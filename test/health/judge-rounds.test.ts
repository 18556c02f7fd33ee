// Whole rounds through the real judge (HealthJudge over a FleetView): scenarios and properties of judging, ranking and choosing.
import fc from 'fast-check';
import type { ChainSpec } from '../../src/chains/chain-spec.js';
import type { Sample } from '../../src/chains/sample.js';
import { RpcErrorCode } from '../../src/errors/rpc-errors.js';
import { DEFAULT_HEALTH_POLICY, type HealthPolicy, mergePolicy } from '../../src/health/policy.js';
import {
  BSC,
  DEFICHAIN,
  T0,
  codesOf,
  failedSample,
  fleet,
  goodSample,
  nodeInfo,
  restart,
  round,
  stateOf,
} from './fixtures.js';

const STEP_MS = 5_000;
/** The chain's true head at `now`: BSC makes a block every 0.75 s. */
const headAt = (chain: ChainSpec, now: number) => 1_000_000 + Math.floor((now - T0) / chain.blockTimeMs);
const at = (i: number) => T0 + i * STEP_MS;

/** Every node of the fleet reports a good sample at the head, except the overrides. */
function allGood(chain: ChainSpec, ids: readonly string[], now: number, overrides: Record<string, Sample | null> = {}) {
  const out: Record<string, Sample | null> = {};
  for (const id of ids)
    out[id] = id in overrides ? (overrides[id] ?? null) : goodSample(chain, id, now, { height: headAt(chain, now) });
  return out;
}

describe('judging rounds: scenarios', () => {
  const ids = ['a', 'b', 'c'];

  it('a healthy fleet: unknown, then healthy after riseAfter rounds, one choice', () => {
    const f = fleet(
      BSC,
      ids.map((id) => nodeInfo(id)),
    );
    const r0 = round(f, at(0), allGood(BSC, ids, at(0)));
    expect(ids.map((id) => stateOf(r0, id))).toEqual(['unknown', 'unknown', 'unknown']);
    expect(r0.selection).toMatchObject({ nodeId: null, mode: 'fail-closed' });
    const r1 = round(f, at(1), allGood(BSC, ids, at(1)));
    expect(ids.map((id) => stateOf(r1, id))).toEqual(['healthy', 'healthy', 'healthy']);
    expect(r1.selection).toMatchObject({ nodeId: 'a', mode: 'normal', reason: 'initial' });
    expect(r1.reference).toMatchObject({ height: headAt(BSC, at(1)), contributors: 3, quorum: 2 });
    expect(r1.transitions.map((t) => `${t.nodeId}:${t.from}->${t.to}`)).toEqual([
      'a:unknown->healthy',
      'b:unknown->healthy',
      'c:unknown->healthy',
    ]);
  });

  it('evaluating again with the same samples reports nothing new', () => {
    const f = fleet(
      BSC,
      ids.map((id) => nodeInfo(id)),
    );
    round(f, at(0), allGood(BSC, ids, at(0)));
    round(f, at(1), allGood(BSC, ids, at(1)));
    const again = round(f, at(1) + 1_000, {});
    expect(again.transitions).toEqual([]);
    expect(again.selectionChange).toBeNull();
    expect(again.nodes.map((n) => n.stats.samples)).toEqual([2, 2, 2]);
  });

  it('a lone node far ahead does not make the others lagging', () => {
    const f = fleet(
      BSC,
      ids.map((id) => nodeInfo(id)),
    );
    const bogus = (now: number) => goodSample(BSC, 'c', now, { height: headAt(BSC, now) + 50_000 });
    round(f, at(0), allGood(BSC, ids, at(0), { c: bogus(at(0)) }));
    const r = round(f, at(1), allGood(BSC, ids, at(1), { c: bogus(at(1)) }));
    expect(ids.map((id) => stateOf(r, id))).toEqual(['healthy', 'healthy', 'healthy']);
    expect(r.reference.height).toBe(headAt(BSC, at(1)));
  });

  it('a node stuck behind: lagging with 3 nodes, unhealthy after failAfter rounds', () => {
    const f = fleet(
      BSC,
      ids.map((id) => nodeInfo(id)),
    );
    const states: string[] = [];
    for (let i = 0; i < 8; i++) {
      const stuck = goodSample(BSC, 'c', at(i), { height: headAt(BSC, at(0)) });
      states.push(stateOf(round(f, at(i), allGood(BSC, ids, at(i), { c: stuck })), 'c') as string);
    }
    // Lag grows 6.67 blocks a round: 0, 6 (4.5 s: fine), 13, 20, 26, 33 (degraded), 40 (30 s: unhealthy), 46.
    // Three degraded samples (rounds 2-4) confirm degraded; three unhealthy ones (6-8) unhealthy.
    expect(states).toEqual([
      'unknown',
      'healthy',
      'healthy',
      'healthy',
      'degraded',
      'degraded',
      'degraded',
      'degraded',
    ]);
    expect(codesOf(f.last!, 'c')).toContain('lagging');
    for (let i = 8; i < 12; i++)
      round(f, at(i), allGood(BSC, ids, at(i), { c: goodSample(BSC, 'c', at(i), { height: headAt(BSC, at(0)) }) }));
    expect(stateOf(f.last!, 'c')).toBe('unhealthy');
    // c is judged last in its round, against the head the judge cached at the round's first sample.
    expect(f.last!.nodes.find((n) => n.nodeId === 'c')!.health.reasons.map((r) => r.text)).toEqual([
      'lagging(72 blocks, 54s)',
      'stalled(no new block in 55s)',
    ]);
  });

  it('with two nodes, one stuck: only the one seen advancing votes, the stuck one lags behind it', () => {
    const f = fleet(BSC, [nodeInfo('a'), nodeInfo('b')]);
    for (let i = 0; i < 10; i++)
      round(
        f,
        at(i),
        allGood(BSC, ['a', 'b'], at(i), { b: goodSample(BSC, 'b', at(i), { height: headAt(BSC, at(0)) }) }),
      );
    const r = f.last!;
    expect(r.reference).toMatchObject({
      height: headAt(BSC, at(9)),
      basis: 'advancing',
      contributors: 1,
      voters: ['a'],
      eligible: 2,
      stalled: 1,
    });
    expect(stateOf(r, 'a')).toBe('healthy');
    expect(stateOf(r, 'b')).toBe('unhealthy');
    expect(codesOf(r, 'b')).toEqual(['lagging', 'stalled']);
    expect(r.ranking[0]!.nodeId).toBe('a');
  });

  it('with two nodes both advancing, the lower head is the reference: neither condemns the other', () => {
    const f = fleet(BSC, [nodeInfo('a'), nodeInfo('b')]);
    const ahead = (now: number) => goodSample(BSC, 'b', now, { height: headAt(BSC, now) + 40 });
    for (let i = 0; i < 3; i++) round(f, at(i), allGood(BSC, ['a', 'b'], at(i), { b: ahead(at(i)) }));
    expect(f.last!.reference).toMatchObject({
      height: headAt(BSC, at(2)),
      basis: 'advancing',
      contributors: 2,
      spread: 40,
    });
    expect(['a', 'b'].map((id) => stateOf(f.last!, id))).toEqual(['healthy', 'healthy']);
  });

  it('every node stuck at one height: chain_halted for all (degraded), not healthy', () => {
    const f = fleet(
      BSC,
      ids.map((id) => nodeInfo(id)),
    );
    const frozen = headAt(BSC, at(0));
    for (let i = 0; i < 10; i++)
      round(
        f,
        at(i),
        allGood(
          BSC,
          ids,
          at(i),
          Object.fromEntries(ids.map((id) => [id, goodSample(BSC, id, at(i), { height: frozen })])),
        ),
      );
    const r = f.last!;
    expect(r.reference).toMatchObject({ height: frozen, basis: 'halted', stalled: 3, contributors: 3 });
    expect(r.reference.haltedForMs).toBe(at(9) - at(0));
    for (const id of ids) {
      expect(stateOf(r, id)).toBe('degraded');
      expect(codesOf(r, id)).toEqual(['chain_halted']);
    }
  });

  it('a majority stuck while one node advances: the advancing one is the head, the stuck ones lag', () => {
    const f = fleet(
      BSC,
      ['a', 'b', 'c', 'd'].map((id) => nodeInfo(id)),
    );
    const stuck = (id: string, now: number) => goodSample(BSC, id, now, { height: headAt(BSC, at(0)) });
    for (let i = 0; i < 10; i++)
      round(
        f,
        at(i),
        allGood(BSC, ['a', 'b', 'c', 'd'], at(i), { b: stuck('b', at(i)), c: stuck('c', at(i)), d: stuck('d', at(i)) }),
      );
    const r = f.last!;
    expect(r.reference).toMatchObject({ height: headAt(BSC, at(9)), basis: 'advancing', voters: ['a'] });
    expect(stateOf(r, 'a')).toBe('healthy');
    for (const id of ['b', 'c', 'd']) expect(stateOf(r, id)).toBe('unhealthy');
  });

  it('fails over to a backup and fails back after the dwell', () => {
    const f = fleet(BSC, [nodeInfo('p'), nodeInfo('b', { tier: 1 })]);
    const log: string[] = [];
    const down = (i: number) => failedSample(BSC, 'p', at(i), RpcErrorCode.Timeout);
    for (let i = 0; i < 40; i++) {
      const pDown = i >= 4 && i < 10;
      const r = round(f, at(i), allGood(BSC, ['p', 'b'], at(i), pDown ? { p: down(i) } : {}));
      if (r.selectionChange) log.push(`${i}:${r.selectionChange.to}:${r.selectionChange.reason}`);
    }
    // p: healthy at 1; times out from 4; unhealthy at 6 (3rd bad); answers again from 10. The outage
    // counts in its error window as one run of failAfter (3) failures, not 6: 3 of 11 (27%, degraded)
    // at round 10, so usable at 11 (2 usable samples); failback once usable for 60 s = 12 rounds:
    // round 23. The backup serves meanwhile, and the primary has to prove itself first.
    expect(log).toEqual(['0:null:all_unhealthy', '1:p:initial', '6:b:current_unusable', '23:p:failback']);
    expect(f.last!.selection).toMatchObject({ nodeId: 'p', tier: 0, pendingFailback: null });
  });

  it('drained nodes are never chosen and report maintenance', () => {
    const f = fleet(
      BSC,
      ids.map((id) => nodeInfo(id)),
    );
    round(f, at(0), allGood(BSC, ids, at(0)));
    round(f, at(1), allGood(BSC, ids, at(1)));
    const r = round(f, at(2), allGood(BSC, ids, at(2)), { a: true });
    expect(stateOf(r, 'a')).toBe('maintenance');
    expect(r.selection.nodeId).toBe('b');
    expect(r.transitions).toEqual([expect.objectContaining({ nodeId: 'a', from: 'healthy', to: 'maintenance' })]);
  });

  it('a node with no fresh sample becomes unknown and is not served', () => {
    const f = fleet(BSC, [nodeInfo('a'), nodeInfo('b')]);
    round(f, at(0), allGood(BSC, ['a', 'b'], at(0)));
    round(f, at(1), allGood(BSC, ['a', 'b'], at(1)));
    // a stops reporting: its last sample (at(1)) goes stale after 30 s.
    for (let i = 2; i <= 8; i++) round(f, at(i), { b: goodSample(BSC, 'b', at(i), { height: headAt(BSC, at(i)) }) });
    expect(stateOf(f.last!, 'a')).toBe('unknown');
    expect(f.last!.nodes[0]!.health.reasons.map((r) => r.text)).toEqual(['stale_sample(35s)']);
    expect(f.last!.selection.nodeId).toBe('b');
  });

  it('applies per-chain policy overrides', () => {
    const policy = mergePolicy({ chains: { bsc: { riseAfter: 1 } } });
    const f = fleet(BSC, [nodeInfo('a')], policy);
    expect(stateOf(round(f, at(0), allGood(BSC, ['a'], at(0))), 'a')).toBe('healthy');
    const g = fleet(DEFICHAIN, [nodeInfo('a')], policy);
    expect(stateOf(round(g, at(0), allGood(DEFICHAIN, ['a'], at(0))), 'a')).toBe('unknown');
  });
});

// ---------------------------------------------------------------------------------------------
// Property tests over whole rounds.

type Kind =
  | { kind: 'good'; latencyMs: number; peers: number; behind: number }
  | { kind: 'failed'; code: string }
  | { kind: 'lagging'; behind: number }
  | { kind: 'peers'; peers: number }
  | { kind: 'syncing' }
  | { kind: 'wrong-chain' }
  | { kind: 'slow'; latencyMs: number }
  | { kind: 'no-height' };

const ERROR_CODES = Object.values(RpcErrorCode);

const arbGood = fc.record({
  kind: fc.constant('good' as const),
  latencyMs: fc.integer({ min: 5, max: 250 }),
  peers: fc.integer({ min: 13, max: 60 }),
  behind: fc.integer({ min: 0, max: 5 }),
});
const arbBad: fc.Arbitrary<Kind> = fc.oneof(
  fc.record({
    kind: fc.constant('failed' as const),
    code: fc.constantFrom(...ERROR_CODES.filter((c) => c !== RpcErrorCode.MethodUnavailable)),
  }),
  fc.record({ kind: fc.constant('lagging' as const), behind: fc.integer({ min: 7, max: 100_000 }) }),
  fc.record({ kind: fc.constant('peers' as const), peers: fc.integer({ min: 0, max: 12 }) }),
  fc.constant({ kind: 'syncing' as const }),
  fc.constant({ kind: 'wrong-chain' as const }),
  fc.record({ kind: fc.constant('slow' as const), latencyMs: fc.integer({ min: 1_500, max: 120_000 }) }),
  fc.constant({ kind: 'no-height' as const }),
);
const arbAny: fc.Arbitrary<Kind> = fc.oneof(arbGood, arbBad);

function makeSample(k: Kind, id: string, now: number): Sample {
  const head = headAt(BSC, now);
  switch (k.kind) {
    case 'good':
      return goodSample(BSC, id, now, {
        latencyMs: k.latencyMs,
        peers: { total: k.peers, source: 'net_peerCount' },
        height: head - k.behind,
      });
    case 'failed':
      return failedSample(
        BSC,
        id,
        now,
        k.code,
        k.code === RpcErrorCode.WrongChain ? { expected: '56', actual: '97' } : {},
      );
    case 'lagging':
      return goodSample(BSC, id, now, { height: head - k.behind });
    case 'peers':
      return goodSample(BSC, id, now, { height: head, peers: { total: k.peers, source: 'net_peerCount' } });
    case 'syncing':
      return goodSample(BSC, id, now, { height: head - 5_000, syncing: true });
    case 'wrong-chain':
      return goodSample(BSC, id, now, { height: head, chainId: 97 });
    case 'slow':
      return goodSample(BSC, id, now, { height: head, latencyMs: k.latencyMs });
    case 'no-height':
      return goodSample(BSC, id, now, { height: undefined });
  }
}

describe('property: one bad sample never changes a healthy node', () => {
  it('end to end, for every kind of bad sample, whatever the other nodes do', () => {
    fc.assert(
      fc.property(
        arbGood,
        arbBad,
        fc.array(fc.tuple(arbAny, arbAny), { minLength: 30, maxLength: 30 }),
        fc.integer({ min: 1, max: 8 }),
        (goodKind, bad, others, after) => {
          const f = fleet(BSC, [nodeInfo('t'), nodeInfo('o1'), nodeInfo('o2')]);
          const warm = 24; // fills the error window with good samples
          const goodRounds = (i: number) => i < warm || i > warm;
          for (let i = 0; i <= warm + after; i++) {
            const [k1, k2] = others[i] ?? [goodKind, goodKind];
            // The other two nodes stay good enough to hold the reference at the head: they vary only within good.
            const o1 = makeSample(k1.kind === 'good' ? k1 : goodKind, 'o1', at(i));
            const o2 = makeSample(k2.kind === 'good' ? k2 : goodKind, 'o2', at(i));
            const t = makeSample(goodRounds(i) ? goodKind : bad, 't', at(i));
            const r = round(f, at(i), { t, o1, o2 });
            if (i >= warm - 1) expect(stateOf(r, 't')).toBe('healthy');
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('property: the choice never oscillates under alternating samples', () => {
  const ROUNDS = 400;
  const SETTLED = 250;

  function simulate(patterns: readonly (readonly [Kind, Kind])[], tiers: readonly number[], policy: HealthPolicy) {
    const ids = patterns.map((_, i) => `n${i}`);
    const f = fleet(
      BSC,
      ids.map((id, i) => nodeInfo(id, { tier: tiers[i] ?? 0 })),
      policy,
    );
    const changes: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const samples: Record<string, Sample> = {};
      patterns.forEach(([even, odd], j) => {
        samples[`n${j}`] = makeSample(i % 2 === 0 ? even : odd, `n${j}`, at(i));
      });
      if (round(f, at(i), samples).selectionChange) changes.push(i);
    }
    return changes;
  }

  it('after the first rounds, the choice stays put', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(arbAny, arbAny), { minLength: 2, maxLength: 4 }),
        fc.array(fc.integer({ min: 0, max: 1 }), { minLength: 4, maxLength: 4 }),
        fc.constantFrom<'fail-closed' | 'fail-open'>('fail-closed', 'fail-open'),
        (patterns, tiers, whenAllUnhealthy) => {
          const changes = simulate(patterns, tiers, mergePolicy({ whenAllUnhealthy }));
          expect(changes.filter((i) => i >= SETTLED)).toEqual([]);
          expect(changes.length).toBeLessThanOrEqual(2 * patterns.length + 2);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('control: with a margin below the swing (rejected by mergePolicy) the same test catches flapping', () => {
    const loose: HealthPolicy = { ...DEFAULT_HEALTH_POLICY, ewmaAlpha: 0.5, switchMargin: 0.02 };
    const fast = { kind: 'good', latencyMs: 40, peers: 25, behind: 0 } as const;
    const slowish = { kind: 'good', latencyMs: 1_400, peers: 25, behind: 0 } as const;
    const changes = simulate(
      [
        [fast, slowish],
        [slowish, fast],
      ],
      [0, 0],
      loose,
    );
    expect(changes.filter((i) => i >= SETTLED).length).toBeGreaterThan(5);
    expect(() => mergePolicy({ ewmaAlpha: 0.5, switchMargin: 0.02 })).toThrow(/switchMargin/);
  });
});

describe('property: persisted state is plain JSON', () => {
  it('a round from JSON-restored state equals a round from in-memory state', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.option(arbAny, { nil: undefined }), { minLength: 3, maxLength: 3 }), {
          minLength: 1,
          maxLength: 25,
        }),
        (rounds) => {
          const ids = ['a', 'b', 'c'];
          const infos = ids.map((id, i) => nodeInfo(id, { tier: i === 2 ? 1 : 0 }));
          const live = fleet(BSC, infos, mergePolicy({ whenAllUnhealthy: 'fail-open' }));
          const restored = fleet(BSC, infos, live.policy);
          rounds.forEach((kinds, i) => {
            const samples: Record<string, Sample> = {};
            kinds.forEach((k, j) => {
              if (k !== undefined) samples[ids[j]!] = makeSample(k, ids[j]!, at(i));
            });
            const a = round(live, at(i), samples);
            const b = round(restored, at(i), samples);
            expect(b).toEqual(a);
            expect(JSON.parse(JSON.stringify(a))).toEqual(a);
            // The next round starts from what the store holds: records and chain facts as JSON.
            restart(restored);
          });
        },
      ),
      { numRuns: 100 },
    );
  });

  it('scores stay within 0..1 and parts add up to the total', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(arbAny, { minLength: 3, maxLength: 3 }), { minLength: 1, maxLength: 25 }),
        (rounds) => {
          const ids = ['a', 'b', 'c'];
          const f = fleet(
            BSC,
            ids.map((id) => nodeInfo(id)),
          );
          rounds.forEach((kinds, i) => {
            const samples: Record<string, Sample> = {};
            kinds.forEach((k, j) => (samples[ids[j]!] = makeSample(k, ids[j]!, at(i))));
            for (const n of round(f, at(i), samples).nodes) {
              expect(n.score.total).toBeGreaterThanOrEqual(0);
              expect(n.score.total).toBeLessThanOrEqual(1);
              const sum = Object.values(n.score.parts).reduce((s, p) => s + p.contribution, 0);
              expect(Math.abs(sum - n.score.total)).toBeLessThan(5e-4);
            }
          });
        },
      ),
      { numRuns: 50 },
    );
  });
});

describe('judging rounds: the same for a Bitcoin-family chain', () => {
  it('DeFiChain: initial sync is unhealthy with its evidence; the synced node is chosen', () => {
    const f = fleet(DEFICHAIN, [nodeInfo('syncing'), nodeInfo('synced')]);
    const h = 2_000_000;
    const samples = (i: number) => ({
      syncing: goodSample(DEFICHAIN, 'syncing', at(i), {
        height: 10_000,
        headers: h,
        syncing: true,
        verificationProgress: 0.004,
      }),
      synced: goodSample(DEFICHAIN, 'synced', at(i), { height: h, headers: h }),
    });
    round(f, at(0), samples(0));
    const r = round(f, at(1), samples(1));
    expect(stateOf(r, 'syncing')).toBe('unhealthy');
    expect(r.nodes[0]!.health.reasons.map((x) => x.text)).toEqual([
      'syncing(1990000 headers ahead, progress 0.4%)',
      'lagging(1990000 blocks, 691d)',
    ]);
    expect(r.selection.nodeId).toBe('synced');
  });
});
