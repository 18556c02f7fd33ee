import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import type { SimNodeSpec } from '../../src/simulator/sim-node-spec.js';
import { Simulator } from '../../src/simulator/simulator.js';
import { RedisServer } from '../support/redis-server.js';
import { http, startReplica, type ReplicaProcess } from '../support/replica-process.js';
import { sleep, until } from '../support/wait.js';

// Issue 14, cases 1-4: operator state on a fleet of two real replicas (`node dist/cli.js serve`,
// each with its own nodes file) sharing one private redis-server, which this file snapshots,
// restores from an older snapshot, and whose replicas it pauses with SIGSTOP.

const TOKEN = 'operator-state-admin-7d1f0c';
const INTERVAL_MS = 400;
const SPECS: SimNodeSpec[] = Array.from({ length: 8 }, (_, i) => ({ id: `dfi-${i}`, kind: 'defid' as const }));
const PREFIX = `opstate-${randomBytes(3).toString('hex')}`;
const tag = `{${PREFIX}}`;

let sim: Simulator;
let redisServer: RedisServer;
let redis: Redis;
let dir: string;
let a: ReplicaProcess;
let b: ReplicaProcess;
const fileA = () => join(dir, 'a.yaml');
const fileB = () => join(dir, 'b.yaml');

function writeFleet(file: string, ids: readonly string[]): void {
  const lines = ['defaults:', `  intervalMs: ${INTERVAL_MS}`, '  timeoutMs: 300', 'nodes:'];
  for (const id of ids) lines.push(`  - { id: ${id}, chain: defichain, url: "${sim.url(id)}" }`);
  writeFileSync(file, `${lines.join('\n')}\n`);
}

const allIds = SPECS.map((s) => s.id);
const env = () => ({ REDIS_URL: redisServer.url, NODESENTRY_REDIS_PREFIX: PREFIX, NODESENTRY_ADMIN_TOKEN: TOKEN });
const drainOf = async (r: ReplicaProcess, id: string) => (await http(r.url, `/v1/nodes/${id}`)).body?.drain ?? null;
const storedDrains = async () => {
  const raw = await redis.hgetall(`${tag}:drains`);
  return new Map(
    Object.entries(raw).map(([id, json]) => [
      id,
      JSON.parse(json) as { drained?: boolean; version: number; by?: string },
    ]),
  );
};
const audit = async (r: ReplicaProcess) =>
  (await http(r.url, '/v1/admin/audit?limit=50', { token: TOKEN })).body.items as Array<Record<string, unknown>>;

beforeAll(async () => {
  sim = await Simulator.start({ nodes: SPECS, authDelayMs: 5 });
  redisServer = await RedisServer.start();
  redis = new Redis(redisServer.url, { maxRetriesPerRequest: 1 });
  dir = mkdtempSync(join(tmpdir(), 'nodesentry-opstate-'));
  writeFleet(fileA(), allIds);
  writeFleet(fileB(), allIds);
  [a, b] = await Promise.all([
    startReplica({ configFile: fileA(), env: env() }),
    startReplica({ configFile: fileB(), env: env() }),
  ]);
}, 40_000);

afterAll(async () => {
  a?.kill();
  b?.kill();
  redis?.disconnect();
  await sim?.close();
  await redisServer?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('operator state across replicas, reloads and Redis restores', () => {
  it('case 1: when a replica reloads without a drained node, then the drain stays for the fleet, the reload is audited, and the node comes back drained', async () => {
    const drained = await http(a.url, '/v1/nodes/dfi-1/drain', {
      method: 'POST',
      token: TOKEN,
      body: { reason: 'disk swap' },
    });
    expect(drained.status).toBe(200);
    await until(async () => (await drainOf(b, 'dfi-1')) !== null, 5_000, 'replica b sees the drain');

    writeFleet(
      fileA(),
      allIds.filter((id) => id !== 'dfi-1'),
    );
    a.signal('SIGHUP');
    await until(async () => (await http(a.url, '/v1/nodes/dfi-1')).status === 404, 5_000, 'replica a forgets dfi-1');

    // The other replica, which still configures it, keeps it out of rotation, for several sweeps.
    await sleep(3 * INTERVAL_MS);
    expect(await drainOf(b, 'dfi-1')).toMatchObject({ by: 'admin', reason: 'disk swap' });
    expect((await http(b.url, '/v1/nodes/dfi-1')).body.drained).toBe(true);
    // ...which is what its load-balancer probe says (a drained node is out of rotation).
    expect((await http(b.url, '/probe/nodes/dfi-1')).status).toBe(503);
    expect((await storedDrains()).get('dfi-1')).toMatchObject({ by: 'admin', reason: 'disk swap' });
    const reload = (await audit(b)).find((e) => e.action === 'reload' && e.by === 'SIGHUP' && e.replica === a.replica);
    expect(reload).toMatchObject({ ok: true, removed: ['dfi-1'], replica: a.replica });

    writeFleet(fileA(), allIds);
    a.signal('SIGHUP');
    await until(
      async () => (await http(a.url, '/v1/nodes/dfi-1')).status === 200,
      5_000,
      'replica a configures dfi-1 again',
    );
    expect(await drainOf(a, 'dfi-1')).toMatchObject({ reason: 'disk swap' });
  });

  it('case 2: when a replica is sent an empty nodes file, then the reload is refused, its fleet stays, and the refusal is audited', async () => {
    writeFileSync(fileA(), 'nodes: []\n');
    a.signal('SIGHUP');
    await until(
      async () => (await audit(a)).some((e) => e.action === 'reload' && e.ok === false && e.replica === a.replica),
      5_000,
      'the refused reload in the audit log',
    );
    const nodes = await http(a.url, '/v1/nodes');
    expect(nodes.body.items).toHaveLength(SPECS.length);
    expect((await http(a.url, '/readyz')).status).toBe(200);
    expect(
      a.lines.some((l) => l.msg === 'SIGHUP: reload refused' && JSON.stringify(l.errors).includes('lists no nodes')),
    ).toBe(true);
    writeFleet(fileA(), allIds);
  });

  it('case 3: when Redis comes back from an older snapshot, then the replicas write back the newer drain decisions (drain and undrain), audited', async () => {
    // The snapshot holds dfi-2 drained and nothing about dfi-3...
    expect(
      (await http(a.url, '/v1/nodes/dfi-2/drain', { method: 'POST', token: TOKEN, body: { reason: 'old' } })).status,
    ).toBe(200);
    const snapshot = await redisServer.snapshot('older');
    // ...then the operator undrains dfi-2 and drains dfi-3.
    expect((await http(b.url, '/v1/nodes/dfi-2/drain', { method: 'DELETE', token: TOKEN })).status).toBe(200);
    expect(
      (await http(b.url, '/v1/nodes/dfi-3/drain', { method: 'POST', token: TOKEN, body: { reason: 'new' } })).status,
    ).toBe(200);
    await until(
      async () => (await drainOf(a, 'dfi-3')) !== null && (await drainOf(a, 'dfi-2')) === null,
      5_000,
      'replica a sees both decisions',
    );

    const restoredAt = Date.now();
    await redisServer.restartFrom(snapshot);
    // Straight after the restore Redis says the opposite of the operator...
    const before = await storedDrains();
    expect(before.get('dfi-2')?.drained).not.toBe(false);
    expect(before.has('dfi-3')).toBe(false);

    // ...until the replicas reconnect and write back what they hold (bounded by the store
    // watch: a reconnect is seen within a second or two).
    const took = await until(
      async () => {
        const now = await storedDrains().catch(() => new Map());
        return now.get('dfi-2')?.drained === false && now.get('dfi-3')?.by === 'admin';
      },
      10_000,
      'the newer decisions written back',
    );
    expect(took).toBeLessThan(8_000);
    for (const r of [a, b]) {
      expect(await drainOf(r, 'dfi-2')).toBeNull();
      expect(await drainOf(r, 'dfi-3')).toMatchObject({ reason: 'new' });
    }
    const entries = await audit(a);
    const restore = entries.find((e) => e.action === 'drain-restore' && Number(e.at) >= restoredAt);
    expect(restore).toBeDefined();
    expect(JSON.stringify(restore)).toContain('dfi-3');
  }, 30_000);

  it("case 4: when a replica is paused past its lease and resumed, then it never writes a record older than the owner's", async () => {
    const sub = new Redis(redisServer.url);
    // Every record written, as the events channel announces it (fenced writes publish only what they wrote).
    const seen: Array<{ nodeId: string; observedAt: number; replica: string; receivedAt: number }> = [];
    await sub.subscribe(`${tag}:events`);
    sub.on('message', (_c, msg: string) => {
      // An entry is a whole record or its change from the one before (`c`, the writer in `from`); both lead with observedAt.
      const e = JSON.parse(msg) as {
        type: string;
        from?: string;
        records?: Array<{ nodeId: string; observedAt: number; replica?: string }>;
      };
      if (e.type !== 'records') return;
      for (const r of e.records ?? [])
        seen.push({
          nodeId: r.nodeId,
          observedAt: r.observedAt,
          replica: r.replica ?? e.from ?? '',
          receivedAt: Date.now(),
        });
    });
    try {
      const holders = async () =>
        new Map((await redis.mget(...allIds.map((id) => `${tag}:lease:${id}`))).map((v, i) => [allIds[i]!, v ?? '']));
      await until(
        async () => [...(await holders()).values()].filter((h) => h === a.replica).length > 0,
        10_000,
        'replica a holding leases',
      );
      const ofA = [...(await holders())].filter(([, h]) => h === a.replica).map(([id]) => id);

      a.signal('SIGSTOP');
      const stoppedAt = Date.now();
      await until(
        async () => {
          const h = await holders();
          return ofA.every((id) => h.get(id) === b.replica);
        },
        10_000,
        "replica b taking over the paused replica's nodes",
      );
      // b writes a few rounds of its own, then a wakes up with its buffer of the past.
      await sleep(3 * INTERVAL_MS);
      const resumedAt = Date.now();
      a.signal('SIGCONT');
      await sleep(6 * INTERVAL_MS);

      // Per node, the records written never go back in time.
      for (const id of allIds) {
        const times = seen.filter((s) => s.nodeId === id).map((s) => s.observedAt);
        for (let i = 1; i < times.length; i++) expect(times[i]).toBeGreaterThanOrEqual(times[i - 1]!);
      }
      // Nothing a probed before its pause landed after it resumed.
      const stale = seen.filter(
        (s) => s.replica === a.replica && s.receivedAt >= resumedAt && s.observedAt < stoppedAt + INTERVAL_MS,
      );
      expect(stale).toEqual([]);
      // And the resumed replica is a working member again: it takes its share back and writes fresh records.
      await until(
        async () => [...(await holders()).values()].some((h) => h === a.replica),
        10_000,
        'replica a holding leases again',
      );
      await until(
        () => seen.some((s) => s.replica === a.replica && s.observedAt > resumedAt),
        10_000,
        'fresh records from replica a',
      );
    } finally {
      a.signal('SIGCONT');
      sub.disconnect();
    }
  }, 40_000);

  it('case 11: when one replica is asked to reload (SIGHUP or the admin route), then every replica re-reads its own file, each outcome audited under one request id', async () => {
    writeFleet(fileA(), allIds);
    // Only b's own file changes, and only a is signalled.
    writeFleet(
      fileB(),
      allIds.filter((id) => id !== 'dfi-7'),
    );
    a.signal('SIGHUP');
    await until(
      async () => (await http(b.url, '/v1/nodes/dfi-7')).status === 404,
      5_000,
      'replica b re-reads its own file when a is signalled',
    );
    expect((await http(a.url, '/v1/nodes/dfi-7')).status).toBe(200);
    const reloadsOf = async (request: unknown) =>
      (await audit(a)).filter((e) => e.action === 'reload' && e.request === request);
    const origin = (await audit(a)).find(
      (e) => e.action === 'reload' && e.by === 'SIGHUP' && e.replica === a.replica && typeof e.request === 'string',
    );
    expect(origin).toBeDefined();
    await until(
      async () => (await reloadsOf(origin!.request)).some((e) => e.replica === b.replica),
      5_000,
      "b's outcome in the audit log",
    );
    const entries = await reloadsOf(origin!.request);
    expect(entries.find((e) => e.replica === b.replica)).toMatchObject({
      ok: true,
      by: 'SIGHUP',
      via: a.replica,
      removed: ['dfi-7'],
    });
    expect(entries.find((e) => e.replica === a.replica)).toMatchObject({ ok: true, added: [], removed: [] });

    // The admin route on b: b restores dfi-7 from its file; a, whose file is now invalid,
    // refuses and keeps its fleet, and says so under the same request.
    writeFleet(fileB(), allIds);
    writeFileSync(fileA(), 'nodes: [ { id: broken\n');
    const answer = await http(b.url, '/v1/admin/reload', { method: 'POST', token: TOKEN, body: {} });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ ok: true, added: ['dfi-7'] });
    expect(typeof answer.body.request).toBe('string');
    await until(
      async () => (await reloadsOf(answer.body.request)).some((e) => e.replica === a.replica),
      5_000,
      "a's refusal in the audit log",
    );
    expect((await reloadsOf(answer.body.request)).find((e) => e.replica === a.replica)).toMatchObject({
      ok: false,
      by: 'admin',
      via: b.replica,
    });
    expect((await http(a.url, '/v1/nodes')).body.items).toHaveLength(SPECS.length);
    writeFleet(fileA(), allIds);
  }, 30_000);
});
