// `nodesentry demo`: a simulated fleet, the service over it, the API and a table of every node.
import { parseArgs } from 'node:util';
import { ConfigError } from '../config/config-error.js';
import { loadSettings } from '../config/settings.js';
import { createLogger } from '../logging/logger.js';
import { handleSignals, openHttp, startRunning, type Running } from '../main.js';
import { demoFleet } from '../simulator/fleet.js';
import { nodesForSimulator } from '../simulator/fleet-nodes.js';
import { Simulator } from '../simulator/simulator.js';
import { argErrorText } from './arg-error.js';
import { formatFleetTable } from './format-fleet.js';
import type { CommandIo } from './probe-command.js';

export const DEMO_USAGE = `usage: nodesentry demo [--once] [--every SECONDS]

  Starts a simulated fleet of BSC, DeFiChain and PAI nodes on 127.0.0.1 (healthy ones, and
  ones that lag, sync, warm up, lack peers, sit on the wrong chain or need a password), runs
  nodesentry over it with the API on $PORT (default 8080), and prints its view of every node.

  --once    probe until every node's state is settled, print the table, and exit
  --every   reprint the table every SECONDS (default 10; 0 = never)`;

/** `nodesentry demo`: the README's first command. */
export async function demoCommand(argv: readonly string[], io: CommandIo): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: { once: { type: 'boolean' }, every: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    }));
  } catch (err) {
    io.err(`nodesentry demo: ${argErrorText(err)}\n${DEMO_USAGE}`);
    return 2;
  }
  if (values.help) {
    io.out(DEMO_USAGE);
    return 0;
  }
  const every = values.every === undefined ? 10 : Number(values.every);
  if (!Number.isFinite(every) || every < 0) {
    io.err('nodesentry demo: --every must be a number of seconds >= 0');
    return 2;
  }
  let running: Running;
  let simulator: Simulator | undefined;
  try {
    // The table goes to stdout; logs go to stderr so the two never interleave on one stream.
    // The demo runs on embedded defaults: its own in-process store, whatever REDIS_URL says,
    // so it never writes a simulated fleet into a real deployment's Redis.
    const { REDIS_URL: _redis, NODESENTRY_ROLE: _role, ...env } = process.env;
    const settings = loadSettings(env);
    const logger = createLogger({
      level: values.once && !process.env.LOG_LEVEL ? 'warn' : settings.logLevel,
      fd: 2,
      format: settings.logFormat,
    });
    const specs = demoFleet();
    const sim = (simulator = await Simulator.start({ nodes: specs }));
    const nodes = nodesForSimulator(sim, specs);
    logger.info(
      { simulator: `http://127.0.0.1:${sim.port}`, nodes: nodes.length },
      'demo: running the built-in simulated fleet',
    );
    running = await startRunning({ fleet: { nodes, close: () => sim.close() }, env, settings, logger });
  } catch (err) {
    await simulator?.close();
    if (err instanceof ConfigError) {
      io.err(`nodesentry demo: invalid configuration\n${err.message}`);
      return 2;
    }
    throw err;
  }
  const { service } = running;
  const table = () => formatFleetTable(service.view, service.nodes, service.policy, Date.now());

  if (values.once) {
    // A node becomes usable after `riseAfter` good samples: sweep that often so states settle.
    for (let i = 0; i < Math.max(1, service.policy.riseAfter); i++) await service.poller!.sweepOnce();
    io.out(table());
    await running.close();
    return 0;
  }

  const http = await openHttp(running);
  const u = http.url;
  io.out(
    [
      '',
      `nodesentry demo: ${service.nodes.size} simulated nodes, API on ${u}`,
      '',
      'Try:',
      `  curl ${u}/v1/nodes`,
      `  curl ${u}/v1/chains`,
      `  curl ${u}/v1/chains/bsc/best`,
      `  curl ${u}/v1/chains/bsc/ranking`,
      `  curl -i ${u}/probe/nodes/bsc-fra-1`,
      `  curl -i ${u}/probe/chains/defichain`,
      `  curl ${u}/metrics`,
      `  open ${u}/ in a browser`,
      '',
      'Ctrl-C stops.',
      '',
    ].join('\n'),
  );
  const timer =
    every > 0
      ? setInterval(() => {
          io.out(`\n${new Date().toISOString()}\n${table()}`);
        }, every * 1000)
      : undefined;
  await handleSignals(running, async () => {
    clearInterval(timer);
    await http.close();
    await running.close();
  });
  return 0;
}
