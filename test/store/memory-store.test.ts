import { MemoryStore } from '../../src/store/memory-store.js';
import { record, storeContract, verdict } from './store-contract.js';

storeContract('memory', async () => ({ store: new MemoryStore(), cleanup: async () => {} }));

describe('MemoryStore with an injected clock', () => {
  let now = 1_000_000;
  const clock = () => now;

  it('expires records, leases and heartbeats by the clock, not by wall time', async () => {
    const store = new MemoryStore({ now: clock });
    await store.writeSweep({ records: [record('a')] }, 1000);
    await store.heartbeat('r1', 1000);
    expect(await store.claimLeases('A', ['a'], 1000, 1)).toEqual(['a']);

    now += 999;
    expect((await store.getAllNodes()).map((r) => r.nodeId)).toEqual(['a']);
    expect(await store.liveReplicas()).toEqual(['r1']);
    expect(await store.claimLeases('B', ['a'], 1000, 1)).toEqual([]);

    now += 1;
    expect(await store.getAllNodes()).toEqual([]);
    expect(await store.liveReplicas()).toEqual([]);
    expect(await store.claimLeases('B', ['a'], 1000, 1)).toEqual(['a']);
    await store.close();
  });

  it('forgets history historyTtlMs after its last push, and honours historyLimit and auditLimit', async () => {
    const store = new MemoryStore({ now: clock, historyLimit: 3, auditLimit: 2, historyTtlMs: 5000 });
    await store.writeSweep(
      { records: [], history: [1, 2, 3, 4, 5].map((t) => ({ nodeId: 'a', point: { t, ok: true, latencyMs: 1 } })) },
      1000,
    );
    expect((await store.getHistory('a', 10)).map((p) => p.t)).toEqual([5, 4, 3]);
    now += 4999;
    expect(await store.getHistory('a', 10)).toHaveLength(3);
    now += 1;
    expect(await store.getHistory('a', 10)).toEqual([]);

    for (const i of [1, 2, 3]) await store.appendAudit({ i });
    expect(await store.getAudit(10)).toEqual([{ i: 3 }, { i: 2 }]);
    await store.close();
  });

  it('forgets state changes transitionTtlMs after the last append, and honours transitionLimit', async () => {
    const store = new MemoryStore({ now: clock, transitionLimit: 2, transitionTtlMs: 5000 });
    const t = (at: number) => ({
      nodeId: 'a',
      transition: { from: 'healthy', to: 'degraded', reasons: [], at, replica: 'r' },
    });
    await store.appendTransitions([t(1), t(2), t(3)]);
    expect((await store.getTransitions('a', 10)).map((x) => x.at)).toEqual([3, 2]);
    now += 4000;
    await store.writeSweep({ records: [], transitions: [t(4)] }, 1000);
    now += 4999;
    expect((await store.getTransitions('a', 10)).map((x) => x.at)).toEqual([4, 3]);
    now += 1;
    expect(await store.getTransitions('a', 10)).toEqual([]);
    expect(() => new MemoryStore({ transitionLimit: 0 })).toThrow(RangeError);
    await store.close();
  });

  it('caps the fleet-wide log at fleetTransitionLimit across batches and forgets it transitionTtlMs after the last push', async () => {
    const store = new MemoryStore({ now: clock, fleetTransitionLimit: 15, transitionTtlMs: 5000, sweepBatchSize: 10 });
    const ids = Array.from({ length: 35 }, (_, i) => `n${i}`);
    await store.writeSweep(
      {
        records: [],
        transitions: ids.map((id, i) => ({
          nodeId: id,
          chain: 'bsc',
          transition: { from: 'unknown', to: 'healthy', reasons: [], at: i, replica: 'r' },
        })),
      },
      1000,
    );
    expect((await store.getFleetTransitions(100)).map((t) => t.at)).toEqual(
      Array.from({ length: 15 }, (_, i) => 34 - i),
    );
    now += 4999;
    expect(await store.getFleetTransitions(100)).toHaveLength(15);
    now += 1;
    expect(await store.getFleetTransitions(100)).toEqual([]);
    expect(() => new MemoryStore({ fleetTransitionLimit: 0 })).toThrow(RangeError);
    await store.close();
  });

  it('returns copies: changing what was written or read does not change what is stored', async () => {
    const store = new MemoryStore();
    const health = verdict();
    await store.writeSweep({ records: [record('a', { health })] }, 60_000);
    (health.health as { state: string }).state = 'down';
    const first = (await store.getNodes(['a'])).get('a');
    expect(first?.health).toEqual(verdict());
    (first!.health!.health as { state: string }).state = 'mutated';
    expect((await store.getNodes(['a'])).get('a')?.health).toEqual(verdict());
    await store.close();
  });

  it('validates its options', () => {
    expect(() => new MemoryStore({ historyLimit: 0 })).toThrow(RangeError);
    expect(() => new MemoryStore({ auditLimit: 1.5 })).toThrow(RangeError);
  });
});
