import { pino } from 'pino';
import { loadSettings } from '../src/config/settings.js';
import { DEFAULT_HEALTH_POLICY } from '../src/health/policy.js';
import { limitHeapGrowth } from '../src/main/heap-growth.js';
import { Service } from '../src/service.js';
import { generateFleet } from '../src/simulator/fleet.js';
import { RedisStore } from '../src/store/redis-store.js';
import { childOptions, failStart, serveParent } from './child-process.js';
import { startCpuProfile } from './cpu-profile.js';
import { remoteFleet, sharedPortUrl } from './remote-fleet.js';

export interface ScaleWorkerOptions {
  readonly name: string;
  readonly simPort: number;
  readonly nodes: number;
  readonly seed: number;
  readonly cluster: ReadonlyArray<{ host: string; port: number }>;
  readonly prefix: string;
  /** `all`: polls and serves (a worker); `api`: serves what the store tells it. */
  readonly role: 'all' | 'api';
}

export interface ScaleWorkerStats {
  /** process.cpuUsage() user + system, µs, since start. */
  readonly cpuUs: number;
  readonly probes: number;
  readonly flushes: number;
  readonly flushFailures: number;
  readonly owned: number;
  readonly firstSweepDone: boolean;
  /** Events this replica received (its own records events are skipped unparsed, as in service). */
  readonly events: number;
  readonly recordsReceived: number;
  readonly rss: number;
  /** Nodes whose latest sample in this replica's view answered (the fleet is healthy: all should). */
  readonly okNodes: number;
}

/**
 * One worker replica of the scale run, in a process of its own (its CPU is its own): a real
 * Service polling on its schedule (NODE_DEFAULTS: 5 s interval), leases and records on the
 * Redis Cluster, as `nodesentry serve` with REDIS_CLUSTER_NODES runs it.
 */
async function main(): Promise<void> {
  const o = childOptions<ScaleWorkerOptions>();
  // As `nodesentry serve` sizes its heap (scale.ts starts this process with serve's node flags).
  limitHeapGrowth();
  const specs = generateFleet(o.nodes, o.seed);
  const nodeIds = specs.map((s) => s.id);
  const store = new RedisStore({
    cluster: { nodes: o.cluster },
    prefix: o.prefix,
    replica: o.name,
    skipOwnRecords: o.role !== 'api',
  });
  await store.ready(10_000);
  let events = 0;
  let recordsReceived = 0;
  store.subscribe((e) => {
    events++;
    if (e.type === 'records') recordsReceived += e.records.length;
  });
  // All simulated nodes share one host:port: the per-host limit is raised to the global one
  // (the default 64), so three workers keep at most 192 connections on the simulator's port.
  const settings = loadSettings({
    NODESENTRY_ROLE: o.role,
    REDIS_CLUSTER_NODES: o.cluster.map((n) => `${n.host}:${n.port}`).join(','),
    NODESENTRY_CONCURRENCY: '64',
    NODESENTRY_PER_HOST_CONCURRENCY: '64',
    LOG_LEVEL: 'warn',
  });
  // Errors only: node transitions under the machine's load would drown the report.
  const logger = pino({ level: 'error', base: { replica: o.name } }, pino.destination(2));
  const service = await Service.start({
    settings,
    nodes: remoteFleet(specs, (id) => sharedPortUrl(o.simPort, id), { intervalMs: 5_000, timeoutMs: 2_000 }),
    policy: DEFAULT_HEALTH_POLICY,
    logger,
    replica: o.name,
    store,
  });
  let profile: { stop: () => Promise<string> } | undefined;
  serveParent(
    { pid: process.pid },
    {
      stats: (): ScaleWorkerStats => {
        const cpu = process.cpuUsage();
        const p = service.poller?.stats;
        let okNodes = 0;
        for (const id of nodeIds) if (service.view.get(id)?.sample.ok) okNodes++;
        return {
          cpuUs: cpu.user + cpu.system,
          probes: p?.probes ?? 0,
          flushes: p?.flushes ?? 0,
          flushFailures: p?.flushFailures ?? 0,
          owned: p?.owned ?? 0,
          firstSweepDone: service.poller?.firstSweepDone ?? true,
          events,
          recordsReceived,
          rss: process.memoryUsage().rss,
          okNodes,
        };
      },
      // The measured window's CPU profile (`--cpu-prof DIR` with `--only scale`).
      profileStart: async (dir: unknown) => {
        profile = await startCpuProfile(String(dir), `scale-${o.name}`);
      },
      profileStop: async () => {
        const p = profile;
        profile = undefined;
        return p ? p.stop() : undefined;
      },
    },
    () => service.close(),
  );
}

main().catch(failStart);
