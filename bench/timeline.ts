import type { SimNodeSpec } from '../src/simulator/sim-node-spec.js';
import { BenchChild } from './child-process.js';
import type { SimProcessOptions, SimProcessReady } from './sim-process.js';
import type { FailureKind, TimelineRun, TimelineWorkerOptions } from './timeline-worker.js';

export interface TimelineOptions {
  readonly durationMs: number;
  /** Outage lengths to measure recovery after, ms (issue #11: 35 s and 150 s). */
  readonly outagesMs: readonly number[];
  /** Nodes per outage length (each its own trials, phases spread). */
  readonly outageNodes: number;
  /** Time a node stays up between two outages, ms. */
  readonly upMs: number;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly pollMs: number;
  readonly seed: number;
}

export const FAILURE_KINDS: readonly FailureKind[] = ['refused', 'hang', 'peers0', 'lag', 'wrong-chain', 'syncing'];

/**
 * Section 4's processes: a simulator (every node on a port of its own, so a kill is a closed
 * port) and the worker that runs the service and watches it. One BSC chain: three healthy
 * nodes make the reference head, one node per way of failing, and the outage nodes.
 */
export async function runTimeline(o: TimelineOptions): Promise<TimelineRun> {
  const bsc = (id: string): SimNodeSpec => ({
    id,
    kind: 'bsc',
    chainId: 56,
    peers: { inbound: 10, outbound: 20 },
    ownPort: true,
  });
  const healthy = ['tl-ok-0', 'tl-ok-1', 'tl-ok-2'].map(bsc);
  const failing = FAILURE_KINDS.map((kind) => ({ id: `tl-${kind}`, kind }));
  const outages = o.outagesMs.flatMap((downMs) =>
    Array.from({ length: o.outageNodes }, (_, k) => ({
      id: `tl-out${Math.round(downMs / 1000)}s-${k}`,
      downMs,
      upMs: o.upMs,
      offsetMs: Math.round(((k + 0.5) / o.outageNodes) * (o.upMs + downMs) * 0.5),
    })),
  );
  const specs = [...healthy, ...failing.map((f) => bsc(f.id)), ...outages.map((x) => bsc(x.id))];
  const sim = await BenchChild.start<SimProcessReady>('sim-process', {
    nodes: 0,
    seed: o.seed,
    ownPortNodes: specs,
  } satisfies SimProcessOptions);
  try {
    const worker = await BenchChild.start('timeline-worker', {
      simPort: sim.ready.port,
      urls: sim.ready.urls,
      specs,
      failing,
      outages,
      intervalMs: o.intervalMs,
      timeoutMs: o.timeoutMs,
      durationMs: o.durationMs,
      pollMs: o.pollMs,
    } satisfies TimelineWorkerOptions);
    try {
      return await worker.child.call<TimelineRun>('run');
    } finally {
      await worker.child.stop();
    }
  } finally {
    await sim.child.stop();
  }
}
