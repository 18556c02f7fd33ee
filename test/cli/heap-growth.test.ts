import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { SERVE_NODE_FLAGS } from '../../src/main/heap-growth.js';

// The built module, in a node process of its own: the flag it sets is process-wide.
const MODULE = pathToFileURL(resolve('dist/main/heap-growth.js')).href;

/**
 * A process that keeps ~60 batches of small objects live and churns through BATCHES x 2,000 more
 * (a sweep's pattern: short-lived records promoted past a steady live set), and prints what
 * limitHeapGrowth returned and the peak heap it reached.
 */
const CHURN = `
const { limitHeapGrowth } = await import(${JSON.stringify(MODULE)});
const applied = process.env.APPLY === '1' ? limitHeapGrowth() : null;
const live = [];
let peak = 0;
for (let i = 0; i < Number(process.env.BATCHES); i++) {
  live.push(Array.from({ length: 2000 }, (_, j) => ({ a: 'x' + i + '-' + j, b: [i, j], c: { d: j } })));
  if (live.length > 60) live.shift();
  peak = Math.max(peak, process.memoryUsage().heapTotal);
}
console.log(JSON.stringify({ applied: applied ?? null, peak }));
`;

function churn(
  apply: boolean,
  batches: number,
  nodeArgs: string[] = [],
): Promise<{ applied: number | null; peak: number }> {
  return new Promise((done, fail) => {
    execFile(
      process.execPath,
      [...nodeArgs, '--input-type=module', '-e', CHURN],
      { timeout: 90_000, env: { ...process.env, APPLY: apply ? '1' : '0', BATCHES: String(batches) } },
      (error, out) => (error ? fail(error) : done(JSON.parse(out) as { applied: number | null; peak: number })),
    );
  });
}

describe('limitHeapGrowth (what serve does to its heap at start)', () => {
  it('when applied, then the same churn peaks at a clearly smaller heap than with V8 growing it by itself', async () => {
    const byV8 = await churn(false, 1_200);
    const limited = await churn(true, 1_200);
    expect(limited.applied).toBe(50);
    // Measured: ~160 MB by V8's own growth, ~100 MB at 50 %.
    expect(limited.peak).toBeLessThan(byV8.peak * 0.8);
  }, 180_000);

  it('when node was started with its own --heap-growing-percent, then that one stays', async () => {
    const r = await churn(true, 1, ['--heap-growing-percent=300']);
    expect(r.applied).toBeNull();
  }, 90_000);
});

describe('SERVE_NODE_FLAGS (the young generation serve is started with)', () => {
  it.each([['Dockerfile'], ['deploy/systemd/nodesentry.service'], ['.env.example']])(
    'when %s starts node, then it passes the same flags in NODE_OPTIONS',
    (file) => {
      expect(readFileSync(resolve(file), 'utf8')).toMatch(
        new RegExp(`^(# )?(ENV |Environment=)?NODE_OPTIONS=${SERVE_NODE_FLAGS}$`, 'm'),
      );
    },
  );
});
