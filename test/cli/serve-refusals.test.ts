import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startReplica } from '../support/replica-process.js';

// Issue 14, cases 2 and 9, on the real CLI: `serve` never invents nodes (a missing or empty
// nodes file is a configuration error, exit 2), and a port in use ends the process at once.

let dir: string;
let busy: Server;
let busyPort: number;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'nodesentry-refusals-'));
  busy = createServer();
  await new Promise<void>((r) => busy.listen(0, '127.0.0.1', () => r()));
  busyPort = (busy.address() as { port: number }).port;
});

afterAll(async () => {
  await new Promise<void>((r) => busy.close(() => r()));
  rmSync(dir, { recursive: true, force: true });
});

const env = { REDIS_URL: '', NODESENTRY_CONFIG: '', LOG_LEVEL: 'warn' };

describe('serve refuses what it cannot run', () => {
  it('when no nodes file is given, then it exits 2 naming NODESENTRY_CONFIG and the demo, and serves nothing', async () => {
    const r = await startReplica({ env, waitListening: false });
    expect((await r.exited).code).toBe(2);
    expect(r.stderr()).toMatch(/NODESENTRY_CONFIG: no nodes file: pass --config FILE/);
    expect(r.stderr()).toContain('nodesentry demo');
    expect(r.lines.some((l) => l.msg === 'API listening')).toBe(false);
  });

  it.each([
    ['empty', ''],
    ['an empty list', 'nodes: []\n'],
  ])(
    'when the nodes file is %s, then it exits 2 naming the file and no simulated fleet starts',
    async (_what, text) => {
      const file = join(dir, `nodes-${text.length}.yaml`);
      writeFileSync(file, text);
      const r = await startReplica({ configFile: file, env, waitListening: false });
      expect((await r.exited).code).toBe(2);
      expect(r.stderr()).toContain(`${file}: nodes: the file lists no nodes`);
      expect(r.lines.some((l) => /simulat/i.test(String(l.msg)))).toBe(false);
    },
  );

  it('when the port is taken, then it says so and exits 1 at once', async () => {
    const file = join(dir, 'one.yaml');
    writeFileSync(file, 'nodes:\n  - { id: n1, chain: bsc, url: "http://127.0.0.1:9/" }\n');
    const started = Date.now();
    const r = await startReplica({ configFile: file, env: { ...env, PORT: String(busyPort) }, waitListening: false });
    const { code } = await r.exited;
    expect(code).toBe(1);
    expect(r.stderr()).toContain(`cannot listen on 127.0.0.1:${busyPort}: EADDRINUSE`);
    // Start-up of node and the CLI included: far below any probe interval, not "forever".
    expect(Date.now() - started).toBeLessThan(8_000);
  });
});
