import { pino } from 'pino';
import { loadSettings } from '../../src/config/settings.js';
import { DEFAULT_HEALTH_POLICY } from '../../src/health/policy.js';
import { Service } from '../../src/service.js';
import { nodesForSimulator } from '../../src/simulator/fleet-nodes.js';
import type { SimNodeSpec } from '../../src/simulator/sim-node-spec.js';
import { Simulator } from '../../src/simulator/simulator.js';
import { RedisStore } from '../../src/store/redis-store.js';
import { RedisServer } from '../support/redis-server.js';
import { until } from '../support/wait.js';

// Redis stops while a replica polls: probing goes on, the in-memory view stays current, and
// writes resume once Redis is back. A private redis-server, so the shared one is untouched.

const SPECS: SimNodeSpec[] = [
  { id: 'bsc-1', kind: 'bsc' },
  { id: 'pai-1', kind: 'paicoind' },
];

describe('Redis outage', () => {
  let sim: Simulator;
  let redis: RedisServer;
  let service: Service;

  beforeAll(async () => {
    sim = await Simulator.start({ nodes: SPECS, authDelayMs: 5 });
    redis = await RedisServer.start();
    const store = new RedisStore({
      url: redis.url,
      prefix: 'outage',
      replica: 'solo',
      reconnectMaxDelayMs: 100,
      commandTimeoutMs: 500,
      connectTimeoutMs: 500,
    });
    await store.ready(5_000);
    service = await Service.start({
      settings: loadSettings({}),
      nodes: nodesForSimulator(sim, SPECS, { intervalMs: 300, timeoutMs: 200 }),
      policy: DEFAULT_HEALTH_POLICY,
      logger: pino({ level: 'silent' }),
      replica: 'solo',
      store,
      poller: { flushIntervalMs: 50, leaseRenewMs: 100 },
    });
  });

  afterAll(async () => {
    await service.close();
    await sim.close();
    await redis.close();
  });

  it('when Redis goes away and comes back, then probing never stops and writes resume', async () => {
    await until(async () => (await service.store.getAllNodes()).length === 2, 5_000);

    await redis.stop();
    await until(() => !service.store.health().connected, 3_000);
    const downAt = Date.now();
    // Keep probing from memory: the view gets samples newer than the outage.
    await until(() => SPECS.every((s) => (service.view.get(s.id)?.sample.observedAt ?? 0) > downAt + 300), 5_000);
    await expect(service.store.getAllNodes()).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    expect(service.poller!.stats.flushFailures).toBeGreaterThan(0);
    expect(service.poller!.ownedNodeIds.sort()).toEqual(['bsc-1', 'pai-1']);

    // Redis restarts empty (no persistence): the next flushes write the fleet again.
    await redis.restart();
    const upAt = Date.now();
    await until(() => service.store.health().connected, 5_000);
    await until(async () => {
      const all = await service.store.getAllNodes().catch(() => []);
      return all.length === 2 && all.every((r) => r.sample.observedAt > upAt);
    }, 5_000);
    // Leases are held again in the fresh Redis.
    await until(
      async () => (await service.store.claimLeases('someone-else', ['bsc-1', 'pai-1'], 1_000, 2)).length === 0,
      3_000,
    );
  });
});

describe('Redis outage with two workers', () => {
  // One node, two workers: the fair share is one node each, so one holds it and the other none.
  // When Redis stops answering, the one that held nothing must not start probing the fleet
  // (it once took every node on its first failed lease round: with W workers, W x the probes).
  const ONE: SimNodeSpec[] = [{ id: 'bsc-1', kind: 'bsc' }];
  const INTERVAL_MS = 300;
  let sim: Simulator;
  let redis: RedisServer;
  const services: Service[] = [];

  async function worker(name: string): Promise<Service> {
    const store = new RedisStore({
      url: redis.url,
      prefix: 'outage-two',
      replica: name,
      reconnectMaxDelayMs: 100,
      commandTimeoutMs: 300,
      connectTimeoutMs: 300,
    });
    await store.ready(5_000);
    const service = await Service.start({
      settings: loadSettings({}),
      nodes: nodesForSimulator(sim, ONE, { intervalMs: INTERVAL_MS, timeoutMs: 200 }),
      policy: DEFAULT_HEALTH_POLICY,
      logger: pino({ level: 'silent' }),
      replica: name,
      store,
      poller: { flushIntervalMs: 50, leaseRenewMs: 100, jitter: 0 },
    });
    services.push(service);
    return service;
  }

  beforeAll(async () => {
    sim = await Simulator.start({ nodes: ONE, authDelayMs: 5 });
    redis = await RedisServer.start();
  });

  afterAll(async () => {
    redis.resume();
    await Promise.all(services.map((s) => s.close()));
    await sim.close();
    await redis.close();
  });

  it('when Redis stops answering, then a worker that held no lease takes none, and the node is probed by its holder only', async () => {
    const a = await worker('a');
    await until(() => a.poller!.ownedNodeIds.length === 1, 3_000);
    const b = await worker('b');
    // b has had its rounds (start is one) and holds nothing: a keeps the one node.
    await until(async () => (await b.store.liveReplicas()).length === 2, 3_000);
    await new Promise((r) => setTimeout(r, 500));
    expect(a.poller!.ownedNodeIds).toEqual(['bsc-1']);
    expect(b.poller!.ownedNodeIds).toEqual([]);

    redis.pause();
    // Rounds now fail (commands time out after 300 ms); give both workers several of them.
    await until(() => a.poller!.stats.flushFailures > 0, 5_000, 'writes failing while Redis is paused');
    await new Promise((r) => setTimeout(r, 1_000));
    const probesBefore = { a: a.poller!.stats.probes, b: b.poller!.stats.probes };
    await new Promise((r) => setTimeout(r, 6 * INTERVAL_MS));
    expect(b.poller!.ownedNodeIds).toEqual([]);
    expect(b.poller!.stats.probes - probesBefore.b).toBe(0);
    // The holder keeps probing from memory.
    expect(a.poller!.ownedNodeIds).toEqual(['bsc-1']);
    expect(a.poller!.stats.probes - probesBefore.a).toBeGreaterThanOrEqual(2);

    redis.resume();
    // Back: still exactly one holder.
    await until(() => a.poller!.ownedNodeIds.length + b.poller!.ownedNodeIds.length === 1, 5_000);
  });
});
