import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SimNodeSpec } from '../../src/simulator/sim-node-spec.js';
import { Simulator } from '../../src/simulator/simulator.js';
import { RedisServer } from '../support/redis-server.js';
import { http, startReplica, type ReplicaProcess } from '../support/replica-process.js';
import { until } from '../support/wait.js';

// Issue 14, case 5: /readyz reports the store as it works, not as its socket looks. A real
// replica on a private redis-server that is SIGSTOPped (connected, silent) and then made to
// refuse writes (maxmemory 1 with noeviction: OOM), each fault injected at a known moment.

const SPECS: SimNodeSpec[] = [
  { id: 'dfi-1', kind: 'defid' },
  { id: 'bsc-1', kind: 'bsc' },
];
/**
 * Write probe every second, failed after 0.9 s, working while one succeeded within 2.5 s: noticed
 * within ~3.5-4.4 s by design; the rest is margin for a machine kept busy by other tests.
 */
const NOTICE_BOUND_MS = 6_500;

let sim: Simulator;
let redis: RedisServer;
let dir: string;
let replica: ReplicaProcess;

beforeAll(async () => {
  sim = await Simulator.start({ nodes: SPECS, authDelayMs: 5 });
  redis = await RedisServer.start();
  dir = mkdtempSync(join(tmpdir(), 'nodesentry-readiness-'));
  const file = join(dir, 'nodes.yaml');
  writeFileSync(
    file,
    [
      'defaults: { intervalMs: 500, timeoutMs: 300 }',
      'nodes:',
      `  - { id: dfi-1, chain: defichain, url: "${sim.url('dfi-1')}" }`,
      `  - { id: bsc-1, chain: bsc, url: "${sim.url('bsc-1')}" }`,
      '',
    ].join('\n'),
  );
  replica = await startReplica({
    configFile: file,
    env: { REDIS_URL: redis.url, NODESENTRY_REDIS_PREFIX: 'readiness' },
  });
}, 30_000);

afterAll(async () => {
  redis?.resume();
  replica?.kill();
  await sim?.close();
  await redis?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const store = async () =>
  (await http(replica.url, '/readyz')).body.store as {
    connected: boolean;
    writable: boolean;
    lastError: string | null;
    lastWriteOkAgoMs: number | null;
  };

/** nodesentry_store_connected{store="redis"} as /metrics exposes it now. */
const storeGauge = async (): Promise<number> => {
  const res = await fetch(`${replica.url}/metrics`);
  const m = /^nodesentry_store_connected\{store="redis"\} (\d+)$/m.exec(await res.text());
  if (!m) throw new Error('nodesentry_store_connected{store="redis"} not in /metrics');
  return Number(m[1]);
};

describe('readiness reflects the store as it works', () => {
  it('when Redis is SIGSTOPped, then store.connected turns false within the bound, and true again after SIGCONT', async () => {
    await until(async () => (await store()).connected, 10_000, 'store working at first');
    redis.pause();
    const tookDown = await until(
      async () => !(await store()).connected,
      NOTICE_BOUND_MS + 2_000,
      'store reported down',
    );
    expect(tookDown).toBeLessThanOrEqual(NOTICE_BOUND_MS);
    const down = await store();
    expect(down).toMatchObject({ writable: false });
    // The metric the alert reads says the same as /readyz, though the socket is still open.
    expect(await storeGauge()).toBe(0);
    expect(down.lastError).toMatch(/STORE_TIMEOUT|STORE_UNAVAILABLE/);
    // The replica itself stays up and serves from memory (a store outage is not its own).
    expect((await http(replica.url, '/livez')).status).toBe(200);
    redis.resume();
    const tookUp = await until(async () => (await store()).connected, NOTICE_BOUND_MS + 5_000, 'store reported back');
    expect(tookUp).toBeLessThanOrEqual(NOTICE_BOUND_MS + 3_000);
    expect(await storeGauge()).toBe(1);
  }, 30_000);

  it('when Redis refuses writes (maxmemory, noeviction), then store.connected turns false, naming OOM, and true once it takes writes again', async () => {
    await until(async () => (await store()).connected, 10_000, 'store working');
    expect(await redis.command('CONFIG', 'SET', 'maxmemory-policy', 'noeviction')).toBe('+OK');
    expect(await redis.command('CONFIG', 'SET', 'maxmemory', '1')).toBe('+OK');
    try {
      const took = await until(
        async () => !(await store()).connected,
        NOTICE_BOUND_MS + 2_000,
        'store reported not writable',
      );
      expect(took).toBeLessThanOrEqual(NOTICE_BOUND_MS);
      expect((await store()).lastError).toMatch(/OOM/);
      expect(await storeGauge()).toBe(0);
    } finally {
      expect(await redis.command('CONFIG', 'SET', 'maxmemory', '0')).toBe('+OK');
    }
    await until(async () => (await store()).connected, NOTICE_BOUND_MS + 2_000, 'store writable again');
  }, 30_000);
});
