import { randomUUID } from 'node:crypto';
import { loadSettings } from '../../src/config/settings.js';
import { createStoreKeys } from '../../src/store/keys.js';
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
