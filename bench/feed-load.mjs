// An API replica (`nodesentry serve`, NODESENTRY_ROLE=api, its own process) under the records
// feed of a large fleet, measured directly instead of extrapolated from the scale run's fit
// (issue #16): this script publishes what W workers probing N nodes every 5 s publish (every
// node's compact change once per interval, spread evenly, in records events of up to --batch,
// and the chain's report every second) into a redis-server of its own. It reads the replica's
// CPU (all threads, and the main thread where JavaScript runs) and memory from /proc, the
// whole-record reads its store made (changes it could not apply) from Redis, a Prometheus
// scrape's time and how long a load balancer's node probe waited meanwhile (from a thread of
// its own), and at the end whether the replica's view holds every node's latest record.
//
//   npm run -s build && node bench/feed-load.mjs [--nodes 100000] [--window 30] [--batch 500] [--writers 4] [dist]
//
// The records are made by the real judge: TEMPLATES nodes of one chain judged on steady samples
// every interval (HealthJudge over a fleet view, the poller's probing plan added), each node of
// the fleet one template's timeline translated (every timestamp moved by the node's place in
// the interval, its id put in). Each node's change is then its template's with its own
// observedAt and id, which the script checks against encodeRecordEntry for a few dozen nodes
// before it starts: the entries are byte for byte what a worker would publish. Nodes share one
// chain: the per-chain work an API replica does per record is at its largest.
// FEED_LOAD_NODE_ARGS adds node flags to the replica (--cpu-prof ...), FEED_LOAD_LOG=<file>
// keeps its stdout, FEED_LOAD_VERBOSE names its port.
/* global fetch, performance */
import { spawn } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { cpuSecondsOf, mainThreadCpuSecondsOf, memoryOf, startRedisServer, stopAtExit } from './local-procs.mjs';
import { freePort } from './steady-records.mjs';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    nodes: { type: 'string', default: '100000' },
    window: { type: 'string', default: '30' },
    batch: { type: 'string', default: '500' },
    writers: { type: 'string', default: '4' },
  },
});
const N = Number(values.nodes);
const WINDOW_S = Number(values.window);
const BATCH = Number(values.batch);
const WRITERS = Number(values.writers);
const INTERVAL_MS = 5_000;
const dist = resolve(positionals[0] ?? 'dist');
const { encodeEvent, encodeRecord, encodeRecordEntry, encodeRecordsEvent } = await import(
  join(dist, 'store/store-codec.js')
);
const { createStoreKeys } = await import(join(dist, 'store/keys.js'));
const { SERVE_NODE_FLAGS } = await import(join(dist, 'main/heap-growth.js'));
const { Redis } = await import('ioredis');

const writer = (i) => `w${(i % WRITERS) + 1}`;
const nodeId = (i) => `bsc-${String(i).padStart(6, '0')}`;

/** `x` with every timestamp (epoch ms) moved by `by` and the template's id and writer replaced. */
function translate(x, by, id, replica, from) {
  if (typeof x === 'number') return Number.isSafeInteger(x) && x > 1e11 ? x + by : x;
  if (typeof x === 'string') return x === from ? id : x === 'w1' ? replica : x;
  if (Array.isArray(x)) return x.map((v) => translate(v, by, id, replica, from));
  if (typeof x === 'object' && x !== null) {
    const out = {};
    for (const k in x) out[k] = translate(x[k], by, id, replica, from);
    return out;
  }
  return x;
}

// The template timelines: TEMPLATES nodes of one chain judged by the real judge (HealthJudge
// over a fleet view, as a worker's poller drives it) on steady samples, every INTERVAL_MS, with
// the poller's probing plan added; the first WARM_STEPS are left out (the states confirmed).
const TEMPLATES = 8;
const WARM_STEPS = 6;
// The warm-up (two intervals), the window, and up to a minute of scrapes after it.
const steps = Math.ceil((WINDOW_S * 1000 + 60_000) / INTERVAL_MS) + 4;
const { BUILTIN_CHAINS } = await import(join(dist, 'chains/chain-spec.js'));
const { DEFAULT_HEALTH_POLICY } = await import(join(dist, 'health/policy.js'));
const { HealthJudge } = await import(join(dist, 'polling/health-judge.js'));
const { MemoryStore } = await import(join(dist, 'store/memory-store.js'));
const { FleetView } = await import(join(dist, 'view/fleet-view.js'));
const templateId = (m) => `tmpl-${m}`;
const templateNodes = new Map();
for (let m = 0; m < TEMPLATES; m++)
  templateNodes.set(templateId(m), {
    id: templateId(m),
    chain: BUILTIN_CHAINS.bsc,
    url: `http://127.0.0.1:9/${m}`,
    tags: [],
    tier: 0,
    intervalMs: INTERVAL_MS,
    timeoutMs: 2000,
  });
const view = new FleetView({ store: new MemoryStore() });
const judge = new HealthJudge({ view, policy: DEFAULT_HEALTH_POLICY, replica: 'w1', nodes: () => templateNodes });
const timelines = Array.from({ length: TEMPLATES }, () => []);
let clock = 1_796_000_000_000;
let lastFacts;
for (let k = 0; k < WARM_STEPS + steps + 1; k++) {
  for (let m = 0; m < TEMPLATES; m++) {
    const node = templateNodes.get(templateId(m));
    const at = clock + m * 10 + ((k * 7 + m * 3) % 40);
    const sample = {
      nodeId: node.id,
      chain: 'bsc',
      family: 'evm',
      observedAt: at,
      latencyMs: Math.round((4 + ((k * 37 + m * 11) % 60) / 3) * 100) / 100,
      ok: true,
      peers: { total: 40, source: 'net_peerCount' },
      // BSC's 3 s blocks: one or two per interval.
      height: 68_000_000 + Math.floor((k * INTERVAL_MS) / 3000),
      tipTime: Math.floor(at / 1000) - 1,
      syncing: false,
      chainId: 56,
      clientVersion: 'Geth/v1.5.19-9a6981b1-20250818/linux-amd64/go1.23.10',
      missingMethods: [],
    };
    const verdict = judge.judge(node, sample, at);
    const record = {
      ...verdict.record,
      health: {
        ...verdict.record.health,
        probing: { mode: 'interval', delayMs: INTERVAL_MS, nextProbeAt: at + INTERVAL_MS },
      },
    };
    view.ingest([record]);
    if (k >= WARM_STEPS) timelines[m].push(JSON.parse(encodeRecord(record)));
  }
  lastFacts = judge.chainFacts(clock).find((f) => f.chain === 'bsc') ?? lastFacts;
  clock += INTERVAL_MS;
}
for (const t of timelines) for (const r of t) delete r.v;
// The template chain's report (reference head, ranking, the shared choice) as the workers
// publish it every second: sent translated to the feed's time and nodes, so the replica answers
// /best (and the chain_best gauge) from the workers' choice, as it does beside live workers.
const templateFacts = lastFacts;
if (templateFacts?.facts?.selection?.nodeId == null) throw new Error('the template chain has no choice');
const factsAt = templateFacts.facts.evaluatedAt;
const factsOf = (x, by) => {
  if (typeof x === 'number') return Number.isSafeInteger(x) && x > 1e11 ? x + by : x;
  if (typeof x === 'string') {
    const m = /^tmpl-(\d+)$/.exec(x);
    return m ? nodeId(Number(m[1])) : x;
  }
  if (Array.isArray(x)) return x.map((v) => factsOf(v, by));
  if (typeof x === 'object' && x !== null) {
    const out = {};
    for (const k in x) out[k] = factsOf(x[k], by);
    return out;
  }
  return x;
};
const t0 = timelines[0][0].sample.observedAt;
/** Template m's step k entry as `[before observedAt, between observedAt and the id, after the id]`, its observedAt offset from t0. */
const templates = timelines.map((timeline, m) =>
  timeline.map((r, k) => {
    if (k === 0) return undefined;
    const entry = encodeRecordEntry(r, encodeRecord(r), timeline[k - 1], 'w1');
    const match = /^(\{"c":1,"f":\d+,"observedAt":)(\d+)(,"nodeId":)("[^"]+")(.*)$/s.exec(entry);
    if (!match || match[4] !== JSON.stringify(templateId(m)))
      throw new Error(`template ${m} step ${k}: not a compact change: ${entry.slice(0, 80)}`);
    return { head: match[1], mid: match[3], tail: match[5], at: Number(match[2]) - t0, bytes: entry.length };
  }),
);
const templateOf = (i) => i % TEMPLATES;
const entryOf = (k, i, base) => {
  const t = templates[templateOf(i)][k];
  return `${t.head}${base + t.at}${t.mid}${JSON.stringify(nodeId(i))}${t.tail}`;
};
/** Node i's record at step k, its timeline moved by `by` ms. */
const recordOf = (k, i, by) =>
  translate(timelines[templateOf(i)][k], by, nodeId(i), writer(i), templateId(templateOf(i)));

const dir = mkdtempSync(join(tmpdir(), 'feed-load-'));
const redisPort = await freePort();
const apiPort = await freePort();
const children = [];
stopAtExit(children, () => rmSync(dir, { recursive: true, force: true }));
children.push(await startRedisServer(redisPort));
const redis = new Redis({ port: redisPort, host: '127.0.0.1', maxRetriesPerRequest: 1 });

const prefix = 'feedload';
const keys = createStoreKeys(prefix);

// Self-check: the translated timelines' real entries are the templated ones.
for (let i = 0; i < Math.min(N, 3 * TEMPLATES); i++) {
  const by = 1e6 + 977 * i;
  for (let k = 1; k < steps; k++) {
    const r = recordOf(k, i, by);
    const real = encodeRecordEntry(r, encodeRecord(r), recordOf(k - 1, i, by), writer(i));
    if (real !== entryOf(k, i, t0 + by))
      throw new Error(
        `node ${i} step ${k}: the templated entry is not what encodeRecordEntry makes:\n${real}\n${entryOf(k, i, t0 + by)}`,
      );
  }
}

const nodesFile = join(dir, 'nodes.json');
writeFileSync(
  nodesFile,
  JSON.stringify({
    defaults: { intervalMs: INTERVAL_MS, timeoutMs: 2000 },
    nodes: Array.from({ length: N }, (_, i) => ({ id: nodeId(i), chain: 'bsc', url: `http://127.0.0.1:9/n/${i}` })),
  }),
);

// Every node's record as it stood one interval ago, stored as a worker leaves it: what the
// replica loads when it starts.
const started = Date.now();
const baseAt = (i) => started - INTERVAL_MS + Math.floor((i * INTERVAL_MS) / N);
for (let i = 0; i < N; i += 1000) {
  const p = redis.pipeline();
  for (let j = i; j < Math.min(N, i + 1000); j++) {
    const r = recordOf(0, j, baseAt(j) - t0);
    p.set(keys.node(nodeId(j)), encodeRecord(r), 'PX', 600_000);
    p.sadd(keys.nodeIndex, nodeId(j));
  }
  await p.exec();
}
const wroteS = (Date.now() - started) / 1000;

const cpuOf = cpuSecondsOf;
const mainCpuOf = mainThreadCpuSecondsOf;
const memOf = memoryOf;
const redisInfo = async () => {
  const stats = new Map();
  for (const m of String(await redis.info('commandstats')).matchAll(/cmdstat_(\w+):calls=(\d+)/g))
    stats.set(m[1], Number(m[2]));
  const cpu = String(await redis.info('cpu'));
  const field = (name) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(cpu)?.[1] ?? Number.NaN);
  return { stats, cpu: field('used_cpu_user') + field('used_cpu_sys') };
};

const apiStart = Date.now();
if (process.env.FEED_LOAD_VERBOSE) console.error(`the API replica listens on ${apiPort}`);
const api = spawn(
  process.execPath,
  // FEED_LOAD_NODE_ARGS: more node flags for the replica (e.g. --cpu-prof --cpu-prof-dir=DIR).
  [
    ...SERVE_NODE_FLAGS.split(' '),
    ...(process.env.FEED_LOAD_NODE_ARGS ?? '').split(' ').filter(Boolean),
    join(dist, 'cli.js'),
    'serve',
    '--config',
    nodesFile,
  ],
  {
    env: {
      ...process.env,
      REDIS_URL: `redis://127.0.0.1:${redisPort}`,
      NODESENTRY_REDIS_PREFIX: prefix,
      NODESENTRY_ROLE: 'api',
      PORT: String(apiPort),
      HOST: '127.0.0.1',
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
    },
    // FEED_LOAD_LOG=<file>: the replica's stdout (its log; --trace-gc lines) there.
    stdio: ['ignore', process.env.FEED_LOAD_LOG ? openSync(process.env.FEED_LOAD_LOG, 'w') : 'ignore', 'inherit'],
  },
);
children.push(api);
const get = async (path) => {
  const res = await fetch(`http://127.0.0.1:${apiPort}${path}`);
  return { status: res.status, body: await res.json().catch(() => null) };
};
for (;;) {
  const r = await get('/readyz').catch(() => undefined);
  if (r?.status === 200) break;
  if (api.exitCode !== null) throw new Error(`the API replica exited (${api.exitCode})`);
  if (Date.now() - apiStart > 300_000) throw new Error('the API replica was not ready within 300 s');
  await sleep(200);
}
const readyS = (Date.now() - apiStart) / 1000;
const loadedCpu = cpuOf(api.pid);
const loadedMem = memOf(api.pid);

// The feed: from now on, node i's step k is published at its time in interval k, carrying an
// observedAt that time (a steady probe's, shifted by the template's own jitter). Step 1 makes
// the change onto the stored record; whole records go first, as a cold worker's first sweep
// sends them, so the replica holds each node's base as the writers do.
const feedStart = Date.now();
// Node i's timeline moved so that its step 1 is observed at its place in interval 1.
const shiftOf = (i) =>
  feedStart + INTERVAL_MS + Math.floor((i * INTERVAL_MS) / N) - t0 - templates[templateOf(i)][1].at;
let published = 0;
let publishedBytes = 0;
const lastStep = new Int32Array(N).fill(-1);
const batches = Array.from({ length: WRITERS }, () => []);
const flush = async (w) => {
  const entries = batches[w];
  if (entries.length === 0) return;
  batches[w] = [];
  const msg = encodeRecordsEvent(entries, `w${w + 1}`);
  publishedBytes += msg.length;
  published += entries.length;
  await redis.publish(keys.events, msg);
};
let next = 0; // next (step, node) to publish, as step * N + i
const total = (steps - 1) * N; // steps 1 .. steps-1 after the whole records of step 0
const pending = [];
// Step 0: the records whole, at the feed's rate.
const first = (i) => encodeRecord(recordOf(0, i, shiftOf(i)));
const windowStartAt = feedStart + 2 * INTERVAL_MS; // whole records in interval 0, changes from interval 1
const windowEndAt = windowStartAt + WINDOW_S * 1000;
let lastFlushAt = feedStart;
let lastFactsAt = 0;
// The feed runs on its own until stopped: through the measured window, then through the scrapes.
let stopPump = false;
const pump = (async () => {
  while (!stopPump && next < N + total) {
    const now = Date.now();
    for (; next < N + total; next++) {
      const step = Math.floor(next / N);
      const i = next % N;
      const dueAt = feedStart + step * INTERVAL_MS + Math.floor((i * INTERVAL_MS) / N);
      if (dueAt > now) break;
      const w = i % WRITERS;
      batches[w].push(step === 0 ? first(i) : entryOf(step, i, t0 + shiftOf(i)));
      lastStep[i] = step;
      if (batches[w].length >= BATCH) pending.push(flush(w));
    }
    if (now - lastFactsAt >= 1000) {
      lastFactsAt = now;
      const facts = { ...factsOf(templateFacts, now - factsAt), replica: 'w1' };
      pending.push(redis.publish(keys.events, encodeEvent({ type: 'chain', facts })));
    }
    // A worker's flush leaves within ~100 ms of its probes: partial batches every 100 ms.
    if (now - lastFlushAt >= 100) {
      lastFlushAt = now;
      for (let w = 0; w < WRITERS; w++) pending.push(flush(w));
    }
    await Promise.all(pending.splice(0));
    await sleep(25);
  }
  for (let w = 0; w < WRITERS; w++) await flush(w);
  return next >= N + total;
})();
const sample = async () => ({
  at: Date.now(),
  cpu: cpuOf(api.pid),
  main: mainCpuOf(api.pid),
  redis: await redisInfo(),
  published,
  publishedBytes,
  mem: memOf(api.pid),
});
await sleep(windowStartAt - Date.now());
const before = { ...(await sample()), pump: process.cpuUsage() };
await sleep(windowEndAt - Date.now());
const measured = { ...(await sample()), pump: process.cpuUsage(before.pump) };
const best = await get('/v1/chains/bsc/best');

// Let the replica drain what was sent, then ask it for a sample of nodes.
await sleep(1500);

// A Prometheus scrape of the replica (per-node series for every node), with a load balancer's
// node probe every 10 ms meanwhile: how long the scrape takes, and how long it holds the probes.
const scrapes = [];
// A load balancer's node probe every 10 ms, from a thread of its own (this thread is busy
// reading the scrape's tens of MB): the slowest answer while it runs.
const probing = (url) =>
  new Worker(
    `const { parentPort, workerData } = require('node:worker_threads');
    let worst = -1, stop = false, first = true;
    parentPort.once('message', () => (stop = true));
    (async () => {
      while (!stop) {
        const t = performance.now();
        await fetch(workerData).then((r) => r.arrayBuffer());
        // The first answer also sets up the thread's client and connection: not counted.
        if (!first) worst = Math.max(worst, performance.now() - t);
        first = false;
        await new Promise((r) => setTimeout(r, 10));
      }
      parentPort.postMessage(worst);
    })();`,
    { eval: true, workerData: url },
  );
const probeWhile = async (work) => {
  const w = probing(`http://127.0.0.1:${apiPort}/probe/nodes/${nodeId(0)}`);
  await sleep(100);
  const result = await work();
  const worst = new Promise((res) => w.once('message', res));
  w.postMessage('stop');
  const ms = await worst;
  await w.terminate();
  return { result, probeMax: ms };
};
const unscraped = (await probeWhile(() => sleep(3000))).probeMax;
for (let n = 0; n < 3; n++) {
  const { result, probeMax } = await probeWhile(async () => {
    const t = performance.now();
    const res = await fetch(`http://127.0.0.1:${apiPort}/metrics`, { headers: { 'accept-encoding': 'identity' } });
    const body = Buffer.from(await res.arrayBuffer());
    // The replica's own view of its event loop since the scrape before (prom-client resets it each scrape).
    const lag = /^nodejs_eventloop_lag_max_seconds (\S+)/m.exec(body.subarray(-400_000).toString())?.[1];
    return {
      ms: performance.now() - t,
      bytes: body.length,
      status: res.status,
      lagMs: lag === undefined ? Number.NaN : Number(lag) * 1000,
    };
  });
  scrapes.push({ ...result, probeMax });
  await sleep(1000);
}

stopPump = true;
if (await pump) throw new Error('the feed ran out of steps before the scrapes ended: raise the steps');
// Let the replica take in the last events.
await sleep(1500);
let current = 0;
let behind = 0;
let missing = 0;
const sampleSize = Math.min(N, 500);
for (let s = 0; s < sampleSize; s++) {
  const i = Math.floor((s * N) / sampleSize);
  const r = await get(`/v1/nodes/${nodeId(i)}`);
  const at = r.body?.sample?.observedAt;
  const want =
    t0 +
    shiftOf(i) +
    (lastStep[i] === 0 ? timelines[templateOf(i)][0].sample.observedAt - t0 : templates[templateOf(i)][lastStep[i]].at);
  if (typeof at !== 'number') missing++;
  else if (Math.floor(at) === want) current++;
  else behind++;
}

const windowS = (measured.at - before.at) / 1000;
const records = measured.published - before.published;
const apiCpu = measured.cpu - before.cpu;
const d = (name) => (measured.redis.stats.get(name) ?? 0) - (before.redis.stats.get(name) ?? 0);
const pumpCpu = (measured.pump.user + measured.pump.system) / 1e6;
const fmt = (x, n = 1) => x.toLocaleString('en-US', { maximumFractionDigits: n, minimumFractionDigits: n });
const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
console.log(
  `feed load: ${N.toLocaleString('en-US')} nodes, one chain, every node's compact change once per ${INTERVAL_MS / 1000} s from ${WRITERS} writers in events of up to ${BATCH}; load average at end ${load}`,
);
console.log(
  `  stored ${N.toLocaleString('en-US')} records in ${fmt(wroteS)} s; the API replica ready in ${fmt(readyS)} s (${fmt(loadedCpu)} s CPU, RSS ${fmt(loadedMem.rssMb, 0)} MB)`,
);
console.log(
  `  window ${fmt(windowS)} s: ${fmt(records / windowS, 0)} records/s in ${fmt((d('publish') || 1) / windowS, 0)} events/s, ${fmt(measured.publishedBytes - before.publishedBytes > 0 ? (measured.publishedBytes - before.publishedBytes) / records : 0, 0)} B per record`,
);
const mainCpu = measured.main - before.main;
console.log(
  `  API replica: CPU ${fmt((100 * apiCpu) / windowS)} % of a core (its main thread, where JavaScript runs: ${fmt((100 * mainCpu) / windowS)} %), ${fmt((apiCpu * 1e6) / records)} µs per record received (main thread ${fmt((mainCpu * 1e6) / records)}); RSS ${fmt(measured.mem.rssMb, 0)} MB (peak ${fmt(measured.mem.peakMb, 0)} MB)`,
);
console.log(
  `  whole-record reads by the replica in the window (changes it could not apply): ${d('mget')} MGET, ${d('get')} GET`,
);
console.log(
  `  GET /metrics: ${scrapes.map((x) => `${fmt(x.ms, 0)} ms`).join(', ')} for ${fmt(scrapes[0].bytes / 2 ** 20)} MB (HTTP ${scrapes[0].status}); the slowest /probe/nodes answer meanwhile ${scrapes.map((x) => (x.probeMax < 0 ? 'none counted' : `${fmt(x.probeMax, 0)} ms`)).join(', ')} (without a scrape, over 3 s: ${fmt(unscraped, 0)} ms); the replica's own event-loop delay, most since the scrape before: ${scrapes
    .slice(1)
    .map((x) => `${fmt(x.lagMs, 0)} ms`)
    .join(', ')}`,
);
console.log(
  `  GET /v1/chains/bsc/best at the feed's end: HTTP ${best.status}, ${best.body?.source ?? '?'} choice ${best.body?.nodeId ?? best.body?.node?.id ?? '?'}`,
);
console.log(
  `  after the feed: ${current} of ${sampleSize} sampled nodes at their latest record, ${behind} behind, ${missing} missing`,
);
console.log(
  `  this script (the feed's writer): ${fmt((100 * pumpCpu) / windowS)} % of a core; redis-server ${fmt((100 * (measured.redis.cpu - before.redis.cpu)) / windowS)} %`,
);
await redis.quit();
// SIGTERM first: the replica stops cleanly (and writes a CPU profile when asked to).
api.kill('SIGTERM');
await Promise.race([new Promise((res) => api.once('exit', res)), sleep(15_000)]);
process.exit(behind + missing > 0 ? 1 : 0);
