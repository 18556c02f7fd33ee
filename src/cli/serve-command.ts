import { createServer } from 'node:net';
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
import { argErrorText } from './arg-error.js';
import type { CommandIo } from './probe-command.js';
import { FleetReload } from './fleet-reload.js';
import { waitForVerdicts } from './wait-for-verdicts.js';

export const SERVE_USAGE = `usage: nodesentry serve [--config FILE]

  Runs the service: probes every configured node, keeps their health in the store, and
  serves the API. Settings come from the environment (see .env.example).

  --config   nodes file (YAML or JSON); default $NODESENTRY_CONFIG. Required, and it must list
             at least one node: serve never invents nodes (\`nodesentry demo\` runs a
             simulated fleet).

  Exit status: 0 after a clean stop; 2 for a missing, empty or invalid configuration;
  1 when the API cannot listen (port in use) or another start-up failure.

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
  /** The built-in simulated fleet (`demo` only). */
  readonly simulator: Simulator | undefined;
  /** Reloads that reach every replica (absent without a nodes file). */
  readonly reloads?: FleetReload | undefined;
  close(): Promise<void>;
}

export interface StartOptions {
  readonly configPath?: string | undefined;
  /** Run the built-in simulated fleet instead of a nodes file (`demo`; `serve` never does). */
  readonly simulated?: boolean;
  readonly env?: NodeJS.ProcessEnv;
  readonly settings?: Settings;
  readonly logger?: Logger;
}

/**
 * Everything `serve` and `demo` share: settings, logger, the fleet (a nodes file, or for `demo`
 * the built-in simulated one), and the service. Throws ConfigError for bad settings or files,
 * and for a fleet without nodes: a service that answers "healthy" about invented nodes would
 * send a load balancer's traffic nowhere (issue 14).
 */
export async function startRunning(opts: StartOptions): Promise<Running> {
  const env = opts.env ?? process.env;
  const settings = opts.settings ?? loadSettings(env);
  const logger = opts.logger ?? createLogger({ level: settings.logLevel, format: settings.logFormat });
  for (const { variable, meant } of misspeltSettingVariables(env)) {
    logger.warn({ variable, meant }, `environment variable ${variable} is not used; did you mean ${meant}?`);
  }
  logger.info({ settings: redactSettings(settings) }, 'settings');

  const configPath = opts.simulated ? undefined : (opts.configPath ?? settings.configPath);
  let nodes: NodeConfig[];
  let policy: HealthPolicy = DEFAULT_HEALTH_POLICY;
  let simulator: Simulator | undefined;
  if (opts.simulated) {
    const specs = demoFleet();
    simulator = await Simulator.start({ nodes: specs });
    nodes = nodesForSimulator(simulator, specs);
    logger.info({ simulator: `http://127.0.0.1:${simulator.port}`, nodes: nodes.length }, 'demo: running the built-in simulated fleet');
  } else if (!configPath) {
    throw new ConfigError('environment', [{ path: 'NODESENTRY_CONFIG', message: NO_CONFIG_MESSAGE }]);
  } else {
    const loaded = await loadConfigFile(configPath, env);
    if (loaded.nodes.length === 0) throw new ConfigError(configPath, [{ path: 'nodes', message: NO_NODES_MESSAGE }]);
    nodes = loaded.nodes;
    policy = loaded.policy;
  }
  const service = await Service.start({ settings, nodes, policy, logger });
  let closing: Promise<void> | undefined;
  const running: Running = {
    service,
    logger,
    settings,
    configPath,
    env,
    simulator,
    close() {
      closing ??= (async () => {
        reloads?.close();
        await service.close();
        await simulator?.close();
      })();
      return closing;
    },
  };
  const reloads = configPath ? new FleetReload({ replica: service.replica, store: service.store, logger, reload: () => reloadFromFile(running) }) : undefined;
  return { ...running, reloads };
}

const NO_CONFIG_MESSAGE = 'no nodes file: pass --config FILE or set NODESENTRY_CONFIG (serve never invents nodes; `nodesentry demo` runs a simulated fleet)';
const NO_NODES_MESSAGE = 'the file lists no nodes; serve needs at least one (it never invents nodes; `nodesentry demo` runs a simulated fleet)';

/**
 * Re-read the nodes file and apply it; an invalid file, or one without nodes, is refused and
 * the running fleet stays (an emptied file is far more often a mistake than a decommission).
 */
export async function reloadFromFile(running: Running): Promise<{ ok: true; added: string[]; removed: string[]; changed: string[] } | { ok: false; errors: string[] }> {
  if (!running.configPath) return { ok: false, errors: ['no nodes file is configured (the built-in simulated fleet cannot be reloaded)'] };
  try {
    const loaded = await loadConfigFile(running.configPath, running.env);
    if (loaded.nodes.length === 0) throw new ConfigError(running.configPath, [{ path: 'nodes', message: `${NO_NODES_MESSAGE}; the running ${running.service.nodes.size} stay` }]);
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
      // Here, then on every other replica (each re-reads its own file); each outcome is audited
      // as the admin route's reloads are: who (the signal), where, and what it did.
      if (!running.reloads) {
        running.logger.warn('SIGHUP: no nodes file to reload');
        return;
      }
      void running.reloads.start('SIGHUP', true).then((r) => {
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
    io.err(`nodesentry serve: ${argErrorText(err)}\n${SERVE_USAGE}`);
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
      io.err(`nodesentry serve: invalid configuration\n${err.message}`);
      return 2;
    }
    throw err;
  }
  const { startHttp } = await httpModule;
  const cannotListen = async (err: unknown, port: number): Promise<number> => {
    // Port in use, address not available: say so and exit now, not run on without an API.
    const e = err as NodeJS.ErrnoException;
    io.err(`nodesentry: cannot listen on ${running.settings.host}:${port}: ${e.code ?? e.message}${e.code === 'EADDRINUSE' ? ' (the port is in use; set PORT or NODESENTRY_AGENT_PORT)' : ''}`);
    await running.close();
    return 1;
  };
  // The ports open only after the verdicts are in (below), but a port that is taken must fail
  // the start at once, not after the wait: bind each one briefly first.
  for (const port of [running.settings.port, running.settings.agentPort]) {
    if (port === undefined || port === 0) continue;
    try {
      await assertPortFree(running.settings.host, port);
    } catch (err) {
      return cannotListen(err, port);
    }
  }
  const stopping = new AbortController();
  let http: HttpHandle | undefined;
  let starting: Promise<number | undefined> | undefined;
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
    if (stopping.signal.aborted) return undefined;
    if (wait.pending.length > 0) {
      running.logger.warn({ waitedMs: wait.waitedMs, pending: wait.pending.slice(0, 20), count: wait.pending.length }, 'opening the API before every node has a verdict (NODESENTRY_READY_WAIT_MS)');
    } else {
      running.logger.info({ waitedMs: wait.waitedMs }, 'every node has a verdict: opening the API');
    }
    try {
      http = await startHttp(running);
    } catch (err) {
      return cannotListen(err, running.settings.port);
    }
    return undefined;
  })();
  const failed = await starting;
  if (failed !== undefined) return failed;
  await stopped;
  return 0;
}

/** Binds `port` and lets it go: rejects with the listen error (EADDRINUSE, EACCES, ...). */
function assertPortFree(host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen({ port, host, exclusive: true }, () => probe.close(() => resolve()));
  });
}
