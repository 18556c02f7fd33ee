import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { loadSettings } from '../../src/config/settings.js';
import { DEFAULT_HEALTH_POLICY } from '../../src/health/policy.js';
import { Service } from '../../src/service.js';
import { nodesForSimulator } from '../../src/simulator/fleet-nodes.js';
import { Simulator } from '../../src/simulator/simulator.js';
import { RedisStore } from '../../src/store/redis-store.js';

// Redis holding garbage, or another version's records, under our prefix: nodesentry warns
// and carries on; it never crashes and never serves the garbage.
describe('garbage under the Redis prefix', () => {
  const prefix = `garbage-${randomBytes(4).toString('hex')}`;
  const tag = `{${prefix}}`;
  let redis: Redis;
  let sim: Simulator;
  let service: Service | undefined;
  const lines: string[] = [];

  beforeAll(async () => {
    redis = new Redis(process.env.REDIS_URL!);
    await redis.sadd(`${tag}:nodes`, 'bsc-a', 'ghost', 'v2', 'array', '__proto__');
    await redis.set(`${tag}:node:ghost`, 'not json at all {', 'PX', 60_000);
    await redis.set(`${tag}:node:v2`, JSON.stringify({ v: 2, nodeId: 'v2', shape: 'from the future' }), 'PX', 60_000);
    await redis.set(`${tag}:node:array`, '[1,2,3]', 'PX', 60_000);
    await redis.set(
      `${tag}:node:__proto__`,
      JSON.stringify({ v: 1, nodeId: '__proto__', sample: { polluted: true } }),
      'PX',
      60_000,
    );
    await redis.set(
      `${tag}:node:bsc-a`,
      JSON.stringify({ v: 1, nodeId: 'bsc-a', chain: 'bsc', sample: 'not an object' }),
      'PX',
      60_000,
    );
    await redis.hset(
      `${tag}:drains`,
      'bsc-a',
      '{"broken"',
      'ghost',
      JSON.stringify({ v: 1, nodeId: 'ghost', by: 'x', at: 1 }),
    );
    await redis.set(`${tag}:chain:bsc`, '\u0000\u0001binary', 'PX', 60_000);
    sim = await Simulator.start({ nodes: [{ id: 'bsc-a', kind: 'bsc' }], authDelayMs: 5 });
  });

  afterAll(async () => {
    await service?.close();
    await sim.close();
    const keys = await redis.keys(`${tag}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  it('when the service starts on it, then it warns, ignores it, and works', async () => {
    const sink = new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) });
    const logger = pino({ level: 'warn' }, sink);
    const store = new RedisStore({
      url: process.env.REDIS_URL!,
      prefix,
      replica: 'g',
      onWarning: (msg, data) => logger.warn(data ?? {}, msg),
    });
    await store.ready(5_000);
    service = await Service.start({
      settings: loadSettings({}),
      nodes: nodesForSimulator(sim, [{ id: 'bsc-a', kind: 'bsc' }], { intervalMs: 60_000, timeoutMs: 500 }),
      policy: DEFAULT_HEALTH_POLICY,
      logger,
      store,
      startPolling: false,
    });
    expect(service.view.loaded).toBe(true);
    expect(service.view.size).toBe(0);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    // Garbage on the events channel is ignored too.
    await redis.publish(`${tag}:events`, '{"v":1,"type":"records","records":[{"nodeId":5}]}');
    await redis.publish(`${tag}:events`, 'garbage');
    await service.poller!.sweepOnce();
    expect(service.view.get('bsc-a')?.sample.ok).toBe(true);
    const stored = await service.store.getNodes(['bsc-a']);
    expect(stored.get('bsc-a')?.sample.ok).toBe(true);
    const warnings = lines.map((l) => JSON.parse(l) as { msg: string });
    expect(warnings.length).toBeGreaterThanOrEqual(3);
    expect(warnings.every((w) => typeof w.msg === 'string')).toBe(true);
  });
});
