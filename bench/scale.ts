import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { Cluster } from 'ioredis';
import { RedisCluster } from '../test/support/redis-cluster.js';
import { createStoreKeys } from '../src/store/keys.js';
import { SERVE_NODE_FLAGS } from '../src/main/heap-growth.js';
import { generateFleet } from '../src/simulator/fleet.js';
import { firstWall, predict, type Deployment, type ModelInputs, type Prediction } from './capacity-model.js';
import { BenchChild } from './child-process.js';
import type { ScaleWorkerOptions, ScaleWorkerStats } from './scale-worker.js';
import type { SimProcessOptions, SimProcessReady } from './sim-process.js';

export interface ScaleOptions {
  readonly nodes: number;
  readonly workers: number;
  /** Measured window after the fleet settled, ms. */
  readonly windowMs: number;
  readonly seed: number;
  readonly log: (line: string) => void;
  /** Write each replica's CPU profile of the measured window here. */
  readonly profileDir?: string | undefined;
  /** A smaller fleet measured first, to fit CPU as fixed + per unit (default half of `nodes`). */
  readonly fitNodes?: number;
}

/** Each replica's CPU at the two fleets of a fit (see withFit). */
export interface ScaleFit {
  readonly nodes: number;
  readonly small: { workerCpu: number; workerProbesPerSec: number; apiCpu: number; redisCpu: number };
  readonly big: { workerCpu: number; workerProbesPerSec: number; apiCpu: number; redisCpu: number };
  /** The larger fleet's single-fleet averages (what the model used before the fit). */
  readonly averages: { workerCpuUsPerProbe: number; apiCpuUsPerRecord: number; redisCpuUsPerCommand: number };
  /** False when the two points did not give a sound line (the averages are used). */
  readonly used: boolean;
}

interface RedisSnapshot {
  readonly calls: Map<string, number>;
  /** Redis's own CPU per command (INFO commandstats `usec`), cumulative. */
  readonly usec: Map<string, number>;
  readonly cpuS: number;
  readonly inBytes: number;
  readonly outBytes: number;
  /**
   * PUBLISH messages this node sent on the cluster bus (CLUSTER INFO): classic pub/sub on a
   * cluster relays every PUBLISH from the node that ran it to every other node, on the bus's
   * own connections, which INFO's net bytes do not count.
   */
  readonly busPublishesSent: number;
}

interface FeedCounters {
  events: number;
  records: number;
  recordBytes: number;
  chainEvents: number;
  chainBytes: number;
  otherBytes: number;
}

export interface ScaleResult {
  readonly nodes: number;
  readonly workers: number;
  readonly windowS: number;
  readonly intervalMs: number;
  readonly leaseRenewMs: number;
  readonly perWorker: ReadonlyArray<{
    name: string;
    cpu: number;
    probesPerSec: number;
    owned: number;
    recordsInPerSec: number;
    rssMb: number;
    flushFailures: number;
  }>;
  readonly api: { cpu: number; recordsInPerSec: number; rssMb: number; okNodes: number };
  readonly slotShard: {
    port: number;
    commandsPerSec: number;
    leaseCommandsPerSec: number;
    cpu: number;
    inBytesPerSec: number;
    outBytesPerSec: number;
    topCommands: string;
    usecPerCall: string;
    busPublishesPerSec: number;
  };
  /** `route`: the master of the events route's slot, from which the feed leaves. */
  readonly otherShards: ReadonlyArray<{
    port: number;
    route: boolean;
    cpu: number;
    outBytesPerSec: number;
    busPublishesPerSec: number;
  }>;
  readonly feed: { eventsPerSec: number; recordsPerSec: number; bytesPerSec: number; chainEventsPerSec: number };
  /** Bytes out of all six cluster nodes: pub/sub deliveries (subscribers sit on any node), replication, replies. */
  readonly clusterOutBytesPerSec: number;
  readonly inputs: ModelInputs;
  readonly model: Prediction;
  readonly at10k: Prediction;
  readonly at100k: Prediction;
  readonly wall100k: ReturnType<typeof firstWall>;
  readonly fit?: ScaleFit;
}

const INTERVAL_MS = 5_000; // NODE_DEFAULTS
const LEASE_RENEW_MS = 2_000; // leaseRenewFor at a 5 s interval

/** The deployment the issue asks about: 4 workers and 4 API replicas at the 5 s interval. */
const TARGET = (nodes: number): Deployment => ({
  nodes,
  intervalMs: INTERVAL_MS,
  workers: 4,
  apis: 4,
  leaseRenewMs: LEASE_RENEW_MS,
});
const hereOf = (r: ScaleResult): Deployment => ({
  nodes: r.nodes,
  intervalMs: INTERVAL_MS,
  workers: r.workers,
  apis: 1,
  leaseRenewMs: LEASE_RENEW_MS,
});
/** One core per process, 1 GbE out of and into the shard. */
const WALL_LIMITS = { redisCoreShare: 1, workerCoreShare: 1, apiCoreShare: 1, nicBytesPerSec: 125e6 };

/**
 * The scale run: a real Redis Cluster (3 masters + 3 replicas), the simulator in its own
 * process, `workers` worker replicas and one API replica (each its own process), polling the
 * whole fleet on its 5 s schedule. After the fleet settles (every node leased once, first
 * sweeps done), a window measures each replica's CPU, the Redis shards' commands, CPU and
 * bytes, and the events feed one replica receives; the capacity model (capacity-model.ts) is
 * fed the per-node inputs measured here and predicts this run and 10k / 100k nodes.
 */
export async function runScale(o: ScaleOptions): Promise<ScaleResult> {
  const cluster = await RedisCluster.start();
  try {
    o.log(`scale: cluster on ports ${cluster.nodes.map((n) => n.port).join(', ')}`);
    const fitNodes = o.fitNodes ?? Math.max(3, Math.round(o.nodes / 2));
    if (fitNodes >= o.nodes) return await measureFleet(o, cluster);
    o.log(`scale: ${fmt(fitNodes)} nodes first, then ${fmt(o.nodes)}: CPU is fit through both (fixed + per unit)`);
    const small = await measureFleet({ ...o, nodes: fitNodes, profileDir: undefined }, cluster);
    const big = await measureFleet(o, cluster);
    return withFit(big, small);
  } finally {
    await BenchChild.stopAll();
    await cluster.close();
  }
}

/** One fleet on the (shared) cluster under a key prefix of its own; its replicas are stopped at the end. */
async function measureFleet(o: ScaleOptions, cluster: RedisCluster): Promise<ScaleResult> {
  const feed = new Cluster(cluster.seeds, { redisOptions: { connectionName: 'bench-feed' } });
  feed.on('error', () => {});
  try {
    const sim = await BenchChild.start<SimProcessReady>('sim-process', {
      nodes: o.nodes,
      seed: o.seed,
    } satisfies SimProcessOptions);
    o.log(`scale: simulator with ${o.nodes} nodes on port ${sim.ready.port} (own process)`);
    const prefix = `scale-${randomBytes(4).toString('hex')}`;
    const keys = createStoreKeys(prefix);

    const counters: FeedCounters = {
      events: 0,
      records: 0,
      recordBytes: 0,
      chainEvents: 0,
      chainBytes: 0,
      otherBytes: 0,
    };
    let counting = false;
    // NODESENTRY_SCALE_FEED_SAMPLE=<file>: keep the window's first records events there, to read what a change carries.
    const samplePath = process.env['NODESENTRY_SCALE_FEED_SAMPLE'];
    const sampled: string[] = [];
    feed.on('message', (_channel: string, message: string) => {
      if (!counting) return;
      if (samplePath !== undefined && sampled.length < 400 && message.includes('"type":"records"'))
        sampled.push(message);
      counters.events++;
      const type = /"type":"([a-z-]+)"/.exec(message.slice(0, 40))?.[1];
      if (type === 'records') {
        counters.records += (JSON.parse(message) as { records: unknown[] }).records.length;
        counters.recordBytes += Buffer.byteLength(message);
      } else if (type === 'chain') {
        counters.chainEvents++;
        counters.chainBytes += Buffer.byteLength(message);
      } else {
        counters.otherBytes += Buffer.byteLength(message);
      }
    });
    await feed.subscribe(keys.events);

    const seeds = cluster.seeds;
    const start = (name: string, role: 'all' | 'api') =>
      BenchChild.start<{ pid: number }>(
        'scale-worker',
        {
          name,
          simPort: sim.ready.port,
          nodes: o.nodes,
          seed: o.seed,
          cluster: seeds,
          prefix,
          role,
        } satisfies ScaleWorkerOptions,
        // Serve's node flags (the Docker image's and the systemd unit's NODE_OPTIONS); the
        // replicas ran on V8's defaults before, a young generation half the size serve has.
        (process.env.BENCH_NS_NODE_ARGS ?? SERVE_NODE_FLAGS).split(' ').filter(Boolean),
      ).then((r) => r.child);
    const workers = await Promise.all(Array.from({ length: o.workers }, (_, i) => start(`w${i + 1}`, 'all')));
    const api = await start('api', 'api');
    const names = workers.map((_, i) => `w${i + 1}`);

    // Settled: every node leased exactly once, each worker near its share, and every node's
    // latest sample answered (the start-up burst can time probes out on a loaded machine; the
    // nodes are then backed off for up to a minute before they are polled on their interval).
    const share = Math.ceil(o.nodes / o.workers);
    const settleStarted = Date.now();
    for (;;) {
      const s = await Promise.all(workers.map((w) => w.call<ScaleWorkerStats>('stats')));
      const a = await api.call<ScaleWorkerStats>('stats');
      const owned = s.reduce((x, w) => x + w.owned, 0);
      if (owned === o.nodes && s.every((x) => x.owned >= share * 0.9) && a.okNodes >= o.nodes * 0.99) break;
      if (Date.now() - settleStarted > 240_000)
        throw new Error(
          `scale: fleet not settled within 240 s (owned ${s.map((x) => x.owned).join('/')}, ${a.okNodes} of ${o.nodes} answering): the machine cannot host this fleet; try a smaller --scale-nodes`,
        );
      await sleep(1000);
    }
    o.log(
      `scale: settled in ${((Date.now() - settleStarted) / 1000).toFixed(1)} s; measuring ${o.windowMs / 1000} s ...`,
    );
    await sleep(2 * INTERVAL_MS); // every node probed since, and the first sweeps' changes settled

    const masters = await masterPorts(cluster);
    const slotMaster = await cluster.masterOf(keys.drains);
    const routeMaster = await cluster.masterOf(keys.eventsRoute);
    const before = {
      at: Date.now(),
      workers: await Promise.all(workers.map((w) => w.call<ScaleWorkerStats>('stats'))),
      api: await api.call<ScaleWorkerStats>('stats'),
      redis: await Promise.all(masters.map((p) => redisSnapshot(cluster, p))),
      allOut: await allOutBytes(cluster),
    };
    if (samplePath !== undefined) {
      // The records as they stand, so a reader of the sample can apply the changes that follow.
      const ids = generateFleet(o.nodes, o.seed).map((s) => s.id);
      for (let i = 0; i < ids.length; i += 500) {
        const raw = await cluster.admin(slotMaster).mget(ids.slice(i, i + 500).map(keys.node));
        const records = raw.filter((r): r is string => r !== null);
        sampled.push(`{"v":1,"type":"records","records":[${records.join(',')}]}`);
      }
    }
    const profiled = o.profileDir !== undefined ? [...workers, api] : [];
    await Promise.all(profiled.map((c) => c.call('profileStart', o.profileDir)));
    counting = true;
    await sleep(o.windowMs);
    counting = false;
    for (const path of await Promise.all(profiled.map((c) => c.call<string>('profileStop'))))
      o.log(`scale: CPU profile ${path}`);
    if (samplePath !== undefined) writeFileSync(samplePath, sampled.join('\n') + '\n');
    const after = {
      at: Date.now(),
      workers: await Promise.all(workers.map((w) => w.call<ScaleWorkerStats>('stats'))),
      api: await api.call<ScaleWorkerStats>('stats'),
      redis: await Promise.all(masters.map((p) => redisSnapshot(cluster, p))),
      allOut: await allOutBytes(cluster),
    };
    const windowS = (after.at - before.at) / 1000;
    const recordBytes = await meanRecordBytes(cluster, slotMaster, prefix, o.nodes, o.seed);

    const apiCpuUsPerRecord =
      (after.api.cpuUs - before.api.cpuUs) / Math.max(1, after.api.recordsReceived - before.api.recordsReceived);
    const perWorker = workers.map((_, i) => {
      const b = before.workers[i]!;
      const a = after.workers[i]!;
      return {
        name: names[i]!,
        cpu: (a.cpuUs - b.cpuUs) / 1e6 / windowS,
        probesPerSec: (a.probes - b.probes) / windowS,
        owned: a.owned,
        recordsInPerSec: (a.recordsReceived - b.recordsReceived) / windowS,
        rssMb: a.rss / 2 ** 20,
        flushFailures: a.flushFailures - b.flushFailures,
        probes: a.probes - b.probes,
        cpuUs: a.cpuUs - b.cpuUs,
        recordsIn: a.recordsReceived - b.recordsReceived,
      };
    });
    const probes = perWorker.reduce((x, w) => x + w.probes, 0);
    const ownCpuUs = perWorker.reduce((x, w) => x + w.cpuUs - w.recordsIn * apiCpuUsPerRecord, 0);

    const slotIdx = masters.indexOf(slotMaster);
    const rb = before.redis[slotIdx]!;
    const ra = after.redis[slotIdx]!;
    const delta = (name: string) => (ra.calls.get(name) ?? 0) - (rb.calls.get(name) ?? 0);
    let totalCalls = 0;
    const byCommand: Array<[string, number]> = [];
    for (const [name, n] of ra.calls) {
      const d = n - (rb.calls.get(name) ?? 0);
      totalCalls += d;
      if (d > 0) byCommand.push([name, d]);
    }
    byCommand.sort((a, b) => b[1] - a[1]);
    // Lease rounds: the commands only lease scripts run in steady state (MGET of leases, ZADD /
    // ZRANGEBYSCORE / ZREMRANGEBYSCORE of deadlines and heartbeats, PTTL, TIME, DEL), the script
    // calls (EVALSHA also counts the fenced sweep's calls, a few per second) and the PEXPIREs
    // beyond one per history LPUSH. GET is the fenced write's lease check: one per probe.
    const leaseCalls =
      ['mget', 'zadd', 'zrangebyscore', 'zremrangebyscore', 'pttl', 'time', 'del', 'evalsha', 'eval'].reduce(
        (x, c) => x + delta(c),
        0,
      ) + Math.max(0, delta('pexpire') - delta('lpush'));
    const slotCpu = (ra.cpuS - rb.cpuS) / windowS;

    const probesPerSecHere = o.nodes / (INTERVAL_MS / 1000);
    const inputs: ModelInputs = {
      recordBytes,
      eventBytesPerRecord: counters.recordBytes / Math.max(1, counters.records),
      commandsPerProbe: (totalCalls - leaseCalls) / Math.max(1, probes),
      bytesInPerProbe: (ra.inBytes - rb.inBytes) / Math.max(1, probes),
      workerCpuUsPerProbe: ownCpuUs / Math.max(1, probes),
      workerFixedCpu: 0,
      apiFixedCpu: 0,
      redisFixedCpu: 0,
      apiCpuUsPerRecord,
      redisCpuUsPerCommand: ((ra.cpuS - rb.cpuS) * 1e6) / Math.max(1, totalCalls),
      chainEventsPerSecPerWorker: counters.chainEvents / windowS / o.workers,
      chainEventBytes: counters.chainBytes / Math.max(1, counters.chainEvents),
      otherEventBytesPerProbe: counters.otherBytes / windowS / probesPerSecHere,
    };
    const here: Deployment = {
      nodes: o.nodes,
      intervalMs: INTERVAL_MS,
      workers: o.workers,
      apis: 1,
      leaseRenewMs: LEASE_RENEW_MS,
    };
    const at100k = predict(inputs, TARGET(100_000));
    const result: ScaleResult = {
      nodes: o.nodes,
      workers: o.workers,
      windowS,
      intervalMs: INTERVAL_MS,
      leaseRenewMs: LEASE_RENEW_MS,
      perWorker: perWorker.map(({ name, cpu, probesPerSec, owned, recordsInPerSec, rssMb, flushFailures }) => ({
        name,
        cpu,
        probesPerSec,
        owned,
        recordsInPerSec,
        rssMb,
        flushFailures,
      })),
      api: {
        cpu: (after.api.cpuUs - before.api.cpuUs) / 1e6 / windowS,
        recordsInPerSec: (after.api.recordsReceived - before.api.recordsReceived) / windowS,
        rssMb: after.api.rss / 2 ** 20,
        okNodes: after.api.okNodes,
      },
      slotShard: {
        port: slotMaster,
        commandsPerSec: totalCalls / windowS,
        leaseCommandsPerSec: leaseCalls / windowS,
        cpu: slotCpu,
        inBytesPerSec: (ra.inBytes - rb.inBytes) / windowS,
        outBytesPerSec: (ra.outBytes - rb.outBytes) / windowS,
        busPublishesPerSec: (ra.busPublishesSent - rb.busPublishesSent) / windowS,
        topCommands: byCommand
          .slice(0, 7)
          .map(([n, c]) => `${n} ${fmt(c / windowS)}/s`)
          .join(', '),
        // Redis's own CPU per call over the window (INFO commandstats): steadier than wall time
        // on a loaded machine. A script's figure includes the commands it runs.
        usecPerCall: byCommand
          .slice(0, 8)
          .map(([n, c]) => `${n} ${(((ra.usec.get(n) ?? 0) - (rb.usec.get(n) ?? 0)) / c).toFixed(2)}`)
          .join(', '),
      },
      otherShards: masters.flatMap((p, i) =>
        p === slotMaster
          ? []
          : [
              {
                port: p,
                route: p === routeMaster,
                cpu: (after.redis[i]!.cpuS - before.redis[i]!.cpuS) / windowS,
                outBytesPerSec: (after.redis[i]!.outBytes - before.redis[i]!.outBytes) / windowS,
                busPublishesPerSec: (after.redis[i]!.busPublishesSent - before.redis[i]!.busPublishesSent) / windowS,
              },
            ],
      ),
      feed: {
        eventsPerSec: counters.events / windowS,
        recordsPerSec: counters.records / windowS,
        bytesPerSec: (counters.recordBytes + counters.chainBytes + counters.otherBytes) / windowS,
        chainEventsPerSec: counters.chainEvents / windowS,
      },
      clusterOutBytesPerSec: after.allOut.reduce((x, b, i) => x + b - before.allOut[i]!, 0) / windowS,
      inputs,
      model: predict(inputs, here),
      at10k: predict(inputs, TARGET(10_000)),
      at100k,
      wall100k: firstWall(at100k, WALL_LIMITS),
    };
    await Promise.all([...workers, api].map((w) => w.stop()));
    await sim.child.stop();
    return result;
  } finally {
    feed.disconnect();
  }
}

/**
 * `big`'s figures with the CPU unit costs fit through two fleets: a replica's CPU is a fixed
 * part (timers, lease rounds, a ranking of every chain each second, the event loop waking for
 * each probe) plus a part per unit (own probe, record received). One fleet's average charges
 * the fixed part to every unit, so extrapolated to 100,000 nodes it overstates most at the
 * small fleets this machine hosts. Costs that grow with the fleet rather than a worker's share
 * (ranking every chain) are inside the per-own-probe figure, as at this run's 3 workers.
 */
function withFit(big: ScaleResult, small: ScaleResult): ScaleResult {
  const mean = (r: ScaleResult, f: (w: ScaleResult['perWorker'][number]) => number) =>
    r.perWorker.reduce((x, w) => x + f(w), 0) / r.perWorker.length;
  const apiUs = ((big.api.cpu - small.api.cpu) * 1e6) / (big.api.recordsInPerSec - small.api.recordsInPerSec);
  const ownCpu = (r: ScaleResult) => mean(r, (w) => w.cpu - (w.recordsInPerSec * apiUs) / 1e6);
  const probes = (r: ScaleResult) => mean(r, (w) => w.probesPerSec);
  const workerUs = ((ownCpu(big) - ownCpu(small)) * 1e6) / (probes(big) - probes(small));
  const redisUs =
    ((big.slotShard.cpu - small.slotShard.cpu) * 1e6) / (big.slotShard.commandsPerSec - small.slotShard.commandsPerSec);
  const fit: ScaleFit = {
    nodes: small.nodes,
    small: {
      workerCpu: mean(small, (w) => w.cpu),
      workerProbesPerSec: probes(small),
      apiCpu: small.api.cpu,
      redisCpu: small.slotShard.cpu,
    },
    big: {
      workerCpu: mean(big, (w) => w.cpu),
      workerProbesPerSec: probes(big),
      apiCpu: big.api.cpu,
      redisCpu: big.slotShard.cpu,
    },
    averages: {
      workerCpuUsPerProbe: big.inputs.workerCpuUsPerProbe,
      apiCpuUsPerRecord: big.inputs.apiCpuUsPerRecord,
      redisCpuUsPerCommand: big.inputs.redisCpuUsPerCommand,
    },
    used: false,
  };
  // Noise (a loaded machine, a fleet that fell behind its schedule) can tilt the line: a
  // negative slope or a fleet not clearly larger leaves the single-fleet averages in use.
  const sound =
    Number.isFinite(apiUs) &&
    apiUs > 0 &&
    Number.isFinite(workerUs) &&
    workerUs > 0 &&
    probes(big) > 1.4 * probes(small) &&
    big.api.recordsInPerSec > 1.4 * small.api.recordsInPerSec &&
    Number.isFinite(redisUs) &&
    redisUs > 0;
  if (!sound) return { ...big, fit };
  const inputs: ModelInputs = {
    ...big.inputs,
    workerCpuUsPerProbe: workerUs,
    apiCpuUsPerRecord: apiUs,
    workerFixedCpu: Math.max(0, ownCpu(big) - (workerUs * probes(big)) / 1e6),
    apiFixedCpu: Math.max(0, big.api.cpu - (apiUs * big.api.recordsInPerSec) / 1e6),
    redisCpuUsPerCommand: redisUs,
    redisFixedCpu: Math.max(0, big.slotShard.cpu - (redisUs * big.slotShard.commandsPerSec) / 1e6),
  };
  const at100k = predict(inputs, TARGET(100_000));
  return {
    ...big,
    inputs,
    model: predict(inputs, hereOf(big)),
    at10k: predict(inputs, TARGET(10_000)),
    at100k,
    wall100k: firstWall(at100k, WALL_LIMITS),
    fit: { ...fit, used: true },
  };
}

export function renderScale(r: ScaleResult): string {
  const pct = (x: number) => `${(100 * x).toFixed(1)} %`;
  const rate = (x: number) => `${fmt(x)}/s`;
  const bytes = (x: number) => (x >= 1e6 ? `${(x / 1e6).toFixed(2)} MB/s` : `${(x / 1e3).toFixed(1)} kB/s`);
  const rows: Array<[string, string, string]> = [];
  for (const w of r.perWorker) {
    rows.push([
      `worker ${w.name}: probes (owns ${fmt(w.owned)})`,
      rate(w.probesPerSec),
      rate(r.model.probesPerSecPerWorker),
    ]);
    rows.push([
      `worker ${w.name}: CPU (RSS ${w.rssMb.toFixed(0)} MB${w.flushFailures ? `, ${w.flushFailures} failed flushes` : ''})`,
      pct(w.cpu),
      pct(r.model.workerCpu),
    ]);
    rows.push([
      `worker ${w.name}: records received`,
      rate(w.recordsInPerSec),
      rate(r.model.recordsPerSecPerReplica * (1 - 1 / r.workers)),
    ]);
  }
  rows.push([
    `API replica: nodes whose latest sample answered`,
    `${fmt(r.api.okNodes)} / ${fmt(r.nodes)}`,
    fmt(r.nodes),
  ]);
  rows.push([`API replica: CPU (RSS ${r.api.rssMb.toFixed(0)} MB)`, pct(r.api.cpu), pct(r.model.apiCpu)]);
  rows.push(['API replica: records received', rate(r.api.recordsInPerSec), rate(r.model.recordsPerSecPerReplica)]);
  rows.push([
    'events feed of one replica: bytes',
    bytes(r.feed.bytesPerSec),
    bytes(r.model.eventBytesPerSecPerReplica),
  ]);
  rows.push(['events feed: events (records batches + chain facts + other)', rate(r.feed.eventsPerSec), '-']);
  rows.push([
    `slot shard :${r.slotShard.port}: commands`,
    rate(r.slotShard.commandsPerSec),
    rate(r.model.redisCommandsPerSec),
  ]);
  rows.push(['  of which lease rounds', rate(r.slotShard.leaseCommandsPerSec), rate(r.model.redisLeaseCommandsPerSec)]);
  rows.push(['slot shard: CPU', pct(r.slotShard.cpu), pct(r.model.redisCpu)]);
  rows.push(['slot shard: bytes in', bytes(r.slotShard.inBytesPerSec), bytes(r.model.redisInBytesPerSec)]);
  rows.push([
    'slot shard: bytes out (replies, replication, pub/sub to subscribers on it)',
    bytes(r.slotShard.outBytesPerSec),
    bytes(r.model.redisDataOutBytesPerSec),
  ]);
  for (const s of r.otherShards)
    rows.push(
      s.route
        ? [
            `events route master :${s.port}: CPU / bytes out (the feed: the bus to every node, subscribers on it)`,
            `${pct(s.cpu)} / ${bytes(s.outBytesPerSec)}`,
            '-',
          ]
        : [
            `other master :${s.port}: CPU / bytes out (pub/sub relayed by the bus)`,
            `${pct(s.cpu)} / ${bytes(s.outBytesPerSec)}`,
            '-',
          ],
    );
  // A bus PUBLISH carries the cluster message header (~2.2 KB, most of it the 16,384-slot
  // bitmap) besides the channel and the event.
  const meanEvent = r.feed.bytesPerSec / Math.max(1e-9, r.feed.eventsPerSec);
  const route = r.otherShards.find((s) => s.route);
  const busRow = (port: number, perSec: number) =>
    `:${port} ${fmt(perSec)}/s (~${bytes(perSec * (BUS_HEADER_BYTES + meanEvent))})`;
  rows.push([
    `cluster bus: PUBLISH messages sent by the data's master / by the events route's master`,
    `${busRow(r.slotShard.port, r.slotShard.busPublishesPerSec)} / ${route ? busRow(route.port, route.busPublishesPerSec) : '-'}`,
    '-',
  ]);
  // Model: every subscriber (the replicas and the bench's own feed) gets the whole feed, plus replication of the writes.
  rows.push([
    `all 6 nodes: bytes out (pub/sub to ${r.workers + 2} subscribers, replication)`,
    bytes(r.clusterOutBytesPerSec),
    bytes((r.model.redisPubSubOutBytesPerSec * (r.workers + 2)) / (r.workers + 1) + r.model.redisInBytesPerSec),
  ]);
  const w1 = Math.max(...rows.map((x) => x[0].length));
  const w2 = Math.max(8, ...rows.map((x) => x[1].length));
  const line = (a: string, b: string, c: string) => `${a.padEnd(w1)}  ${b.padStart(w2)}  ${c.padStart(12)}`;
  const i = r.inputs;
  const at = (p: Prediction, n: string) =>
    `  ${n}: ${rate(p.probesPerSec)} probes; slot shard ${rate(p.redisCommandsPerSec)} commands (${rate(p.redisLeaseCommandsPerSec)} lease, and ${rate(p.redisLeaseKeyReadsPerSec)} lease keys read in MGETs), CPU ${pct(p.redisCpu)} of a core; each worker CPU ${pct(p.workerCpu)}; each API replica ${rate(p.recordsPerSecPerReplica)} records = ${bytes(p.eventBytesPerSecPerReplica)}, CPU ${pct(p.apiCpu)}; pub/sub out of the events route's master ${bytes(p.redisPubSubOutBytesPerSec)}, replication out of the data's shard ${bytes(p.redisDataOutBytesPerSec)}`;
  return [
    `Scale run: ${fmt(r.nodes)} nodes, interval ${r.intervalMs / 1000} s, ${r.workers} worker replicas + 1 API replica on a Redis Cluster (3 masters + 3 replicas); window ${r.windowS.toFixed(1)} s`,
    '',
    line('figure', 'measured', 'model'),
    ...rows.map(([a, b, c]) => line(a, b, c)),
    '',
    `slot shard top commands: ${r.slotShard.topCommands}`,
    `slot shard usec_per_call (INFO commandstats, Redis's CPU): ${r.slotShard.usecPerCall}`,
    `model inputs measured in this run: record ${i.recordBytes.toFixed(0)} B stored, ${i.eventBytesPerRecord.toFixed(0)} B per record in events; ${i.commandsPerProbe.toFixed(2)} commands and ${i.bytesInPerProbe.toFixed(0)} B to Redis per probe (leases apart); worker ${i.workerCpuUsPerProbe.toFixed(0)} µs CPU per own probe + ${pct(i.workerFixedCpu)} fixed; API ${i.apiCpuUsPerRecord.toFixed(1)} µs CPU per record received + ${pct(i.apiFixedCpu)} fixed; Redis ${i.redisCpuUsPerCommand.toFixed(2)} µs CPU per command + ${pct(i.redisFixedCpu)} fixed; chain facts ${i.chainEventsPerSecPerWorker.toFixed(1)}/s per worker x ${fmt(i.chainEventBytes)} B; other events ${i.otherEventBytesPerProbe.toFixed(0)} B per probe`,
    "(CPU rows of the model use unit costs measured in this same run, so at this fleet they agree by construction (with a fit, within the fit's error); commands, records and bytes are predicted from per-node counts.)",
    'model, 4 workers + 4 API replicas, 5 s interval:',
    at(r.at10k, '10,000 nodes'),
    at(r.at100k, '100,000 nodes'),
    `  walls at 100,000 nodes (load / limit): ${r.wall100k.map((w) => `${w.what} ${pct(w.load)}`).join('; ')}`,
    ...(r.fit ? [fitLine(r, r.fit)] : []),
  ].join('\n');
}

function fitLine(r: ScaleResult, f: ScaleFit): string {
  const pct = (x: number) => `${(100 * x).toFixed(1)} %`;
  const at = (n: number, x: ScaleFit['small']) =>
    `${fmt(n)} nodes: each worker ${pct(x.workerCpu)} (${x.workerProbesPerSec.toFixed(0)} own probes/s), API replica ${pct(x.apiCpu)}, slot shard ${pct(x.redisCpu)}`;
  const head = `CPU fit through two fleets (${at(f.nodes, f.small)}; ${at(r.nodes, f.big)})`;
  const avg = `single-fleet averages at ${fmt(r.nodes)} nodes: worker ${f.averages.workerCpuUsPerProbe.toFixed(0)} µs per own probe, API ${f.averages.apiCpuUsPerRecord.toFixed(1)} µs per record, Redis ${f.averages.redisCpuUsPerCommand.toFixed(2)} µs per command`;
  if (!f.used) return `${head}: no sound line (noise or a fleet behind its schedule); the model uses the ${avg}`;
  const i = r.inputs;
  return `${head}: per unit, worker ${i.workerCpuUsPerProbe.toFixed(0)} µs per own probe, API ${i.apiCpuUsPerRecord.toFixed(1)} µs per record received, Redis ${i.redisCpuUsPerCommand.toFixed(2)} µs per command; fixed, worker ${pct(i.workerFixedCpu)}, API replica ${pct(i.apiFixedCpu)}, slot shard ${pct(i.redisFixedCpu)} of a core. The model above uses these (the ${avg}).`;
}

async function masterPorts(cluster: RedisCluster): Promise<number[]> {
  const out: number[] = [];
  for (const n of cluster.running)
    if (/^role:master/m.test(String(await cluster.admin(n.port).info('replication')))) out.push(n.port);
  return out;
}

async function redisSnapshot(cluster: RedisCluster, port: number): Promise<RedisSnapshot> {
  const a = cluster.admin(port);
  const [stats, cpu, commands, bus] = await Promise.all([
    a.info('stats'),
    a.info('cpu'),
    a.info('commandstats'),
    a.call('CLUSTER', 'INFO'),
  ]);
  const num = (text: string, key: string) => Number(new RegExp(`^${key}:([0-9.]+)`, 'm').exec(text)?.[1] ?? 0);
  const calls = new Map<string, number>();
  const usec = new Map<string, number>();
  for (const m of String(commands).matchAll(/^cmdstat_([a-z|_-]+):calls=(\d+),usec=(\d+)/gm)) {
    calls.set(m[1]!, Number(m[2]));
    usec.set(m[1]!, Number(m[3]));
  }
  return {
    calls,
    usec,
    cpuS: num(cpu, 'used_cpu_user') + num(cpu, 'used_cpu_sys'),
    inBytes: num(stats, 'total_net_input_bytes'),
    outBytes: num(stats, 'total_net_output_bytes'),
    busPublishesSent: num(String(bus), 'cluster_stats_messages_publish_sent'),
  };
}

async function meanRecordBytes(
  cluster: RedisCluster,
  master: number,
  prefix: string,
  nodes: number,
  seed: number,
): Promise<number> {
  const keys = createStoreKeys(prefix);
  const ids = generateFleet(nodes, seed)
    .map((s) => s.id)
    .filter((_, i) => i % Math.max(1, Math.floor(nodes / 200)) === 0);
  const a = cluster.admin(master);
  const lens = await Promise.all(ids.map((id) => a.strlen(keys.node(id))));
  const found = lens.filter((l) => l > 0);
  return found.reduce((x, y) => x + y, 0) / Math.max(1, found.length);
}

async function allOutBytes(cluster: RedisCluster): Promise<number[]> {
  return Promise.all(
    cluster.running.map(async (n) =>
      Number(/^total_net_output_bytes:(\d+)/m.exec(String(await cluster.admin(n.port).info('stats')))?.[1] ?? 0),
    ),
  );
}

/** A cluster bus message's header (Redis 7 clusterMsg without its data union): mostly the slot bitmap. */
const BUS_HEADER_BYTES = 2200;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const fmt = (x: number) => Math.round(x).toLocaleString('en-US');
