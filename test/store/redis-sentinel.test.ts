import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { loadSettings } from '../../src/config/settings.js';
import { createStore } from '../../src/service.js';
import type { NodeRecord } from '../../src/store/store.js';
import { until } from '../support/wait.js';

// A real Redis behind a real Sentinel (redis-server in sentinel mode), configured the way an
// operator would: REDIS_SENTINELS + REDIS_SENTINEL_NAME + REDIS_PASSWORD.
const PASSWORD = 'sentinel-Pa55word-x';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

describe('Redis behind Sentinel', () => {
  const children: ChildProcess[] = [];
  let dir: string;
  let sentinelPort: number;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'nodesentry-sentinel-'));
    const masterPort = await freePort();
    sentinelPort = await freePort();
    children.push(
      spawn(
        'redis-server',
        [
          '--port',
          String(masterPort),
          '--bind',
          '127.0.0.1',
          '--save',
          '',
          '--appendonly',
          'no',
          '--dir',
          dir,
          '--requirepass',
          PASSWORD,
          '--masterauth',
          PASSWORD,
        ],
        { stdio: 'ignore' },
      ),
    );
    const conf = join(dir, 'sentinel.conf');
    writeFileSync(
      conf,
      [
        `port ${sentinelPort}`,
        'bind 127.0.0.1',
        `dir ${dir}`,
        `sentinel monitor mymaster 127.0.0.1 ${masterPort} 1`,
        `sentinel auth-pass mymaster ${PASSWORD}`,
        'sentinel down-after-milliseconds mymaster 5000',
        '',
      ].join('\n'),
    );
    children.push(spawn('redis-server', [conf, '--sentinel'], { stdio: 'ignore' }));
  });

  afterAll(() => {
    for (const c of children) c.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('when configured by REDIS_SENTINELS, then the store finds the master through the sentinel and works', async () => {
    const settings = loadSettings({
      REDIS_SENTINELS: `127.0.0.1:${sentinelPort}`,
      REDIS_SENTINEL_NAME: 'mymaster',
      REDIS_PASSWORD: PASSWORD,
      NODESENTRY_REDIS_PREFIX: 'sentinel-test',
    });
    const warnings: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (l: string) => void warnings.push(l) });
    // The sentinel may need a moment to learn the master after both processes start.
    const store = await createStore(settings, 'sentinel-replica', logger);
    try {
      await until(() => store.health().connected, 10_000, 'connected through the sentinel');
      expect(store.kind).toBe('redis');
      const record: NodeRecord = {
        nodeId: 'n1',
        chain: 'bsc',
        sample: {
          nodeId: 'n1',
          chain: 'bsc',
          family: 'evm',
          observedAt: 1,
          latencyMs: 1,
          ok: true,
          missingMethods: [],
        },
        health: null,
        replica: 'sentinel-replica',
        writtenAt: 1,
      };
      await store.writeSweep({ records: [record] }, 60_000);
      expect((await store.getNodes(['n1'])).get('n1')?.sample.ok).toBe(true);
      expect(warnings.join('')).not.toContain(PASSWORD);
    } finally {
      await store.close();
    }
  });
});
