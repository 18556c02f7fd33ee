import { randomUUID } from 'node:crypto';
import { loadSettings } from '../../src/config/settings.js';
import { createStoreKeys, keySlot } from '../../src/store/keys.js';
import { RedisStore, type RedisStoreOptions } from '../../src/store/redis-store.js';
import { RedisCluster } from '../support/redis-cluster.js';
import { until } from '../support/wait.js';
import { nextEvent, record, storeContract } from './store-contract.js';

// The Store contract on a real Redis Cluster (3 masters + 3 replicas, test/support/redis-cluster.ts),
// connected the way an operator configures it: REDIS_CLUSTER_NODES.
let cluster: RedisCluster;

beforeAll(async () => {
  cluster = await RedisCluster.start();
}, 60_000);

afterAll(async () => {
  await cluster?.close();
});

async function deleteKeys(prefix: string): Promise<void> {
  for (const n of cluster.running) {
    const admin = cluster.admin(n.port);
    if (!/^role:master/m.test(String(await admin.info('replication')))) continue;
    let cursor = '0';
    do {
      const [next, keys] = await admin.scan(cursor, 'MATCH', `{${prefix}}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await admin.del(...keys);
    } while (cursor !== '0');
  }
}

function clusterOptions(overrides: Partial<RedisStoreOptions> = {}): RedisStoreOptions {
  const settings = loadSettings({ REDIS_CLUSTER_NODES: cluster.seeds.map((s) => `${s.host}:${s.port}`).join(',') });
  return {
    cluster: { nodes: settings.redisClusterNodes! },
    prefix: `cluster-${randomUUID()}`,
    replica: 'replica-test',
    ...overrides,
  };
}

storeContract('redis cluster', async () => {
  const options = clusterOptions();
  const store = await RedisStore.connect(options);
  return { store, cleanup: () => deleteKeys(options.prefix!) };
});

describe('RedisStore on a cluster', () => {
  it('when the store writes, then all its keys sit in one slot on one master, and a subscriber on any node hears the events', async () => {
    const options = clusterOptions();
    const a = await RedisStore.connect({ ...options, replica: 'a' });
    const b = await RedisStore.connect({ ...options, replica: 'b' });
    try {
      const heard = nextEvent(b, 'records', (e) => e.records.some((r) => r.nodeId === 'n1'));
      await a.writeSweep(
        { records: [record('n1'), record('n2')], history: [{ nodeId: 'n1', point: { t: 1, ok: true, latencyMs: 3 } }] },
        60_000,
      );
      await a.setDrain('n2', { nodeId: 'n2', by: 'op', at: 1 });
      await a.claimLeases('a', ['n1', 'n2'], 10_000, 2);
      await a.heartbeat('a', 10_000);
      expect((await heard).records.map((r) => r.nodeId).sort()).toEqual(['n1', 'n2']);

      const k = createStoreKeys(options.prefix!);
      const master = await cluster.masterOf(k.node('n1'));
      const slots = new Set<number>();
      for (const key of [
        k.node('n1'),
        k.node('n2'),
        k.history('n1'),
        k.drains,
        k.lease('n1'),
        k.nodeIndex,
        k.replicas,
      ]) {
        slots.add(Number(await cluster.admin(master).call('CLUSTER', 'KEYSLOT', key)));
        expect(await cluster.admin(master).exists(key)).toBe(1);
      }
      expect(slots.size).toBe(1);
    } finally {
      await Promise.all([a.close(), b.close()]);
      await deleteKeys(options.prefix!);
    }
  });

  it('when a worker writes a fenced sweep, then its records event leaves from another master than the one holding the data', async () => {
    const options = clusterOptions();
    const a = await RedisStore.connect({ ...options, replica: 'a' });
    const b = await RedisStore.connect({ ...options, replica: 'b' });
    const k = createStoreKeys(options.prefix!);
    try {
      const data = await cluster.masterOf(k.node('n1'));
      const route = await cluster.masterOf(k.eventsRoute);
      // The slot arithmetic is Redis's own.
      expect(Number(await cluster.admin(data).call('CLUSTER', 'KEYSLOT', k.eventsRoute))).toBe(keySlot(k.eventsRoute));
      expect(Number(await cluster.admin(data).call('CLUSTER', 'KEYSLOT', k.node('n1')))).toBe(keySlot(k.tag));
      expect(route).not.toBe(data);

      const ids = Array.from({ length: 30 }, (_, i) => `n${i}`);
      expect(await a.claimLeases('a', ids, 10_000, 30)).toHaveLength(30);
      for (const n of cluster.running) await cluster.admin(n.port).call('CONFIG', 'RESETSTAT');
      const heard = nextEvent(b, 'records', (e) => e.records.length === 30);
      expect(await a.writeSweep({ records: ids.map((id) => record(id)), fence: 'a' }, 60_000)).toEqual({ fenced: [] });
      expect((await heard).records.map((r) => r.nodeId).sort()).toEqual([...ids].sort());

      const publishes = async (port: number) =>
        Number(/cmdstat_publish:calls=(\d+)/.exec(String(await cluster.admin(port).info('commandstats')))?.[1] ?? 0);
      const scripts = async (port: number) =>
        Number(/cmdstat_evalsha:calls=(\d+)/.exec(String(await cluster.admin(port).info('commandstats')))?.[1] ?? 0) +
        Number(/cmdstat_eval:calls=(\d+)/.exec(String(await cluster.admin(port).info('commandstats')))?.[1] ?? 0);
      expect(await scripts(data)).toBeGreaterThanOrEqual(1); // the fenced write ran where the data is
      expect(await publishes(data)).toBe(0); // and announced nothing from there
      expect(await publishes(route)).toBeGreaterThanOrEqual(1);
      expect(await cluster.admin(route).exists(k.eventsRoute)).toBe(0);
    } finally {
      await Promise.all([a.close(), b.close()]);
      await deleteKeys(options.prefix!);
    }
  });

  it('when one master evicts keys (maxmemory-policy volatile-lru), then the store warns once, naming that master only', async () => {
    const masters: number[] = [];
    for (const n of cluster.running)
      if (/^role:master/m.test(String(await cluster.admin(n.port).info('replication')))) masters.push(n.port);
    expect(masters.length).toBeGreaterThan(1);
    const evicting = masters[0]!;
    await cluster.admin(evicting).config('SET', 'maxmemory-policy', 'volatile-lru');
    const warnings: Array<{ msg: string; data: Record<string, unknown> }> = [];
    const store = await RedisStore.connect(
      clusterOptions({
        onWarning: (msg, data) => warnings.push({ msg, data: (data ?? {}) as Record<string, unknown> }),
      }),
    );
    try {
      const policy = () => warnings.filter((w) => /maxmemory-policy/.test(w.msg));
      await until(() => policy().length > 0, 10_000, 'a maxmemory-policy warning');
      await store.probe('replica-test');
      expect(policy().map((w) => [w.data['node'], w.data['policy']])).toEqual([
        [`127.0.0.1:${evicting}`, 'volatile-lru'],
      ]);
    } finally {
      await store.close();
      await cluster.admin(evicting).config('SET', 'maxmemory-policy', 'noeviction');
    }
  });
});
