import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

// The README's first command, as a new user runs it (the built CLI; `npm test` builds first).
describe('nodesentry demo --once', () => {
  it('starts the simulated fleet, judges every node and prints the table', async () => {
    const { stdout } = await run(process.execPath, [resolve('dist/cli.js'), 'demo', '--once'], {
      env: { ...process.env, PORT: '0', LOG_LEVEL: 'silent' },
      timeout: 30_000,
    });
    const rows = new Map(
      stdout
        .split('\n')
        .filter((l) => /^[a-z]+-[a-z0-9-]+\s/.test(l))
        .map((l) => {
          const cols = l.split(/\s{2,}/);
          return [cols[0]!, { chain: cols[1], state: cols[3], reasons: cols.at(-1) }] as const;
        }),
    );
    expect(rows.get('bsc-fra-1')).toMatchObject({ chain: 'bsc', state: 'healthy' });
    expect(rows.get('bsc-lon-1')).toMatchObject({ state: 'unhealthy', reasons: 'wrong_chain(0x61!=0x38)' });
    // 120 blocks behind its peers, read at a slightly different instant than they are: on a
    // loaded machine a block (0.75 s) may pass between two probes, so a few blocks either way.
    const lag = /^lagging\((\d+) blocks, /.exec(rows.get('bsc-ams-1')?.reasons ?? '');
    expect(lag).not.toBeNull();
    expect(Number(lag![1])).toBeGreaterThanOrEqual(115);
    expect(Number(lag![1])).toBeLessThanOrEqual(125);
    expect(rows.get('bsc-sgp-1')?.reasons).toMatch(/^peers_below_min\(1<3\)/);
    expect(rows.get('defi-fra-2')?.reasons).toMatch(/^syncing/);
    expect(rows.get('pai-ams-1')).toMatchObject({ state: 'unhealthy', reasons: 'warming_up' });
    expect(rows.get('defi-sgp-1')).toMatchObject({ state: 'healthy' });
    expect(stdout).toMatch(/^bsc: best bsc-fra-[12], head \d+$/m);
    expect(stdout).not.toContain('demo-only-password');
  });
});
