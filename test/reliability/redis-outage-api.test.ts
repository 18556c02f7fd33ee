import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import request from 'supertest';
import { createApp } from '../../src/api/app.js';
import { loadSettings, type Role } from '../../src/config/settings.js';
import type { NodeConfig } from '../../src/config/node-config.js';
import { mergePolicy } from '../../src/health/policy.js';
import { Service } from '../../src/service.js';
import { nodesForSimulator } from '../../src/simulator/fleet-nodes.js';
import type { SimNodeSpec } from '../../src/simulator/sim-node-spec.js';
import { Simulator } from '../../src/simulator/simulator.js';
import { RedisStore } from '../../src/store/redis-store.js';
import { RedisServer } from '../support/redis-server.js';

// Redis stops under a running fleet, as the API sees it: a worker replica (role all) and an
// API-only replica (role api) share a private redis-server, which is killed and restarted.
// Once with its data kept (append-only file, fsync always: a crash loses nothing it had
// acknowledged), once empty (persistence off). Everything real: sockets, Redis, simulator.

const TOKEN = 'outage-admin-token-5e8a1c';
const SPECS: SimNodeSpec[] = [
  { id: 'bsc-1', kind: 'bsc' },
  { id: 'bsc-2', kind: 'bsc' },
  { id: 'dfi-1', kind: 'defid' },
  { id: 'pai-1', kind: 'paicoind' },
];
const IDS = SPECS.map((s) => s.id);
const INTERVAL_MS = 300;
// Stale after max(staleAfterMs, staleAfterIntervals x interval) = 1 s: well above the worker's
// probe + flush cadence (300 + 50 ms), so a replica that gets its updates never goes stale.
const POLICY = mergePolicy({ staleAfterMs: 1_000, staleAfterIntervals: 1 });
const STALE_MS = 1_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await sleep(25);
  }
}

interface Replica {
  readonly name: string;
  readonly service: Service;
  readonly base: string;
  /** Parsed log lines. */
  logs(): Array<Record<string, unknown>>;
  close(): Promise<void>;
}

async function startReplica(
  name: string,
  role: Role,
  url: string,
  prefix: string,
  nodes: NodeConfig[],
): Promise<Replica> {
  const lines: string[] = [];
  const logger = pino({ level: 'info' }, new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) }));
  const store = new RedisStore({
    url,
    prefix,
    replica: name,
    reconnectMaxDelayMs: 100,
    commandTimeoutMs: 500,
    connectTimeoutMs: 500,
    onWarning: (m, d) => logger.warn(d ?? {}, m),
  });
  await store.ready(5_000);
  const settings = loadSettings({ NODESENTRY_ROLE: role, REDIS_URL: url, NODESENTRY_ADMIN_TOKEN: TOKEN, PORT: '0' });
  const service = await Service.start({
    settings,
    nodes,
    policy: POLICY,
    logger,
    replica: name,
    store,
    poller: { flushIntervalMs: 50, leaseRenewMs: 100 },
  });
  const { app, close: closeApp } = createApp({ service, logger });
  const server: Server = createHttpServer(app);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    name,
    service,
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    logs: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>),
    async close() {
      closeApp();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await service.close();
    },
  };
}

/** Every node's probe status and state on a replica. */
async function probes(r: Replica): Promise<Record<string, { status: number; state: string }>> {
  const out: Record<string, { status: number; state: string }> = {};
  for (const id of IDS) {
    const a = await request(r.base).get(`/probe/nodes/${id}`);
    out[id] = { status: a.status, state: String(a.headers['x-nodesentry-state']) };
  }
  return out;
}

type Summary = { id: string; state: string; stale: boolean; observedAt: number | null };
async function nodes(r: Replica): Promise<Map<string, Summary>> {
  const a = await request(r.base).get('/v1/nodes');
  expect(a.status).toBe(200);
  return new Map((a.body.items as Summary[]).map((n) => [n.id, n]));
}

const allUp = async (r: Replica) =>
  Object.values(await probes(r)).every((p) => p.status === 200 && p.state === 'healthy');
const allFreshSince = async (r: Replica, t: number) =>
  [...(await nodes(r)).values()].every((n) => !n.stale && (n.observedAt ?? 0) > t);
/** Log lines at error level or worse: an outage is a warning, never an error or a crash. */
const errors = (r: Replica) => r.logs().filter((l) => (l.level as number) >= 50);

/** A redis-server that keeps its data across a crash: append-only file, fsync on every write. */
class DurableRedis {
  #child: ChildProcess | undefined;
  private constructor(
    readonly port: number,
    private readonly dir: string,
  ) {}
  static async start(): Promise<DurableRedis> {
    const port = await new Promise<number>((resolve, reject) => {
      const s = createNetServer();
      s.on('error', reject);
      s.listen(0, '127.0.0.1', () => {
        const p = (s.address() as AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    const r = new DurableRedis(port, await mkdtemp(join(tmpdir(), 'nodesentry-redis-aof-')));
    await r.start();
    return r;
  }
  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }
  async start(): Promise<void> {
    const child = spawn(
      'redis-server',
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'yes',
        '--appendfsync',
        'always',
        '--dir',
        this.dir,
      ],
      { stdio: 'ignore' },
    );
    this.#child = child;
    const { Redis } = await import('ioredis');
    const end = Date.now() + 10_000;
    for (;;) {
      const c = new Redis(this.url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
      c.on('error', () => {});
      const ok = await c
        .connect()
        .then(() => c.ping())
        .then(
          () => true,
          () => false,
        );
      c.disconnect();
      if (ok) return;
      if (Date.now() > end || child.exitCode !== null) throw new Error('redis-server (append-only) did not start');
      await sleep(50);
    }
  }
  /** A crash: SIGKILL, no shutdown save. */
  async kill(): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((r) => {
      child.once('exit', () => r());
      child.kill('SIGKILL');
    });
  }
  async close(): Promise<void> {
    await this.kill();
    await rm(this.dir, { recursive: true, force: true });
  }
}

describe('Redis outage, as the API sees it', () => {
  let sim: Simulator;
  let nodeConfigs: NodeConfig[];
  const rejections: unknown[] = [];
  const onRejection = (reason: unknown) => rejections.push(reason);

  beforeAll(async () => {
    process.on('unhandledRejection', onRejection);
    sim = await Simulator.start({ nodes: SPECS, authDelayMs: 5 });
    nodeConfigs = nodesForSimulator(sim, SPECS, { intervalMs: INTERVAL_MS, timeoutMs: 250 });
  });
  afterAll(async () => {
    process.off('unhandledRejection', onRejection);
    await sim.close();
    expect(rejections).toEqual([]);
  });

  it('when Redis crashes and restarts with its data, then the worker serves from memory, the API replica ages into unknown, store-backed calls fail fast, and afterwards nothing is lost and every replica converges', async () => {
    const redis = await DurableRedis.start();
    const prefix = `ao-${randomBytes(3).toString('hex')}`;
    const worker = await startReplica('worker', 'all', redis.url, prefix, nodeConfigs);
    const api = await startReplica('api', 'api', redis.url, prefix, nodeConfigs);
    let late: Replica | undefined;
    try {
      await until(
        'both replicas see every node healthy',
        async () => (await allUp(worker)) && (await allUp(api)),
        10_000,
      );
      // What the store holds before the outage: a drain and its audit entry, history points.
      const drained = await request(worker.base)
        .post('/v1/nodes/bsc-2/drain')
        .set('authorization', `Bearer ${TOKEN}`)
        .send({ reason: 'before the outage' });
      expect(drained.status).toBe(200);
      await until(
        'the drain reached the API replica',
        async () => (await request(api.base).get('/probe/nodes/bsc-2')).headers['x-nodesentry-state'] === 'maintenance',
        3_000,
      );
      const historyBefore = (await request(api.base).get('/v1/nodes/dfi-1/history?limit=360')).body.points as Array<{
        t: number;
      }>;
      expect(historyBefore.length).toBeGreaterThan(0);
      const auditBefore = (await request(api.base).get('/v1/admin/audit').set('authorization', `Bearer ${TOKEN}`)).body
        .items as unknown[];
      expect(auditBefore).toContainEqual(
        expect.objectContaining({ action: 'drain', nodeId: 'bsc-2', reason: 'before the outage' }),
      );

      await redis.kill();
      const downAt = Date.now();
      await until(
        'both replicas see the store down',
        () => !worker.service.store.health().connected && !api.service.store.health().connected,
        3_000,
      );
      for (const r of [worker, api]) {
        const ready = await request(r.base).get('/readyz');
        expect(ready.body.store).toMatchObject({ kind: 'redis', connected: false, writable: false });
      }

      // The worker keeps probing and answers from memory: fresh samples from after the crash.
      await until(
        'the worker has samples newer than the crash',
        () => allFreshSince(worker, downAt + INTERVAL_MS),
        3_000,
      );
      expect(await probes(worker)).toEqual({
        'bsc-1': { status: 200, state: 'healthy' },
        'bsc-2': { status: 503, state: 'maintenance' },
        'dfi-1': { status: 200, state: 'healthy' },
        'pai-1': { status: 200, state: 'healthy' },
      });

      // The API replica gets nothing new: within the staleness bound its answers turn unknown,
      // never "healthy" from an old sample. The drain it knew stays.
      await sleep(STALE_MS + 200);
      const apiProbes = await probes(api);
      expect(apiProbes).toEqual({
        'bsc-1': { status: 503, state: 'unknown' },
        'bsc-2': { status: 503, state: 'maintenance' },
        'dfi-1': { status: 503, state: 'unknown' },
        'pai-1': { status: 503, state: 'unknown' },
      });
      const stale = await request(api.base).get('/v1/nodes/bsc-1');
      expect(stale.body).toMatchObject({ state: 'unknown', freshness: { stale: true } });
      expect(stale.body.reasons.map((x: { code: string }) => x.code)).toContain('stale_sample');

      // Calls that need the store fail fast with a 503 problem: no queue, no hang, no 500.
      for (const [r, method, path] of [
        [api, 'get', '/v1/nodes/dfi-1/history'],
        [api, 'get', '/v1/nodes/dfi-1/peers'],
        [worker, 'post', '/v1/nodes/bsc-1/drain'],
        [worker, 'delete', '/v1/nodes/bsc-2/drain'],
        [api, 'get', '/v1/admin/audit'],
      ] as const) {
        const started = Date.now();
        const a = await request(r.base)[method](path).set('authorization', `Bearer ${TOKEN}`);
        expect({ path, status: a.status, type: a.body.type }).toEqual({
          path,
          status: 503,
          type: 'urn:nodesentry:problem:store_unavailable',
        });
        expect(Date.now() - started).toBeLessThan(3_000);
      }
      // The refused undrain did not happen anywhere.
      expect(worker.service.view.drain('bsc-2')).toBeDefined();

      await redis.start();
      const upAt = Date.now();
      // Writes resume, the API replica reloads its view, and both converge on fresh answers.
      await until('the API replica is fresh again', () => allFreshSince(api, upAt), 8_000);
      await until(
        'both replicas agree',
        async () => JSON.stringify(await probes(api)) === JSON.stringify(await probes(worker)),
        3_000,
      );
      expect((await probes(api))['bsc-1']).toEqual({ status: 200, state: 'healthy' });

      // Nothing that was in Redis is lost: the drain with who and when, the audit entry, the
      // history from before the crash. And no record went back in time.
      const reader = api.service.store;
      // Its view can be fresh from the events connection while the command connection is still
      // in its reconnect back-off (calls then fail fast, by design): wait until it answers.
      await until(
        "the API replica's store answers",
        () =>
          reader.getDrains().then(
            () => true,
            () => false,
          ),
        8_000,
      );
      const drain = (await reader.getDrains()).get('bsc-2');
      expect(drain).toMatchObject({
        by: drained.body.drain.by,
        at: drained.body.drain.at,
        reason: 'before the outage',
      });
      expect(await reader.getAudit(1_000)).toEqual(expect.arrayContaining(auditBefore));
      const historyAfter = await reader.getHistory('dfi-1', 360);
      const after = new Set(historyAfter.map((p) => p.t));
      // History is capped (360 points a node): every point from before is still there.
      expect(historyBefore.length).toBeLessThan(300);
      for (const p of historyBefore) expect(after.has(p.t)).toBe(true);
      for (const rec of await reader.getAllNodes()) expect(rec.sample.observedAt).toBeGreaterThan(downAt);

      // A replica started after the outage loads the same view from Redis.
      late = await startReplica('late', 'api', redis.url, prefix, nodeConfigs);
      await until(
        'the new replica agrees',
        async () => JSON.stringify(await probes(late!)) === JSON.stringify(await probes(worker)),
        3_000,
      );

      // Through all of it: warnings, never an error line.
      for (const r of [worker, api]) expect(errors(r)).toEqual([]);
      expect(
        worker.logs().some((l) => l.msg === 'store unreachable; serving from memory, marked stale as it ages'),
      ).toBe(true);
    } finally {
      await late?.close();
      await api.close();
      await worker.close();
      await redis.close();
    }
  });

  it('when Redis restarts empty, then the workers write the fleet again and every replica, old or new, converges on it', async () => {
    const redis = await RedisServer.start();
    const prefix = `ae-${randomBytes(3).toString('hex')}`;
    const worker = await startReplica('worker', 'all', redis.url, prefix, nodeConfigs);
    const api = await startReplica('api', 'api', redis.url, prefix, nodeConfigs);
    let late: Replica | undefined;
    try {
      await until(
        'both replicas see every node healthy',
        async () => (await allUp(worker)) && (await allUp(api)),
        10_000,
      );
      await redis.stop();
      await until('the store is down', () => !worker.service.store.health().connected, 3_000);
      await sleep(STALE_MS + 200);
      expect(Object.values(await probes(api)).map((p) => p.state)).toEqual([
        'unknown',
        'unknown',
        'unknown',
        'unknown',
      ]);
      expect(Object.values(await probes(worker)).map((p) => p.state)).toEqual([
        'healthy',
        'healthy',
        'healthy',
        'healthy',
      ]);

      await redis.restart();
      const upAt = Date.now();
      // Every node's record is in the new, empty Redis again, fresh, with the chains' facts.
      const reader = api.service.store;
      await until(
        'the fleet is written again',
        async () => {
          const all = await reader.getAllNodes().catch(() => []);
          return all.length === IDS.length && all.every((r) => r.sample.observedAt > upAt);
        },
        5_000,
      );
      for (const chain of ['bsc', 'defichain', 'pai'])
        await until(
          `chain facts of ${chain}`,
          async () => (await reader.getChainFacts(chain).catch(() => undefined)) !== undefined,
          3_000,
        );
      await until('the API replica is fresh again', () => allFreshSince(api, upAt), 8_000);
      late = await startReplica('late', 'api', redis.url, prefix, nodeConfigs);
      await until(
        'all three agree, every node healthy',
        async () => (await allUp(api)) && (await allUp(late!)) && (await allUp(worker)),
        3_000,
      );
      for (const r of [worker, api, late]) expect(errors(r)).toEqual([]);
    } finally {
      await late?.close();
      await api.close();
      await worker.close();
      await redis.close();
    }
  });

  // Drains live in Redis; a Redis that comes back empty has none. The replicas notice the data
  // loss (the store's epoch key is gone) and write back the drains they held, so the drained
  // node is not put back in service without anyone undraining it.
  it('when Redis restarts empty, then a drained node stays drained', async () => {
    const redis = await RedisServer.start();
    const prefix = `ad-${randomBytes(3).toString('hex')}`;
    const worker = await startReplica('worker', 'all', redis.url, prefix, nodeConfigs);
    try {
      await until('every node healthy', () => allUp(worker), 10_000);
      expect(
        (
          await request(worker.base)
            .post('/v1/nodes/bsc-2/drain')
            .set('authorization', `Bearer ${TOKEN}`)
            .send({ reason: 'disk swap' })
        ).status,
      ).toBe(200);
      await redis.stop();
      // An outage long enough for the service to notice it (its store watch ticks every second).
      await sleep(1_500);
      await redis.restart();
      const upAt = Date.now();
      await until('the fleet is fresh again', () => allFreshSince(worker, upAt), 8_000);
      // The store watch reloads the view within a second of the reconnect.
      await sleep(1_500);
      expect((await probes(worker))['bsc-2']).toEqual({ status: 503, state: 'maintenance' });
    } finally {
      await worker.close();
      await redis.close();
    }
  });
});
