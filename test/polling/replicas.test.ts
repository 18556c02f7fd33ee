import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { Redis } from 'ioredis';
import { loadSettings } from '../../src/config/settings.js';
import type { NodeConfig } from '../../src/config/node-config.js';
import { DEFAULT_HEALTH_POLICY } from '../../src/health/policy.js';
import { Service } from '../../src/service.js';
import { nodesForSimulator } from '../../src/simulator/fleet-nodes.js';
import type { SimNodeSpec } from '../../src/simulator/sim-node-spec.js';
import { Simulator } from '../../src/simulator/simulator.js';
import { RedisStore } from '../../src/store/redis-store.js';
import { RedisServer } from '../support/redis-server.js';
import { sleep, until } from '../support/wait.js';

// Several nodesentry replicas sharing one real Redis, polling one simulated fleet. The
// simulator counts every HTTP request per node: that count is the ground truth for
// "each node is polled once per interval in total, not once per replica".

const INTERVAL_MS = 400;
const LEASE_RENEW_MS = 150;
const SPECS: SimNodeSpec[] = Array.from({ length: 12 }, (_, i) => ({
  id: `bsc-${String(i).padStart(2, '0')}`,
  kind: 'bsc' as const,
}));

const quiet = pino({ level: 'silent' });
let sim: Simulator;
let nodes: NodeConfig[];
const prefixes: string[] = [];

beforeAll(async () => {
  sim = await Simulator.start({ nodes: SPECS, authDelayMs: 5 });
  nodes = nodesForSimulator(sim, SPECS, { intervalMs: INTERVAL_MS, timeoutMs: 200 });
});

afterAll(async () => {
  await sim.close();
  const r = new Redis(process.env.REDIS_URL!);
  for (const p of prefixes) {
    const keys = await r.keys(`{${p}}:*`);
    if (keys.length > 0) await r.del(...keys);
  }
  r.disconnect();
});

function newPrefix(): string {
  const p = `rep-${randomBytes(4).toString('hex')}`;
  prefixes.push(p);
  return p;
}

async function replica(name: string, prefix: string, url = process.env.REDIS_URL!): Promise<Service> {
  const store = new RedisStore({ url, prefix, replica: name, reconnectMaxDelayMs: 100, commandTimeoutMs: 1_000 });
  await store.ready(5_000);
  return Service.start({
    settings: loadSettings({}),
    nodes,
    policy: DEFAULT_HEALTH_POLICY,
    logger: quiet,
    replica: name,
    store,
    poller: { leaseRenewMs: LEASE_RENEW_MS, flushIntervalMs: 50, jitter: 0 },
  });
}

function requestsPerNode(): number[] {
  return SPECS.map((s) => sim.stats(s.id).requests);
}

describe('several replicas against one Redis', () => {
  it('when three replicas run, then every node is polled about once per interval in total and the work is shared', async () => {
    const prefix = newPrefix();
    const replicas = await Promise.all(['r1', 'r2', 'r3'].map((n) => replica(n, prefix)));
    try {
      // Let leases settle to a fair share (over-share leases are released at once).
      await until(() => replicas.every((r) => r.poller!.ownedNodeIds.length > 0), 3_000);
      await sleep(3 * LEASE_RENEW_MS);
      sim.resetStats();
      const windowMs = 10 * INTERVAL_MS;
      await sleep(windowMs);
      const counts = requestsPerNode();
      // One replica alone would make windowMs / INTERVAL_MS = 10 requests per node; three
      // uncoordinated replicas would make 30. Changing nodes are re-checked sooner, which the
      // healthy fleet here never triggers once settled.
      for (const c of counts) {
        expect(c).toBeGreaterThanOrEqual(7);
        expect(c).toBeLessThanOrEqual(13);
      }
      const owned = replicas.map((r) => r.poller!.ownedNodeIds);
      expect(owned.flat().sort()).toEqual(SPECS.map((s) => s.id).sort());
      expect(new Set(owned.flat()).size).toBe(SPECS.length);
      for (const o of owned) expect(o.length).toBe(4);
      // Every replica's view holds every node, including those polled by the others.
      for (const r of replicas) for (const s of SPECS) expect(r.view.get(s.id)?.sample.ok).toBe(true);
    } finally {
      await Promise.all(replicas.map((r) => r.close()));
    }
  });

  it('when leases are settled, then a lease round offers the claim its own leases, not every node', async () => {
    // A private redis-server whose slow log records every command (threshold 0): the lease keys
    // of each claim call are what Redis itself was asked, not what the poller says it asked.
    const server = await RedisServer.start();
    const admin = new Redis(server.url);
    const prefix = newPrefix();
    const replicas = await Promise.all(['r1', 'r2', 'r3'].map((n) => replica(n, prefix, server.url)));
    try {
      await until(
        () => replicas.every((r) => r.poller!.ownedNodeIds.length === SPECS.length / 3),
        5_000,
        'a fair share each',
      );
      await sleep(3 * LEASE_RENEW_MS);
      await admin.config('SET', 'slowlog-max-len', '100000');
      await admin.config('SET', 'slowlog-log-slower-than', '0');
      await admin.slowlog('RESET');
      await sleep(12 * LEASE_RENEW_MS);
      await admin.config('SET', 'slowlog-log-slower-than', '-1');
      const entries = (await admin.slowlog('GET', 100000)) as Array<[number, number, number, string[]]>;
      // EVALSHA sha numkeys deadlines-key lease-keys...: claim (and release) calls under this prefix.
      const offered = entries
        .map((e) => e[3])
        .filter((args) => args[0]?.toLowerCase() === 'evalsha' && args[3] === `{${prefix}}:lease-deadlines`)
        .map((args) => Number(args[2]) - 1);
      expect(offered.length).toBeGreaterThanOrEqual(6);
      // Settled, a round offers the replica's own four; a full round (one in fifteen) all twelve.
      // Every node in every round (the old claim) would make `own` zero; margin for a round
      // that raced a late hand-over on a loaded machine.
      const own = offered.filter((n) => n === SPECS.length / 3).length;
      expect(own).toBeGreaterThanOrEqual(Math.ceil(0.7 * offered.length));
      expect(Math.max(...offered)).toBeLessThanOrEqual(SPECS.length);
    } finally {
      await Promise.all(replicas.map((r) => r.close()));
      admin.disconnect();
      await server.close();
    }
  });

  it('when a replica stops cleanly, then its nodes are handed over at once, not after the lease expires', async () => {
    const prefix = newPrefix();
    const [a, b] = await Promise.all([replica('a', prefix), replica('b', prefix)]);
    try {
      await until(() => a.poller!.ownedNodeIds.length === 6 && b.poller!.ownedNodeIds.length === 6, 3_000);
      const before = Date.now();
      await a.close();
      await until(() => b.poller!.ownedNodeIds.length === SPECS.length, 3_000);
      // The lease TTL is 3 x renew; a hand-over that waited for expiry would take longer.
      expect(Date.now() - before).toBeLessThan(3 * LEASE_RENEW_MS);
      const sinceStop = Date.now();
      sim.resetStats();
      await sleep(2 * INTERVAL_MS + 100);
      for (const s of SPECS) expect(b.view.get(s.id)!.sample.observedAt).toBeGreaterThan(sinceStop - INTERVAL_MS);
      for (const c of requestsPerNode()) expect(c).toBeGreaterThanOrEqual(1);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});
