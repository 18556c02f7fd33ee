// `nodesentry serve`: its options and usage; main.ts runs it.
import { parseArgs } from 'node:util';
import { serve } from '../main.js';
import { argErrorText } from './arg-error.js';
import type { CommandIo } from './probe-command.js';

export const SERVE_USAGE = `usage: nodesentry serve [--config FILE]

  Runs the service: probes every configured node, keeps their health in the store, and
  serves the API. Settings come from the environment (see .env.example).

  --config   nodes file (YAML or JSON); default $NODESENTRY_CONFIG. Required, and it must list
             at least one node: serve never invents nodes (\`nodesentry demo\` runs a
             simulated fleet).

  Exit status: 0 after a clean stop; 2 for a missing, empty or invalid configuration;
  1 when the API cannot listen (port in use) or another start-up failure.

  Signals: SIGHUP reloads the nodes file; SIGTERM / SIGINT stop gracefully.`;

/** `nodesentry serve`: runs until SIGTERM / SIGINT. */
export async function serveCommand(argv: readonly string[], io: CommandIo): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } },
    }));
  } catch (err) {
    io.err(`nodesentry serve: ${argErrorText(err)}\n${SERVE_USAGE}`);
    return 2;
  }
  if (values.help) {
    io.out(SERVE_USAGE);
    return 0;
  }
  return serve({ configPath: values.config }, io);
}
