import { randomBytes } from 'node:crypto';
import { createStoreKeys } from '../../src/store/keys.js';
import { RedisStore } from '../../src/store/redis-store.js';
import { Deployment, failoverTimeline, Timeline } from '../support/failover-timeline.js';
import { RedisCluster } from '../support/redis-cluster.js';
import { sleep, until } from '../support/wait.js';

// Three worker replicas and one API replica on a real Redis Cluster (3 masters + 3 replicas),
// polling a real simulator. Timelines: a coordinated failover (CLUSTER FAILOVER on a replica)
// and a crash (SIGKILL of the master that holds nodesentry's slot), each while polling and
// serving; and a crash of the master the events leave from (StoreKeys.eventsRoute), another one.
// The simulator's request counters are the ground truth for who polled what, when.

const INTERVAL_MS = 500;
const NODES = 9;

let cluster: RedisCluster;
const opened: RedisStore[] = [];

beforeAll(async () => {
  cluster = await RedisCluster.start({ nodeTimeoutMs: 1000 });
}, 60_000);

afterAll(async () => {
  await Promise.allSettled(opened.map((s) => s.close()));
  await cluster?.close();
});

function deployment(prefix: string): Promise<Deployment> {
  const nodes = cluster.seeds.map((s) => `${s.host}:${s.port}`).join(',');
  return Deployment.start({
    intervalMs: INTERVAL_MS,
    nodes: NODES,
    env: { REDIS_CLUSTER_NODES: nodes, NODESENTRY_REDIS_PREFIX: prefix },
    store: (replica, role) => checkerStore(prefix, replica, role !== 'api'),
  });
}

async function checkerStore(prefix: string, replica: string, skipOwnRecords = false): Promise<RedisStore> {
  const store = await RedisStore.connect({
    cluster: { nodes: cluster.seeds },
    prefix,
    replica,
    skipOwnRecords,
    reconnectMaxDelayMs: 200,
    commandTimeoutMs: 1000,
  });
  opened.push(store);
  return store;
}

describe('nodesentry on a Redis Cluster', () => {
  it('when three replicas poll through the cluster, then every node is polled about once per interval in total and the work is shared', async () => {
    const d = await deployment(`cl-${randomBytes(4).toString('hex')}`);
    try {
      await d.settled();
      await sleep(2 * INTERVAL_MS);
      const t = new Timeline(d);
      await sleep(10 * INTERVAL_MS);
      await t.stop();
      // One replica alone would probe each node 10 times in the window; three uncoordinated ones 30.
      for (const c of t.probeCounts(t.startedAt, Date.now())) {
        expect(c).toBeGreaterThanOrEqual(7);
        expect(c).toBeLessThanOrEqual(13);
      }
      const owned = d.workers.map((w) => w.service.poller!.ownedNodeIds);
      expect(owned.flat().sort()).toEqual(d.nodes.map((n) => n.id).sort());
      for (const o of owned) expect(o.length).toBe(NODES / 3);
      expect(t.freshnessViolations(d.staleAfterMs)).toEqual([]);
    } finally {
      await d.close();
    }
  }, 40_000);

  /** The slot of `key` (by default the deployment's data) moves from `master` to another node: every cluster node says so. */
  async function slotMoved(prefix: string, master: number, key = createStoreKeys(prefix).drains): Promise<void> {
    await until(
      async () => {
        const now = await cluster.masterDuringChange(key);
        return now !== undefined && now !== master;
      },
      15_000,
      `the cluster naming a new master for ${key}`,
    );
  }

  async function timeline(
    fault: (master: number, prefix: string) => Promise<void>,
    prefix = `cl-${randomBytes(4).toString('hex')}`,
  ) {
    const d = await deployment(prefix);
    try {
      const checker = await checkerStore(prefix, 'checker');
      const master = await cluster.masterOf(createStoreKeys(prefix).drains);
      return await failoverTimeline(d, checker, () => fault(master, prefix));
    } finally {
      await d.close();
    }
  }

  it('when a replica takes over with CLUSTER FAILOVER while polling and serving, then polling and serving go on, nothing stale is served as fresh, and the drain stays', async () => {
    const { outageMs } = await timeline(async (master, prefix) => {
      // A replica whose link to the master is not online yet (a resync after an earlier test's
      // failover, slow on a loaded machine) is not listed: wait for one rather than fail.
      let replica: number | undefined;
      await until(
        async () => (replica = (await cluster.replicasOf(master))[0]) !== undefined,
        10_000,
        `an online replica of master ${master}`,
      );
      await cluster.failover(replica!);
      await slotMoved(prefix, master);
    });
    expect(outageMs).toBeLessThan(5_000);
  }, 40_000);

  it("when the master holding nodesentry's slot is killed, then its replica is promoted, nodesentry follows it, and the same guarantees hold", async () => {
    const { outageMs } = await timeline(async (master, prefix) => {
      await cluster.kill(master);
      // Failure detection (node timeout 1 s) plus the replica's election.
      await slotMoved(prefix, master);
    });
    // The crash is detected and repaired by the cluster itself in a few seconds.
    expect(outageMs).toBeGreaterThan(500);
    expect(outageMs).toBeLessThan(10_000);
  }, 45_000);

  it('when the master the events leave from is killed, then its replica is promoted, the API replica hears the store again, and the same guarantees hold', async () => {
    // A prefix whose events route sits on another master than its data, one with an online
    // replica to promote (the crash above left one master without).
    let prefix = '';
    let route = 0;
    await until(
      async () => {
        prefix = `cl-${randomBytes(4).toString('hex')}`;
        const k = createStoreKeys(prefix);
        route = await cluster.masterOf(k.eventsRoute);
        return route !== (await cluster.masterOf(k.drains)) && (await cluster.replicasOf(route)).length > 0;
      },
      10_000,
      'a prefix whose events route has a master with a replica',
    );
    const keys = createStoreKeys(prefix);
    const { outageMs } = await timeline(async () => {
      await cluster.kill(route);
      await slotMoved(prefix, route, keys.eventsRoute);
    }, prefix);
    expect(outageMs).toBeGreaterThan(500);
    expect(outageMs).toBeLessThan(10_000);
    // The data stayed where it was: only the events' origin moved.
    expect(await cluster.masterOf(keys.drains)).not.toBe(route);
  }, 45_000);
});
