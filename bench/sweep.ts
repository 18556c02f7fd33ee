import { SERVE_NODE_FLAGS } from '../src/main/heap-growth.js';
import { BenchChild } from './child-process.js';
import type { MemoryPeaks, SweepResult, SweepWorkerOptions, SweepWorkerReady } from './sweep-worker.js';

export interface SweepCase {
  readonly nodes: number;
  readonly concurrency: number;
}

export interface SweepCaseResult extends SweepCase {
  /** Median sweep time of each subject, ms. */
  readonly nodesentryMs: number;
  readonly floorMs: number;
  /** Median of the per-repetition ratios nodesentry / floor (each pair ran back to back). */
  readonly ratio: number;
  /**
   * The storing floor (the floor plus a record-sized write per answer, StoringFloorSweeper):
   * median sweep and CPU time, the medians of nodesentry's per-pair ratios to it, and the bytes
   * of values it sent to Redis per node.
   */
  readonly storingFloorMs: number;
  readonly storingFloorCpuMs: number;
  readonly storingRatio: number;
  readonly storingCpuRatio: number;
  readonly storingFloorBytesPerNode: number;
  readonly storingFloorPeakRss: number;
  /** The storing floor's first sweep after start, and its CPU, ms. */
  readonly storingFirstSweepMs: number;
  readonly storingFirstSweepCpuMs: number;
  /** Time inside Store.writeSweep / sweep time, median over repetitions. */
  readonly redisShare: number;
  /** Median CPU time per sweep of each subject's process, ms, and the median of the per-pair ratios. */
  readonly nodesentryCpuMs: number;
  readonly floorCpuMs: number;
  readonly cpuRatio: number;
  readonly nodesentryPeakRss: number;
  readonly floorPeakRss: number;
  /** Peaks of the nodesentry worker's heap and external memory, sampled every 20 ms. */
  readonly nodesentryMemory: MemoryPeaks;
  /** Nodes whose probe failed in any nodesentry sweep (should be 0: the fleet is healthy). */
  readonly failedProbes: number;
  readonly reps: number;
  /** The first sweep after start of each subject (not in the medians). */
  readonly firstSweepMs: number;
  readonly floorFirstSweepMs: number;
  readonly firstSweepCpuMs: number;
  readonly floorFirstSweepCpuMs: number;
  /** Peak RSS of the nodesentry worker by the end of its first sweep. */
  readonly firstSweepPeakRss: number;
  /** Probes in nodesentry's first sweep (the floor's is one per node). */
  readonly firstSweepProbes: number;
}

/**
 * Section 1: nodesentry, the floor and the storing floor, each in a process of its own, sweep
 * the same simulated fleet in turn (floor, storing floor, nodesentry; then nodesentry, storing
 * floor, floor; ...), so drift in the machine's load hits all alike.
 */
export async function runSweepCase(
  c: SweepCase,
  ctx: {
    simPort: number;
    seed: number;
    redisUrl: string;
    reps: number;
    profileDir?: string | undefined;
    heapProfileDir?: string | undefined;
  },
): Promise<SweepCaseResult> {
  const base = {
    simPort: ctx.simPort,
    nodes: c.nodes,
    seed: ctx.seed,
    concurrency: c.concurrency,
    redisUrl: ctx.redisUrl,
    ...(ctx.profileDir ? { profileDir: ctx.profileDir } : {}),
    ...(ctx.heapProfileDir ? { heapProfileDir: ctx.heapProfileDir } : {}),
  };
  const floorStart = await BenchChild.start<SweepWorkerReady>('sweep-worker', {
    ...base,
    subject: 'floor',
  } satisfies SweepWorkerOptions);
  const floor = floorStart.child;
  let ns: BenchChild | undefined;
  let storing: BenchChild | undefined;
  try {
    const storingStart = await BenchChild.start<SweepWorkerReady>('sweep-worker', {
      ...base,
      subject: 'storing-floor',
    } satisfies SweepWorkerOptions);
    storing = storingStart.child;
    const nsStart = await BenchChild.start<SweepWorkerReady>(
      'sweep-worker',
      {
        ...base,
        subject: 'nodesentry',
      } satisfies SweepWorkerOptions,
      // The node flags the Docker image and the systemd unit start serve with; BENCH_NS_NODE_ARGS
      // replaces them (for trying V8 heap flags against the same floor).
      (process.env.BENCH_NS_NODE_ARGS ?? SERVE_NODE_FLAGS).split(' ').filter(Boolean),
    );
    ns = nsStart.child;
    const nsRuns: SweepResult[] = [];
    const floorRuns: SweepResult[] = [];
    const storingRuns: SweepResult[] = [];
    const ratios: number[] = [];
    const cpuRatios: number[] = [];
    const storingRatios: number[] = [];
    const storingCpuRatios: number[] = [];
    for (let i = 0; i < ctx.reps; i++) {
      // One turn each, forwards then backwards: floor, storing floor, nodesentry; then reversed.
      const turn = i % 2 === 0 ? [floor, storing, ns] : [ns, storing, floor];
      const got = new Map<BenchChild, SweepResult>();
      for (const child of turn) got.set(child, await child.call<SweepResult>('sweep'));
      const [fl, s, n] = [got.get(floor)!, got.get(storing)!, got.get(ns)!];
      floorRuns.push(fl);
      storingRuns.push(s);
      nsRuns.push(n);
      ratios.push(n.ms / fl.ms);
      cpuRatios.push(n.cpuMs / fl.cpuMs);
      storingRatios.push(n.ms / s.ms);
      storingCpuRatios.push(n.cpuMs / s.cpuMs);
    }
    const [nsMem, floorMem, storingMem] = await Promise.all([
      ns.call<MemoryPeaks>('memory'),
      floor.call<MemoryPeaks>('memory'),
      storing.call<MemoryPeaks>('memory'),
    ]);
    return {
      ...c,
      nodesentryMs: median(nsRuns.map((r) => r.ms)),
      floorMs: median(floorRuns.map((r) => r.ms)),
      ratio: median(ratios),
      redisShare: median(nsRuns.map((r) => r.redisMs / r.ms)),
      nodesentryCpuMs: median(nsRuns.map((r) => r.cpuMs)),
      floorCpuMs: median(floorRuns.map((r) => r.cpuMs)),
      cpuRatio: median(cpuRatios),
      storingFloorMs: median(storingRuns.map((r) => r.ms)),
      storingFloorCpuMs: median(storingRuns.map((r) => r.cpuMs)),
      storingRatio: median(storingRatios),
      storingCpuRatio: median(storingCpuRatios),
      storingFloorBytesPerNode: median(storingRuns.map((r) => (r.bytes ?? 0) / c.nodes)),
      storingFloorPeakRss: storingMem.maxRss,
      storingFirstSweepMs: storingStart.ready.firstSweepMs,
      storingFirstSweepCpuMs: storingStart.ready.firstSweepCpuMs,
      nodesentryPeakRss: nsMem.maxRss,
      floorPeakRss: floorMem.maxRss,
      nodesentryMemory: nsMem,
      failedProbes:
        nsRuns.reduce((sum, r) => sum + (r.probed - r.ok), 0) +
        floorRuns.reduce((sum, r) => sum + (r.probed - r.ok), 0) +
        storingRuns.reduce((sum, r) => sum + (r.probed - r.ok), 0),
      reps: ctx.reps,
      firstSweepMs: nsStart.ready.firstSweepMs,
      floorFirstSweepMs: floorStart.ready.firstSweepMs,
      firstSweepCpuMs: nsStart.ready.firstSweepCpuMs,
      floorFirstSweepCpuMs: floorStart.ready.firstSweepCpuMs,
      firstSweepPeakRss: nsStart.ready.firstSweepPeakRss,
      firstSweepProbes: nsStart.ready.firstSweepProbes,
    };
  } finally {
    await Promise.all([floor.stop(), ns?.stop(), storing?.stop()]);
  }
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
