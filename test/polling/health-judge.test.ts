import { BUILTIN_CHAINS } from '../../src/chains/chain-spec.js';
import type { Sample } from '../../src/chains/sample.js';
import type { NodeConfig } from '../../src/config/node-config.js';
import fc from 'fast-check';
import { DEFAULT_HEALTH_POLICY, type HealthPolicy } from '../../src/health/policy.js';
import { nextSelection } from '../../src/health/selection.js';
import { type HeadCandidate, referenceHead } from '../../src/health/reference-head.js';
import { HealthJudge } from '../../src/polling/health-judge.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { FleetView } from '../../src/view/fleet-view.js';
import { effectiveOf, rankEffective } from '../../src/view/effective-node.js';

const BSC = BUILTIN_CHAINS.bsc!;
const node = (id: string): NodeConfig => ({
  id,
  chain: BSC,
  url: `http://127.0.0.1:1/${id}`,
  tags: [],
  tier: 0,
  intervalMs: 5_000,
  timeoutMs: 2_000,
});
const sample = (id: string, height: number, at: number): Sample => ({
  nodeId: id,
  chain: 'bsc',
  family: 'evm',
  observedAt: at,
  latencyMs: 5,
  ok: true,
  height,
  peers: { total: 30, source: 'net_peerCount' },
  syncing: false,
  chainId: 56,
  missingMethods: [],
});

/** A judge over a view of its own (an in-process store), as one replica has them. */
function judgeOver(
  nodes: ReadonlyMap<string, NodeConfig>,
  opts: { policy?: HealthPolicy; replica?: string; rerankEveryMs?: number } = {},
): { view: FleetView; judge: HealthJudge } {
  const view = new FleetView({ store: new MemoryStore() });
  const judge = new HealthJudge({
    view,
    policy: opts.policy ?? DEFAULT_HEALTH_POLICY,
    replica: opts.replica ?? 'r',
    nodes: () => nodes,
    ...(opts.rerankEveryMs === undefined ? {} : { rerankEveryMs: opts.rerankEveryMs }),
  });
  return { view, judge };
}

describe('HealthJudge', () => {
  it('when the lagging node answers first at start-up, then it is still judged against the whole chain', () => {
    const nodes = new Map(['slow', 'a', 'b', 'c'].map((id) => [id, node(id)]));
    const { view, judge } = judgeOver(nodes);
    const t0 = 1_000_000;
    // Two rounds, the laggard first in each, all within the head cache's lifetime.
    for (const round of [0, 1]) {
      const at = t0 + round * 10;
      for (const [id, h] of [
        ['slow', 1_000],
        ['a', 1_200],
        ['b', 1_200],
        ['c', 1_200],
      ] as const) {
        const v = judge.judge(nodes.get(id)!, sample(id, h, at), at);
        view.ingest([v.record]);
      }
    }
    const slow = view.get('slow')!.health!;
    expect(slow.health.latest?.lag?.blocks).toBe(200);
    expect(slow.health.latest?.reasons.map((r) => r.code)).toContain('lagging');
    expect(view.get('a')!.health!.health.latest?.lag?.blocks).toBe(0);
  });

  it('the head it publishes is the full pass over the view, whoever wrote the records (property)', () => {
    const ids = Array.from({ length: 12 }, (_, i) => `n${i}`);
    const nodes = new Map(ids.map((id) => [id, node(id)]));
    const t0 = 1_000_000;
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            who: fc.nat(ids.length - 1),
            how: fc.constantFrom('judged', 'judged', 'other-replica', 'removed'),
            dh: fc.integer({ min: -5, max: 40 }),
            ok: fc.boolean(),
            stepMs: fc.integer({ min: 0, max: 3_000 }),
          }),
          { maxLength: 60 },
        ),
        (steps) => {
          const { view, judge } = judgeOver(nodes);
          let now = t0;
          for (const step of steps) {
            now += step.stepMs;
            const id = ids[step.who]!;
            const s = step.ok
              ? sample(id, 10_000 + step.dh, now)
              : {
                  ...sample(id, 10_000, now),
                  ok: false,
                  error: { code: 'RPC_TIMEOUT', message: 't', transient: true },
                };
            if (step.how === 'removed') view.remove([id]);
            else if (step.how === 'judged') view.ingest([judge.judge(nodes.get(id)!, s, now).record]);
            // Another replica's record: the view gets it, this judge never saw the sample.
            else view.ingest([{ nodeId: id, chain: 'bsc', sample: s, health: null, replica: 'other', writtenAt: now }]);
            now += 1_001; // past rerankEveryMs: every chainFacts call ranks the chain
            const facts = judge.chainFacts(now);
            const candidates: HeadCandidate[] = [];
            for (const n of nodes.values()) {
              const r = view.get(n.id);
              if (r)
                candidates.push({
                  sample: r.sample,
                  intervalMs: n.intervalMs,
                  stats: r.health?.stats ?? null,
                  latest: r.health?.health.latest ?? null,
                });
            }
            expect(facts[0]?.facts?.reference).toStrictEqual(
              referenceHead(candidates, BSC, now, DEFAULT_HEALTH_POLICY),
            );
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it('its selection and counts are those of a ranking of the whole view at that moment, drains, staleness and clock jumps included (property)', () => {
    const ids = Array.from({ length: 10 }, (_, i) => `n${i}`);
    const nodes = new Map(ids.map((id, i) => [id, { ...node(id), tier: i % 4 === 3 ? 1 : 0 }]));
    const policy = { ...DEFAULT_HEALTH_POLICY, riseAfter: 1, minDwellMs: 2_000, failbackDwellMs: 3_000 };
    const t0 = 1_000_000;
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            who: fc.nat(ids.length - 1),
            how: fc.constantFrom('judged', 'judged', 'judged', 'other-replica', 'removed', 'drain', 'undrain', 'none'),
            dh: fc.integer({ min: -3, max: 20 }),
            latencyMs: fc.integer({ min: 1, max: 3_000 }),
            ok: fc.boolean(),
            // Up to past the staleness bound (30 s), and now and then back (a clock set back).
            stepMs: fc.oneof(fc.integer({ min: 0, max: 3_000 }), fc.integer({ min: -40_000, max: 45_000 })),
          }),
          { maxLength: 50 },
        ),
        (steps) => {
          // Ranked at every call, also when the clock went back (a 0 would wait for it to catch up).
          const { view, judge } = judgeOver(nodes, { policy, rerankEveryMs: Number.NEGATIVE_INFINITY });
          let now = t0;
          for (const step of steps) {
            now += step.stepMs;
            const id = ids[step.who]!;
            const s: Sample = step.ok
              ? { ...sample(id, 10_000 + step.dh, now), latencyMs: step.latencyMs }
              : {
                  ...sample(id, 10_000, now),
                  ok: false,
                  error: { code: 'RPC_TIMEOUT', message: 't', transient: true },
                };
            if (step.how === 'removed') view.remove([id]);
            else if (step.how === 'drain') view.setDrain(id, { nodeId: id, by: 'op', at: now, reason: 'test' });
            else if (step.how === 'undrain') view.setDrain(id, null);
            else if (step.how === 'judged') view.ingest([judge.judge(nodes.get(id)!, s, now).record]);
            else if (step.how === 'other-replica')
              view.ingest([{ nodeId: id, chain: 'bsc', sample: s, health: null, replica: 'other', writtenAt: now }]);
            // What a ranking of the whole view from scratch gives at this moment.
            const prev = view.chainFacts('bsc')?.facts?.selection ?? null;
            const ranking = rankEffective(
              [...nodes.values()].map((n) => {
                const record = view.get(n.id);
                return { node: n, record, health: effectiveOf(record, n, view.drain(n.id) !== undefined, now, policy) };
              }),
            );
            const expected = nextSelection(prev, ranking, 'bsc', now, policy).selection;
            const facts = judge.chainFacts(now);
            expect(facts).toHaveLength(1);
            const report = facts[0]!.facts!;
            expect(report.selection).toStrictEqual(expected);
            const counts: Record<string, number> = {
              healthy: 0,
              degraded: 0,
              unhealthy: 0,
              unknown: 0,
              maintenance: 0,
            };
            for (const r of ranking) counts[r.state]!++;
            expect(report.counts).toStrictEqual(counts);
            view.setChainFacts(facts[0]!);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('a probe failure of the only advancing node leaves the head on it until failAfter failures in a row, for every replica alike', () => {
    // A stuck majority (tips an hour old) and one node climbing: the dev chain of the timeline test.
    const ids = ['zero-a', 'zero-b', 'two', 'climber'];
    const nodes = new Map(ids.map((id) => [id, { ...node(id), intervalMs: 500 }]));
    const { view, judge } = judgeOver(nodes, { rerankEveryMs: 0 });
    // Another replica's judge, fed the same records (as the feed does), started mid-way.
    let other: { view: FleetView; judge: HealthJudge } | undefined;
    let now = 1_000_000_000;
    let height = 24;
    const heads: { step: number; height: number | null; basis: string; voters: readonly string[] }[] = [];
    for (let step = 0; step < 24; step++) {
      now += 500;
      if (step % 2 === 0) height++;
      // The climber's probes time out at steps 14 (once), then 18, 19, 20 (an outage).
      const fails = step === 14 || step >= 18;
      const records = ids.map((id) => {
        const s: Sample =
          id === 'climber' && fails
            ? {
                ...sample(id, 0, now),
                ok: false,
                error: { code: 'RPC_TIMEOUT', message: 't', transient: true },
              }
            : {
                ...sample(id, id === 'climber' ? height : id === 'two' ? 2 : 0, now),
                tipTime: Math.floor((id === 'climber' ? now - 200 : now - 3_600_000) / 1000),
              };
        const v = judge.judge(nodes.get(id)!, s, now);
        view.ingest([v.record]);
        return v.record;
      });
      if (step === 10) {
        other = judgeOver(nodes, { replica: 'o', rerankEveryMs: 0 });
      }
      other?.view.ingest(records);
      const ref = judge.chainFacts(now + 1)[0]?.facts?.reference;
      if (ref === undefined) continue;
      heads.push({ step, height: ref.height, basis: ref.basis, voters: ref.voters });
      if (other !== undefined && step > 10)
        expect(other.judge.chainFacts(now + 1)[0]?.facts?.reference).toStrictEqual(ref);
    }
    const at = (step: number) => heads.find((h) => h.step === step);
    // One timeout: the head stays the climber's (its last answer, projected), never the stuck majority's.
    expect(at(14)).toMatchObject({ basis: 'advancing', voters: ['climber'] });
    expect(at(14)!.height).toBeGreaterThanOrEqual(at(12)!.height!);
    // An outage: two failures in a row still keep it; the third (failAfter 3) drops the vote.
    for (const step of [18, 19]) expect(at(step)).toMatchObject({ basis: 'advancing', voters: ['climber'] });
    expect(heads.filter((h) => h.step >= 20).every((h) => !h.voters.includes('climber'))).toBe(true);
    expect(heads.filter((h) => h.step >= 20).length).toBeGreaterThan(0);
  });

  it('ranks a chain whose samples only move heights and timings once per rerankEveryMs, and one whose node fails at the next flush', () => {
    const ids = ['a', 'b', 'c'];
    const nodes = new Map(ids.map((id) => [id, node(id)]));
    const { view, judge } = judgeOver(nodes, { rerankEveryMs: 1_000 });
    let now = 1_000_000;
    let height = 5_000;
    const probeAll = (fail?: string) => {
      height++;
      for (const id of ids) {
        const s: Sample =
          id === fail
            ? { ...sample(id, height, now), ok: false, error: { code: 'RPC_TIMEOUT', message: 't', transient: true } }
            : sample(id, height, now);
        view.ingest([judge.judge(nodes.get(id)!, s, now).record]);
      }
    };
    // Start-up: every node is new to the view, so the first flush ranks; then until every node
    // has risen to healthy (transitions rank at once too).
    probeAll();
    expect(judge.chainFacts(now).map((f) => f.chain)).toEqual(['bsc']);
    for (let i = 0; i < 10 && view.get('c')!.health!.health.state !== 'healthy'; i++) {
      now += 1_000;
      probeAll();
      judge.chainFacts(now);
    }
    expect(ids.map((id) => view.get(id)!.health!.health.state)).toEqual(['healthy', 'healthy', 'healthy']);
    // Steady: new heights and timings every 250 ms flush, ranked only when rerankEveryMs has passed.
    const ranked: number[] = [];
    for (let i = 1; i <= 12; i++) {
      now += 250;
      probeAll();
      if (judge.chainFacts(now).length > 0) ranked.push(i);
    }
    expect(ranked).toEqual([4, 8, 12]);
    // A node stops answering: ranked at the very next flush, not at the next timer.
    now += 250;
    probeAll('b');
    const facts = judge.chainFacts(now);
    expect(facts).toHaveLength(1);
    expect(facts[0]!.facts!.evaluatedAt).toBe(now);
    // Still failing, pending the same change: back to the timer.
    now += 250;
    probeAll('b');
    expect(judge.chainFacts(now)).toEqual([]);
    // Answering again: at once.
    now += 250;
    probeAll();
    expect(judge.chainFacts(now)).toHaveLength(1);
  });

  it('waits for the timer when new nodes join unusable (a cold sweep), and ranks at the next flush when one joins usable', () => {
    const ids = Array.from({ length: 12 }, (_, i) => `n${i}`);
    const nodes = new Map(ids.map((id) => [id, node(id)]));
    const run = (riseAfter: number) => {
      const { view, judge } = judgeOver(nodes, {
        policy: { ...DEFAULT_HEALTH_POLICY, riseAfter },
        rerankEveryMs: 1_000,
      });
      let now = 1_000_000;
      const ranked: number[] = [];
      // A cold sweep: three new nodes' first samples between each 250 ms flush.
      for (let flush = 1; flush <= 4; flush++) {
        for (const id of ids.slice((flush - 1) * 3, flush * 3))
          view.ingest([judge.judge(nodes.get(id)!, sample(id, 5_000, now), now).record]);
        if (judge.chainFacts(now).length > 0) ranked.push(flush);
        now += 250;
      }
      return { ranked, states: ids.map((id) => view.get(id)!.health!.health.state) };
    };
    // Rising (riseAfter 2): every new node is unknown after its first sample, so after the
    // chain's first ranking only the timer ranks it (the old rule ranked at all four flushes).
    const rising = run(2);
    expect(new Set(rising.states)).toEqual(new Set(['unknown']));
    expect(rising.ranked).toEqual([1]);
    // Usable at once (riseAfter 1): each flush with a new usable node ranks the chain.
    const usable = run(1);
    expect(new Set(usable.states)).toEqual(new Set(['healthy']));
    expect(usable.ranked).toEqual([1, 2, 3, 4]);
  });
});
