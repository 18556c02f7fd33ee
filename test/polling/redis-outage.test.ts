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
    const store = new RedisStore({ url: redis.url, prefix: 'outage', replica: 'solo', reconnectMaxDelayMs: 100, commandTimeoutMs: 500, connectTimeoutMs: 500 });
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
    await until(async () => (await service.store.claimLeases('someone-else', ['bsc-1', 'pai-1'], 1_000, 2)).length === 0, 3_000);
  });
});
