import type { SimNodeSpec } from '../src/simulator/sim-node-spec.js';
import { BenchChild } from './child-process.js';
import type { FailoverRun, FailoverWorkerOptions } from './failover-worker.js';
import type { SimProcessOptions, SimProcessReady } from './sim-process.js';

export interface FailoverOptions {
  /** Trials whose chosen node is killed (port closed). */
  readonly trials: number;
  /** More trials, run alongside, whose chosen node hangs instead (every probe times out). */
  readonly hangTrials: number;
  readonly nodesPerTrial: number;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly seed: number;
}

/**
 * Section 3's processes: a simulator whose nodes each own a port (a kill is a closed port,
 * connection refused) and the worker that runs every trial at once.
 */
export async function runFailover(o: FailoverOptions): Promise<FailoverRun> {
  const failures = [...Array.from({ length: o.trials }, () => 'kill' as const), ...Array.from({ length: o.hangTrials }, () => 'hang' as const)];
  const fleets: SimNodeSpec[][] = failures.map((_, t) =>
    Array.from({ length: o.nodesPerTrial }, (_, k) => ({ id: `fo${String(t).padStart(2, '0')}-${k}`, kind: 'bsc' as const, chainId: 56, peers: { inbound: 10, outbound: 20 }, ownPort: true })),
  );
  const sim = await BenchChild.start<SimProcessReady>('sim-process', { nodes: 0, seed: o.seed, ownPortNodes: fleets.flat() } satisfies SimProcessOptions);
  try {
    const worker = await BenchChild.start('failover-worker', { simPort: sim.ready.port, urls: sim.ready.urls, fleets, failures, intervalMs: o.intervalMs, timeoutMs: o.timeoutMs, pollMs: 20 } satisfies FailoverWorkerOptions);
    try {
      return await worker.child.call<FailoverRun>('run');
    } finally {
      await worker.child.stop();
    }
  } finally {
    await sim.child.stop();
  }
}
