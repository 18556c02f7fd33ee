import { execFileSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { NODE_DEFAULTS } from '../src/config/node-config.js';
import { DEFAULT_HEALTH_POLICY } from '../src/health/policy.js';
import { RedisServer } from '../test/support/redis-server.js';
import { BenchChild } from './child-process.js';
import { runFailover } from './failover.js';
import type { FailoverRun } from './failover-worker.js';
import type { LoadResult } from './load-generator.js';
import { runProbes, type ProbesResult } from './probes.js';
import { runRpcProxy, type RpcProxyResult } from './rpc-proxy.js';
import { renderScale, runScale } from './scale.js';
import type { SimProcessOptions, SimProcessReady } from './sim-process.js';
import { runSweepCase, type SweepCaseResult } from './sweep.js';
import { haproxyVersion } from './haproxy-forwarder.js';
import { renderTable, type Row } from './table.js';
import { FAILURE_KINDS, runTimeline, type TimelineOptions } from './timeline.js';
import type { TimelineRun } from './timeline-worker.js';

const USAGE = `usage: npm run bench [-- options]

  Measures nodesentry against floors measured in the same run (see bench/RESULTS.md).

  --quick            small and short: a smoke test that the harness works (CI); numbers not judged
  --only LIST        sections to run, comma-separated: sweep,probes,failover,timeline,rpc,scale (default all but scale)
  --nodes LIST       sweep fleet sizes, e.g. 10000 (default 1000,10000; quick 1000)
  --concurrency LIST sweep concurrencies, e.g. 256 (default 64,256; quick 64)
  --scale-nodes N    fleet of the scale run (3 workers + 1 API replica on a Redis Cluster; default 750, quick 300)
  --repetitions N    sweep repetitions per case (default 5; quick 1)
  --cpu-prof DIR     write CPU profiles of the measured parts (sweeps, API servers, scale replicas) to DIR
  --heap-prof DIR    write an allocation profile (bytes allocated, garbage included) of the measured sweeps to DIR
  --no-write         do not update bench/RESULTS.md (a full run does by default)`;

const SEED = 1;

interface Plan {
  readonly quick: boolean;
  readonly sweepNodes: readonly number[];
  readonly concurrencies: readonly number[];
  readonly reps: number;
  readonly probeNodes: number;
  readonly load: {
    readonly connections: number;
    readonly warmupMs: number;
    readonly durationMs: number;
    readonly rate: number;
    readonly rateDurationMs: number;
  };
  readonly failover: {
    readonly trials: number;
    readonly hangTrials: number;
    readonly nodesPerTrial: number;
    readonly intervalMs: number;
    readonly timeoutMs: number;
  };
  readonly rpc: {
    readonly connections: number;
    readonly warmupMs: number;
    readonly durationMs: number;
    readonly rate: number;
    readonly rateDurationMs: number;
  };
  readonly timeline: Omit<TimelineOptions, 'seed'>;
  readonly scale: { readonly nodes: number; readonly windowMs: number };
}

const FULL: Plan = {
  quick: false,
  sweepNodes: [1_000, 10_000],
  concurrencies: [64, 256],
  reps: 5,
  probeNodes: 10_000,
  load: { connections: 50, warmupMs: 1_000, durationMs: 8_000, rate: 1_000, rateDurationMs: 4_000 },
  // Polling at its defaults: NODE_DEFAULTS (2 s interval, 1.5 s timeout), DEFAULT_HEALTH_POLICY.
  failover: {
    trials: 20,
    hangTrials: 10,
    nodesPerTrial: 3,
    intervalMs: NODE_DEFAULTS.intervalMs,
    timeoutMs: NODE_DEFAULTS.timeoutMs,
  },
  // Issue #11: 10 minutes, outages of 35 s and 150 s, at the defaults.
  timeline: {
    durationMs: 600_000,
    outagesMs: [35_000, 150_000],
    outageNodes: 3,
    upMs: 15_000,
    intervalMs: NODE_DEFAULTS.intervalMs,
    timeoutMs: NODE_DEFAULTS.timeoutMs,
    pollMs: 200,
  },
  // The largest fleet the shared 2-core machine settled healthy with the simulator, 3 workers,
  // an API replica and 6 Redis processes (docs/scaling.md); pass --scale-nodes for more.
  scale: { nodes: 750, windowMs: 20_000 },
  rpc: { connections: 32, warmupMs: 1_000, durationMs: 5_000, rate: 1_000, rateDurationMs: 4_000 },
};

const QUICK: Plan = {
  quick: true,
  sweepNodes: [1_000],
  concurrencies: [64],
  reps: 1,
  probeNodes: 1_000,
  load: { connections: 50, warmupMs: 200, durationMs: 1_000, rate: 500, rateDurationMs: 500 },
  failover: { trials: 2, hangTrials: 1, nodesPerTrial: 3, intervalMs: 1_000, timeoutMs: 500 },
  timeline: {
    durationMs: 20_000,
    outagesMs: [4_000, 8_000],
    outageNodes: 1,
    upMs: 3_000,
    intervalMs: NODE_DEFAULTS.intervalMs,
    timeoutMs: NODE_DEFAULTS.timeoutMs,
    pollMs: 200,
  },
  scale: { nodes: 300, windowMs: 5_000 },
  rpc: { connections: 16, warmupMs: 200, durationMs: 1_000, rate: 300, rateDurationMs: 500 },
};

async function main(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        quick: { type: 'boolean' },
        only: { type: 'string' },
        nodes: { type: 'string' },
        concurrency: { type: 'string' },
        'scale-nodes': { type: 'string' },
        repetitions: { type: 'string' },
        'cpu-prof': { type: 'string' },
        'heap-prof': { type: 'string' },
        'no-write': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const list = (text: string | undefined) => text?.split(',').map((x) => Number(x.trim()));
  const nodes = list(values.nodes);
  const concurrency = list(values.concurrency);
  if ([...(nodes ?? []), ...(concurrency ?? [])].some((x) => !Number.isInteger(x) || x < 1 || x > 100_000))
    return usage('--nodes and --concurrency take whole numbers from 1 to 100000');
  const scaleNodes = values['scale-nodes'] !== undefined ? Number(values['scale-nodes']) : undefined;
  if (scaleNodes !== undefined && (!Number.isInteger(scaleNodes) || scaleNodes < 3 || scaleNodes > 1_000_000))
    return usage('--scale-nodes takes a whole number from 3 to 1000000');
  const reps = values.repetitions !== undefined ? Number(values.repetitions) : undefined;
  if (reps !== undefined && (!Number.isInteger(reps) || reps < 1 || reps > 100))
    return usage('--repetitions takes a whole number from 1 to 100');
  const base = values.quick ? QUICK : FULL;
  const plan: Plan = {
    ...base,
    ...(nodes ? { sweepNodes: nodes } : {}),
    ...(concurrency ? { concurrencies: concurrency } : {}),
    ...(reps ? { reps } : {}),
    ...(scaleNodes ? { scale: { ...base.scale, nodes: scaleNodes } } : {}),
  };
  const sections = new Set((values.only ?? 'sweep,probes,failover,timeline,rpc').split(',').map((s) => s.trim()));
  for (const s of sections)
    if (!['sweep', 'probes', 'failover', 'timeline', 'rpc', 'scale'].includes(s)) return usage(`unknown section ${s}`);
  const profileDir = values['cpu-prof'] ? resolve(values['cpu-prof']) : undefined;
  if (profileDir) await mkdir(profileDir, { recursive: true });
  const heapProfileDir = values['heap-prof'] ? resolve(values['heap-prof']) : undefined;
  if (heapProfileDir) await mkdir(heapProfileDir, { recursive: true });

  const started = performance.now();
  const date = new Date();
  const machine = describeMachine();
  const command = `npm run bench${argv.length > 0 ? ` -- ${argv.join(' ')}` : ''}`;
  log(`${command}\n${machine}`);

  const rows: Row[] = [];
  const problems: string[] = [];
  let scaleReport: string | undefined;
  let redis: RedisServer | undefined;
  let sim: BenchChild | undefined;
  const stopAll = async () => {
    await BenchChild.stopAll();
    await redis?.close();
  };
  // Ctrl-C: stop what we started (children also exit on their own when this process dies).
  const onSignal = () => {
    void stopAll().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    let redisUrl = process.env.REDIS_URL;
    if (sections.has('sweep') && !redisUrl) {
      redis = await RedisServer.start().catch((err: unknown) => {
        throw new Error(
          `cannot start redis-server (${(err as Error).message}): install it (apt-get install redis-server) or set REDIS_URL`,
        );
      });
      redisUrl = redis.url;
      log(`redis-server on ${redisUrl}`);
    }
    if (sections.has('sweep') || sections.has('probes')) {
      const nodes = Math.max(
        ...(sections.has('sweep') ? plan.sweepNodes : [0]),
        sections.has('probes') ? plan.probeNodes : 0,
      );
      const s = await BenchChild.start<SimProcessReady>('sim-process', {
        nodes,
        seed: SEED,
      } satisfies SimProcessOptions);
      sim = s.child;
      log(`simulator: ${nodes} nodes on port ${s.ready.port} (own process)`);
      if (sections.has('sweep')) {
        for (const n of plan.sweepNodes) {
          for (const c of plan.concurrencies) {
            log(`sweep: ${n} nodes, concurrency ${c}, ${plan.reps} repetitions ...`);
            const r = await runSweepCase(
              { nodes: n, concurrency: c },
              { simPort: s.ready.port, seed: SEED, redisUrl: redisUrl!, reps: plan.reps, profileDir, heapProfileDir },
            );
            if (r.failedProbes > 0)
              problems.push(`sweep ${n}/${c}: ${r.failedProbes} probes failed against a healthy simulator`);
            rows.push(sweepRow(r, plan));
          }
        }
      }
      if (sections.has('probes')) {
        log(`probes: loading ${plan.probeNodes} nodes, then ${plan.load.connections} connections ...`);
        const r = await runProbes({
          simPort: s.ready.port,
          nodes: plan.probeNodes,
          seed: SEED,
          ...plan.load,
          profileDir,
        });
        problems.push(...probeProblems(r));
        rows.push(...probeRows(r, plan));
      }
      await sim.stop();
    }
    if (sections.has('failover')) {
      const f = plan.failover;
      log(
        `failover: ${f.trials} kill and ${f.hangTrials} hang trials at once, interval ${f.intervalMs} ms, timeout ${f.timeoutMs} ms ...`,
      );
      const r = await runFailover({ ...f, seed: SEED });
      if (r.trials.some((t) => t.failoverMs === undefined))
        problems.push('failover: a trial never failed over (see the table)');
      rows.push(...failoverRows(r, plan));
    }
    if (sections.has('timeline')) {
      const t = plan.timeline;
      log(
        `timeline: ${(t.durationMs / 1000).toFixed(0)} s, nodes failing ${FAILURE_KINDS.join(', ')}; outages of ${t.outagesMs.map((x) => `${x / 1000} s`).join(' and ')} ...`,
      );
      const r = await runTimeline({ ...t, seed: SEED });
      rows.push(...timelineRows(r, plan));
    }
    if (sections.has('rpc')) {
      const p = plan.rpc;
      log(
        `rpc proxy: bare Node forwarder, nodesentry /rpc/bsc${haproxyNote()}, ${p.connections} connections, then ${p.rate} req/s ...`,
      );
      const r = await runRpcProxy({ seed: SEED, ...p, profileDir });
      problems.push(...rpcProblems(r));
      rows.push(...rpcRows(r, plan));
    }
    if (sections.has('scale')) {
      log(`scale: ${plan.scale.nodes} nodes, 3 worker replicas + 1 API replica on a Redis Cluster ...`);
      scaleReport = renderScale(
        await runScale({
          nodes: plan.scale.nodes,
          workers: 3,
          windowMs: plan.scale.windowMs,
          seed: SEED,
          log,
          profileDir,
        }),
      );
    }
  } finally {
    await stopAll();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }

  const took = (performance.now() - started) / 1000;
  const table = rows.length > 0 ? `${renderTable(rows, { judged: !plan.quick })}\n` : '';
  const report = `Date: ${date.toISOString()}\nCommand: \`${command}\` (${took.toFixed(0)} s)\nMachine: ${machine}\n\n${table}${scaleReport ? `\n${scaleReport}\n` : ''}`;
  console.log(`\n${report}`);
  if (problems.length > 0) console.log(`\nHARNESS PROBLEMS:\n${problems.map((p) => `- ${p}`).join('\n')}`);
  const complete = sections.size === 5 && !sections.has('scale') && !nodes && !concurrency;
  if (!plan.quick && !values['no-write'] && complete) await writeResults(report);
  return problems.length > 0 ? 1 : 0;
}

// --- rows ---------------------------------------------------------------------------------------

function sweepRow(r: SweepCaseResult, plan: Plan): Row {
  const judged = r.nodes === 10_000;
  const met = r.ratio <= 1.25 && (r.concurrency !== 256 || r.nodesentryMs < 2_000) && r.nodesentryPeakRss <= 150e6;
  return {
    what: `sweep ${fmtInt(r.nodes)} nodes, c=${r.concurrency}`,
    nodesentry: `${fmtS(r.nodesentryMs)}`,
    floor: `${fmtS(r.floorMs)}`,
    ratio: `${r.ratio.toFixed(2)}x`,
    detail: `redis ${(100 * r.redisShare).toFixed(0)}%, CPU per sweep ${fmtS(r.nodesentryCpuMs)} vs ${fmtS(r.floorCpuMs)} (${r.cpuRatio.toFixed(2)}x); storing floor (the floor + ${fmtInt(r.storingFloorBytesPerNode)} B to Redis per node) ${fmtS(r.storingFloorMs)}, CPU ${fmtS(r.storingFloorCpuMs)}, nodesentry ${r.storingRatio.toFixed(2)}x its time and ${r.storingCpuRatio.toFixed(2)}x its CPU; peak RSS ${fmtMb(r.nodesentryPeakRss)} (floor ${fmtMb(r.floorPeakRss)}, storing floor ${fmtMb(r.storingFloorPeakRss)}; heap total/used ${fmtMb(r.nodesentryMemory.heapTotal)}/${fmtMb(r.nodesentryMemory.heapUsed)}, array buffers ${fmtMb(r.nodesentryMemory.arrayBuffers)} at their peaks), median of ${r.reps}; first sweep after start ${fmtS(r.firstSweepMs)} (${r.firstSweepProbes.toLocaleString('en-US')} probes; floor ${fmtS(r.floorFirstSweepMs)}, storing floor ${fmtS(r.storingFirstSweepMs)}; CPU ${fmtS(r.firstSweepCpuMs)} vs ${fmtS(r.floorFirstSweepCpuMs)} and ${fmtS(r.storingFirstSweepCpuMs)}; peak RSS by its end ${fmtMb(r.firstSweepPeakRss)})`,
    target: judged ? `<= 1.25x${r.concurrency === 256 ? ', < 2 s' : ''}, RSS <= 150 MB` : '-',
    met: plan.quick || !judged ? undefined : met,
  };
}

function probeRows(r: ProbesResult, plan: Plan): Row[] {
  const ms = (x: number, lowerBound: boolean) =>
    `${lowerBound ? '> ' : ''}${x >= 1000 ? `${(x / 1000).toFixed(1)} s` : `${x.toFixed(2)} ms`}`;
  const lat = (x: LoadResult) =>
    `${ms(x.p50Ms, x.unfinished > x.requests / 2)} / ${ms(x.p99Ms, x.unfinished > x.requests / 100)}${x.unfinished > 0 ? ` (${fmtInt(x.unfinished)} unanswered when the run ended: the endpoint cannot keep up with the rate)` : ''}`;
  const rows: Row[] = [
    {
      what: `bare express 'OK' (floor)`,
      nodesentry: '-',
      floor: `${fmtInt(r.floor.rps)} req/s`,
      ratio: '100%',
      detail: `p50/p99 saturated ${lat(r.floor.saturated)}; at ${plan.load.rate} req/s ${lat(r.floor.atRate)}; runs ${r.floor.runs.map(fmtInt).join(', ')} req/s; own CPU ${r.floor.cpuUsPerRequest.toFixed(0)} µs/request (saturated ${r.floor.cpuUsSaturated.toFixed(0)})`,
      target: '-',
      met: undefined,
    },
    {
      what: `bare node:http 'OK' (floor)`,
      nodesentry: '-',
      floor: `${fmtInt(r.httpFloor.rps)} req/s`,
      ratio: `100% (express ${(100 * (r.floor.rps / r.httpFloor.rps)).toFixed(0)}%)`,
      detail: `p50/p99 saturated ${lat(r.httpFloor.saturated)}; at ${plan.load.rate} req/s ${lat(r.httpFloor.atRate)}; runs ${r.httpFloor.runs.map(fmtInt).join(', ')} req/s; own CPU ${r.httpFloor.cpuUsPerRequest.toFixed(0)} µs/request (saturated ${r.httpFloor.cpuUsSaturated.toFixed(0)})`,
      target: '-',
      met: undefined,
    },
  ];
  for (const t of r.targets) {
    if (!t.present || !t.saturated || !t.atRate) {
      rows.push({
        what: t.name,
        nodesentry: 'route missing',
        floor: '-',
        ratio: '-',
        detail: 'answered 404: not implemented yet; not measured',
        target: '>= 90% of node:http, p99 <= 2 ms',
        met: undefined,
      });
      continue;
    }
    const standIn = t.name.includes('stand-in');
    rows.push({
      what: t.name,
      nodesentry: `${fmtInt(t.saturated.rps)} req/s`,
      floor: `${fmtInt(r.httpFloor.rps)} req/s`,
      ratio: `${(100 * t.ratioHttp!).toFixed(0)}% (express ${(100 * t.ratio!).toFixed(0)}%)`,
      detail: `p50/p99 saturated ${lat(t.saturated)}; at ${plan.load.rate} req/s ${lat(t.atRate)}; own CPU ${t.cpuUsPerRequest!.toFixed(0)} µs/request (saturated ${t.cpuUsSaturated!.toFixed(0)}); HTTP ${Object.entries(
        t.saturated.statuses,
      )
        .map(([s, n]) => `${s} x${fmtInt(n)}`)
        .join(', ')}`,
      target: standIn ? '-' : '>= 90% of node:http, p99 <= 2 ms',
      met: plan.quick || standIn ? undefined : t.ratioHttp! >= 0.9 && t.atRate.p99Ms <= 2 && t.atRate.unfinished === 0,
    });
  }
  return rows;
}

function probeProblems(r: ProbesResult): string[] {
  const out: string[] = [];
  for (const t of [
    ...r.targets.filter((x) => x.saturated),
    { name: 'floor', saturated: r.floor.saturated, atRate: r.floor.atRate },
    { name: 'node:http floor', saturated: r.httpFloor.saturated, atRate: r.httpFloor.atRate },
  ]) {
    for (const l of [t.saturated!, t.atRate!]) {
      if (l.requests === 0) out.push(`${t.name}: no answers at all`);
      if (l.errors > 0) out.push(`${t.name}: ${l.errors} requests got no HTTP answer`);
    }
  }
  return out;
}

/** Issue #11's figures at the defaults: median and max failover per way of failing, ms. */
const FAILOVER_TARGETS = { kill: { medianMs: 2_000, maxMs: 4_000 }, hang: { medianMs: 8_000, maxMs: 12_000 } } as const;

function failoverRows(r: FailoverRun, plan: Plan): Row[] {
  const f = plan.failover;
  const fmtList = (xs: ReadonlyArray<number | undefined>) =>
    xs.map((x) => (x === undefined ? 'never' : (x / 1000).toFixed(1))).join(' ');
  const rows: Row[] = [];
  for (const failure of ['kill', 'hang'] as const) {
    const trials = r.trials.filter((t) => t.failure === failure);
    if (trials.length === 0) continue;
    const target = FAILOVER_TARGETS[failure];
    const done = trials.filter((t) => t.failoverMs !== undefined).map((t) => t.failoverMs!);
    const sorted = [...done].sort((a, b) => a - b);
    const median = sorted.length > 0 ? sorted[sorted.length >> 1]! : undefined;
    const max = sorted.length > 0 ? sorted[sorted.length - 1]! : undefined;
    const how = failure === 'kill' ? 'best node killed (port closed)' : 'best node hangs (probes time out)';
    rows.push({
      what: `failover, ${how}, ${trials.length} trials`,
      nodesentry: median !== undefined ? `median ${fmtS(median)}, max ${fmtS(max!)}` : 'never',
      floor: `target ${fmtS(target.medianMs)} / ${fmtS(target.maxMs)}`,
      ratio:
        max !== undefined ? `${(median! / target.medianMs).toFixed(2)}x / ${(max / target.maxMs).toFixed(2)}x` : '-',
      detail: `out of /v1/chains/:chain/best and /probe/nodes/:id 503; interval ${f.intervalMs} ms, timeout ${f.timeoutMs} ms, fall ${DEFAULT_HEALTH_POLICY.failAfter}; read ${r.via === 'http' ? 'over HTTP' : 'in process (routes missing)'}; per trial, s: ${fmtList(trials.map((t) => t.failoverMs))} (selection moved: ${fmtList(trials.map((t) => t.selectionMs))}; probe said down: ${fmtList(trials.map((t) => t.downMs))})`,
      target: `median <= ${fmtS(target.medianMs)}, max <= ${fmtS(target.maxMs)}`,
      met: plan.quick ? undefined : done.length === trials.length && median! <= target.medianMs && max! <= target.maxMs,
    });
  }
  return rows;
}

/** Issue #11: a node that answers again answers /probe 200 within this, ms. */
const RECOVERY_TARGET_MS = 5_000;

function timelineRows(r: TimelineRun, plan: Plan): Row[] {
  const minutes = `${(r.durationMs / 60_000).toFixed(1)} min`;
  const rows: Row[] = r.failing.map((f) => ({
    what: `${f.kind}: never unknown, a point every step, over ${minutes}`,
    nodesentry: `${f.unknown}/${f.observations} reads unknown; ${f.historyPoints} points, max gap ${fmtS(f.maxGapMs)}`,
    floor: `gap <= ${fmtS(f.allowedGapMs)}`,
    ratio: `${(f.maxGapMs / f.allowedGapMs).toFixed(2)}x`,
    detail: `first reason as read (code x reads): ${Object.entries(f.reasons)
      .map(([c, n]) => `${c} x${n}`)
      .join(', ')}`,
    target: '0 unknown; gap <= one interval (answers) or back-off step + timeout (silent)',
    met: plan.quick ? undefined : f.unknown === 0 && f.maxGapMs <= f.allowedGapMs,
  }));
  for (const downMs of plan.timeline.outagesMs) {
    const nodes = r.outages.filter((x) => x.downMs === downMs);
    const all = nodes.flatMap((x) => x.recoveriesMs);
    const done = all.filter((x): x is number => x !== null).sort((a, b) => a - b);
    const unknown = nodes.reduce((n, x) => n + x.downUnknown, 0);
    const observed = nodes.reduce((n, x) => n + x.downObservations, 0);
    rows.push({
      what: `recovery after ${downMs / 1000} s down, ${all.length} outages`,
      nodesentry:
        done.length > 0 ? `median ${fmtS(done[done.length >> 1]!)}, max ${fmtS(done[done.length - 1]!)}` : 'never',
      floor: `target ${fmtS(RECOVERY_TARGET_MS)}`,
      ratio: done.length > 0 ? `${(done[done.length - 1]! / RECOVERY_TARGET_MS).toFixed(2)}x` : '-',
      detail: `from the port open again to /probe/nodes/:id 200; per outage, s: ${all.map((x) => (x === null ? 'never' : (x / 1000).toFixed(1))).join(' ')}; while down ${unknown}/${observed} reads unknown`,
      target: `every outage <= ${fmtS(RECOVERY_TARGET_MS)}, never unknown while down`,
      met: plan.quick
        ? undefined
        : all.length > 0 && done.length === all.length && done[done.length - 1]! <= RECOVERY_TARGET_MS && unknown === 0,
    });
  }
  return rows;
}

function haproxyNote(): string {
  return haproxyVersion() === undefined ? ' (haproxy not installed: its rows are skipped)' : ', HAProxy';
}

function rpcRows(r: RpcProxyResult, plan: Plan): Row[] {
  const ms = (x: number) => `${x.toFixed(2)} ms`;
  const bareRps = (r.bareRuns[0]! + r.bareRuns[1]!) / 2;
  const added = (l: LoadResult) => l.p50Ms - r.direct.p50Ms;
  const statuses = (l: LoadResult) =>
    Object.entries(l.statuses)
      .map(([s, n]) => `${s} x${fmtInt(n)}`)
      .join(', ');
  const rows: Row[] = [
    {
      what: 'JSON-RPC straight to the node (latency floor)',
      nodesentry: '-',
      floor: `p50 ${ms(r.direct.p50Ms)}`,
      ratio: '-',
      detail: `at ${plan.rpc.rate} req/s: p50/p99 ${ms(r.direct.p50Ms)} / ${ms(r.direct.p99Ms)}; body ${r.body}`,
      target: '-',
      met: undefined,
    },
    {
      what: 'bare Node forwarder (node:http + undici pool)',
      nodesentry: '-',
      floor: `${fmtInt(bareRps)} req/s`,
      ratio: '100%',
      detail: `runs ${r.bareRuns.map(fmtInt).join(', ')} req/s; added p50 at ${plan.rpc.rate} req/s ${ms(added(r.bare.atRate))} (p99 ${ms(r.bare.atRate.p99Ms)}); own CPU ${r.bare.cpuUsPerRequest.toFixed(0)} µs/request`,
      target: '-',
      met: undefined,
    },
  ];
  const ns = r.nodesentry;
  const ratio = ns.saturated.rps / bareRps;
  rows.push({
    what: 'POST /rpc/bsc (nodesentry proxy)',
    nodesentry: `${fmtInt(ns.saturated.rps)} req/s`,
    floor: `${fmtInt(bareRps)} req/s`,
    ratio: `${(100 * ratio).toFixed(0)}%`,
    detail: `added p50 at ${plan.rpc.rate} req/s ${ms(added(ns.atRate))} (p50/p99 ${ms(ns.atRate.p50Ms)} / ${ms(ns.atRate.p99Ms)}${ns.atRate.unfinished > 0 ? `, ${fmtInt(ns.atRate.unfinished)} unanswered` : ''}); saturated p50 ${ms(ns.saturated.p50Ms)}; own CPU ${ns.cpuUsPerRequest.toFixed(0)} µs/request (${((100 * r.bare.cpuUsPerRequest) / ns.cpuUsPerRequest).toFixed(0)}% of bare's efficiency); HTTP ${statuses(ns.saturated)}`,
    target: '>= 85% of bare, <= 0.5 ms added p50',
    met: plan.quick ? undefined : ratio >= 0.85 && added(ns.atRate) <= 0.5 && ns.atRate.unfinished === 0,
  });
  if (r.haproxy) {
    const hp = r.haproxy;
    rows.push({
      what: `HAProxy ${hp.version}, 1 thread (reference)`,
      nodesentry: `${fmtInt(ns.saturated.rps)} req/s`,
      floor: `${fmtInt(hp.saturated.rps)} req/s`,
      ratio: `${((100 * ns.saturated.rps) / hp.saturated.rps).toFixed(0)}%`,
      detail: `nodesentry vs HAProxy throughput; HAProxy added p50 at ${plan.rpc.rate} req/s ${ms(added(hp.atRate))} (p99 ${ms(hp.atRate.p99Ms)}); HAProxy CPU ${hp.cpuUsPerRequest.toFixed(0)} µs/request; HTTP ${statuses(hp.saturated)}`,
      target: '-',
      met: undefined,
    });
  } else {
    rows.push({
      what: 'HAProxy (reference)',
      nodesentry: '-',
      floor: '-',
      ratio: '-',
      detail: 'haproxy is not installed (apt-get install haproxy): skipped',
      target: '-',
      met: undefined,
    });
  }
  return rows;
}

function rpcProblems(r: RpcProxyResult): string[] {
  const out: string[] = [];
  const runs: Array<[string, LoadResult]> = [
    ['direct', r.direct],
    ['bare', r.bare.saturated],
    ['bare at rate', r.bare.atRate],
    ['nodesentry', r.nodesentry.saturated],
    ['nodesentry at rate', r.nodesentry.atRate],
  ];
  if (r.haproxy) runs.push(['haproxy', r.haproxy.saturated], ['haproxy at rate', r.haproxy.atRate]);
  for (const [name, l] of runs) {
    if (l.requests === 0) out.push(`rpc ${name}: no answers at all`);
    if (l.errors > 0) out.push(`rpc ${name}: ${l.errors} requests got no HTTP answer`);
    const bad = Object.entries(l.statuses).filter(([s]) => s !== '200');
    if (bad.length > 0) out.push(`rpc ${name}: non-200 answers ${bad.map(([s, n]) => `${s} x${n}`).join(', ')}`);
  }
  return out;
}

// --- output ---------------------------------------------------------------------------------

const RESULTS_BEGIN = '<!-- bench:latest:begin -->';
const RESULTS_END = '<!-- bench:latest:end -->';

/** Replace the generated section of bench/RESULTS.md with this run (the rest is written by hand). */
async function writeResults(report: string): Promise<void> {
  const path = fileURLToPath(new URL('../../RESULTS.md', import.meta.url));
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    text = `# Benchmark results\n\n${RESULTS_BEGIN}\n${RESULTS_END}\n`;
  }
  const begin = text.indexOf(RESULTS_BEGIN);
  const end = text.indexOf(RESULTS_END);
  if (begin < 0 || end < begin) {
    console.log(`bench/RESULTS.md has no ${RESULTS_BEGIN} ... ${RESULTS_END} section: not updated`);
    return;
  }
  await writeFile(path, `${text.slice(0, begin + RESULTS_BEGIN.length)}\n${report}\n${text.slice(end)}`);
  console.log('\nbench/RESULTS.md updated (latest run section).');
}

function describeMachine(): string {
  const c = cpus();
  let redisVersion = 'redis-server not found';
  try {
    redisVersion = execFileSync('redis-server', ['--version'], { encoding: 'utf8' })
      .trim()
      .replace(/^Redis server /, 'Redis ')
      .split(' sha=')[0]!;
  } catch {
    // reported as missing; the sweep section then fails with its own message
  }
  return `${c.length} x ${c[0]?.model.trim() ?? 'unknown CPU'}, ${fmtInt(totalmem() / 2 ** 20)} MiB RAM, Linux ${release()}, Node ${process.version}, ${redisVersion}; load average at start ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`;
}

function log(line: string): void {
  console.error(`[bench] ${line}`);
}

function usage(msg: string): number {
  console.error(`${msg}\n${USAGE}`);
  return 2;
}

const fmtInt = (x: number) => Math.round(x).toLocaleString('en-US');
const fmtS = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`);
const fmtMb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MB`;

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  async (err: unknown) => {
    console.error(err);
    await BenchChild.stopAll();
    process.exit(1);
  },
);
