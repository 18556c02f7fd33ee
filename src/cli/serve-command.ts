import { parseArgs } from 'node:util';
import type { Logger } from 'pino';
import type { HttpHandle } from '../api/http-server.js';
import { ConfigError } from '../config/config-error.js';
import { loadConfigFile } from '../config/load-config.js';
import type { NodeConfig } from '../config/node-config.js';
import { loadSettings, misspeltSettingVariables, redactSettings, type Settings } from '../config/settings.js';
import { DEFAULT_HEALTH_POLICY, type HealthPolicy } from '../health/policy.js';
import { createLogger } from '../logging/logger.js';
import { Service } from '../service.js';
import { demoFleet } from '../simulator/fleet.js';
import { nodesForSimulator } from '../simulator/fleet-nodes.js';
import { Simulator } from '../simulator/simulator.js';
import type { CommandIo } from './probe-command.js';
import { waitForVerdicts } from './wait-for-verdicts.js';

export const SERVE_USAGE = `usage: nodesentry serve [--config FILE]

  Runs the service: probes every configured node, keeps their health in the store, and
  serves the API. Settings come from the environment (see .env.example).

  --config   nodes file (YAML or JSON); default $NODESENTRY_CONFIG. With neither, a built-in
             simulated fleet of BSC, DeFiChain and PAI nodes is started on 127.0.0.1.

  Signals: SIGHUP reloads the nodes file; SIGTERM / SIGINT stop gracefully.`;

/** A running process: the service and whatever it needs around it. */
export interface Running {
  readonly service: Service;
  readonly logger: Logger;
  readonly settings: Settings;
  /** The nodes file, when there is one (reloads read it again). */
  readonly configPath: string | undefined;
  /** The environment the nodes file's credential variables are read from (reloads too). */
  readonly env: NodeJS.ProcessEnv;
  /** The built-in simulated fleet, when no nodes are configured. */
  readonly simulator: Simulator | undefined;
  close(): Promise<void>;
}

export interface StartOptions {
  readonly configPath?: string | undefined;
  /** Run the simulated fleet even if a nodes file is configured (`demo`). */
  readonly simulated?: boolean;
  readonly env?: NodeJS.ProcessEnv;
  readonly settings?: Settings;
  readonly logger?: Logger;
}

/**
 * Everything `serve` and `demo` share: settings, logger, the fleet (a nodes file, or the
 * built-in simulated one), and the service. Throws ConfigError for bad settings or files.
 */
export async function startRunning(opts: StartOptions): Promise<Running> {
  const env = opts.env ?? process.env;
  const settings = opts.settings ?? loadSettings(env);
  const logger = opts.logger ?? createLogger({ level: settings.logLevel });
  for (const { variable, meant } of misspeltSettingVariables(env)) {
    logger.warn({ variable, meant }, `environment variable ${variable} is not used; did you mean ${meant}?`);
  }
  logger.info({ settings: redactSettings(settings) }, 'settings');

  const configPath = opts.simulated ? undefined : (opts.configPath ?? settings.configPath);
  let nodes: NodeConfig[];
  let policy: HealthPolicy = DEFAULT_HEALTH_POLICY;
  let simulator: Simulator | undefined;
  if (configPath) {
    const loaded = await loadConfigFile(configPath, env);
    nodes = loaded.nodes;
    policy = loaded.policy;
  } else {
    nodes = [];
  }
  if (nodes.length === 0) {
    const specs = demoFleet();
    simulator = await Simulator.start({ nodes: specs });
    nodes = nodesForSimulator(simulator, specs);
    logger.info(
      { simulator: `http://127.0.0.1:${simulator.port}`, nodes: nodes.length },
      configPath ? `${configPath} lists no nodes: running the built-in simulated fleet` : 'no nodes configured: running the built-in simulated fleet',
    );
  }
  const service = await Service.start({ settings, nodes, policy, logger });
  let closing: Promise<void> | undefined;
  return {
    service,
    logger,
    settings,
    configPath,
    env,
    simulator,
    close() {
      closing ??= (async () => {
        await service.close();
        await simulator?.close();
      })();
      return closing;
    },
  };
}

/** Re-read the nodes file and apply it; an invalid file is refused and the running fleet stays. */
export async function reloadFromFile(running: Running): Promise<{ ok: true; added: string[]; removed: string[]; changed: string[] } | { ok: false; errors: string[] }> {
  if (!running.configPath) return { ok: false, errors: ['no nodes file is configured (the built-in simulated fleet cannot be reloaded)'] };
  try {
    const loaded = await loadConfigFile(running.configPath, running.env);
    const result = await running.service.reload(loaded.nodes, loaded.policy);
    return { ok: true, ...result };
  } catch (err) {
    if (err instanceof ConfigError) {
      running.logger.error({ file: running.configPath, issues: err.issues }, 'configuration reload refused; the running configuration stays');
      return { ok: false, errors: err.message.split('\n') };
    }
    throw err;
  }
}

/** Wire signals: SIGHUP reloads, SIGINT / SIGTERM stop (a second one exits at once). */
export function handleSignals(running: Running, onStop: () => Promise<void>): Promise<void> {
  return new Promise((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) {
        running.logger.warn({ signal }, 'second signal: exiting now');
        process.exit(1);
      }
      stopping = true;
      running.logger.info({ signal }, 'stopping');
      void onStop().finally(resolve);
    };
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGHUP', () => {
      void reloadFromFile(running).then((r) => {
        if (!r.ok) running.logger.warn({ errors: r.errors }, 'SIGHUP: reload refused');
      });
    });
  });
}

/** `nodesentry serve`: runs until SIGTERM / SIGINT. */
export async function serveCommand(argv: readonly string[], io: CommandIo): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({ args: [...argv], options: { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } } }));
  } catch (err) {
    io.err(`nodesentry serve: ${(err as Error).message}\n${SERVE_USAGE}`);
    return 2;
  }
  if (values.help) {
    io.out(SERVE_USAGE);
    return 0;
  }
  // Loaded while the service starts (its Redis round trips, its first probes): a restart's
  // closed-port window is what load balancers see (docs/load-balancers.md, "Restarting").
  const httpModule = import('../api/http-server.js');
  httpModule.catch(() => {});
  let running: Running;
  try {
    running = await startRunning({ configPath: values.config });
  } catch (err) {
    if (err instanceof ConfigError) {
      io.err(`nodesentry: invalid configuration\n${err.message}`);
      return 2;
    }
    throw err;
  }
  const { startHttp } = await httpModule;
  const stopping = new AbortController();
  let http: HttpHandle | undefined;
  let starting: Promise<void> | undefined;
  // Signals are handled from here on: a SIGTERM while the ports wait for verdicts still stops
  // cleanly (leases handed over), instead of the default kill.
  const stopped = handleSignals(running, async () => {
    stopping.abort();
    await starting?.catch(() => {});
    await http?.close();
    await running.close();
  });
  starting = (async () => {
    // Ports open once the verdicts are in (bounded): see waitForVerdicts.
    const wait = await waitForVerdicts(running.service, running.settings.readyWaitMs, Date.now, stopping.signal);
    if (stopping.signal.aborted) return;
    if (wait.pending.length > 0) {
      running.logger.warn({ waitedMs: wait.waitedMs, pending: wait.pending.slice(0, 20), count: wait.pending.length }, 'opening the API before every node has a verdict (NODESENTRY_READY_WAIT_MS)');
    } else {
      running.logger.info({ waitedMs: wait.waitedMs }, 'every node has a verdict: opening the API');
    }
    http = await startHttp(running);
  })();
  await starting;
  await stopped;
  return 0;
}
