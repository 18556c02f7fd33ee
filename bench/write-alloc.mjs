// The store's write path on its own: a lease-fenced writeSweep of 1,000 steady records (what a
// worker's flush writes), the bytes it allocates per record (garbage included, V8's sampling
// heap profiler) and its CPU per record, for each build given, over a Redis of its own.
//   npm run build && node bench/write-alloc.mjs dist [<other dist dir> ...] [--top N]
// A build from another checkout needs node_modules beside its dist (a symlink will do).
// Bytes allocated repeat to within a few bytes run to run; the CPU figure is as noisy as the
// machine (alternate the builds and compare several runs).
import { spawn } from 'node:child_process';
import { Session } from 'node:inspector/promises';
import { resolve } from 'node:path';
import { fencedSweepOf, firstRecord as first, freePort, leasedWriter, steadyRecordOf } from './steady-records.mjs';

const args = process.argv.slice(2);
const topAt = args.indexOf('--top');
const top = topAt >= 0 ? Number(args.splice(topAt, 2)[1]) : 8;
const dirs = args.length > 0 ? args : ['dist'];

const N = 1_000;
const ROUNDS = 30;
const REPLICA = 'w1';

const steady = (prev, id, i) => steadyRecordOf(prev, id, i, REPLICA);
const sweepOf = (records) => fencedSweepOf(records, REPLICA);

async function measure(dir, redisUrl) {
  const { RedisStore } = await import(resolve(dir, 'store/redis-store.js'));
  const ids = Array.from({ length: N }, (_, i) => `bsc-${i}`);
  let records = ids.map((id, i) => steady(first, id, i));
  const next = (k) => (records = records.map((r, i) => steady(r, ids[i], k * N + i)));
  const store = new RedisStore({ url: redisUrl, prefix: `wa-${process.pid}`, replica: REPLICA, skipOwnRecords: true });
  await store.ready(5_000);
  await store.heartbeat(REPLICA, 600_000);
  const write = await leasedWriter(store, ids, REPLICA);
  for (let k = 0; k < 10; k++) await write(sweepOf(next(k)));
  // CPU of the write alone (the records are made before the clock starts).
  let cpu = 0;
  for (let k = 10; k < 10 + ROUNDS; k++) {
    const w = sweepOf(next(k));
    const t = process.cpuUsage();
    await write(w);
    const d = process.cpuUsage(t);
    cpu += d.user + d.system;
  }
  const sweeps = [];
  for (let k = 100; k < 110; k++) sweeps.push(sweepOf(next(k)));
  const session = new Session();
  session.connect();
  await session.post('HeapProfiler.startSampling', {
    samplingInterval: 1024,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
  for (const w of sweeps) await write(w);
  const { profile } = await session.post('HeapProfiler.stopSampling');
  session.disconnect();
  const bySite = new Map();
  let total = 0;
  (function walk(n) {
    const f = n.callFrame;
    const site = `${f.functionName || '(anonymous)'} ${f.url.split('/').slice(-2).join('/')}:${f.lineNumber + 1}`;
    total += n.selfSize;
    bySite.set(site, (bySite.get(site) ?? 0) + n.selfSize);
    for (const c of n.children) walk(c);
  })(profile.head);
  await store.removeNodes(ids);
  await store.close();
  const per = sweeps.length * N;
  console.log(
    `${dir}: ${(total / per).toFixed(0)} B allocated and ${(cpu / (ROUNDS * N)).toFixed(1)} µs CPU per record written`,
  );
  for (const [site, bytes] of [...bySite].sort((a, b) => b[1] - a[1]).slice(0, top))
    console.log(`  ${(bytes / per).toFixed(0).padStart(6)} B  ${site}`);
}

const port = await freePort();
const redis = spawn(
  'redis-server',
  ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
  {
    stdio: 'ignore',
  },
);
try {
  const { default: Redis } = await import('ioredis');
  const probe = new Redis({ port, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => 50 });
  for (let i = 0; ; i++) {
    try {
      await probe.connect();
      break;
    } catch (err) {
      if (i > 100) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  probe.disconnect();
  for (const dir of dirs) await measure(dir, `redis://127.0.0.1:${port}`);
} finally {
  redis.kill();
}
