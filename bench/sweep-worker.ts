import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { Agent } from 'undici';
import { loadSettings } from '../src/config/settings.js';
import { DEFAULT_HEALTH_POLICY } from '../src/health/policy.js';
import { Service } from '../src/service.js';
import { generateFleet } from '../src/simulator/fleet.js';
import { RedisStore } from '../src/store/redis-store.js';
import type { Store } from '../src/store/store.js';
import { childOptions, failStart, serveParent } from './child-process.js';
import { startCpuProfile } from './cpu-profile.js';
import { FloorSweeper } from './floor-sweep.js';
import { deletePrefix } from './redis-prefix.js';
import { probeBody, remoteFleet, sharedPortUrl } from './remote-fleet.js';

export interface SweepWorkerOptions {
  readonly subject: 'nodesentry' | 'floor';
  readonly simPort: number;
  readonly nodes: number;
  readonly seed: number;
  readonly concurrency: number;
  readonly redisUrl: string;
  /** Profile the measured sweeps (not start-up and the first sweep) into this directory. */
  readonly profileDir?: string;
}

export interface SweepWorkerReady {
  /** The first sweep after start (cold: connections opened, nothing known about any node). */
  readonly firstSweepMs: number;
}

export interface SweepResult {
  readonly ms: number;
  /** Time inside `Store.writeSweep` during the sweep (flushes run one after another). */
  readonly redisMs: number;
  /** CPU time of the subject's process during the sweep (user + system, all threads), ms: steadier than wall time on a loaded machine. */
  readonly cpuMs: number;
  readonly probed: number;
  readonly ok: number;
}

/**
 * One subject of the sweep benchmark in a process of its own (so its peak RSS is its own):
 * nodesentry (a real Service over a real Redis, `poller.sweepOnce()`), or the bare undici
 * floor. Both sweep once before reporting ready (connections open, code warm).
 */
async function main(): Promise<void> {
  const o = childOptions<SweepWorkerOptions>();
  const specs = generateFleet(o.nodes, o.seed);
  if (o.subject === 'floor') {
    // As many connections as requests in flight: the floor is never short of sockets.
    const dispatcher = new Agent({ connections: o.concurrency, keepAliveTimeout: 30_000 });
    const floor = new FloorSweeper(
      specs.map((s) => ({
        url: sharedPortUrl(o.simPort, s.id),
        body: probeBody(s.kind === 'bsc' ? 'evm' : 'bitcoin'),
      })),
      o.concurrency,
      dispatcher,
    );
    const first = await floor.sweep();
    const profile = o.profileDir
      ? await startCpuProfile(o.profileDir, `sweep-floor-${o.nodes}-c${o.concurrency}`)
      : undefined;
    serveParent(
      { firstSweepMs: first.ms } satisfies SweepWorkerReady,
      {
        sweep: async (): Promise<SweepResult> => {
          const cpu = process.cpuUsage();
          const r = await floor.sweep();
          return { ms: r.ms, redisMs: 0, cpuMs: cpuMsSince(cpu), probed: specs.length, ok: r.ok };
        },
        rss: () => process.resourceUsage().maxRSS * 1024,
      },
      async () => {
        await profile?.stop();
        await dispatcher.close();
      },
    );
    return;
  }

  const prefix = `bench-${randomBytes(4).toString('hex')}`;
  const replica = `bench-${process.pid}`;
  // Configured as the service configures its own store (src/service.ts).
  const redis = new RedisStore({ url: o.redisUrl, prefix, replica, skipOwnRecords: true });
  await redis.ready(5_000);
  let redisMs = 0;
  const store = timedWrites(redis, (ms) => (redisMs += ms));
  // All simulated nodes share one host:port, so the per-host limit is raised to the global one:
  // otherwise it (default 8), not the concurrency under test, would bound the sweep.
  const settings = loadSettings({
    NODESENTRY_CONCURRENCY: String(o.concurrency),
    NODESENTRY_PER_HOST_CONCURRENCY: String(o.concurrency),
    LOG_LEVEL: 'warn',
  });
  const logger = pino({ level: 'error' }, pino.destination(2));
  const service = await Service.start({
    settings,
    nodes: remoteFleet(specs, (id) => sharedPortUrl(o.simPort, id)),
    policy: DEFAULT_HEALTH_POLICY,
    logger,
    replica,
    store,
    startPolling: false,
  });
  const poller = service.poller!;
  // The cold sweep gets a profile of its own (`-first`): it is the "first sweep after start" figure.
  const coldProfile = o.profileDir
    ? await startCpuProfile(o.profileDir, `sweep-nodesentry-${o.nodes}-c${o.concurrency}-first`)
    : undefined;
  const firstStarted = performance.now();
  await poller.sweepOnce();
  const firstSweepMs = performance.now() - firstStarted;
  await coldProfile?.stop();
  const profile = o.profileDir
    ? await startCpuProfile(o.profileDir, `sweep-nodesentry-${o.nodes}-c${o.concurrency}`)
    : undefined;
  serveParent(
    { firstSweepMs } satisfies SweepWorkerReady,
    {
      sweep: async (): Promise<SweepResult> => {
        redisMs = 0;
        const cpu = process.cpuUsage();
        const started = performance.now();
        const samples = await poller.sweepOnce();
        const ms = performance.now() - started;
        return { ms, redisMs, cpuMs: cpuMsSince(cpu), probed: samples.length, ok: samples.filter((s) => s.ok).length };
      },
      rss: () => process.resourceUsage().maxRSS * 1024,
    },
    async () => {
      await profile?.stop();
      await service.close();
      await deletePrefix(o.redisUrl, prefix);
    },
  );
}

function cpuMsSince(start: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(start);
  return (d.user + d.system) / 1000;
}

/** The store, with the wall time of every `writeSweep` reported to `onWrite`. */
function timedWrites(store: Store, onWrite: (ms: number) => void): Store {
  return new Proxy(store, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop, target);
      if (typeof value !== 'function') return value;
      if (prop !== 'writeSweep') return value.bind(target);
      return async (...args: Parameters<Store['writeSweep']>) => {
        const started = performance.now();
        try {
          return await target.writeSweep(...args);
        } finally {
          onWrite(performance.now() - started);
        }
      };
    },
  });
}

main().catch(failStart);
