// `nodesentry simulate`: the node simulator on its own.
import { parseArgs } from 'node:util';
import { runSimulator } from '../simulator/standalone.js';
import { argErrorText } from './arg-error.js';
import type { CommandIo } from './probe-command.js';

export const SIMULATE_USAGE = `usage: nodesentry simulate [--port N] [--nodes N] [--seed N]

  Runs the node simulator on its own (for demos, benchmarks and trying load balancers):
  BSC, DeFiChain and PAI nodes on 127.0.0.1, each at http://127.0.0.1:PORT/n/<id>,
  with a control API at /_sim/nodes to change faults, peers and heights.

  --port   port to listen on (default 9545; 0 = any free port)
  --nodes  that many generated healthy nodes instead of the demo fleet
  --seed   seed of the generated fleet (default 1)`;

/** `nodesentry simulate`: runs until SIGINT / SIGTERM. */
export async function simulateCommand(argv: readonly string[], io: CommandIo): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        port: { type: 'string' },
        nodes: { type: 'string' },
        seed: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    io.err(`nodesentry simulate: ${argErrorText(err)}\n${SIMULATE_USAGE}`);
    return 2;
  }
  if (values.help) {
    io.out(SIMULATE_USAGE);
    return 0;
  }
  const port = values.port === undefined ? 9545 : Number(values.port);
  const nodes = values.nodes === undefined ? undefined : Number(values.nodes);
  const seed = values.seed === undefined ? undefined : Number(values.seed);
  if (!Number.isInteger(port) || port < 0 || port > 65535) return usage(io, '--port must be 0..65535');
  if (nodes !== undefined && (!Number.isInteger(nodes) || nodes < 1 || nodes > 100_000))
    return usage(io, '--nodes must be 1..100000');
  if (seed !== undefined && !Number.isInteger(seed)) return usage(io, '--seed must be an integer');
  const sim = await runSimulator({
    port,
    fleet: nodes ?? 'demo',
    ...(seed !== undefined ? { seed } : {}),
    log: io.out,
  });
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await sim.close();
  return 0;
}

function usage(io: CommandIo, msg: string): number {
  io.err(`nodesentry simulate: ${msg}\n${SIMULATE_USAGE}`);
  return 2;
}
