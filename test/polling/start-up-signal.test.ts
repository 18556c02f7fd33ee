import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import type { SimNodeSpec } from '../../src/simulator/sim-node-spec.js';
import { Simulator } from '../../src/simulator/simulator.js';
import { RedisServer } from '../support/redis-server.js';
import { startReplica } from '../support/replica-process.js';
import { sleep, until } from '../support/wait.js';

// A real `serve` process over a Redis of this test's own, sent SIGTERM while it is still
// starting: the Redis server is paused (CLIENT PAUSE) from before the process is spawned until
// well after it has logged its settings, so its start (the store connecting, the view loading,
// the first lease round) cannot finish before the signal arrives, however fast the machine. It must not take the default kill (exit by the signal, its
// leases left to expire): it finishes starting, stops as any other stop, hands every lease it
// claimed over, and exits 0.

const SPECS: SimNodeSpec[] = Array.from({ length: 4 }, (_, i) => ({ id: `defi-${i}`, kind: 'defid' as const }));
// Shorter than the store's 5 s ready timeout counted from after the settings line (past it,
// serve starts without Redis, holding no leases), long enough for node to start and log them.
const PAUSE_MS = 4_000;

let sim: Simulator;
let server: RedisServer;
let redis: Redis;
let dir: string;
let configFile: string;

beforeAll(async () => {
  sim = await Simulator.start({ nodes: SPECS, authDelayMs: 5 });
  // Its own server: pausing the suite's shared one would stall every other test using it.
  server = await RedisServer.start();
  redis = new Redis(server.url);
  dir = mkdtempSync(join(tmpdir(), 'nodesentry-start-signal-'));
  configFile = join(dir, 'nodes.yaml');
  const lines = ['defaults:', '  intervalMs: 500', '  timeoutMs: 300', 'nodes:'];
  for (const s of SPECS) lines.push(`  - id: ${s.id}`, '    chain: defichain', `    url: ${sim.url(s.id)}`);
  writeFileSync(configFile, `${lines.join('\n')}\n`);
});

afterAll(async () => {
  redis.disconnect();
  await server.stop();
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('SIGTERM while serve is still starting', () => {
  it('when the signal comes before the start returns, then the process still starts, hands its leases over and exits 0', async () => {
    const prefix = `start-signal-${randomBytes(3).toString('hex')}`;
    await redis.call('CLIENT', 'PAUSE', String(PAUSE_MS), 'ALL');
    const pausedAt = Date.now();
    const r = await startReplica({
      configFile,
      env: { REDIS_URL: server.url, NODESENTRY_REDIS_PREFIX: prefix, NODESENTRY_READY_WAIT_MS: '0' },
      waitListening: false,
    });
    try {
      await until(() => r.lines.some((l) => l.msg === 'settings'), PAUSE_MS - 500);
      // Still starting: the service has not said it started (its Redis calls wait for the pause).
      expect(r.lines.some((l) => l.msg === 'nodesentry started')).toBe(false);
      r.signal('SIGTERM');
      const signalledAt = Date.now();
      const exit = await Promise.race([r.exited, sleep(20_000).then(() => 'timeout' as const)]);
      expect(exit).toEqual({ code: 0, signal: null });
      // The signal came inside the pause; the process finished its start after it (it held
      // leases then), and stopped after that.
      expect(signalledAt - pausedAt).toBeLessThan(PAUSE_MS);
      expect(Date.now() - pausedAt).toBeGreaterThanOrEqual(PAUSE_MS - 100);
      const msgs = r.lines.map((l) => l.msg);
      const started = msgs.indexOf('nodesentry started');
      const stopping = msgs.indexOf('stopping (the signal came while the service was starting)');
      expect(started).toBeGreaterThanOrEqual(0);
      expect(stopping).toBeGreaterThan(started);
      expect(r.lines[stopping]).toMatchObject({ signal: 'SIGTERM' });
      const owned = r.lines[started]!['owned'];
      expect(owned).toBe(SPECS.length);
      // Every lease it claimed was handed over, not left to expire.
      const leases = await redis.keys(`{${prefix}}:lease:*`);
      expect(leases).toEqual([]);
      expect(r.stderr()).toBe('');
    } finally {
      r.kill();
    }
  }, 40_000);
});
