// The one behaviour both stores promise (src/store/store.ts). memory-store.test.ts and
// redis-store.test.ts run it; anything one store does that the other does not is a bug here.
import type { PeerDetail, Sample } from '../../src/chains/sample.js';
import type { ChainReport } from '../../src/health/chain-report.js';
import type { NodeVerdict } from '../../src/health/verdict.js';
import type {
  ChainFacts,
  Drain,
  HistoryPoint,
  NodeRecord,
  Store,
  StoreEvent,
  TransitionEntry,
} from '../../src/store/store.js';

export interface StoreUnderTest {
  readonly store: Store;
  /** Deletes whatever the test left behind (the store may already be closed). */
  readonly cleanup: () => Promise<void>;
}

export function sample(nodeId: string, over: Partial<Sample> = {}): Sample {
  return {
    nodeId,
    chain: 'bsc',
    family: 'evm',
    observedAt: 1_700_000_000_000,
    latencyMs: 12,
    ok: true,
    height: 100,
    missingMethods: [],
    ...over,
  };
}

/**
 * A node verdict as the store carries it: just enough of the health core's shape to pass the
 * codec's check (asNodeVerdict); these tests care only that it travels intact.
 */
export function verdict(over: Record<string, unknown> = {}): NodeVerdict {
  return {
    health: { state: 'healthy', streak: 3 },
    stats: { samples: 3 },
    score: { total: 0.9 },
    ...over,
  } as unknown as NodeVerdict;
}

/** A chain report as the store carries it (enough to pass asChainReport; see verdict). */
export function report(chain: string, over: Record<string, unknown> = {}): ChainReport {
  return {
    chain,
    evaluatedAt: 1,
    reference: { height: 41_000_000 },
    selection: { nodeId: 'a', mode: 'normal' },
    ...over,
  } as unknown as ChainReport;
}

export function record(nodeId: string, over: Partial<NodeRecord> = {}): NodeRecord {
  return {
    nodeId,
    chain: 'bsc',
    sample: sample(nodeId),
    health: verdict(),
    replica: 'replica-a',
    writtenAt: 1_700_000_000_100,
    ...over,
  };
}

export const peer = (id: number): PeerDetail => ({
  id,
  addr: `10.0.0.${id}:8333`,
  inbound: id % 2 === 0,
  subver: '/Satoshi:27.0.0/',
});

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The first event matching `match`, or a rejection after `timeoutMs`. */
export function nextEvent<T extends StoreEvent['type']>(
  store: Store,
  type: T,
  match: (e: Extract<StoreEvent, { type: T }>) => boolean = () => true,
  timeoutMs = 2000,
): Promise<Extract<StoreEvent, { type: T }>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no ${type} event within ${timeoutMs} ms`));
    }, timeoutMs);
    const off = store.subscribe((e) => {
      if (e.type === type && match(e as Extract<StoreEvent, { type: T }>)) {
        clearTimeout(timer);
        off();
        resolve(e as Extract<StoreEvent, { type: T }>);
      }
    });
  });
}

/** Polls `check` until it returns true or `timeoutMs` passes. */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 2000,
  what = 'condition',
): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`${what} not met within ${timeoutMs} ms`);
    await sleep(20);
  }
}

const point = (t: number, over: Partial<HistoryPoint> = {}): HistoryPoint => ({
  t,
  ok: true,
  latencyMs: 10 + (t % 7),
  height: t,
  peers: 8,
  ...over,
});

const transition = (at: number, over: Partial<TransitionEntry> = {}): TransitionEntry => ({
  from: 'healthy',
  to: 'unhealthy',
  reasons: [`unauthorized(${at})`],
  at,
  replica: 'replica-a',
  ...over,
});

const TTL = 60_000;

export function storeContract(name: string, make: () => Promise<StoreUnderTest>): void {
  describe(`Store contract: ${name}`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;

    beforeEach(async () => {
      ({ store, cleanup } = await make());
    });

    afterEach(async () => {
      await store.close();
      await cleanup();
    });

    describe('records', () => {
      it('when a sweep is written, then every record reads back as written, and unknown ids are absent', async () => {
        const a = record('a');
        const b = record('b', {
          chain: 'defichain',
          sample: sample('b', {
            chain: 'defichain',
            family: 'bitcoin',
            ok: false,
            error: { code: 'RPC_TIMEOUT', message: 'timed out', transient: true },
          }),
          health: null,
        });
        await store.writeSweep({ records: [a, b] }, TTL);

        const got = await store.getNodes(['a', 'b', 'nope']);
        expect([...got.keys()].sort()).toEqual(['a', 'b']);
        expect(got.get('a')).toEqual(a);
        expect(got.get('b')).toEqual(b);
        expect((await store.getAllNodes()).map((r) => r.nodeId)).toEqual(['a', 'b']);
        expect(await store.getNodes([])).toEqual(new Map());
      });

      it('when a node is written again, then the newer record replaces the older one', async () => {
        await store.writeSweep({ records: [record('a', { writtenAt: 1 })] }, TTL);
        await store.writeSweep({ records: [record('a', { writtenAt: 2, replica: 'replica-b' })] }, TTL);
        const all = await store.getAllNodes();
        expect(all).toHaveLength(1);
        expect(all[0]).toMatchObject({ writtenAt: 2, replica: 'replica-b' });
      });

      it('when a record is not refreshed within its TTL, then it disappears from every read', async () => {
        await store.writeSweep(
          {
            records: [record('stale'), record('stale2')],
            chains: [{ chain: 'bsc', facts: report('bsc'), replica: 'r', writtenAt: 1 }],
            peers: new Map([['stale', [peer(1)]]]),
          },
          150,
        );
        await store.writeSweep({ records: [record('fresh')] }, TTL);
        expect((await store.getAllNodes()).map((r) => r.nodeId)).toEqual(['fresh', 'stale', 'stale2']);

        await sleep(300);
        expect((await store.getAllNodes()).map((r) => r.nodeId)).toEqual(['fresh']);
        expect([...(await store.getNodes(['stale', 'fresh'])).keys()]).toEqual(['fresh']);
        expect(await store.getPeers('stale')).toBeUndefined();
        expect(await store.getChainFacts('bsc')).toBeUndefined();
        // Reading twice (after any lazy pruning) gives the same answer.
        expect((await store.getAllNodes()).map((r) => r.nodeId)).toEqual(['fresh']);
      });

      it('rejects a TTL that is not a positive number of milliseconds', async () => {
        await expect(store.writeSweep({ records: [record('a')] }, 0)).rejects.toThrow(RangeError);
        await expect(store.writeSweep({ records: [record('a')] }, Number.NaN)).rejects.toThrow(RangeError);
        expect(await store.getAllNodes()).toEqual([]);
      });
    });

    describe('peers', () => {
      it('keeps peer lists apart from the record: the stored sample has no peerList', async () => {
        const peersA = [peer(1), peer(2)];
        const peersB = [peer(7)];
        await store.writeSweep(
          {
            records: [
              record('a', { sample: sample('a', { peerList: peersA }) }),
              record('b', { sample: sample('b', { peerList: peersB }) }),
              record('c'),
            ],
            // a: given explicitly; b: only inside its sample, which the store moves to the peers key.
            peers: new Map([['a', peersA]]),
          },
          TTL,
        );
        const got = await store.getNodes(['a', 'b']);
        expect(got.get('a')?.sample).not.toHaveProperty('peerList');
        expect(got.get('b')?.sample).not.toHaveProperty('peerList');
        expect(got.get('a')?.sample).toEqual(sample('a'));
        // Each list says when it was collected: the observedAt of the probe that built it.
        expect(await store.getPeers('a')).toEqual({ peers: peersA, collectedAt: sample('a').observedAt });
        expect(await store.getPeers('b')).toEqual({ peers: peersB, collectedAt: sample('b').observedAt });
        expect(await store.getPeers('c')).toBeUndefined();
      });

      it('keeps the collection time of each list, whatever the record that carried it', async () => {
        const at = 1_700_000_123_456;
        await store.writeSweep(
          {
            records: [record('late', { sample: sample('late', { observedAt: at + 0.75, peerList: [peer(3)] }) })],
          },
          TTL,
        );
        expect(await store.getPeers('late')).toEqual({ peers: [peer(3)], collectedAt: at });
      });
    });

    describe('history', () => {
      it('keeps at most historyLimit (360) points per node, newest first', async () => {
        const first = Array.from({ length: 250 }, (_, i) => ({ nodeId: 'a', point: point(1000 + i) }));
        const second = Array.from({ length: 250 }, (_, i) => ({ nodeId: 'a', point: point(1250 + i) }));
        await store.writeSweep({ records: [], history: first }, TTL);
        await store.writeSweep(
          { records: [], history: [...second, { nodeId: 'b', point: { t: 5, ok: false, latencyMs: 15, peers: 8 } }] },
          TTL,
        );

        const all = await store.getHistory('a', 10_000);
        expect(all).toHaveLength(360);
        expect(all[0]).toEqual(point(1499));
        expect(all[359]).toEqual(point(1140));
        expect(all.map((p) => p.t)).toEqual([...all.map((p) => p.t)].sort((x, y) => y - x));
        expect((await store.getHistory('a', 3)).map((p) => p.t)).toEqual([1499, 1498, 1497]);
        expect(await store.getHistory('b', 10)).toEqual([{ t: 5, ok: false, latencyMs: 15, peers: 8 }]);
        expect(await store.getHistory('a', 0)).toEqual([]);
        expect(await store.getHistory('unknown', 10)).toEqual([]);
      });

      it('orders the points of one sweep by time, whatever order they came in', async () => {
        await store.writeSweep({ records: [], history: [3, 1, 2].map((t) => ({ nodeId: 'a', point: point(t) })) }, TTL);
        expect((await store.getHistory('a', 10)).map((p) => p.t)).toEqual([3, 2, 1]);
      });
    });

    describe('transitions', () => {
      it('keeps at most 50 state changes per node, newest first, apart from other nodes', async () => {
        await store.appendTransitions(
          Array.from({ length: 30 }, (_, i) => ({ nodeId: 'a', transition: transition(1000 + i) })),
        );
        await store.appendTransitions([
          ...Array.from({ length: 30 }, (_, i) => ({ nodeId: 'a', transition: transition(1030 + i) })),
          {
            nodeId: 'b',
            transition: transition(5, { from: 'unknown', to: 'healthy', reasons: [], replica: 'replica-b' }),
          },
        ]);

        const all = await store.getTransitions('a', 1000);
        expect(all).toHaveLength(50);
        expect(all[0]).toEqual(transition(1059));
        expect(all[49]).toEqual(transition(1010));
        expect(all.map((t) => t.at)).toEqual([...all.map((t) => t.at)].sort((x, y) => y - x));
        expect((await store.getTransitions('a', 2)).map((t) => t.at)).toEqual([1059, 1058]);
        expect(await store.getTransitions('b', 10)).toEqual([
          { from: 'unknown', to: 'healthy', reasons: [], at: 5, replica: 'replica-b' },
        ]);
        expect(await store.getTransitions('a', 0)).toEqual([]);
        expect(await store.getTransitions('unknown', 10)).toEqual([]);
        await store.appendTransitions([]);
        expect(await store.getTransitions('a', 1000)).toHaveLength(50);
      });

      it('writes the state changes of a sweep with its records, ordered by time whatever order they came in', async () => {
        await store.writeSweep(
          {
            records: [record('a')],
            transitions: [
              { nodeId: 'a', transition: transition(3, { from: 'degraded', to: 'unhealthy' }) },
              { nodeId: 'a', transition: transition(1, { from: 'new', to: 'healthy', reasons: [] }) },
              {
                nodeId: 'a',
                transition: transition(2, {
                  from: 'healthy',
                  to: 'degraded',
                  reasons: ['lagging(12 blocks, 9s)', 'peers_low(4<13)'],
                }),
              },
            ],
          },
          TTL,
        );
        expect((await store.getNodes(['a'])).get('a')).toEqual(record('a'));
        const got = await store.getTransitions('a', 10);
        expect(got.map((t) => `${t.from}->${t.to}`)).toEqual([
          'degraded->unhealthy',
          'healthy->degraded',
          'new->healthy',
        ]);
        expect(got[1]).toEqual({
          from: 'healthy',
          to: 'degraded',
          reasons: ['lagging(12 blocks, 9s)', 'peers_low(4<13)'],
          at: 2,
          replica: 'replica-a',
        });
        // A later sweep appends in front; one without transitions leaves the log alone.
        await store.writeSweep({ records: [record('a')] }, TTL);
        await store.writeSweep(
          {
            records: [],
            transitions: [
              { nodeId: 'a', transition: transition(4, { from: 'unhealthy', to: 'healthy', reasons: [] }) },
            ],
          },
          TTL,
        );
        expect((await store.getTransitions('a', 10)).map((t) => t.at)).toEqual([4, 3, 2, 1]);
      });

      it("keeps a fleet-wide log of the changes written with a chain: every node, newest first, in the sweep's batches", async () => {
        const nodes = Array.from({ length: 25 }, (_, i) => `n${String(i).padStart(2, '0')}`);
        await store.writeSweep(
          {
            records: nodes.map((id) => record(id)),
            transitions: nodes.map((id, i) => ({
              nodeId: id,
              chain: i % 2 ? 'bsc' : 'defichain',
              transition: transition(100 + i, { from: 'unknown', to: 'healthy', reasons: [] }),
            })),
          },
          TTL,
        );
        await store.appendTransitions([
          { nodeId: 'n03', chain: 'bsc', transition: transition(300) },
          // Without a chain: the node's own log only.
          { nodeId: 'n04', transition: transition(301) },
        ]);
        const fleet = await store.getFleetTransitions(1000);
        expect(fleet).toHaveLength(26);
        expect(fleet[0]).toEqual({ nodeId: 'n03', chain: 'bsc', ...transition(300) });
        expect(fleet.slice(1).map((t) => t.nodeId)).toEqual([...nodes].reverse());
        expect(fleet[1]).toEqual({
          nodeId: 'n24',
          chain: 'defichain',
          from: 'unknown',
          to: 'healthy',
          reasons: [],
          at: 124,
          replica: 'replica-a',
        });
        expect(fleet.map((t) => t.at)).toEqual([...fleet.map((t) => t.at)].sort((x, y) => y - x));
        expect((await store.getFleetTransitions(2)).map((t) => t.at)).toEqual([300, 124]);
        expect(await store.getFleetTransitions(0)).toEqual([]);
        // The per-node logs got theirs as before.
        expect((await store.getTransitions('n04', 10)).map((t) => t.at)).toEqual([301, 104]);
        // History outlives the node: removing it from the config keeps its entries in the fleet log.
        await store.removeNodes(['n03']);
        expect(await store.getTransitions('n03', 10)).toEqual([]);
        expect((await store.getFleetTransitions(1000)).filter((t) => t.nodeId === 'n03')).toHaveLength(2);
      });
    });

    describe('chain facts', () => {
      it('stores facts per chain and returns undefined for a chain without facts', async () => {
        const bsc: ChainFacts = {
          chain: 'bsc',
          facts: report('bsc', { corroboratedBy: 3 }),
          replica: 'replica-a',
          writtenAt: 10,
        };
        const dfi: ChainFacts = {
          chain: 'defichain',
          facts: report('defichain', { reference: { height: 4_100_000 } }),
          replica: 'replica-b',
          writtenAt: 11,
        };
        await store.writeSweep({ records: [], chains: [bsc, dfi] }, TTL);
        expect(await store.getChainFacts('bsc')).toEqual(bsc);
        expect(await store.getChainFacts('defichain')).toEqual(dfi);
        expect(await store.getChainFacts('pai')).toBeUndefined();
      });
    });

    describe('removeNodes', () => {
      it('deletes record, peers and history of the removed nodes only, keeps their drains and leases, and tells everyone', async () => {
        await store.writeSweep(
          {
            records: [record('gone'), record('kept')],
            peers: new Map([
              ['gone', [peer(1)]],
              ['kept', [peer(2)]],
            ]),
            history: [
              { nodeId: 'gone', point: point(1) },
              { nodeId: 'kept', point: point(2) },
            ],
            transitions: [
              { nodeId: 'gone', transition: transition(1) },
              { nodeId: 'kept', transition: transition(2) },
            ],
          },
          TTL,
        );
        await store.setDrain('gone', { nodeId: 'gone', by: 'ops', at: 1 });
        await store.setDrain('kept', { nodeId: 'kept', by: 'ops', at: 2 });
        expect(await store.claimLeases('replica-a', ['gone', 'kept'], TTL, 10)).toEqual(['gone', 'kept']);

        const removed = nextEvent(store, 'nodes-removed');
        await store.removeNodes(['gone']);
        expect((await removed).nodeIds).toEqual(['gone']);

        expect((await store.getAllNodes()).map((r) => r.nodeId)).toEqual(['kept']);
        expect(await store.getNodes(['gone'])).toEqual(new Map());
        expect(await store.getPeers('gone')).toBeUndefined();
        expect(await store.getHistory('gone', 10)).toEqual([]);
        expect(await store.getTransitions('gone', 10)).toEqual([]);
        // A drain is the fleet's decision, not this replica's file's: other replicas may still
        // configure the node, and it comes back drained if it returns to this file (issue 14).
        expect([...(await store.getDrains()).keys()].sort()).toEqual(['gone', 'kept']);
        // Leases are released by their holder (the poller does it before removing): another
        // replica that still polls the node keeps it.
        expect(await store.claimLeases('replica-b', ['gone', 'kept'], TTL, 10)).toEqual([]);
        expect((await store.getPeers('kept'))?.peers).toEqual([peer(2)]);
        expect(await store.getHistory('kept', 10)).toHaveLength(1);
        expect(await store.getTransitions('kept', 10)).toEqual([transition(2)]);
      });
    });

    describe('drains', () => {
      it('persists a drain without TTL, emits a drain event, and clears it with null', async () => {
        const drain: Drain = { nodeId: 'a', by: 'alice', at: 1_700_000_000_000, reason: 'disk full' };
        const set = nextEvent(store, 'drain', (e) => e.drain !== null);
        const fact = await store.setDrain('a', drain);
        expect(fact).toEqual({ nodeId: 'a', drain, version: expect.any(Number) });
        expect(await set).toEqual({ type: 'drain', nodeId: 'a', drain, version: fact.version });
        await store.setDrain('b', { nodeId: 'b', by: 'bob', at: 5 });

        // Records expire; drains are an operator's decision and stay.
        await store.writeSweep({ records: [record('a')] }, 100);
        await sleep(200);
        expect(await store.getAllNodes()).toEqual([]);
        expect(await store.getDrains()).toEqual(
          new Map([
            ['a', drain],
            ['b', { nodeId: 'b', by: 'bob', at: 5 }],
          ]),
        );

        const cleared = nextEvent(store, 'drain', (e) => e.drain === null);
        const undrain = await store.setDrain('a', null);
        expect(await cleared).toEqual({ type: 'drain', nodeId: 'a', drain: null, version: undrain.version });
        expect([...(await store.getDrains()).keys()]).toEqual(['b']);
        // The undrain is kept as a tombstone that outranks the drain it ended.
        expect(undrain.version).toBeGreaterThan(fact.version);
        expect((await store.getDrainFacts()).get('a')).toEqual({ nodeId: 'a', version: undrain.version, drain: null });
      });

      it('versions every decision above the one it replaces, and restores only newer facts', async () => {
        const first = await store.setDrain('a', { nodeId: 'a', by: 'x', at: 1 });
        // A restored fact far in the future (a replica with a fast clock) still loses to the next decision.
        expect(
          await store.restoreDrains([{ nodeId: 'a', version: first.version + 10_000_000, drain: null }]),
        ).toHaveLength(1);
        const next = await store.setDrain('a', { nodeId: 'a', by: 'y', at: 2 });
        expect(next.version).toBe(first.version + 10_000_001);
        expect(await store.restoreDrains([{ nodeId: 'a', version: next.version, drain: null }])).toEqual([]);
        expect((await store.getDrains()).get('a')?.by).toBe('y');
        const written = await store.restoreDrains([
          { nodeId: 'b', version: 7, drain: { nodeId: 'b', by: 'z', at: 7 } },
        ]);
        expect(written).toEqual([{ nodeId: 'b', version: 7, drain: { nodeId: 'b', by: 'z', at: 7 } }]);
        expect((await store.getDrainFacts()).get('b')?.version).toBe(7);
      });

      it('rejects a drain filed under another node id', async () => {
        await expect(store.setDrain('a', { nodeId: 'b', by: 'x', at: 1 })).rejects.toThrow(TypeError);
        expect(await store.getDrains()).toEqual(new Map());
      });
    });

    describe('audit', () => {
      it('keeps the newest auditLimit (1000) entries, newest first', async () => {
        for (let i = 0; i < 1005; i += 1) await store.appendAudit({ action: 'drain', i });
        const all = await store.getAudit(5000);
        expect(all).toHaveLength(1000);
        expect(all[0]).toEqual({ action: 'drain', i: 1004 });
        expect(all[999]).toEqual({ action: 'drain', i: 5 });
        expect(await store.getAudit(2)).toEqual([
          { action: 'drain', i: 1004 },
          { action: 'drain', i: 1003 },
        ]);
        expect(await store.getAudit(0)).toEqual([]);
      });

      it('rejects an entry JSON cannot hold', async () => {
        await expect(store.appendAudit(undefined)).rejects.toThrow(TypeError);
        expect(await store.getAudit(10)).toEqual([]);
      });
    });

    describe('events', () => {
      it('delivers one records event per sweep (without peer lists) and chain events to subscribers', async () => {
        const seen: StoreEvent[] = [];
        store.subscribe((e) => seen.push(e));
        const a = record('a', { sample: sample('a', { peerList: [peer(1)] }) });
        const facts: ChainFacts = {
          chain: 'bsc',
          facts: report('bsc', { evaluatedAt: 9 }),
          replica: 'replica-a',
          writtenAt: 3,
        };
        const chainEvent = nextEvent(store, 'chain');
        const recordsEvent = nextEvent(store, 'records');
        await store.writeSweep({ records: [a, record('b')], chains: [facts] }, TTL);

        const got = await recordsEvent;
        expect(got.records.map((r) => r.nodeId)).toEqual(['a', 'b']);
        expect(got.records[0]?.sample).toEqual(sample('a'));
        expect(got.records[0]?.health).toEqual(a.health);
        expect((await chainEvent).facts).toEqual(facts);
        await sleep(50);
        expect(seen.filter((e) => e.type === 'records')).toHaveLength(1);
      });

      it('delivers published transitions to every subscriber, after publish returns, until they unsubscribe', async () => {
        const transition: StoreEvent = {
          type: 'transition',
          nodeId: 'a',
          chain: 'bsc',
          from: 'healthy',
          to: 'degraded',
          reasons: ['lagging'],
          at: 5,
          replica: 'replica-a',
        };
        const first: StoreEvent[] = [];
        const second: StoreEvent[] = [];
        const offFirst = store.subscribe((e) => first.push(e));
        store.subscribe((e) => second.push(e));
        // A subscriber that throws must not keep the event from the others.
        store.subscribe(() => {
          throw new Error('handler bug');
        });

        const publishing = store.publish(transition);
        expect(first).toEqual([]); // never delivered synchronously inside publish()
        await publishing;
        await eventually(() => first.length === 1 && second.length === 1, 2000, 'delivery');
        expect(first[0]).toEqual(transition);
        expect(second[0]).toEqual(transition);

        offFirst();
        await store.publish({ ...transition, to: 'down' });
        await eventually(() => second.length === 2, 2000, 'second delivery');
        await sleep(50);
        expect(first).toHaveLength(1);
        expect(second[1]).toMatchObject({ to: 'down' });
      });

      it('delivers events in publish order', async () => {
        const ids: string[] = [];
        store.subscribe((e) => {
          if (e.type === 'nodes-removed') ids.push(...e.nodeIds);
        });
        for (let i = 0; i < 20; i += 1) await store.publish({ type: 'nodes-removed', nodeIds: [`n${i}`] });
        await eventually(() => ids.length === 20);
        expect(ids).toEqual(Array.from({ length: 20 }, (_, i) => `n${i}`));
      });
    });

    describe('fenced writes', () => {
      it("writes a node only under its holder's lease: a replica that lost it cannot overwrite the owner", async () => {
        expect(await store.claimLeases('replica-a', ['a', 'b'], 150, 10)).toEqual(['a', 'b']);
        const ownRecords = nextEvent(store, 'records');
        expect(
          await store.writeSweep(
            { records: [record('a', { writtenAt: 1 }), record('b', { writtenAt: 1 })], fence: 'replica-a' },
            TTL,
          ),
        ).toEqual({ fenced: [] });
        expect((await ownRecords).records.map((r) => r.nodeId).sort()).toEqual(['a', 'b']);

        // replica-a stalls past its lease; replica-b takes 'a' over and writes.
        await sleep(250);
        expect(await store.claimLeases('replica-b', ['a'], TTL, 10)).toEqual(['a']);
        await store.writeSweep(
          { records: [record('a', { writtenAt: 5, replica: 'replica-b' })], fence: 'replica-b' },
          TTL,
        );

        // replica-a resumes and flushes what it had buffered: refused for 'a' (another's lease)
        // and 'b' (nobody's), history and transitions included; its event carries nothing.
        const events: string[] = [];
        const off = store.subscribe(
          (e) =>
            e.type === 'records' && events.push(...e.records.filter((r) => r.writtenAt === 2).map((r) => r.nodeId)),
        );
        const result = await store.writeSweep(
          {
            records: [record('a', { writtenAt: 2 }), record('b', { writtenAt: 2 })],
            history: [{ nodeId: 'a', point: point(2) }],
            transitions: [{ nodeId: 'a', transition: transition(2) }],
            peers: new Map([['a', [peer(9)]]]),
            fence: 'replica-a',
          },
          TTL,
        );
        expect([...result.fenced].sort()).toEqual(['a', 'b']);
        expect((await store.getNodes(['a'])).get('a')).toMatchObject({ replica: 'replica-b', writtenAt: 5 });
        expect(await store.getHistory('a', 10)).toEqual([]);
        expect(await store.getTransitions('a', 10)).toEqual([]);
        expect(await store.getPeers('a')).toBeUndefined();
        await sleep(100);
        off();
        expect(events).toEqual([]);

        // Even with the lease back, results older than the stored record are not written.
        await store.releaseLeases('replica-b', ['a']);
        expect(await store.claimLeases('replica-a', ['a'], TTL, 10)).toEqual(['a']);
        const stale = record('a', { writtenAt: 3 });
        const older = await store.writeSweep(
          {
            records: [{ ...stale, sample: { ...stale.sample, observedAt: stale.sample.observedAt - 1_000 } }],
            fence: 'replica-a',
          },
          TTL,
        );
        expect(older).toEqual({ fenced: [], older: ['a'] });
        expect((await store.getNodes(['a'])).get('a')).toMatchObject({ replica: 'replica-b', writtenAt: 5 });
        expect(await store.writeSweep({ records: [record('a', { writtenAt: 6 })], fence: 'replica-a' }, TTL)).toEqual({
          fenced: [],
        });
        expect((await store.getNodes(['a'])).get('a')).toMatchObject({ replica: 'replica-a', writtenAt: 6 });
      });
    });

    describe('leases', () => {
      const nodes = ['n1', 'n2', 'n3', 'n4', 'n5'];

      it('claims free leases up to max, in the order given, and renewing keeps them', async () => {
        expect(await store.claimLeases('A', nodes, TTL, 3)).toEqual(['n1', 'n2', 'n3']);
        // A renews: still its three, max respected, nothing new taken.
        expect(await store.claimLeases('A', nodes, TTL, 3)).toEqual(['n1', 'n2', 'n3']);
        // Raising max takes more.
        expect(await store.claimLeases('A', nodes, TTL, 4)).toEqual(['n1', 'n2', 'n3', 'n4']);
        expect(await store.claimLeases('A', [], TTL, 4)).toEqual([]);
      });

      it('never lets another replica take a lease that is held', async () => {
        expect(await store.claimLeases('A', ['n1', 'n2'], TTL, 10)).toEqual(['n1', 'n2']);
        expect(await store.claimLeases('B', nodes, TTL, 10)).toEqual(['n3', 'n4', 'n5']);
        expect(await store.claimLeases('C', nodes, TTL, 10)).toEqual([]);
        expect(await store.claimLeases('A', nodes, TTL, 10)).toEqual(['n1', 'n2']);
      });

      it('gives up leases held beyond a lowered max, so others can take them', async () => {
        expect(await store.claimLeases('A', nodes, TTL, 5)).toEqual(nodes);
        expect(await store.claimLeases('A', nodes, TTL, 2)).toEqual(['n1', 'n2']);
        expect(await store.claimLeases('B', nodes, TTL, 10)).toEqual(['n3', 'n4', 'n5']);
      });

      it('renewal extends a lease past its first expiry; an expired lease can be taken over', async () => {
        expect(await store.claimLeases('A', ['n1'], 250, 10)).toEqual(['n1']);
        expect(await store.claimLeases('A', ['n2'], 250, 10)).toEqual(['n2']);
        await sleep(150);
        // A renews n1 only.
        expect(await store.claimLeases('A', ['n1'], 250, 10)).toEqual(['n1']);
        await sleep(200); // past the first expiry of both
        expect(await store.claimLeases('B', ['n1', 'n2'], TTL, 10)).toEqual(['n2']);
      });

      it('releasing hands leases over at once and emits leases-released with what was released', async () => {
        expect(await store.claimLeases('A', ['n1', 'n2'], TTL, 10)).toEqual(['n1', 'n2']);
        expect(await store.claimLeases('B', ['n3'], TTL, 10)).toEqual(['n3']);

        const released = nextEvent(store, 'leases-released');
        // n3 is B's: A cannot release it.
        await store.releaseLeases('A', ['n1', 'n2', 'n3']);
        expect(await released).toEqual({ type: 'leases-released', replica: 'A', nodeIds: ['n1', 'n2'] });
        expect(await store.claimLeases('B', ['n1', 'n2', 'n3'], TTL, 10)).toEqual(['n1', 'n2', 'n3']);
        expect(await store.claimLeases('A', ['n1', 'n2', 'n3'], TTL, 10)).toEqual([]);
      });

      it('names as candidates exactly the leases that ended: expired, released, given up over max, or offered and left free', async () => {
        expect(await store.leaseCandidates(100)).toEqual([]);
        expect(await store.claimLeases('A', ['n1'], TTL, 10)).toEqual(['n1']);
        expect(await store.claimLeases('A', ['n2'], 250, 10)).toEqual(['n2']);
        expect(await store.claimLeases('B', ['n3', 'n4', 'n5'], TTL, 2)).toEqual(['n3', 'n4']);
        // n5 was offered and left free (B at its max): a candidate for everyone at once.
        expect(await store.leaseCandidates(100)).toEqual(['n5']);
        // Held leases are not candidates, renewed or not.
        expect(await store.claimLeases('A', ['n1'], TTL, 10)).toEqual(['n1']);
        expect(await store.leaseCandidates(100)).toEqual(['n5']);
        // n2 expires 250 ms after its claim, and only then is it named.
        await sleep(350);
        expect((await store.leaseCandidates(100)).sort()).toEqual(['n2', 'n5']);
        // B gives up n4 (release) and n3 (over a lowered max): both named at once.
        await store.releaseLeases('B', ['n4']);
        expect(await store.claimLeases('B', ['n3'], TTL, 0)).toEqual([]);
        expect((await store.leaseCandidates(100)).sort()).toEqual(['n2', 'n3', 'n4', 'n5']);
        expect(await store.leaseCandidates(2)).toHaveLength(2);
        // Taking a candidate makes it held again: no longer named.
        expect(await store.claimLeases('C', ['n2', 'n3', 'n4', 'n5'], TTL, 10)).toEqual(['n2', 'n3', 'n4', 'n5']);
        expect(await store.leaseCandidates(100)).toEqual([]);
        expect(await store.leaseCandidates(0)).toEqual([]);
      });
    });

    describe('replicas', () => {
      it('lists replicas whose heartbeat has not expired, and leave() removes one at once', async () => {
        await store.heartbeat('r-long', TTL);
        await store.heartbeat('r-short', 150);
        expect(await store.liveReplicas()).toEqual(['r-long', 'r-short']);
        await sleep(300);
        expect(await store.liveReplicas()).toEqual(['r-long']);
        await store.heartbeat('r-short', TTL); // comes back
        expect(await store.liveReplicas()).toEqual(['r-long', 'r-short']);
        await store.leave('r-long');
        expect(await store.liveReplicas()).toEqual(['r-short']);
      });

      it('a short heartbeat of one replica does not cut another one short', async () => {
        await store.heartbeat('r-long', 600);
        await store.heartbeat('r-short', 100);
        await sleep(250);
        expect(await store.liveReplicas()).toEqual(['r-long']);
      });
    });

    describe('rate windows', () => {
      it('counts hits per bucket and window, shared by every caller of the store, and forgets a window after it', async () => {
        const counts: number[] = [];
        for (let i = 0; i < 3; i++) counts.push(await store.countInWindow('rpc:a', 7, 100));
        expect(counts).toEqual([1, 2, 3]);
        expect(await store.countInWindow('rpc:b', 7, 100)).toBe(1);
        expect(await store.countInWindow('rpc:a', 8, 100)).toBe(1);
        await sleep(300);
        expect(await store.countInWindow('rpc:a', 7, 100)).toBe(1);
      });
    });

    describe('health and close', () => {
      it('is connected while open', async () => {
        const h = store.health();
        expect(h.connected).toBe(true);
        expect(h.since).toBeLessThanOrEqual(Date.now());
      });

      it('close() waits for in-flight writes, is safe twice, and later calls reject with STORE_CLOSED', async () => {
        await store.writeSweep({ records: Array.from({ length: 200 }, (_, i) => record(`n${i}`)) }, TTL);
        const writing = store.writeSweep({ records: [record('late')] }, TTL);
        // Several round trips (index, records, pruning): close() must not cut it in the middle.
        const reading = store.getAllNodes();
        const closing = store.close();
        const order: string[] = [];
        await Promise.all([
          writing.then(() => order.push('write')),
          reading.then(() => order.push('read')),
          closing.then(() => order.push('close')),
        ]);
        expect(order).toHaveLength(3);
        expect(order[2]).toBe('close');
        expect((await reading).length).toBeGreaterThanOrEqual(200);
        await expect(store.close()).resolves.toBeUndefined();
        expect(store.health().connected).toBe(false);
        await expect(store.getAllNodes()).rejects.toMatchObject({ code: 'STORE_CLOSED' });
        await expect(store.writeSweep({ records: [record('x')] }, TTL)).rejects.toMatchObject({ code: 'STORE_CLOSED' });
        await expect(store.publish({ type: 'nodes-removed', nodeIds: ['x'] })).rejects.toMatchObject({
          code: 'STORE_CLOSED',
        });
      });
    });
  });
}
