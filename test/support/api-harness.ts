import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { type App, createApp } from '../../src/api/app.js';
import type { ReloadOutcome } from '../../src/api/api-context.js';
import type { NodeConfig } from '../../src/config/node-config.js';
import { loadSettings, type Settings } from '../../src/config/settings.js';
import { DEFAULT_HEALTH_POLICY, mergePolicy, type HealthPolicyInput } from '../../src/health/policy.js';
import { Service, type ServiceOptions } from '../../src/service.js';
import { nodesForSimulator } from '../../src/simulator/fleet-nodes.js';
import type { SimNodeSpec } from '../../src/simulator/sim-node-spec.js';
import { Simulator } from '../../src/simulator/simulator.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { RedisStore } from '../../src/store/redis-store.js';
import type { Store } from '../../src/store/store.js';

export interface Harness {
  readonly sim: Simulator;
  readonly service: Service;
  /** What a server would serve: the probe fast path, then express. */
  readonly app: App['app'];
  /** The express app behind it, and the fast path's routes (the OpenAPI test walks both). */
  readonly api: App;
  readonly nodes: NodeConfig[];
  /** Every log line the service wrote so far, parsed. */
  logs(): Array<Record<string, unknown>>;
  /** Raw log text (for secret scans). */
  logText(): string;
  /** Probe every node `times` times (default: the policy's riseAfter, so states settle). */
  sweep(times?: number): Promise<void>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  readonly specs: SimNodeSpec[];
  /** `redis` uses REDIS_URL with a fresh prefix; default memory. */
  readonly store?: 'memory' | 'redis';
  /** With `redis`: this prefix instead of a fresh one (replicas sharing one store). */
  readonly redisPrefix?: string;
  readonly env?: Record<string, string>;
  readonly policy?: HealthPolicyInput;
  /** Adjust node configs (tiers, tags, intervals) before the service starts. */
  readonly mapNodes?: (nodes: NodeConfig[]) => NodeConfig[];
  readonly reload?: () => Promise<ReloadOutcome>;
  readonly now?: () => number;
  /** Poller knobs (e.g. `phasePeerDetails: false`, for tests that read peer lists after one sweep). */
  readonly poller?: ServiceOptions['poller'];
}

/**
 * A real service over a real simulator (and a real Redis when asked), with the poller not
 * started: tests drive sweeps explicitly, so states are deterministic. Nothing is mocked.
 */
export async function startHarness(opts: HarnessOptions): Promise<Harness> {
  const sim = await Simulator.start({ nodes: opts.specs, authDelayMs: 5 });
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  const logger = pino({ level: 'debug' }, sink);
  const settings: Settings = loadSettings({ PORT: '0', ...(opts.env ?? {}) });
  // 1 s: a loaded CI machine (a core kept busy, Jest workers, real processes) must not turn a
  // healthy simulated node into a timeout; tests of hung nodes set their own, shorter timeouts.
  let nodes = nodesForSimulator(sim, opts.specs, { intervalMs: 1_000, timeoutMs: 1_000 });
  if (opts.mapNodes) nodes = opts.mapNodes(nodes);
  const replica = `test-${randomBytes(3).toString('hex')}`;
  let store: Store;
  if (opts.store === 'redis') {
    const url = process.env.REDIS_URL;
    if (!url) throw new Error('REDIS_URL is not set (the Jest global setup starts a redis-server)');
    const redis = new RedisStore({ url, prefix: opts.redisPrefix ?? `t-${randomBytes(4).toString('hex')}`, replica });
    await redis.ready(5_000);
    store = redis;
  } else {
    store = new MemoryStore();
  }
  const policy = opts.policy ? mergePolicy(opts.policy) : DEFAULT_HEALTH_POLICY;
  const service = await Service.start({
    settings,
    nodes,
    policy,
    logger,
    replica,
    store,
    startPolling: false,
    ...(opts.poller ? { poller: opts.poller } : {}),
  });
  const api = createApp({
    service,
    logger,
    ...(opts.reload ? { reload: opts.reload } : {}),
    ...(opts.now ? { now: opts.now } : {}),
  });
  const { app, close: closeApp } = api;
  return {
    sim,
    service,
    app,
    api,
    nodes,
    logs: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>),
    logText: () => lines.join(''),
    async sweep(times = policy.riseAfter) {
      for (let i = 0; i < times; i++) await service.poller!.sweepOnce();
    },
    async close() {
      closeApp();
      await service.close();
      await sim.close();
      if (opts.store === 'redis') await cleanupPrefix(store);
    },
  };
}

async function cleanupPrefix(store: Store): Promise<void> {
  // Deleting by prefix needs a live connection; the store is closed by now, so open one.
  const url = process.env.REDIS_URL;
  const keys = (store as RedisStore).keys;
  if (!url || !keys) return;
  const { Redis } = await import('ioredis');
  const r = new Redis(url);
  try {
    const pattern = `${keys.node('x').slice(0, keys.node('x').indexOf(':node:'))}:*`;
    let cursor = '0';
    do {
      const [next, batch] = await r.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
      cursor = next;
      if (batch.length > 0) await r.del(...batch);
    } while (cursor !== '0');
  } finally {
    r.disconnect();
  }
}
