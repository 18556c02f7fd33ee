import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import request from 'supertest';
import { createApp } from '../../src/api/app.js';
import { startRunning, type Running } from '../../src/main.js';
import { loadSettings } from '../../src/config/settings.js';
import { Simulator } from '../../src/simulator/simulator.js';

// A node whose access token sits in its URL path (as providers do), given as ${VAR}: the probe
// reaches the node with the token, and no answer or log line ever shows it.
const TOKEN = 'acc3ss-t0ken-9d8e7f';

describe('a provider token in the URL path', () => {
  let sim: Simulator;
  let running: Running;
  let dir: string;
  const lines: string[] = [];

  beforeAll(async () => {
    sim = await Simulator.start({
      nodes: [
        { id: TOKEN, kind: 'bsc' },
        { id: 'plain', kind: 'bsc' },
      ],
      authDelayMs: 5,
    });
    dir = mkdtempSync(join(tmpdir(), 'nodesentry-token-'));
    const file = join(dir, 'nodes.yaml');
    const base = `http://127.0.0.1:${sim.port}/n`;
    writeFileSync(
      file,
      `defaults: { intervalMs: 60000, timeoutMs: 1000 }\nnodes:\n  - { id: provider, chain: bsc, url: "${base}/\${PROVIDER_TOKEN}" }\n  - { id: plain, chain: bsc, url: "${base}/plain" }\n`,
    );
    const env = { PROVIDER_TOKEN: TOKEN };
    const sink = new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) });
    running = await startRunning({
      configPath: file,
      env,
      settings: loadSettings({}),
      logger: pino({ level: 'trace' }, sink),
    });
    await running.service.poller!.sweepOnce();
    await running.service.poller!.sweepOnce();
  });

  afterAll(async () => {
    await running.close();
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('when probed, then the node is reached with its token and every answer shows only the placeholder', async () => {
    expect(sim.stats(TOKEN).requests).toBeGreaterThanOrEqual(2);
    expect(running.service.view.get('provider')?.sample.ok).toBe(true);
    const { app, close } = createApp({ service: running.service });
    try {
      const bodies: string[] = [];
      for (const path of [
        '/v1/nodes',
        '/v1/nodes/provider',
        '/v1/chains',
        '/v1/chains/bsc/ranking',
        '/v1/chains/bsc/best?top=2',
        '/probe/nodes/provider',
        '/metrics',
        '/openapi.json',
      ]) {
        const r = await request(app).get(path);
        expect(r.status).toBeLessThan(500);
        bodies.push(r.text, JSON.stringify(r.headers));
      }
      const node = (await request(app).get('/v1/nodes/provider')).body as { url: string };
      expect(node.url).toBe(`http://127.0.0.1:${sim.port}/n/\${PROVIDER_TOKEN}`);
      expect(bodies.join('\n') + lines.join('')).not.toContain(TOKEN);
    } finally {
      close();
    }
  });
});
