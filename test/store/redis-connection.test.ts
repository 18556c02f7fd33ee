// The Redis store's connection check at start: an evicting maxmemory-policy is reported, on real redis-servers.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { RedisStore, type RedisStoreOptions } from '../../src/store/redis-store.js';
import { RedisSentinelSet, SENTINEL_MASTER_NAME } from '../support/redis-sentinel-set.js';
import { RedisServer } from '../support/redis-server.js';
import { sleep, until } from '../support/wait.js';

interface Warning {
  readonly msg: string;
  readonly data: Record<string, unknown>;
}

let lru: RedisServer;
const stores: RedisStore[] = [];

beforeAll(async () => {
  lru = await RedisServer.start({ args: ['--maxmemory-policy', 'allkeys-lru'] });
  // Users that may not read the config (as on managed Redis), and one that may not read INFO either.
  expect(await lru.command('ACL', 'SETUSER', 'noconfig', 'on', '>noconfig-pass', '~*', '&*', '+@all', '-config')).toBe(
    '+OK',
  );
  expect(
    await lru.command('ACL', 'SETUSER', 'blind', 'on', '>blind-pass', '~*', '&*', '+@all', '-config', '-info'),
  ).toBe('+OK');
}, 30_000);

afterAll(async () => {
  await Promise.all(stores.map((s) => s.close()));
  await lru?.close();
});

async function connect(
  url: string | undefined,
  overrides: Partial<RedisStoreOptions> = {},
): Promise<{ store: RedisStore; warnings: Warning[] }> {
  const warnings: Warning[] = [];
  const store = await RedisStore.connect({
    ...(url === undefined ? {} : { url }),
    prefix: `conn-${randomUUID()}`,
    replica: 'conn-test',
    onWarning: (msg, data) => warnings.push({ msg, data: (data ?? {}) as Record<string, unknown> }),
    ...overrides,
  });
  stores.push(store);
  return { store, warnings };
}

const policyWarnings = (ws: readonly Warning[]) => ws.filter((w) => /maxmemory-policy/.test(w.msg));

/** The check has run on the server (CONFIG GET or INFO counted there) and its reply has been read here. */
async function checkDone(server: RedisServer, store: RedisStore): Promise<void> {
  await until(
    async () => /cmdstat_(config\|get|info):calls=/.test(await infoCommandStats(server)),
    5_000,
    'the policy check reached the server',
  );
  await store.probe('conn-test');
  await sleep(50);
}

async function infoCommandStats(server: RedisServer): Promise<string> {
  // The helper returns the first reply line only; the stats are in the bulk's other lines.
  const admin = new Redis(server.url);
  try {
    return await admin.info('commandstats');
  } finally {
    admin.disconnect();
  }
}

describe('the maxmemory-policy check on connect', () => {
  it('when Redis runs with allkeys-lru, then the store warns once, naming the policy and what eviction would lose', async () => {
    const { store, warnings } = await connect(lru.url);
    await until(() => policyWarnings(warnings).length > 0, 5_000, 'a maxmemory-policy warning');
    const [w] = policyWarnings(warnings);
    expect(w!.msg).toMatch(/maxmemory-policy is allkeys-lru/);
    expect(w!.msg).toMatch(/leases/);
    expect(w!.msg).toMatch(/drains/);
    expect(w!.data).toMatchObject({ policy: 'allkeys-lru' });
    // The store works as ever, and does not repeat itself.
    await store.probe('conn-test');
    await sleep(100);
    expect(policyWarnings(warnings)).toHaveLength(1);
  });

  it('when CONFIG is not permitted, then the policy is read from INFO and still reported', async () => {
    const url = lru.url.replace('redis://', 'redis://noconfig:noconfig-pass@');
    const { warnings } = await connect(url);
    await until(() => policyWarnings(warnings).length > 0, 5_000, 'a maxmemory-policy warning');
    expect(policyWarnings(warnings).map((w) => w.data['policy'])).toEqual(['allkeys-lru']);
  });

  it('when neither CONFIG nor INFO is permitted, then it says so once, without the password, and the store goes on', async () => {
    const url = lru.url.replace('redis://', 'redis://blind:blind-pass@');
    // ioredis's own ready check also reads INFO and says on the console that it skips itself.
    const consoleWarn = console.warn;
    console.warn = () => {};
    const { store, warnings } = await connect(url).finally(() => {
      console.warn = consoleWarn;
    });
    await until(() => policyWarnings(warnings).length > 0, 5_000, 'a could-not-read warning');
    const [w] = policyWarnings(warnings);
    expect(w!.msg).toMatch(/could not read the Redis maxmemory-policy/);
    expect(String(w!.data['error'])).toMatch(/NOPERM/);
    expect(JSON.stringify(warnings)).not.toContain('blind-pass');
    await store.probe('conn-test');
    expect(policyWarnings(warnings)).toHaveLength(1);
    expect(store.health().connected).toBe(true);
  });

  it('when the policy is volatile-lru, then the warning names the keys with a TTL, not the drains', async () => {
    const server = await RedisServer.start({ args: ['--maxmemory-policy', 'volatile-lru'] });
    try {
      const { store, warnings } = await connect(server.url);
      await until(() => policyWarnings(warnings).length > 0, 5_000, 'a maxmemory-policy warning');
      const [w] = policyWarnings(warnings);
      expect(w!.msg).toMatch(/maxmemory-policy is volatile-lru/);
      expect(w!.msg).toMatch(/keys with a TTL: leases/);
      expect(w!.msg).not.toMatch(/drains/);
      await store.close();
    } finally {
      await server.close();
    }
  });

  it('when the policy is noeviction, then nothing is said', async () => {
    const server = await RedisServer.start();
    try {
      const { store, warnings } = await connect(server.url);
      await checkDone(server, store);
      expect(policyWarnings(warnings)).toEqual([]);
      expect(warnings).toEqual([]);
      await store.close();
    } finally {
      await server.close();
    }
  });
});

describe('the maxmemory-policy check after a failover', () => {
  it('when Sentinel promotes a replica that evicts, then the store warns about the new master, naming its address and policy', async () => {
    const set = await RedisSentinelSet.start({ replicas: 2, sentinels: 3, password: 'policy-failover-Pa55' });
    try {
      const old = await set.masterPort();
      // Replicas do not take the master's config: these would evict once master.
      for (const port of set.serverPorts.filter((p) => p !== old))
        await set.configSet(port, 'maxmemory-policy', 'allkeys-lru');
      const { store, warnings } = await connect(undefined, {
        sentinel: { sentinels: set.sentinels, name: SENTINEL_MASTER_NAME },
        password: 'policy-failover-Pa55',
        reconnectMaxDelayMs: 200,
        commandTimeoutMs: 1000,
      });
      await until(() => store.health().connected, 10_000, 'connected through the sentinels');
      // The first master runs noeviction: nothing to say yet.
      await store.probe('conn-test');
      await sleep(200);
      expect(policyWarnings(warnings)).toEqual([]);

      await set.kill(old);
      const promoted = await set.waitPromoted(old);
      expect(promoted).not.toBe(old);
      await until(() => policyWarnings(warnings).length > 0, 20_000, 'a warning about the promoted master');
      const [w] = policyWarnings(warnings);
      expect(w!.msg).toMatch(/maxmemory-policy is allkeys-lru/);
      expect(w!.data).toMatchObject({ policy: 'allkeys-lru', server: `127.0.0.1:${promoted}` });
      expect(JSON.stringify(warnings)).not.toContain('policy-failover-Pa55');
      await store.probe('conn-test');
      expect(policyWarnings(warnings)).toHaveLength(1);
      await store.close();
    } finally {
      await set.close();
    }
  }, 60_000);
});
