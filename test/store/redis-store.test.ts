import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { createStoreKeys, describeStoreKeys } from '../../src/store/keys.js';
import { pruneIndexScript } from '../../src/store/redis-scripts.js';
import { RedisStore, type RedisStoreOptions } from '../../src/store/redis-store.js';
import type { NodeRecord, StoreEvent } from '../../src/store/store.js';
import fc from 'fast-check';
import { encodeRecord, encodeRecordEntry, encodeRecordsEvent } from '../../src/store/store-codec.js';
import { RedisServer } from '../support/redis-server.js';
import { asRead, nextRecord, STEADY_RECORD, stepArb } from './record-steps.js';
import { eventually, nextEvent, peer, record, report, sleep, storeContract, verdict } from './store-contract.js';

// The shared redis-server of the whole run (test/support/global-setup.js). Each test uses a
// fresh prefix and deletes its keys afterwards; nothing here may FLUSHALL it.
const url = process.env.REDIS_URL!;

const freshPrefix = () => `test-${randomUUID()}`;

async function deleteKeys(prefix: string, redisUrl = url): Promise<void> {
  const admin = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await admin.connect();
    let cursor = '0';
    do {
      const [next, keys] = await admin.scan(cursor, 'MATCH', `{${prefix}}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await admin.del(...keys);
    } while (cursor !== '0');
  } finally {
    admin.disconnect();
  }
}

async function openStore(
  overrides: Partial<RedisStoreOptions> = {},
): Promise<{ store: RedisStore; prefix: string; cleanup: () => Promise<void> }> {
  const prefix = overrides.prefix ?? freshPrefix();
  const store = await RedisStore.connect({ url, prefix, replica: 'replica-test', ...overrides });
  return { store, prefix, cleanup: () => deleteKeys(prefix) };
}

storeContract('redis', openStore);

describe('RedisStore (Redis only)', () => {
  let admin: Redis;
  const opened: Array<{ store: RedisStore; cleanup: () => Promise<void> }> = [];
  const open = async (overrides: Partial<RedisStoreOptions> = {}) => {
    const s = await openStore(overrides);
    opened.push(s);
    return s;
  };

  beforeAll(() => {
    admin = new Redis(url, { maxRetriesPerRequest: 1 });
  });
  afterAll(async () => {
    await admin.quit();
  });
  afterEach(async () => {
    for (const s of opened.splice(0)) {
      await s.store.close();
      await s.cleanup();
    }
  });

  it("when garbage or another version's values sit under the prefix, then reads skip them and warn once per key", async () => {
    const warnings: Array<{ msg: string; data?: object }> = [];
    const { store, prefix } = await open({
      onWarning: (msg, data) => warnings.push({ msg, ...(data ? { data } : {}) }),
    });
    const k = createStoreKeys(prefix);
    await store.writeSweep(
      { records: [record('good')], history: [{ nodeId: 'good', point: { t: 1, ok: true, latencyMs: 3 } }] },
      60_000,
    );
    await admin.set(k.node('garbage'), 'not json {');
    await admin.set(k.node('future'), JSON.stringify({ v: 2, nodeId: 'future', everything: 'different' }));
    await admin.set(k.node('array'), '[1,2,3]');
    await admin.set(
      k.node('impostor'),
      JSON.stringify({ ...JSON.parse((await admin.get(k.node('good')))!), nodeId: 'someone-else' }),
    );
    await admin.sadd(k.nodeIndex, 'garbage', 'future', 'array', 'impostor');
    await admin.set(k.peers('good'), '{"v":1,"peers":"nope"}');
    await admin.lpush(k.history('good'), 'garbage');
    await store.appendTransitions([
      { nodeId: 'good', transition: { from: 'new', to: 'healthy', reasons: [], at: 1, replica: 'r' } },
    ]);
    await admin.lpush(
      k.transitions('good'),
      'garbage',
      JSON.stringify({ v: 1, from: 'healthy', to: 'degraded', reasons: 'not a list', at: 2, replica: 'r' }),
    );
    await admin.hset(k.drains, 'x', '{"v":9}');
    await admin.set(k.chain('bsc'), 'null');
    await admin.lpush(k.audit, '{"v":1,"at":1,"entry":{"ok":true}}', 'garbage');

    expect((await store.getAllNodes()).map((r) => r.nodeId)).toEqual(['good']);
    expect([...(await store.getNodes(['good', 'garbage', 'future', 'impostor'])).keys()]).toEqual(['good']);
    expect(await store.getPeers('good')).toBeUndefined();
    expect((await store.getHistory('good', 10)).map((p) => p.t)).toEqual([1]);
    expect(await store.getTransitions('good', 10)).toEqual([
      { from: 'new', to: 'healthy', reasons: [], at: 1, replica: 'r' },
    ]);
    expect(await store.getDrains()).toEqual(new Map());
    expect(await store.getChainFacts('bsc')).toBeUndefined();
    expect(await store.getAudit(10)).toEqual([{ ok: true }]);

    const warnedKeys = warnings.map((w) => (w.data as { key?: string } | undefined)?.key);
    for (const key of [
      k.node('garbage'),
      k.node('future'),
      k.node('array'),
      k.node('impostor'),
      k.peers('good'),
      k.history('good'),
      k.transitions('good'),
      k.chain('bsc'),
      k.audit,
    ]) {
      expect(warnedKeys).toContain(key);
    }
    expect(warnings.find((w) => (w.data as { key?: string }).key === k.node('future'))?.data).toMatchObject({
      reason: 'unknown format version 2',
    });

    // Once: reading again adds no warnings.
    const count = warnings.length;
    await store.getAllNodes();
    await store.getPeers('good');
    await store.getTransitions('good', 10);
    expect(warnings).toHaveLength(count);
  });

  it('when an invalid message arrives on the events channel, then it is ignored with a warning and later events still arrive', async () => {
    const warnings: string[] = [];
    const { store } = await open({ onWarning: (msg) => warnings.push(msg) });
    const seen: StoreEvent[] = [];
    store.subscribe((e) => seen.push(e));
    await admin.publish(store.keys.events, 'garbage');
    await admin.publish(store.keys.events, JSON.stringify({ v: 1, type: 'records', records: [{ v: 1, nodeId: 5 }] }));
    await admin.publish(store.keys.events, JSON.stringify({ v: 2, type: 'nodes-removed', nodeIds: ['a'] }));
    await store.publish({ type: 'nodes-removed', nodeIds: ['after'] });
    await eventually(() => seen.length === 1);
    expect(seen).toEqual([{ type: 'nodes-removed', nodeIds: ['after'] }]);
    expect(warnings.filter((w) => w === 'store ignored an invalid event')).toHaveLength(3);
  });

  it('prunes the index entry of an expired record on read, but keeps one that was written again', async () => {
    const { store } = await open();
    await store.writeSweep({ records: [record('a'), record('b')] }, 100);
    await sleep(200);
    await store.writeSweep({ records: [record('b')] }, 60_000);
    expect((await store.getAllNodes()).map((r) => r.nodeId)).toEqual(['b']);
    expect((await admin.smembers(store.keys.nodeIndex)).sort()).toEqual(['b']);
    // The race the script closes: an id read as missing whose record was written since is kept.
    expect(await pruneIndexScript.run(admin, [store.keys.nodeIndex, store.keys.node('b')], ['b'])).toBe(0);
    expect(await admin.sismember(store.keys.nodeIndex, 'b')).toBe(1);
  });

  it('writes a sweep of 5,000 nodes in batches of 1,000: every record readable, one records event per batch', async () => {
    const { store } = await open();
    const batches: number[] = [];
    store.subscribe((e) => {
      if (e.type === 'records') batches.push(e.records.length);
    });
    const records = Array.from({ length: 5000 }, (_, i) => record(`node-${String(i).padStart(4, '0')}`));
    const history = records.map((r) => ({ nodeId: r.nodeId, point: { t: 1, ok: true, latencyMs: 5 } }));
    const started = Date.now();
    await store.writeSweep({ records, history, peers: new Map([['node-0001', [peer(1)]]]) }, 60_000);
    const elapsed = Date.now() - started;

    const all = await store.getAllNodes();
    expect(all).toHaveLength(5000);
    expect(all[4999]).toEqual(records[4999]);
    expect(await store.getHistory('node-4321', 5)).toHaveLength(1);
    await eventually(() => batches.length === 5, 3000, 'five records events');
    expect(batches).toEqual([1000, 1000, 1000, 1000, 1000]);
    // One round trip per node would take far longer on a real socket; a few pipelines do not.
    expect(elapsed).toBeLessThan(5000);
  });

  it('when skipOwnRecords is set, then its own records echo is not delivered back, while other replicas get it', async () => {
    const a = await open({ replica: 'writer', skipOwnRecords: true });
    const b = await open({ prefix: a.prefix, replica: 'reader' });
    const seenByA: string[] = [];
    const seenByB: string[] = [];
    a.store.subscribe((e) => e.type === 'records' && seenByA.push(...e.records.map((r) => r.nodeId)));
    b.store.subscribe((e) => e.type === 'records' && seenByB.push(...e.records.map((r) => r.nodeId)));
    await a.store.writeSweep({ records: [record('mine')] }, 60_000);
    await b.store.writeSweep({ records: [record('theirs')] }, 60_000);
    await eventually(() => seenByB.length === 2 && seenByA.length === 1, 3000, 'events delivered');
    expect(seenByA).toEqual(['theirs']);
    expect(seenByB.sort()).toEqual(['mine', 'theirs']);
  });

  it('records feed: a steady node travels as its change, every receiver rebuilds the exact record, and one that missed the base reads it whole', async () => {
    const a = await open({ replica: 'writer', skipOwnRecords: true });
    const b = await open({ prefix: a.prefix, replica: 'reader' });
    const got: NodeRecord[] = [];
    b.store.subscribe((e) => e.type === 'records' && got.push(...e.records));
    const messages: string[] = [];
    const tap = admin.duplicate();
    await tap.subscribe(createStoreKeys(a.prefix).events);
    tap.on('message', (_c: string, m: string) => messages.push(m));
    try {
      const health = {
        health: { state: 'healthy', reasons: [], usableSince: null },
        stats: { samples: 1, outcomes: [true], ewma: 12.5 },
        score: { total: 0.9, parts: { latency: { detail: '12ms average' } } },
        probing: { mode: 'interval', delayMs: 2000 },
      };
      const at = (i: number) => 1_700_000_000_000 + i * 2000;
      const rec = (i: number, over: Partial<NodeRecord> = {}) =>
        record('n1', {
          sample: { ...record('n1').sample, observedAt: at(i), latencyMs: 10 + i, height: 100 + i },
          writtenAt: at(i) + 1,
          replica: 'writer',
          health: verdict({
            ...health,
            stats: { ...health.stats, samples: i, outcomes: Array.from({ length: i }, () => true) },
          }),
          ...over,
        });
      const written = [
        rec(1),
        rec(2),
        rec(3, { health: verdict({ ...health, health: { state: 'degraded', reasons: ['lag'], usableSince: at(3) } }) }),
        rec(4, { health: verdict({ ...health, probing: undefined }) }),
      ];
      for (const r of written) {
        await a.store.writeSweep({ records: [r] }, 60_000);
        await eventually(
          () => got.length === written.indexOf(r) + 1,
          3000,
          `record ${written.indexOf(r) + 1} delivered`,
        );
      }
      // Exact: the same JSON as the record written (nulls, removed keys and arrays included).
      expect(got).toEqual(written.map((r) => JSON.parse(JSON.stringify(r))));
      await eventually(() => messages.length === 4, 3000, 'four messages on the channel');
      expect(messages[0]).toContain('"records":[{"v":1');
      expect(messages[1]).toContain('"c":1');
      expect(messages[1]!.length).toBeLessThan(messages[0]!.length);

      // A receiver that joins now holds no base: it reads the record whole from the store.
      const late = await open({ prefix: a.prefix, replica: 'late' });
      const lateGot: NodeRecord[] = [];
      late.store.subscribe((e) => e.type === 'records' && lateGot.push(...e.records));
      const fifth = rec(5);
      await a.store.writeSweep({ records: [fifth] }, 60_000);
      await eventually(() => lateGot.length === 1 && got.length === 5, 3000, 'fifth record delivered to both');
      expect(messages.at(-1)).toContain('"c":1');
      expect(lateGot[0]).toEqual(JSON.parse(JSON.stringify(fifth)));
      expect(got[4]).toEqual(lateGot[0]);

      // Another writer's record in between: the first writer's next one goes whole, never onto a base receivers may not hold.
      await b.store.writeSweep({ records: [rec(6, { replica: 'reader', writtenAt: at(6) + 2 })] }, 60_000);
      await eventually(() => lateGot.length === 2, 3000, "the other writer's record");
      await eventually(
        () => (a.store as unknown as { held: Map<string, NodeRecord> }).held.get('n1')?.replica === 'reader',
        3000,
        'the writer heard it',
      );
      await a.store.writeSweep({ records: [rec(7)] }, 60_000);
      await eventually(() => lateGot.length === 3 && got.length === 7, 3000, 'seventh record delivered');
      expect(messages.at(-1)).toContain('"records":[{"v":1');
      expect(lateGot[2]).toEqual(JSON.parse(JSON.stringify(rec(7))));
    } finally {
      await tap.quit();
    }
  });

  it('when a burst of events arrives at once, then they are taken in over many turns of the event loop, in order; past receiveQueueMaxChars the backlog is dropped with one warning and the nodes are read whole', async () => {
    const nodes = Array.from({ length: 100 }, (_, i) => `burst-${i}`);
    const rec = (id: string, step: number) =>
      record(id, {
        sample: { ...record(id).sample, observedAt: 1_700_000_000_000 + step * 1000, height: 100 + step },
        writtenAt: 1_700_000_000_001 + step * 1000,
        replica: 'writer',
      });
    const events = (steps: number) =>
      Array.from({ length: steps }, (_, step) =>
        encodeRecordsEvent(
          nodes.map((id) => encodeRecord(rec(id, step + 1))),
          'writer',
        ),
      );
    const keys = (prefix: string) => createStoreKeys(prefix);
    /** Publishes `burst` while this process's event loop is held, so the subscriber finds them all in its socket at once. */
    const publishHeld = async (channel: string, burst: readonly string[]) => {
      const p = admin.pipeline();
      for (const m of burst) p.publish(channel, m);
      const sent = p.exec();
      const until = Date.now() + 300;
      while (Date.now() < until) {
        // held: Redis delivers meanwhile, nothing here reads it
      }
      await sent;
    };

    // A slice of 0 ms: one event per turn, so the turns count the events taken in one by one.
    const reader = await open({ replica: 'reader', receiveSliceMs: 0 });
    const got: Array<{ id: string; height: number; turn: number }> = [];
    let turns = 0;
    let ticking = true;
    const tick = () => {
      turns++;
      if (ticking) setImmediate(tick);
    };
    reader.store.subscribe((e) => {
      if (e.type === 'records')
        for (const r of e.records) got.push({ id: r.nodeId, height: r.sample.height!, turn: turns });
    });
    const burst = events(40);
    setImmediate(tick);
    await publishHeld(keys(reader.prefix).events, burst);
    await eventually(() => got.length === 40 * nodes.length, 10_000, 'the whole burst taken in');
    ticking = false;
    // In order: each node's records arrive by step.
    for (const id of nodes) {
      const heights = got.filter((g) => g.id === id).map((g) => g.height);
      expect(heights).toEqual(Array.from({ length: 40 }, (_, i) => 101 + i));
    }
    // One event per turn: each event's records share a turn, and no two events do. Dispatched
    // as ioredis hands them over, a socket read's events (here, most of the burst) shared one.
    for (let step = 0; step < 40; step++) {
      const turnsOfStep = new Set(got.filter((g) => g.height === 101 + step).map((g) => g.turn));
      expect(turnsOfStep.size).toBe(1);
    }
    expect(new Set(got.map((g) => g.turn)).size).toBe(40);

    // A replica that cannot keep up: the queue is bounded, the backlog dropped once with a warning.
    const warnings: Array<{ msg: string; data?: object }> = [];
    const small = await open({
      replica: 'small',
      receiveQueueMaxChars: burst[0]!.length * 5,
      onWarning: (msg, data) => warnings.push({ msg, ...(data ? { data } : {}) }),
    });
    const writer = await open({ prefix: small.prefix, replica: 'writer', skipOwnRecords: true });
    const latest = new Map<string, number>();
    small.store.subscribe((e) => {
      if (e.type === 'records') for (const r of e.records) latest.set(r.nodeId, r.sample.height!);
    });
    await publishHeld(keys(small.prefix).events, events(40));
    await eventually(() => warnings.some((w) => /dropped events/.test(w.msg)), 5000, 'the overflow warned');
    expect(warnings.filter((w) => /dropped events/.test(w.msg))).toHaveLength(1);
    // The writer's next records travel as changes onto bases the small replica may have dropped:
    // it reads those nodes whole, and holds every node's latest record.
    await writer.store.writeSweep({ records: nodes.map((id) => rec(id, 41)) }, 60_000);
    await writer.store.writeSweep({ records: nodes.map((id) => rec(id, 42)) }, 60_000);
    await eventually(() => nodes.every((id) => latest.get(id) === 142), 5000, 'every node at its latest record');
  });

  it('compact feed on real Redis: random record sequences travel as format-2 changes, every receiver holds exactly the records written, and one that missed an entry reads the record whole', async () => {
    const a = await open({ replica: 'writer', skipOwnRecords: true });
    const b = await open({ prefix: a.prefix, replica: 'reader' });
    const got = new Map<string, NodeRecord[]>();
    b.store.subscribe((e) => {
      if (e.type === 'records') for (const r of e.records) got.set(r.nodeId, [...(got.get(r.nodeId) ?? []), r]);
    });
    const messages: string[] = [];
    const tap = admin.duplicate();
    await tap.subscribe(createStoreKeys(a.prefix).events);
    tap.on('message', (_c: string, m: string) => messages.push(m));
    const held = (b.store as unknown as { held: Map<string, NodeRecord> }).held;
    try {
      const sequences = fc.sample(fc.array(stepArb, { minLength: 3, maxLength: 6 }), { numRuns: 8, seed: 16 });
      for (const [n, steps] of sequences.entries()) {
        const nodeId = `n${n}`;
        let prev = { ...STEADY_RECORD, nodeId, sample: { ...STEADY_RECORD.sample, nodeId }, replica: 'writer' };
        const written: NodeRecord[] = [prev];
        for (const step of steps) written.push((prev = nextRecord(prev, step, 'writer')));
        for (const [i, r] of written.entries()) {
          // The second-to-last entry is missed: the receiver still holds the one before it.
          const missed = i === written.length - 1 ? held.get(nodeId) : undefined;
          if (missed !== undefined) held.set(nodeId, asRead(written[i - 2]!));
          await a.store.writeSweep({ records: [r] }, 60_000);
          await eventually(() => (got.get(nodeId)?.length ?? 0) === i + 1, 3000, `${nodeId} record ${i + 1}`);
          expect(got.get(nodeId)![i]).toEqual(asRead(r));
        }
      }
      await eventually(() => messages.length >= 8 * 4, 3000, 'every message tapped');
      const entries = messages.flatMap((m) => (JSON.parse(m) as { records: Array<Record<string, unknown>> }).records);
      const compact = entries.filter((e) => e['f'] === 2);
      expect(compact.length).toBeGreaterThan(entries.length / 2);
      // A format-1 receiver reads each as a change of the empty replica's record: one it never holds.
      expect(compact.every((e) => (e['base'] as unknown[])[2] === '')).toBe(true);
    } finally {
      await tap.quit();
    }
  });

  it('mixed versions: a format-1 change (an older writer) is applied, a format this receiver does not know makes it read the record whole, never apply it', async () => {
    const b = await open({ replica: 'reader' });
    const k = createStoreKeys(b.prefix);
    const got: NodeRecord[] = [];
    b.store.subscribe((e) => e.type === 'records' && got.push(...e.records));
    const first = { ...STEADY_RECORD, replica: 'old-writer' } as NodeRecord;
    const step = fc.sample(stepArb, { numRuns: 1, seed: 5 })[0]!;
    const second = nextRecord(first, step, 'old-writer');
    const third = nextRecord(second, step, 'old-writer');
    // As an older writer does: the record whole in the store, its change (format 1) on the channel.
    const publish = async (r: NodeRecord, entry: string) => {
      await admin.set(k.node(r.nodeId), encodeRecord(r), 'PX', 60_000);
      await admin.publish(k.events, encodeRecordsEvent([entry], 'old-writer'));
    };
    await publish(first, encodeRecord(first));
    await eventually(() => got.length === 1, 3000, 'first record');
    await publish(second, encodeRecordEntry(second, encodeRecord(second), first));
    await eventually(() => got.length === 2, 3000, 'second record, from its format-1 change');
    expect(got[1]).toEqual(asRead(second));
    // A newer writer's format, unknown here: never applied; the record is read whole from the store.
    const future = encodeRecordEntry(third, encodeRecord(third), second, 'old-writer').replace('"f":2', '"f":3');
    expect(future).toContain('"f":3');
    await publish(third, future.replace(/"patch":\{.*\}\}$/, '"patch":{"$0":"garbage"}}'));
    await eventually(() => got.length === 3, 3000, 'third record, read whole');
    expect(got[2]).toEqual(asRead(third));
  });

  it('fenced writes trim a history every few points, not every point: reads still get at most historyLimit, newest first, and the list keeps its TTL', async () => {
    const { store, prefix } = await open({ replica: 'w1', historyLimit: 20 });
    const k = createStoreKeys(prefix);
    expect(await store.claimLeases('w1', ['n1'], 60_000, 10)).toEqual(['n1']);
    let t = 0;
    for (let sweep = 0; sweep < 30; sweep++) {
      const history = Array.from({ length: 1 + (sweep % 3) }, () => ({
        nodeId: 'n1',
        point: { t: ++t, ok: true, latencyMs: 1 },
      }));
      await store.writeSweep({ records: [record('n1', { replica: 'w1' })], history, fence: 'w1' }, 60_000);
      const len = await admin.llen(k.history('n1'));
      expect(len).toBeLessThan(20 + 8);
      expect(await admin.pttl(k.history('n1'))).toBeGreaterThan(0);
    }
    const read = await store.getHistory('n1', 1000);
    expect(read.map((p) => p.t)).toEqual(Array.from({ length: 20 }, (_, i) => t - i));
  });

  it('epoch: created once, the same for every replica, and new after the data is lost', async () => {
    const a = await open();
    const b = await open({ prefix: a.prefix, replica: 'other' });
    const first = await a.store.epoch();
    expect(first.created).toBe(true);
    expect(await b.store.epoch()).toEqual({ epoch: first.epoch, created: false });
    await admin.del(`{${a.prefix}}:epoch`);
    const after = await b.store.epoch();
    expect(after.created).toBe(true);
    expect(after.epoch).not.toBe(first.epoch);
  });

  it("restoreDrains writes back only facts newer than the store's (or missing), and announces them", async () => {
    const { store } = await open();
    const events: string[] = [];
    store.subscribe((e) => e.type === 'drain' && events.push(e.nodeId));
    const kept = await store.setDrain('kept', { nodeId: 'kept', by: 'newer', at: 2 });
    const undrained = await store.setDrain('undone', null);
    const written = await store.restoreDrains([
      { nodeId: 'kept', version: kept.version - 1, drain: { nodeId: 'kept', by: 'older', at: 1 } },
      { nodeId: 'lost', version: 5, drain: { nodeId: 'lost', by: 'ops', at: 1, reason: 'disk swap' } },
      { nodeId: 'undone', version: undrained.version + 1, drain: { nodeId: 'undone', by: 'ops', at: 3 } },
    ]);
    expect(written.map((f) => f.nodeId)).toEqual(['lost', 'undone']);
    const drains = await store.getDrains();
    expect(drains.get('kept')?.by).toBe('newer');
    expect(drains.get('lost')).toEqual({ nodeId: 'lost', by: 'ops', at: 1, reason: 'disk swap' });
    expect((await store.getDrainFacts()).get('undone')).toEqual({
      nodeId: 'undone',
      version: undrained.version + 1,
      drain: { nodeId: 'undone', by: 'ops', at: 3 },
    });
    await eventually(() => events.includes('lost'), 3000, 'drain event');
  });

  it('caps each transition log at transitionLimit and expires it transitionTtlMs after the last append', async () => {
    const { store } = await open({ transitionLimit: 2, transitionTtlMs: 600_000 });
    const t = (at: number) => ({
      nodeId: 'a',
      transition: { from: 'healthy', to: 'degraded', reasons: [], at, replica: 'r' },
    });
    await store.appendTransitions([t(1), t(2), t(3)]);
    const key = store.keys.transitions('a');
    expect(await admin.llen(key)).toBe(2);
    const ttl = await admin.pttl(key);
    expect(ttl).toBeGreaterThan(590_000);
    expect(ttl).toBeLessThanOrEqual(600_000);
    expect((await store.getTransitions('a', 10)).map((x) => x.at)).toEqual([3, 2]);
  });

  it("writes the fleet-wide log in each batch's pipeline, capped at fleetTransitionLimit, expiring transitionTtlMs after the last push", async () => {
    const { store } = await open({ fleetTransitionLimit: 15, transitionTtlMs: 600_000, sweepBatchSize: 10 });
    const ids = Array.from({ length: 35 }, (_, i) => `n${i}`);
    await store.writeSweep(
      {
        records: ids.map((id) => record(id)),
        transitions: ids.map((id, i) => ({
          nodeId: id,
          chain: 'bsc',
          transition: { from: 'unknown', to: 'healthy', reasons: [], at: i, replica: 'r' },
        })),
      },
      60_000,
    );
    const key = store.keys.fleetTransitions;
    expect(key.startsWith(store.keys.tag)).toBe(true);
    expect(await admin.llen(key)).toBe(15);
    const ttl = await admin.pttl(key);
    expect(ttl).toBeGreaterThan(590_000);
    expect(ttl).toBeLessThanOrEqual(600_000);
    // Batches go out in order: the newest 15 of all 35 survive the cap.
    expect((await store.getFleetTransitions(100)).map((t) => t.at)).toEqual(
      Array.from({ length: 15 }, (_, i) => 34 - i),
    );
  });

  it('puts every key it writes under the one hash tag, each matching the documented layout', async () => {
    const { store, prefix } = await open();
    await store.writeSweep(
      {
        records: [record('a')],
        peers: new Map([['a', [peer(1)]]]),
        history: [{ nodeId: 'a', point: { t: 1, ok: true, latencyMs: 1 } }],
        chains: [{ chain: 'bsc', facts: report('bsc'), replica: 'r', writtenAt: 1 }],
        transitions: [
          { nodeId: 'a', chain: 'bsc', transition: { from: 'new', to: 'healthy', reasons: [], at: 1, replica: 'r' } },
        ],
      },
      60_000,
    );
    await store.setDrain('a', { nodeId: 'a', by: 'ops', at: 1 });
    await store.appendAudit({ did: 'drain' });
    await store.claimLeases('r', ['a'], 60_000, 1);
    await store.heartbeat('r', 60_000);
    await store.epoch();
    await store.probe('r');
    expect(await store.countInWindow('rpc:abc', 5, 60_000)).toBe(1);
    const ratePttl = await admin.pttl(store.keys.rate('rpc:abc', 5));
    expect(ratePttl).toBeGreaterThan(110_000);
    expect(ratePttl).toBeLessThanOrEqual(120_000);

    const docs = describeStoreKeys(prefix).filter((d) => d.type !== 'channel' && d.type !== 'route');
    // The events route names a slot for PUBLISH on a cluster; it is never written.
    expect(await admin.exists(store.keys.eventsRoute)).toBe(0);
    const patterns = docs.map((d) => ({
      ...d,
      re: new RegExp(`^${d.pattern.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/<[a-zA-Z]+>/g, '.+')}$`),
    }));
    const keys = (await admin.keys(`{${prefix}}:*`)).sort();
    expect(keys).toHaveLength(docs.length);
    for (const key of keys) {
      expect(key.startsWith(`{${prefix}}:`)).toBe(true);
      const doc = patterns.find((p) => p.re.test(key));
      expect(doc).toBeDefined();
      expect(await admin.type(key)).toBe(doc?.type);
    }
  });

  it('when a fenced write goes through but its announcement is refused (ACL without PUBLISH), then the sweep resolves, the store warns once per outage without the password, and replicas catch up from the next announced write', async () => {
    const server = await RedisServer.start();
    const setup = new Redis(server.url, { maxRetriesPerRequest: 1 });
    const prefix = freshPrefix();
    const warnings: string[] = [];
    const stores: RedisStore[] = [];
    try {
      await setup.call('ACL', 'SETUSER', 'writer', 'on', '>s3cret-pw', '~*', '&*', '+@all', '-publish');
      const writer = await RedisStore.connect({
        url: server.url.replace('redis://', 'redis://writer:s3cret-pw@'),
        prefix,
        replica: 'w',
        onWarning: (msg, data) => warnings.push(`${msg} ${JSON.stringify(data)}`),
      });
      stores.push(writer);
      const listener = await RedisStore.connect({ url: server.url, prefix, replica: 'l' });
      stores.push(listener);
      const heard: number[] = [];
      listener.subscribe((e) => {
        if (e.type === 'records') heard.push(...e.records.map((r) => r.writtenAt));
      });
      expect(await writer.claimLeases('w', ['a'], 60_000, 1)).toEqual(['a']);
      const write = (writtenAt: number) =>
        writer.writeSweep(
          {
            records: [record('a', { writtenAt, replica: 'w' })],
            transitions: [
              {
                nodeId: 'a',
                chain: 'bsc',
                transition: { from: 'new', to: 'healthy', reasons: [], at: writtenAt, replica: 'w' },
              },
            ],
            fence: 'w',
          },
          60_000,
        );
      await expect(write(1)).resolves.toEqual({ fenced: [] });
      await expect(write(2)).resolves.toEqual({ fenced: [] });
      // Written once each (a sweep retried for its announcement would push its transitions twice).
      expect((await listener.getNodes(['a'])).get('a')).toMatchObject({ writtenAt: 2 });
      expect((await listener.getTransitions('a', 10)).map((t) => t.at)).toEqual([2, 1]);
      const refused = warnings.filter((w) => w.includes('could not announce'));
      expect(refused).toHaveLength(1);
      expect(refused[0]).toMatch(/NOPERM/);
      expect(warnings.join('\n')).not.toContain('s3cret-pw');
      await sleep(100);
      expect(heard).toEqual([]);

      // Allowed again: the next write's change names a base the listener never heard, so it
      // reads that record whole from Redis and serves it.
      await setup.call('ACL', 'SETUSER', 'writer', '+publish');
      await write(3);
      await eventually(() => heard.includes(3), 2000, 'the next write heard');
      expect(heard).toEqual([3]);

      // A second outage is reported again (once per outage, not once per process).
      await setup.call('ACL', 'SETUSER', 'writer', '-publish');
      await expect(write(4)).resolves.toEqual({ fenced: [] });
      await expect(write(5)).resolves.toEqual({ fenced: [] });
      expect(warnings.filter((w) => w.includes('could not announce'))).toHaveLength(2);
    } finally {
      for (const s of stores) await s.close();
      setup.disconnect();
      await server.close();
    }
  });

  it('when Redis cannot be reached, then connect() rejects with STORE_UNAVAILABLE in time and leaves nothing open', async () => {
    const server = await RedisServer.start();
    const deadUrl = server.url;
    await server.close();
    const started = Date.now();
    await expect(
      RedisStore.connect({ url: deadUrl, prefix: freshPrefix(), replica: 'r', reconnectMaxDelayMs: 50 }, 300),
    ).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('rejects bad options without echoing the URL', () => {
    const base = { prefix: freshPrefix(), replica: 'r' };
    expect(() => new RedisStore(base)).toThrow(/exactly one of url, cluster, sentinel/);
    expect(() => new RedisStore({ ...base, url, cluster: { nodes: [] } })).toThrow(/exactly one/);
    expect(() => new RedisStore({ ...base, url: 'redis://:hunter2-secret@exa mple:6379' })).toThrow(TypeError);
    try {
      new RedisStore({ ...base, url: 'http://:hunter2-secret@example:6379' });
    } catch (err) {
      expect(String((err as Error).message)).not.toContain('hunter2');
    }
    expect(() => new RedisStore({ ...base, url, prefix: 'has{brace}' })).toThrow(/invalid store prefix/);
    expect(() => new RedisStore({ ...base, url, historyLimit: 0 })).toThrow(RangeError);
    expect(() => new RedisStore({ ...base, url, replica: '' })).toThrow(/replica/);
  });
});

describe('RedisStore when Redis goes away and comes back', () => {
  const password = 'hunter2-correct-horse';
  let server: RedisServer;
  let store: RedisStore | undefined;

  beforeAll(async () => {
    server = await RedisServer.start({ password });
  });
  afterAll(async () => {
    await store?.close();
    await server.close();
  });

  it('rejects fast with STORE_UNAVAILABLE while down, reports it in health(), and recovers writes and events after restart', async () => {
    const warnings: string[] = [];
    store = new RedisStore({
      url: server.url,
      prefix: freshPrefix(),
      replica: 'outage',
      reconnectMaxDelayMs: 200,
      commandTimeoutMs: 1000,
      onWarning: (msg, data) => warnings.push(`${msg} ${JSON.stringify(data)}`),
    });
    await store.ready();
    const s = store;
    const seen: StoreEvent[] = [];
    s.subscribe((e) => seen.push(e));
    await s.writeSweep({ records: [record('a')] }, 60_000);
    await eventually(() => seen.length === 1);

    await server.stop();
    await eventually(() => !s.health().connected, 3000, 'disconnected');
    const down = s.health();
    expect(down.connected).toBe(false);
    expect(down.lastError).toBeDefined();

    for (const call of [
      () => s.getAllNodes(),
      () => s.writeSweep({ records: [record('a')] }, 60_000),
      () => s.publish({ type: 'nodes-removed', nodeIds: ['x'] }),
      () => s.claimLeases('outage', ['a'], 1000, 1),
    ]) {
      const started = Date.now();
      const err = await call().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(Date.now() - started).toBeLessThan(250);
      expect(err).toMatchObject({ code: 'STORE_UNAVAILABLE', transient: true });
      expect(String((err as Error).message)).not.toContain(password);
    }

    // Reconnect attempts fail and say why.
    await eventually(() => /ECONNREFUSED/.test(s.health().lastError ?? ''), 3000, 'lastError names the refusal');
    expect(s.health().connected).toBe(false);

    await server.restart();
    await eventually(() => s.health().connected, 5000, 'reconnected');
    expect(s.health().since).toBeGreaterThanOrEqual(down.since);
    // Persistence is off: the restarted server is empty; the next sweep repopulates it.
    await s.writeSweep({ records: [record('b')] }, 60_000);
    expect((await s.getAllNodes()).map((r) => r.nodeId)).toEqual(['b']);
    await eventually(() => seen.length === 2, 2000, 'event after restart');
    expect(seen[1]).toMatchObject({ type: 'records', records: [{ nodeId: 'b' }] });
    const removed = nextEvent(s, 'nodes-removed');
    await s.publish({ type: 'nodes-removed', nodeIds: ['z'] });
    expect((await removed).nodeIds).toEqual(['z']);

    // Nothing the store said (errors, warnings, health) carries the password.
    expect(JSON.stringify(s.health())).not.toContain(password);
    expect(warnings.join('\n')).not.toContain(password);
    expect(warnings.length).toBeGreaterThan(0);
  });
});
