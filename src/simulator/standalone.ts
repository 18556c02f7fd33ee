// Runs the simulator as its own process (`nodesentry simulate`).
import { demoFleet, generateFleet } from './fleet.js';
import { Simulator } from './simulator.js';

export interface RunSimulatorOptions {
  /** Shared port; default 0 (ephemeral, printed). */
  port?: number;
  /** The demo fleet, or that many generated healthy nodes. */
  fleet: 'demo' | number;
  /** Seed of the generated fleet and of peer lists; default 1. */
  seed?: number;
  /** Where to print the URLs; default nowhere. */
  log?: (line: string) => void;
}

/** Lists every node up to this many; bigger fleets get a summary. */
const LIST_LIMIT = 50;

/**
 * Starts a simulator for `nodesentry simulate`: builds the fleet, listens, prints where each
 * node and the control API are. URLs are printed without credentials.
 */
export async function runSimulator(opts: RunSimulatorOptions): Promise<Simulator> {
  const log = opts.log ?? (() => undefined);
  const nodes = opts.fleet === 'demo' ? demoFleet() : generateFleet(opts.fleet, opts.seed);
  const sim = await Simulator.start({
    nodes,
    ...(opts.port !== undefined ? { port: opts.port } : {}),
    ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
  });
  const base = `http://127.0.0.1:${sim.port}`;
  log(`simulator: ${nodes.length} nodes on ${base} (control API ${base}/_sim/nodes)`);
  if (nodes.length <= LIST_LIMIT) {
    let width = 2;
    for (const n of nodes) width = Math.max(width, n.id.length);
    for (const spec of nodes) {
      const notes = [
        spec.kind,
        spec.network ?? (spec.chainId !== undefined ? `chain ${spec.chainId}` : ''),
        spec.fault ? `fault ${spec.fault.type}` : '',
        spec.auth ? ('username' in spec.auth ? `basic auth (user ${spec.auth.username})` : 'cookie auth') : '',
        spec.disabledMethods ? `disabled ${spec.disabledMethods.join(',')}` : '',
      ]
        .filter((s) => s !== '')
        .join(', ');
      log(`  ${spec.id.padEnd(width)}  ${sim.url(spec.id)}  ${notes}`);
    }
  } else {
    const byKind = new Map<string, number>();
    for (const spec of nodes) byKind.set(spec.kind, (byKind.get(spec.kind) ?? 0) + 1);
    log(`  ${[...byKind].map(([k, c]) => `${c} ${k}`).join(', ')}; e.g. ${sim.url(nodes[0]?.id ?? '')}`);
  }
  return sim;
}
