// What the load benches (feed-load, worker-load) need of the processes they start: a
// redis-server of their own, and each child's CPU and memory from /proc.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/** A redis-server on 127.0.0.1:`port`, no persistence, `noeviction`; resolves once it answers PING. */
export async function startRedisServer(port) {
  const child = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--maxmemory-policy',
      'noeviction',
    ],
    { stdio: 'ignore' },
  );
  for (
    let i = 0;
    spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8' }).stdout.trim() !== 'PONG';
    i++
  ) {
    if (i > 100 || child.exitCode !== null) throw new Error('redis-server did not start');
    await sleep(50);
  }
  return child;
}

/** utime + stime of a process, all its threads, s (USER_HZ 100). */
export function cpuSecondsOf(pid, path = `/proc/${pid}/stat`) {
  const f = readFileSync(path, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

/** The same of a process's main thread, where its JavaScript runs (V8's GC helpers are other threads). */
export function mainThreadCpuSecondsOf(pid) {
  return cpuSecondsOf(pid, `/proc/${pid}/task/${pid}/stat`);
}

/** Resident memory now and at its peak, MB. */
export function memoryOf(pid) {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(s)?.[1] ?? 0);
  return { rssMb: kb('VmRSS') / 1024, peakMb: kb('VmHWM') / 1024 };
}

/** Kill `children` at exit, and exit on SIGINT/SIGTERM so that happens (an 'exit' handler alone does not run on a signal). */
export function stopAtExit(children, also = () => {}) {
  process.on('exit', () => {
    for (const c of children) c.kill('SIGKILL');
    also();
  });
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(130));
}
