// One worker replica (`nodesentry serve`, NODESENTRY_ROLE=worker, its own process) probing
// its share of a large fleet on the 5 s interval, measured directly (issue #16): its share of
// 100,000 nodes with 4 workers is 25,000 nodes, 5,000 probes/s. The nodes are BSC nodes of
// simulators in processes of their own (several, so that the per-origin connection cap, 16, is
// not what limits the probes: real nodes are each an origin), the store a redis-server of its
// own. Other workers' records are not sent (bench/feed-load.mjs measures taking those in).
//
//   npm run -s build && node bench/worker-load.mjs [--nodes 25000] [--sims 4] [--window 30] [dist]
//
// Prints the probes done against those due, the worker's CPU (all threads, and the main thread
// where JavaScript runs) per probe, the simulators' CPU and the worker's memory.
/* global fetch */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { cpuSecondsOf, mainThreadCpuSecondsOf, memoryOf, startRedisServer, stopAtExit } from './local-procs.mjs';
import { freePort } from './steady-records.mjs';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    nodes: { type: 'string', default: '25000' },
    sims: { type: 'string', default: '4' },
    window: { type: 'string', default: '30' },
    concurrency: { type: 'string', default: '256' },
  },
});
const N = Number(values.nodes);
const SIMS = Number(values.sims);
const WINDOW_S = Number(values.window);
const INTERVAL_MS = 5_000;
const dist = resolve(positionals[0] ?? 'dist');
const { generateFleet } = await import(join(dist, 'simulator/fleet.js'));
const { SERVE_NODE_FLAGS } = await import(join(dist, 'main/heap-growth.js'));

const dir = mkdtempSync(join(tmpdir(), 'worker-load-'));
const children = [];
stopAtExit(children, () => rmSync(dir, { recursive: true, force: true }));

// Each simulator generates twice its share (about half of a generated fleet is BSC) and the
// worker's config takes its BSC nodes.
const perSim = Math.ceil(N / SIMS);
const nodes = [];
const sims = [];
for (let k = 0; k < SIMS; k++) {
  const port = await freePort();
  const fleet = generateFleet(perSim * 2 + 200, k + 1)
    .filter((s) => s.kind === 'bsc')
    .slice(0, perSim);
  if (fleet.length < perSim) throw new Error('the generated fleet has too few BSC nodes');
  const sim = spawn(
    process.execPath,
    [
      join(dist, 'cli.js'),
      'simulate',
      '--port',
      String(port),
      '--nodes',
      String(perSim * 2 + 200),
      '--seed',
      String(k + 1),
    ],
    { stdio: 'ignore' },
  );
  children.push(sim);
  sims.push(sim);
  for (const s of fleet) nodes.push({ id: `s${k}-${s.id}`, chain: 'bsc', url: `http://127.0.0.1:${port}/n/${s.id}` });
}
nodes.length = N;
const redisPort = await freePort();
children.push(await startRedisServer(redisPort));
const nodesFile = join(dir, 'nodes.json');
writeFileSync(nodesFile, JSON.stringify({ defaults: { intervalMs: INTERVAL_MS, timeoutMs: 2000 }, nodes }));
await sleep(2000); // the simulators listening

const apiPort = await freePort();
const worker = spawn(
  process.execPath,
  [...SERVE_NODE_FLAGS.split(' '), join(dist, 'cli.js'), 'serve', '--config', nodesFile],
  {
    env: {
      ...process.env,
      REDIS_URL: `redis://127.0.0.1:${redisPort}`,
      NODESENTRY_ROLE: 'worker',
      PORT: String(apiPort),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'error',
      NODESENTRY_CONCURRENCY: values.concurrency,
      NODESENTRY_PER_HOST_CONCURRENCY: values.concurrency,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  },
);
children.push(worker);

const probes = async () => {
  const text = await (await fetch(`http://127.0.0.1:${apiPort}/metrics`)).text();
  return Number(/^nodesentry_poller_probes_total (\d+)/m.exec(text)?.[1] ?? Number.NaN);
};
const sample = async () => ({
  at: Date.now(),
  probes: await probes(),
  cpu: cpuSecondsOf(worker.pid),
  main: mainThreadCpuSecondsOf(worker.pid),
  sims: sims.reduce((x, s) => x + cpuSecondsOf(s.pid), 0),
});
// Settled: the first sweep (every node at once) and the back-off of any it timed out are over.
for (let i = 0; ; i++) {
  // The body read every time: an unread one keeps its connection, and the next fetch waits for it.
  const ready = await fetch(`http://127.0.0.1:${apiPort}/readyz`).then(
    async (r) => (await r.arrayBuffer(), r.status === 200),
    () => false,
  );
  if (ready) break;
  if (worker.exitCode !== null) throw new Error(`the worker exited (${worker.exitCode})`);
  if (i > 600) throw new Error('the worker was not ready within 120 s');
  await sleep(200);
}
await sleep(6 * INTERVAL_MS);
const before = await sample();
await sleep(WINDOW_S * 1000);
const after = await sample();
const s = (after.at - before.at) / 1000;
const done = after.probes - before.probes;
const fmt = (x, n = 1) => x.toLocaleString('en-US', { maximumFractionDigits: n, minimumFractionDigits: n });
const rss = memoryOf(worker.pid).rssMb;
const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
console.log(
  `worker load: one worker, ${N.toLocaleString('en-US')} BSC nodes on ${SIMS} simulators, every ${INTERVAL_MS / 1000} s, concurrency ${values.concurrency}; load average at end ${load}`,
);
console.log(`  window ${fmt(s)} s: ${fmt(done / s, 0)} probes/s of ${fmt(N / (INTERVAL_MS / 1000), 0)}/s due`);
console.log(
  `  worker: CPU ${fmt((100 * (after.cpu - before.cpu)) / s)} % of a core (main thread ${fmt((100 * (after.main - before.main)) / s)} %), ${fmt(((after.cpu - before.cpu) * 1e6) / done, 0)} µs per probe (main thread ${fmt(((after.main - before.main) * 1e6) / done, 0)}); RSS ${fmt(rss, 0)} MB`,
);
console.log(`  simulators: ${fmt((100 * (after.sims - before.sims)) / s)} % of a core in all`);
// The children (simulators, worker, redis-server) keep the loop alive: exit, and the handler stops them.
process.exit(0);
