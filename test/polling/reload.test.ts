import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { Redis } from 'ioredis';
import { reloadFromFile, startRunning, type Running } from '../../src/main.js';
import { loadSettings } from '../../src/config/settings.js';
import type { SimNodeSpec } from '../../src/simulator/sim-node-spec.js';
import { Simulator } from '../../src/simulator/simulator.js';
import { sleep, until } from '../support/wait.js';

const SPECS: SimNodeSpec[] = [
  { id: 'bsc-a', kind: 'bsc' },
  { id: 'bsc-b', kind: 'bsc' },
  { id: 'defi-c', kind: 'defid' },
];

describe('changing the fleet without a restart', () => {
  let sim: Simulator;
  let dir: string;
  let file: string;
  let running: Running;
  let redis: Redis;
  const lines: string[] = [];
  const prefix = `reload-${randomBytes(4).toString('hex')}`;

  const write = (ids: string[], extra = '') => {
    const out = ['defaults:', '  intervalMs: 300', '  timeoutMs: 200', 'nodes:'];
    for (const id of ids)
      out.push(`  - id: ${id}`, `    chain: ${id.startsWith('defi') ? 'defichain' : 'bsc'}`, `    url: ${sim.url(id)}`);
    writeFileSync(file, `${out.join('\n')}\n${extra}`);
  };

  beforeAll(async () => {
    sim = await Simulator.start({ nodes: SPECS, authDelayMs: 5 });
    dir = mkdtempSync(join(tmpdir(), 'nodesentry-reload-'));
    file = join(dir, 'nodes.yaml');
    write(['bsc-a', 'bsc-b']);
    const sink = new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) });
    running = await startRunning({
      configPath: file,
      settings: loadSettings({ REDIS_URL: process.env.REDIS_URL!, NODESENTRY_REDIS_PREFIX: prefix }),
      logger: pino({ level: 'info' }, sink),
    });
    redis = new Redis(process.env.REDIS_URL!);
  });

  afterAll(async () => {
    await running.close();
    await sim.close();
    const keys = await redis.keys(`{${prefix}}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
    rmSync(dir, { recursive: true, force: true });
  });

  it('when nodes are added and removed, then the new ones are polled and the removed ones cleaned from Redis', async () => {
    await until(async () => (await redis.exists(`{${prefix}}:node:bsc-b`)) === 1, 5_000);
    write(['bsc-a', 'defi-c']);
    const result = await reloadFromFile(running);
    expect(result).toEqual({ ok: true, added: ['defi-c'], removed: ['bsc-b'], changed: [] });
    await until(() => running.service.view.get('defi-c')?.sample.ok === true, 5_000);
    expect(running.service.view.get('bsc-b')).toBeUndefined();
    await until(async () => (await redis.keys(`{${prefix}}:*bsc-b*`)).length === 0, 3_000);
    await until(async () => (await redis.exists(`{${prefix}}:node:defi-c`)) === 1, 3_000);
  });

  it('when a node changes, then it is re-probed with its new settings', async () => {
    const out = [
      'defaults:',
      '  intervalMs: 300',
      '  timeoutMs: 200',
      'nodes:',
      '  - id: bsc-a',
      '    chain: bsc',
      `    url: ${sim.url('bsc-a')}`,
      '    tags: [moved]',
      '  - id: defi-c',
      '    chain: defichain',
      `    url: ${sim.url('defi-c')}`,
    ];
    writeFileSync(file, `${out.join('\n')}\n`);
    const result = await reloadFromFile(running);
    expect(result).toEqual({ ok: true, added: [], removed: [], changed: ['bsc-a'] });
    expect(running.service.nodes.get('bsc-a')?.tags).toEqual(['moved']);
  });

  it('when the new file is invalid, then it is refused with its errors and the running fleet stays', async () => {
    writeFileSync(file, 'nodes:\n  - id: bsc-a\n    chain: bsx\n    url: ftp://nope\n');
    const result = await reloadFromFile(running);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.errors.join('\n')).toContain('nodes[0].chain');
      expect(result.errors.join('\n')).toContain('nodes[0].url');
    }
    expect([...running.service.nodes.keys()].sort()).toEqual(['bsc-a', 'defi-c']);
    const before = running.service.view.get('bsc-a')!.sample.observedAt;
    await until(() => running.service.view.get('bsc-a')!.sample.observedAt > before, 3_000);
  });

  it('when a node goes down, then the transition is logged once with its reasons, not once per probe', async () => {
    await sim.setFault('defi-c', { type: 'unauthorized' });
    await until(() => lines.some((l) => l.includes('"node":"defi-c"') && l.includes('"to":"unhealthy"')), 5_000);
    await sleep(1_000); // several more failing probes
    const downs = lines.filter((l) => l.includes('"node":"defi-c"') && l.includes('"to":"unhealthy"'));
    expect(downs).toHaveLength(1);
    expect(JSON.parse(downs[0]!).reasons).toEqual(['auth_failed']);
    await sim.setFault('defi-c', { type: 'none' });
  });
});
