import { randomBytes } from 'node:crypto';
import { createStoreKeys } from '../../src/store/keys.js';
import { RedisStore } from '../../src/store/redis-store.js';
import { Deployment, Timeline } from '../support/failover-timeline.js';
import { RedisCluster } from '../support/redis-cluster.js';
import { sleep, until } from '../support/wait.js';

// Three worker replicas and one API replica on a real Redis Cluster (3 masters + 3 replicas),
// polling a real simulator. Timelines: a coordinated failover (CLUSTER FAILOVER on a replica)
// and a crash (SIGKILL of the master that holds nodesentry's slot), each while polling and
// serving. The simulator's request counters are the ground truth for who polled what, when.

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
  const store = await RedisStore.connect({ cluster: { nodes: cluster.seeds }, prefix, replica, skipOwnRecords, reconnectMaxDelayMs: 200, commandTimeoutMs: 1000 });
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

  /**
   * Runs `fault` against the master holding the deployment's slot while polling and serving;
   * `fault` resolves when the slot is served again. Then checks the guarantees over the timeline.
   */
  async function failoverTimeline(fault: (master: number) => Promise<void>): Promise<{ outageMs: number; resumedMs: number }> {
    const prefix = `cl-${randomBytes(4).toString('hex')}`;
    const keys = createStoreKeys(prefix);
    const d = await deployment(prefix);
    let t: Timeline | undefined;
    try {
      await d.settled();
      await d.drain('bsc-0');
      const checker = await checkerStore(prefix, 'checker');
      const master = await cluster.masterOf(keys.drains);
      t = new Timeline(d);
      await sleep(3 * INTERVAL_MS);

      const faultAt = Date.now();
      await fault(master);
      const recoveredAt = Date.now();
      // Every node agrees (the gossip may take a moment after the promoted node knows).
      await until(async () => (await cluster.masterOf(keys.drains)) !== master, 5_000, 'the cluster naming a new master');

      // Writing resumes: every node's record in Redis is newer than the recovery within two intervals.
      const ids = d.nodes.map((n) => n.id);
      const resumedMs = await until(async () => {
        try {
          const records = await checker.getNodes(ids);
          return ids.every((id) => (records.get(id)?.sample.observedAt ?? 0) > recoveredAt);
        } catch {
          return false;
        }
      }, 10 * INTERVAL_MS, 'every record rewritten after the failover');
      expect(resumedMs).toBeLessThanOrEqual(2 * INTERVAL_MS + 300);

      // ...and the API replica, which only hears the store, serves fresh samples again.
      await until(() => {
        const last = t!.served.filter((s) => s.replica === 'api' && s.at > recoveredAt + resumedMs).at(-1);
        return last !== undefined && last.nodes.length === NODES && last.nodes.every((n) => !n.stale && (n.observedAt ?? 0) > recoveredAt);
      }, 5 * INTERVAL_MS, 'the API replica serving post-failover samples');
      await sleep(2 * INTERVAL_MS);
      await t.stop();
      const end = Date.now();

      // Probing never stopped: no node went unprobed for more than two intervals (plus the
      // 25 ms counter resolution and a probe's own time), before, during or after the fault.
      const gap = t.longestProbeGapMs(faultAt, end);
      expect(gap.gapMs).toBeLessThanOrEqual(2 * INTERVAL_MS + 150);
      // ...and never twice over: at most a moment of double polling while leases are re-settled.
      const expected = (end - faultAt) / INTERVAL_MS;
      for (const c of t.probeCounts(faultAt, end)) expect(c).toBeLessThanOrEqual(Math.ceil(expected * 1.25) + 2);

      // Nothing stale served as fresh, by any replica, at any moment; no going back in time.
      expect(t.freshnessViolations(d.staleAfterMs)).toEqual([]);
      expect(t.served.filter((s) => s.replica === 'api').length).toBeGreaterThan(10);

      // The drain survived: every answer showed it, and the store still holds it.
      for (const s of t.served) expect(s.nodes.find((n) => n.id === 'bsc-0')?.drained).toBe(true);
      expect((await checker.getDrains()).get('bsc-0')).toMatchObject({ nodeId: 'bsc-0', by: 'failover-test', reason: 'maintenance' });
      return { outageMs: recoveredAt - faultAt, resumedMs };
    } finally {
      await t?.stop();
      await d.close();
    }
  }

  it('when a replica takes over with CLUSTER FAILOVER while polling and serving, then polling and serving go on, nothing stale is served as fresh, and the drain stays', async () => {
    const { outageMs } = await failoverTimeline(async (master) => {
      const [replica] = await cluster.replicasOf(master);
      expect(replica).toBeDefined();
      await cluster.failover(replica!);
    });
    expect(outageMs).toBeLessThan(5_000);
  }, 40_000);

  it('when the master holding nodesentry\'s slot is killed, then its replica is promoted, nodesentry follows it, and the same guarantees hold', async () => {
    const { outageMs } = await failoverTimeline(async (master) => {
      await cluster.kill(master);
      // Failure detection (node timeout 1 s) plus the replica's election.
      await until(async () => {
        try {
          const ports = cluster.running.map((n) => n.port);
          const now = await Promise.all(ports.map(async (p) => /^role:master/m.test(String(await cluster.admin(p).info('replication')))));
          return now.filter(Boolean).length === 3;
        } catch {
          return false;
        }
      }, 15_000, 'a replica promoted');
    });
    // The crash is detected and repaired by the cluster itself in a few seconds.
    expect(outageMs).toBeGreaterThan(500);
    expect(outageMs).toBeLessThan(10_000);
  }, 45_000);
});
