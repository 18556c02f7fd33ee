import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import type { SimNodeSpec } from '../../src/simulator/sim-node-spec.js';
import { Simulator } from '../../src/simulator/simulator.js';
import { sleep, until } from '../support/wait.js';

// Real nodesentry processes (the built CLI, `npm test` builds first) sharing one real Redis:
// one is killed with SIGKILL, one stopped with SIGTERM, and the lease keys in Redis plus the
// simulator's request counts show who polls what, and when.

const CLI = resolve('dist/cli.js');
const INTERVAL_MS = 600;
const SPECS: SimNodeSpec[] = Array.from({ length: 8 }, (_, i) => ({ id: `defi-${i}`, kind: 'defid' as const }));

let sim: Simulator;
let dir: string;
let configFile: string;
let redis: Redis;
const children: ChildProcess[] = [];

beforeAll(async () => {
  sim = await Simulator.start({ nodes: SPECS, authDelayMs: 5 });
  dir = mkdtempSync(join(tmpdir(), 'nodesentry-replicas-'));
  configFile = join(dir, 'nodes.yaml');
  const lines = ['defaults:', `  intervalMs: ${INTERVAL_MS}`, '  timeoutMs: 300', 'nodes:'];
  for (const s of SPECS) lines.push(`  - id: ${s.id}`, '    chain: defichain', `    url: ${sim.url(s.id)}`);
  writeFileSync(configFile, `${lines.join('\n')}\n`);
  redis = new Redis(process.env.REDIS_URL!);
});

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await sim.close();
  redis.disconnect();
  rmSync(dir, { recursive: true, force: true });
});

function startReplica(prefix: string): ChildProcess {
  const child = spawn(process.execPath, [CLI, 'serve', '--config', configFile], {
    env: {
      ...process.env,
      REDIS_URL: process.env.REDIS_URL,
      NODESENTRY_REDIS_PREFIX: prefix,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.push(child);
  return child;
}

/** Lease holders by node id, read straight from Redis. */
async function holders(prefix: string): Promise<Map<string, string | null>> {
  const values = await redis.mget(...SPECS.map((s) => `{${prefix}}:lease:${s.id}`));
  return new Map(SPECS.map((s, i) => [s.id, values[i] ?? null]));
}

const ofPid = (pid: number | undefined) => (holder: string | null) => holder !== null && holder.includes(`-${pid}-`);

/** Every node has a holder, and both replicas hold some. */
async function bothHoldShares(prefix: string, a: ChildProcess, b: ChildProcess): Promise<void> {
  await until(
    async () => {
      const h = [...(await holders(prefix)).values()];
      return h.every((x) => x !== null) && h.some(ofPid(a.pid)) && h.some(ofPid(b.pid));
    },
    15_000,
    'both replicas holding leases',
  );
}

async function cleanup(prefix: string): Promise<void> {
  const keys = await redis.keys(`{${prefix}}:*`);
  if (keys.length > 0) await redis.del(...keys);
}

describe('replica processes', () => {
  it('when a replica is killed with SIGKILL, then its nodes are polled by the other within two intervals', async () => {
    const prefix = `proc-${randomBytes(4).toString('hex')}`;
    const a = startReplica(prefix);
    const b = startReplica(prefix);
    try {
      await bothHoldShares(prefix, a, b);
      const orphans = [...(await holders(prefix))].filter(([, h]) => ofPid(a.pid)(h)).map(([id]) => id);
      expect(orphans.length).toBeGreaterThan(0);

      a.kill('SIGKILL');
      const took = await until(async () => {
        const h = await holders(prefix);
        return orphans.every((id) => ofPid(b.pid)(h.get(id) ?? null));
      }, 10 * INTERVAL_MS);
      expect(took).toBeLessThanOrEqual(2 * INTERVAL_MS + 250);

      // ...and they are really being probed again.
      sim.resetStats();
      await sleep(2 * INTERVAL_MS);
      for (const id of orphans) expect(sim.stats(id).requests).toBeGreaterThanOrEqual(1);
    } finally {
      a.kill('SIGKILL');
      b.kill('SIGKILL');
      await cleanup(prefix);
    }
    // Above the sum of its own bounds (15 s for the shares, 10 intervals, 2 intervals).
  }, 40_000);

  it('when a replica gets SIGTERM, then it exits cleanly and hands its nodes over at once', async () => {
    const prefix = `proc-${randomBytes(4).toString('hex')}`;
    const a = startReplica(prefix);
    const b = startReplica(prefix);
    try {
      await bothHoldShares(prefix, a, b);
      const exited = new Promise<number | null>((res) => a.once('exit', (code) => res(code)));
      a.kill('SIGTERM');
      // Bounded, so a stop that hangs fails here by name, not as the test's timeout.
      expect(await Promise.race([exited, sleep(10_000).then(() => 'still running 10 s after SIGTERM')])).toBe(0);
      // It gave its leases back rather than leaving them to expire: once it is gone, none names
      // it (left to expire, they would still, for up to one lease lifetime, 3 x INTERVAL_MS / 2).
      // Timed from its exit, not from SIGTERM: a clean stop first finishes the probes in flight,
      // which on a loaded machine took longer than the hand-over itself (925 ms in one CI run).
      expect([...(await holders(prefix)).values()].filter(ofPid(a.pid))).toEqual([]);
      const took = await until(async () => {
        const h = [...(await holders(prefix)).values()];
        return h.every(ofPid(b.pid));
      }, 5_000);
      // ...and the other replica takes them at once, well under a lease lifetime.
      expect(took).toBeLessThan(INTERVAL_MS);
    } finally {
      a.kill('SIGKILL');
      b.kill('SIGKILL');
      await cleanup(prefix);
    }
    // Above the sum of its own bounds (15 s for the shares, 10 s for the exit, 5 s for the
    // hand-over): a slow start under a loaded machine fails on the bound it missed, by name.
  }, 40_000);
});
