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
 * connection refused) and two workers (kill trials, hang trials) that run their trials at once.
 */
export async function runFailover(o: FailoverOptions): Promise<FailoverRun> {
  const failures = [
    ...Array.from({ length: o.trials }, () => 'kill' as const),
    ...Array.from({ length: o.hangTrials }, () => 'hang' as const),
  ];
  const fleets: SimNodeSpec[][] = failures.map((_, t) =>
    Array.from({ length: o.nodesPerTrial }, (_, k) => ({
      id: `fo${String(t).padStart(2, '0')}-${k}`,
      kind: 'bsc' as const,
      chainId: 56,
      peers: { inbound: 10, outbound: 20 },
      ownPort: true,
    })),
  );
  const sim = await BenchChild.start<SimProcessReady>('sim-process', {
    nodes: 0,
    seed: o.seed,
    ownPortNodes: fleets.flat(),
  } satisfies SimProcessOptions);
  try {
    // Kill trials and hang trials in two worker processes: 30 services and their watchers in
    // one event loop starved each other's timers on a loaded machine, and the lag was
    // measured as failover time.
    const groups = (['kill', 'hang'] as const)
      .map((failure) => failures.flatMap((f, i) => (f === failure ? [i] : [])))
      .filter((idx) => idx.length > 0);
    const workers = await Promise.all(
      groups.map((idx) =>
        BenchChild.start('failover-worker', {
          simPort: sim.ready.port,
          urls: sim.ready.urls,
          fleets: idx.map((i) => fleets[i]!),
          failures: idx.map((i) => failures[i]!),
          intervalMs: o.intervalMs,
          timeoutMs: o.timeoutMs,
          pollMs: 50,
        } satisfies FailoverWorkerOptions),
      ),
    );
    try {
      const runs = await Promise.all(workers.map((w) => w.child.call<FailoverRun>('run')));
      return {
        trials: runs.flatMap((r) => r.trials),
        boundMs: runs[0]!.boundMs,
        via: runs.every((r) => r.via === 'http') ? 'http' : 'in-process',
        settleMs: Math.max(...runs.map((r) => r.settleMs)),
      };
    } finally {
      await Promise.all(workers.map((w) => w.child.stop()));
    }
  } finally {
    await sim.child.stop();
  }
}
