import { generateFleet } from '../src/simulator/fleet.js';
import type { SimNodeSpec } from '../src/simulator/sim-node-spec.js';
import { Simulator } from '../src/simulator/simulator.js';
import { childOptions, failStart, serveParent } from './child-process.js';

export interface SimProcessOptions {
  /** Generated healthy nodes on the shared port (`generateFleet(nodes, seed)`). */
  readonly nodes: number;
  readonly seed: number;
  /** Extra nodes, each on a port of its own (so they can be killed: connection refused). */
  readonly ownPortNodes?: readonly SimNodeSpec[];
}

export interface SimProcessReady {
  readonly port: number;
  /** URL of every node, by id. */
  readonly urls: Record<string, string>;
}

/**
 * The simulator in a process of its own, as the benchmarks need it: its CPU is not ours, and
 * a kill is a real closed port. Nodes on the shared port live at /n/<id>; the control API at
 * /_sim/ changes faults and stops nodes.
 */
async function main(): Promise<void> {
  const opts = childOptions<SimProcessOptions>();
  const specs = [
    ...generateFleet(opts.nodes, opts.seed),
    ...(opts.ownPortNodes ?? []).map((s) => ({ ...s, ownPort: true })),
  ];
  const sim = await Simulator.start({ nodes: specs, seed: opts.seed });
  const urls: Record<string, string> = {};
  for (const s of specs) urls[s.id] = sim.url(s.id);
  const ready: SimProcessReady = { port: sim.port, urls };
  serveParent(ready, { stats: () => sim.stats() }, () => sim.close());
}

main().catch(failStart);
