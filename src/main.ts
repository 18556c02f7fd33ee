// The composition root: builds the store, the node dispatcher, the service, the HTTP faces and
// the signal handlers, and is the one module that knows the concrete implementations. The CLI
// (cli.ts, cli/*) parses arguments and calls in here; nothing in here loads the simulator.
import { createServer } from 'node:net';
import type { Logger } from 'pino';
import type { HttpDeps, HttpHandle } from './api/http-server.js';
import { ConfigError } from './config/config-error.js';
import { loadConfigFile } from './config/load-config.js';
import type { NodeConfig } from './config/node-config.js';
import { loadSettings, misspeltSettingVariables, redactSettings, type Settings } from './config/settings.js';
import { DEFAULT_HEALTH_POLICY, type HealthPolicy } from './health/policy.js';
import { createLogger } from './logging/logger.js';
import { FleetReload } from './main/fleet-reload.js';
import { limitHeapGrowth } from './main/heap-growth.js';
import { waitForVerdicts } from './main/wait-for-verdicts.js';
import { createNodeDispatcher } from './rpc/dispatcher.js';
import { createStore, defaultReplicaName, nodeConnectionsPerOrigin, Service } from './service.js';

/** What `serve` writes for an operator (the CLI's stdout / stderr). */
export interface ServeIo {
  err(text: string): void;
}

/** A running process: the service and whatever it needs around it. */
export interface Running {
  readonly service: Service;
  readonly logger: Logger;
  readonly settings: Settings;
  /** The nodes file, when there is one (reloads read it again). */
  readonly configPath: string | undefined;
  /** The environment the nodes file's credential variables are read from (reloads too). */
  readonly env: NodeJS.ProcessEnv;
  /** Reloads that reach every replica (absent without a nodes file). */
  readonly reloads?: FleetReload | undefined;
  close(): Promise<void>;
}

export interface StartOptions {
  readonly configPath?: string | undefined;
  /**
   * A fleet given in code instead of a nodes file (`demo` passes its simulated one; `serve`
   * never does), with what to close after the service.
   */
  readonly fleet?: { readonly nodes: readonly NodeConfig[]; close(): Promise<void> };
  readonly env?: NodeJS.ProcessEnv;
  readonly settings?: Settings;
  readonly logger?: Logger;
}

/**
 * Everything `serve` and `demo` share: settings, logger, the fleet (a nodes file, or for `demo`
 * the simulated one it passes in), the store, the node dispatcher and the service. Throws ConfigError for bad settings or files,
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

  const configPath = opts.fleet ? undefined : (opts.configPath ?? settings.configPath);
  let nodes: readonly NodeConfig[];
  let policy: HealthPolicy = DEFAULT_HEALTH_POLICY;
  if (opts.fleet) {
    nodes = opts.fleet.nodes;
  } else if (!configPath) {
    throw new ConfigError('environment', [{ path: 'NODESENTRY_CONFIG', message: NO_CONFIG_MESSAGE }]);
  } else {
    const loaded = await loadConfigFile(configPath, env);
    if (loaded.nodes.length === 0) throw new ConfigError(configPath, [{ path: 'nodes', message: NO_NODES_MESSAGE }]);
    nodes = loaded.nodes;
    policy = loaded.policy;
  }
  const replica = defaultReplicaName();
  const store = await createStore(settings, replica, logger);
  const dispatcher = createNodeDispatcher({ connectionsPerOrigin: nodeConnectionsPerOrigin(settings) });
  const service = await Service.start({ settings, nodes, policy, logger, replica, store, dispatcher });
  let closing: Promise<void> | undefined;
  const running: Running = {
    service,
    logger,
    settings,
    configPath,
    env,
    close() {
      closing ??= (async () => {
        reloads?.close();
        await service.close();
        await opts.fleet?.close();
      })();
      return closing;
    },
  };
  const reloads = configPath
    ? new FleetReload({ replica: service.replica, store: service.store, logger, reload: () => reloadFromFile(running) })
    : undefined;
  return { ...running, reloads };
}

const NO_CONFIG_MESSAGE =
  'no nodes file: pass --config FILE or set NODESENTRY_CONFIG (serve never invents nodes; `nodesentry demo` runs a simulated fleet)';
const NO_NODES_MESSAGE =
  'the file lists no nodes; serve needs at least one (it never invents nodes; `nodesentry demo` runs a simulated fleet)';

/**
 * Re-read the nodes file and apply it; an invalid file, or one without nodes, is refused and
 * the running fleet stays (an emptied file is far more often a mistake than a decommission).
 */
export async function reloadFromFile(
  running: Running,
): Promise<{ ok: true; added: string[]; removed: string[]; changed: string[] } | { ok: false; errors: string[] }> {
  if (!running.configPath)
    return { ok: false, errors: ['no nodes file is configured (the built-in simulated fleet cannot be reloaded)'] };
  try {
    const loaded = await loadConfigFile(running.configPath, running.env);
    if (loaded.nodes.length === 0)
      throw new ConfigError(running.configPath, [
        { path: 'nodes', message: `${NO_NODES_MESSAGE}; the running ${running.service.nodes.size} stay` },
      ]);
    const result = await running.service.reload(loaded.nodes, loaded.policy);
    return { ok: true, ...result };
  } catch (err) {
    if (err instanceof ConfigError) {
      running.logger.error(
        { file: running.configPath, issues: err.issues },
        'configuration reload refused; the running configuration stays',
      );
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

/** What the HTTP faces get of a running process: its service, and reloads that reach every replica. */
export function httpDeps(running: Running): HttpDeps {
  return {
    service: running.service,
    logger: running.logger,
    settings: running.settings,
    reload: running.reloads ? (by: string) => running.reloads!.start(by, false) : () => reloadFromFile(running),
  };
}

/** Start the API (and the agent-check port) of a running process. */
export async function openHttp(running: Running): Promise<HttpHandle> {
  const { startHttp } = await import('./api/http-server.js');
  return startHttp(httpDeps(running));
}

/**
 * `nodesentry serve` after its arguments are parsed: start, open the ports once the verdicts
 * are in, run until SIGTERM / SIGINT. Resolves to the exit status.
 */
export async function serve(opts: { readonly configPath?: string | undefined }, io: ServeIo): Promise<number> {
  // Loaded while the service starts (its Redis round trips, its first probes): a restart's
  // closed-port window is what load balancers see (docs/load-balancers.md, "Restarting").
  const httpModule = import('./api/http-server.js');
  httpModule.catch(() => {});
  // Before the fleet is loaded: the heap sized with the live set, not V8's 4x (src/main/heap-growth.ts).
  const heapGrowthPercent = limitHeapGrowth();
  // A SIGTERM / SIGINT while the service starts (the store connecting, the poller claiming its
  // first leases) is kept, not left to the default kill: a replica killed inside that window
  // kept the leases it had just claimed until they expired. Once the start returns, the stop
  // runs as any other (leases handed over). A second signal still exits at once.
  const early = signalsDuringStart();
  let running: Running;
  try {
    running = await startRunning({ configPath: opts.configPath });
  } catch (err) {
    early.release();
    if (err instanceof ConfigError) {
      io.err(`nodesentry serve: invalid configuration\n${err.message}`);
      return 2;
    }
    throw err;
  }
  const signalled = early.release();
  if (signalled !== undefined) {
    running.logger.info({ signal: signalled }, 'stopping (the signal came while the service was starting)');
    await running.close();
    return 0;
  }
  running.logger.info(
    { heapGrowthPercent: heapGrowthPercent ?? 'as given to node' },
    'old generation may grow this far past the live heap before a full GC',
  );
  const stopping = new AbortController();
  let http: HttpHandle | undefined;
  let starting: Promise<number | undefined> | undefined;
  // handleSignals takes the signals over from signalsDuringStart: the poller holds leases, so a
  // SIGTERM while the HTTP code loads or the ports wait for verdicts must still stop cleanly
  // (leases handed over), not take the default kill (a replica killed that way during start-up
  // under a busy core exited by the signal in a CI run).
  const stopped = handleSignals(running, async () => {
    stopping.abort();
    await starting?.catch(() => {});
    await http?.close();
    await running.close();
  });
  const { startHttp } = await httpModule;
  const cannotListen = async (err: unknown, port: number): Promise<number> => {
    // Port in use, address not available: say so and exit now, not run on without an API.
    const e = err as NodeJS.ErrnoException;
    io.err(
      `nodesentry: cannot listen on ${running.settings.host}:${port}: ${e.code ?? e.message}${e.code === 'EADDRINUSE' ? ' (the port is in use; set PORT or NODESENTRY_AGENT_PORT)' : ''}`,
    );
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
  starting = (async () => {
    // Ports open once the verdicts are in (bounded): see waitForVerdicts.
    const wait = await waitForVerdicts(running.service, running.settings.readyWaitMs, Date.now, stopping.signal);
    if (stopping.signal.aborted) return undefined;
    if (wait.pending.length > 0) {
      running.logger.warn(
        { waitedMs: wait.waitedMs, pending: wait.pending.slice(0, 20), count: wait.pending.length },
        'opening the API before every node has a verdict (NODESENTRY_READY_WAIT_MS)',
      );
    } else {
      running.logger.info({ waitedMs: wait.waitedMs }, 'every node has a verdict: opening the API');
    }
    try {
      http = await startHttp(httpDeps(running));
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

/**
 * Holds SIGINT / SIGTERM from now until `release()`, which says which came first (if any) and
 * gives the signals back (handleSignals takes them next). A second one before that exits at once.
 */
function signalsDuringStart(): { release(): NodeJS.Signals | undefined } {
  let first: NodeJS.Signals | undefined;
  const on = (signal: NodeJS.Signals) => {
    if (first !== undefined) process.exit(1);
    first = signal;
  };
  const onInt = () => on('SIGINT');
  const onTerm = () => on('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  return {
    release() {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      return first;
    },
  };
}

/** Binds `port` and lets it go: rejects with the listen error (EADDRINUSE, EACCES, ...). */
function assertPortFree(host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen({ port, host, exclusive: true }, () => probe.close(() => resolve()));
  });
}
