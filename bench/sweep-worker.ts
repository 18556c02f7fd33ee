import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { Agent } from 'undici';
import { NODE_DEFAULTS } from '../src/config/node-config.js';
import { loadSettings } from '../src/config/settings.js';
import { limitHeapGrowth } from '../src/main/heap-growth.js';
import { DEFAULT_HEALTH_POLICY } from '../src/health/policy.js';
import { Service } from '../src/service.js';
import { generateFleet } from '../src/simulator/fleet.js';
import { chainForSimNode } from '../src/simulator/fleet-nodes.js';
import { DEFAULT_SWEEP_BATCH_SIZE } from '../src/store/sweep-plan.js';
import { RedisStore } from '../src/store/redis-store.js';
import type { Store } from '../src/store/store.js';
import { childOptions, failStart, serveParent } from './child-process.js';
import { startCpuProfile } from './cpu-profile.js';
import { FloorSweeper, type RecordTemplate, StoringFloorSweeper } from './floor-sweep.js';
import { deletePrefix } from './redis-prefix.js';
import { probeBody, remoteFleet, sharedPortUrl } from './remote-fleet.js';

export interface SweepWorkerOptions {
  /** `storing-floor`: the floor plus a record-sized write per answer (StoringFloorSweeper). */
  readonly subject: 'nodesentry' | 'floor' | 'storing-floor';
  readonly simPort: number;
  readonly nodes: number;
  readonly seed: number;
  readonly concurrency: number;
  readonly redisUrl: string;
  /** Profile the measured sweeps (not start-up and the first sweep) into this directory. */
  readonly profileDir?: string;
  /** Sample the bytes allocated during the measured sweeps (garbage included) into this directory. */
  readonly heapProfileDir?: string;
}

export interface SweepWorkerReady {
  /** The first sweep after start (cold: connections opened, nothing known about any node). */
  readonly firstSweepMs: number;
  /** Its CPU time (user + system, all threads), ms: steadier than wall time on a loaded machine. */
  readonly firstSweepCpuMs: number;
  /** Peak RSS from start to the end of the first sweep, bytes (the kernel's maxRSS). */
  readonly firstSweepPeakRss: number;
  /** Probes the first sweep made: one per node, plus nodesentry's fast re-checks of rising nodes. */
  readonly firstSweepProbes: number;
}

/** Peaks of `process.memoryUsage()` sampled every 20 ms from start to the call, bytes. */
export interface MemoryPeaks {
  readonly maxRss: number;
  readonly heapTotal: number;
  readonly heapUsed: number;
  readonly external: number;
  readonly arrayBuffers: number;
}

export interface SweepResult {
  readonly ms: number;
  /** Time inside `Store.writeSweep` during the sweep (flushes run one after another). */
  readonly redisMs: number;
  /** The storing floor: bytes of values it sent to Redis (records, history points, events). */
  readonly bytes?: number;
  /** CPU time of the subject's process during the sweep (user + system, all threads), ms: steadier than wall time on a loaded machine. */
  readonly cpuMs: number;
  readonly probed: number;
  readonly ok: number;
}

/**
 * The interval of the benchmark's nodes: the longest allowed, so that between the measured
 * sweeps the scheduler never probes a node on its own (every probe is a sweep's).
 */
const BENCH_INTERVAL_MS = 3_600_000;

/**
 * One subject of the sweep benchmark in a process of its own (so its peak RSS is its own):
 * nodesentry (a real Service over a real Redis), or the bare undici floor. Both sweep once
 * before reporting ready (connections open, code warm).
 *
 * nodesentry runs as `serve` does: its poller started, holding the nodes' leases, writing
 * through the lease-fenced script, its write buffer flushing on its own timer and its leases
 * renewed while the sweeps run. Its first sweep is the start itself (lease round, then every
 * node probed once); each measured sweep is `poller.sweepOnce()`, which probes every owned node
 * through the same scheduler and writes the rest. (Until 2026-12-03 the worker swept an
 * unstarted poller, which writes unfenced in one pipeline at the end: a path `serve` never
 * takes, and a cold start 1-2.5 s shorter than serve's.)
 */
async function main(): Promise<void> {
  const o = childOptions<SweepWorkerOptions>();
  const memory = sampleMemory();
  const specs = generateFleet(o.nodes, o.seed);
  if (o.subject === 'storing-floor') {
    await serveStoringFloor(o, specs, memory);
    return;
  }
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
    await serveFloor(o, 'floor', floor, specs.length, memory, () => dispatcher.close());
    return;
  }

  // As `nodesentry serve` sizes its heap (node --heap-growing-percent=0 gives V8's own growth back).
  limitHeapGrowth();
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
    nodes: remoteFleet(specs, (id) => sharedPortUrl(o.simPort, id), {
      intervalMs: BENCH_INTERVAL_MS,
      timeoutMs: NODE_DEFAULTS.timeoutMs,
    }),
    policy: DEFAULT_HEALTH_POLICY,
    logger,
    replica,
    store,
    startPolling: false, // started below: the start is the timed first sweep
  });
  const poller = service.poller!;
  // The cold sweep gets a profile of its own (`-first`): it is the "first sweep after start" figure.
  const coldProfile = o.profileDir
    ? await startCpuProfile(o.profileDir, `sweep-nodesentry-${o.nodes}-c${o.concurrency}-first`)
    : undefined;
  const firstCpu = process.cpuUsage();
  const firstStarted = performance.now();
  await poller.start();
  while (!poller.firstSweepDone) await new Promise((r) => setTimeout(r, 5));
  await poller.flush();
  if (poller.ownedNodeIds.length !== o.nodes)
    throw new Error(`the poller holds ${poller.ownedNodeIds.length} of ${o.nodes} leases after its start`);
  const firstSweepMs = performance.now() - firstStarted;
  const firstSweepCpuMs = cpuMsSince(firstCpu);
  const firstSweepPeakRss = memory().maxRss;
  const firstSweepProbes = poller.stats.probes;
  await coldProfile?.stop();
  const profile = o.profileDir
    ? await startCpuProfile(o.profileDir, `sweep-nodesentry-${o.nodes}-c${o.concurrency}`)
    : undefined;
  const heapProfile = o.heapProfileDir
    ? await startAllocationProfile(o.heapProfileDir, `sweep-nodesentry-${o.nodes}-c${o.concurrency}`)
    : undefined;
  serveParent(
    { firstSweepMs, firstSweepCpuMs, firstSweepPeakRss, firstSweepProbes } satisfies SweepWorkerReady,
    {
      sweep: async (): Promise<SweepResult> => {
        redisMs = 0;
        const cpu = process.cpuUsage();
        const started = performance.now();
        const samples = await poller.sweepOnce();
        const ms = performance.now() - started;
        return { ms, redisMs, cpuMs: cpuMsSince(cpu), probed: samples.length, ok: samples.filter((s) => s.ok).length };
      },
      memory,
    },
    async () => {
      await profile?.stop();
      await heapProfile?.stop();
      await service.close();
      await deletePrefix(o.redisUrl, prefix);
    },
  );
}

/** A steady bsc record as nodesentry stores it (the codec benchmarks' fixture): the storing floor's record size. */
function recordTemplate(): RecordTemplate {
  const path = new URL('../../../test/store/fixtures/steady-record.json', import.meta.url);
  const r = JSON.parse(readFileSync(path, 'utf8')) as RecordTemplate;
  return { sample: r.sample, health: r.health };
}

async function serveStoringFloor(
  o: SweepWorkerOptions,
  specs: ReturnType<typeof generateFleet>,
  memory: () => MemoryPeaks,
): Promise<void> {
  const dispatcher = new Agent({ connections: o.concurrency, keepAliveTimeout: 30_000 });
  const redis = new Redis(o.redisUrl, { maxRetriesPerRequest: 1 });
  const prefix = `bench-floor-${randomBytes(4).toString('hex')}`;
  const floor = new StoringFloorSweeper(
    specs.map((s) => ({
      url: sharedPortUrl(o.simPort, s.id),
      body: probeBody(s.kind === 'bsc' ? 'evm' : 'bitcoin'),
      nodeId: s.id,
      chain: chainForSimNode(s).name,
    })),
    o.concurrency,
    dispatcher,
    { redis, prefix, template: recordTemplate(), batchSize: DEFAULT_SWEEP_BATCH_SIZE },
  );
  await serveFloor(o, 'storing-floor', floor, specs.length, memory, async () => {
    await dispatcher.close();
    redis.disconnect();
    await deletePrefix(o.redisUrl, prefix);
  });
}

/** A floor subject: its first sweep, then sweeps on the parent's call, its profile if asked. */
async function serveFloor(
  o: SweepWorkerOptions,
  name: string,
  floor: { sweep(): Promise<{ ms: number; ok: number; bytes?: number }> },
  nodes: number,
  memory: () => MemoryPeaks,
  close: () => Promise<void>,
): Promise<void> {
  const firstCpu = process.cpuUsage();
  const first = await floor.sweep();
  const firstSweepCpuMs = cpuMsSince(firstCpu);
  const profile = o.profileDir
    ? await startCpuProfile(o.profileDir, `sweep-${name}-${o.nodes}-c${o.concurrency}`)
    : undefined;
  serveParent(
    {
      firstSweepMs: first.ms,
      firstSweepCpuMs,
      firstSweepPeakRss: memory().maxRss,
      firstSweepProbes: nodes,
    } satisfies SweepWorkerReady,
    {
      sweep: async (): Promise<SweepResult> => {
        const cpu = process.cpuUsage();
        const r = await floor.sweep();
        return {
          ms: r.ms,
          redisMs: 0,
          cpuMs: cpuMsSince(cpu),
          probed: nodes,
          ok: r.ok,
          ...(r.bytes !== undefined ? { bytes: r.bytes } : {}),
        };
      },
      memory,
    },
    async () => {
      await profile?.stop();
      await close();
    },
  );
}

/**
 * Samples the heap, external and array-buffer sizes every 20 ms (maxRSS is the kernel's own
 * peak): peak RSS alone does not say whether the heap, V8's growth or memory outside it grew.
 */
function sampleMemory(): () => MemoryPeaks {
  const peak = { heapTotal: 0, heapUsed: 0, external: 0, arrayBuffers: 0 };
  const sample = () => {
    const m = process.memoryUsage();
    peak.heapTotal = Math.max(peak.heapTotal, m.heapTotal);
    peak.heapUsed = Math.max(peak.heapUsed, m.heapUsed);
    peak.external = Math.max(peak.external, m.external);
    peak.arrayBuffers = Math.max(peak.arrayBuffers, m.arrayBuffers);
  };
  setInterval(sample, 20).unref();
  return () => {
    sample();
    return { maxRss: process.resourceUsage().maxRSS * 1024, ...peak };
  };
}

/**
 * V8's sampling heap profiler over the measured sweeps, keeping the samples of objects the GC
 * has collected too: who allocates the most bytes, not who holds them (a heap snapshot's view).
 * Writes `<dir>/<name>.heapprofile` (Chrome DevTools, Memory tab).
 */
async function startAllocationProfile(dir: string, name: string): Promise<{ stop: () => Promise<void> }> {
  const session = new Session();
  session.connect();
  await session.post('HeapProfiler.enable');
  await session.post('HeapProfiler.startSampling', {
    samplingInterval: 64 * 1024,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
  return {
    async stop() {
      const { profile } = await session.post('HeapProfiler.stopSampling');
      session.disconnect();
      await writeFile(join(dir, `${name}.heapprofile`), JSON.stringify(profile));
    },
  };
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
