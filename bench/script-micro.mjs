// The Redis side of the write path: the CPU a redis-server spends per record written by a
// lease-fenced writeSweep of 1,000 steady records (what a worker's flush writes), for each build
// given, over a Redis of its own (INFO cpu of the server process, and INFO commandstats for the
// script call and the commands it runs).
//   npm run build && node bench/script-micro.mjs dist [<other dist dir> ...] [--rounds N] [--turns N] [--cluster]
// --cluster: the server runs with cluster-enabled yes and holds every slot itself (a one-master
// cluster, no replica), and the store connects to it as REDIS_CLUSTER_NODES would.
// A build from another checkout needs node_modules beside its dist (a symlink will do). The
// server's CPU is as noisy as the machine: alternate the builds (they run in turns, each on a
// server of its own) and compare several turns.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fencedSweepOf, firstRecord as first, freePort, leasedWriter, steadyRecordOf } from './steady-records.mjs';

const args = process.argv.slice(2);
const roundsAt = args.indexOf('--rounds');
const ROUNDS = roundsAt >= 0 ? Number(args.splice(roundsAt, 2)[1]) : 40;
const clusterAt = args.indexOf('--cluster');
const CLUSTER = clusterAt >= 0 && args.splice(clusterAt, 1).length > 0;
const turnsAt = args.indexOf('--turns');
const TURNS = turnsAt >= 0 ? Number(args.splice(turnsAt, 2)[1]) : 3;
const dirs = args.length > 0 ? args : ['dist'];
const N = 1_000;
const REPLICA = 'w1';

const steady = (prev, id, i) => steadyRecordOf(prev, id, i, REPLICA);
const sweepOf = (records) => fencedSweepOf(records, REPLICA);

async function startRedis(Redis) {
  const port = await freePort();
  const dir = CLUSTER ? mkdtempSync(join(tmpdir(), 'script-micro-')) : undefined;
  const cluster = dir
    ? [
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        join(dir, 'nodes.conf'),
        '--cluster-announce-ip',
        '127.0.0.1',
      ]
    : [];
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...cluster],
    { stdio: 'ignore', cwd: dir },
  );
  let admin;
  for (let i = 0; ; i++) {
    admin = new Redis({ port, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => null });
    admin.on('error', () => {});
    try {
      await admin.connect();
      break;
    } catch (err) {
      admin.disconnect();
      if (i > 100) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  if (CLUSTER) {
    await admin.call('CLUSTER', 'ADDSLOTSRANGE', '0', '16383');
    while (!/cluster_state:ok/.test(String(await admin.call('CLUSTER', 'INFO'))))
      await new Promise((r) => setTimeout(r, 50));
  }
  const stop = () => {
    admin.disconnect();
    child.kill();
    if (dir) rmSync(dir, { recursive: true, force: true });
  };
  return { url: `redis://127.0.0.1:${port}`, port, admin, stop };
}

async function serverCpuUs(admin) {
  const info = String(await admin.info('cpu'));
  const num = (k) => Number(new RegExp(`^${k}:([0-9.]+)`, 'm').exec(info)?.[1] ?? 0);
  return (num('used_cpu_user') + num('used_cpu_sys')) * 1e6;
}

async function commandUsec(admin) {
  const out = new Map();
  for (const m of String(await admin.info('commandstats')).matchAll(/^cmdstat_([a-z|_-]+):calls=(\d+),usec=(\d+)/gm))
    out.set(m[1], { calls: Number(m[2]), usec: Number(m[3]) });
  return out;
}

async function measure(dir, Redis) {
  const { RedisStore } = await import(resolve(dir, 'store/redis-store.js'));
  const server = await startRedis(Redis);
  try {
    const ids = Array.from({ length: N }, (_, i) => `bsc-${i}`);
    let records = ids.map((id, i) => steady(first, id, i));
    const next = (k) => (records = records.map((r, i) => steady(r, ids[i], k * N + i)));
    const target = CLUSTER ? { cluster: { nodes: [{ host: '127.0.0.1', port: server.port }] } } : { url: server.url };
    const store = new RedisStore({ ...target, prefix: 'sm', replica: REPLICA, skipOwnRecords: true });
    await store.ready(5_000);
    const write = await leasedWriter(store, ids, REPLICA);
    for (let k = 0; k < 10; k++) await write(sweepOf(next(k)));
    const sweeps = Array.from({ length: ROUNDS }, (_, k) => sweepOf(next(10 + k)));
    await server.admin.call('CONFIG', 'RESETSTAT');
    const cpu0 = await serverCpuUs(server.admin);
    for (const w of sweeps) await write(w);
    const cpu = (await serverCpuUs(server.admin)) - cpu0;
    const stats = await commandUsec(server.admin);
    await store.close();
    const per = ROUNDS * N;
    const script = (stats.get('evalsha')?.usec ?? 0) + (stats.get('eval')?.usec ?? 0);
    const top = [...stats]
      .filter(([name]) => name !== 'info' && name !== 'config|resetstat')
      .sort((a, b) => b[1].usec - a[1].usec)
      .slice(0, 6)
      .map(([name, s]) => `${name} ${(s.usec / per).toFixed(2)}`)
      .join(', ');
    return { dir, serverUs: cpu / per, scriptUs: script / per, top };
  } finally {
    server.stop();
  }
}

const { default: Redis } = await import('ioredis');
for (let t = 0; t < TURNS; t++)
  for (const dir of dirs) {
    const r = await measure(dir, Redis);
    console.log(
      `${r.dir}: redis-server ${r.serverUs.toFixed(1)} µs CPU per record written; scripts ${r.scriptUs.toFixed(1)} µs (commandstats, µs per record: ${r.top})`,
    );
  }
