import { randomBytes } from 'node:crypto';
import { RedisStore } from '../../src/store/redis-store.js';
import { Deployment, failoverTimeline } from '../support/failover-timeline.js';
import { RedisSentinelSet, SENTINEL_MASTER_NAME } from '../support/redis-sentinel-set.js';

// Three worker replicas and one API replica behind real Sentinels (one master, two replicas,
// three sentinels): the master is killed with SIGKILL while polling and serving, the sentinels
// promote a replica, and nodesentry must follow it with the guarantees of the cluster timeline.

const PASSWORD = 'sentinel-failover-Pa55-x';
let set: RedisSentinelSet;
const opened: RedisStore[] = [];

beforeAll(async () => {
  set = await RedisSentinelSet.start({ replicas: 2, sentinels: 3, password: PASSWORD });
}, 60_000);

afterAll(async () => {
  await Promise.allSettled(opened.map((s) => s.close()));
  await set?.close();
});

async function store(prefix: string, replica: string, skipOwnRecords: boolean): Promise<RedisStore> {
  const s = await RedisStore.connect({
    sentinel: { sentinels: set.sentinels, name: SENTINEL_MASTER_NAME },
    password: PASSWORD,
    prefix,
    replica,
    skipOwnRecords,
    reconnectMaxDelayMs: 200,
    commandTimeoutMs: 1000,
  });
  opened.push(s);
  return s;
}

it('when the master is killed while polling and serving, then Sentinel promotes a replica, nodesentry follows it, and nothing stale is served as fresh, no drain is lost, polling goes on', async () => {
  const prefix = `sn-${randomBytes(4).toString('hex')}`;
  const d = await Deployment.start({
    intervalMs: 500,
    nodes: 9,
    env: {
      REDIS_SENTINELS: set.sentinels.map((s) => `${s.host}:${s.port}`).join(','),
      REDIS_SENTINEL_NAME: SENTINEL_MASTER_NAME,
      REDIS_PASSWORD: PASSWORD,
      NODESENTRY_REDIS_PREFIX: prefix,
    },
    store: (replica, role) => store(prefix, replica, role !== 'api'),
  });
  try {
    const checker = await store(prefix, 'checker', false);
    const old = await set.masterPort();
    let promoted = old;
    const { outageMs } = await failoverTimeline(d, checker, async () => {
      await set.kill(old);
      promoted = await set.waitPromoted(old);
    });
    expect(promoted).not.toBe(old);
    // Down after 1 s, then the sentinels' vote and the promotion.
    expect(outageMs).toBeGreaterThan(1_000);
    expect(outageMs).toBeLessThan(15_000);
    // Nothing leaked the password into the logs while connections failed.
    expect(d.logs.join('')).not.toContain(PASSWORD);
  } finally {
    await d.close();
  }
}, 60_000);
