// Settings from the environment: one schema, validated at start-up, naming the bad variable.
import { inspect } from 'node:util';
import { validatePrefix } from '../store/keys.js';
import { closestName } from './closest-name.js';
import { ConfigError, type ConfigIssue } from './config-error.js';
import { DEFAULT_PROXY_SETTINGS, loadProxySettings, PROXY_VARIABLES, type ProxySettings } from './proxy-settings.js';
import { PROBE_DEFAULTS } from '../defaults.js';

export type Role = 'api' | 'worker' | 'all';
export const ROLES: readonly Role[] = ['api', 'worker', 'all'];

/** pino's levels. */
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
export const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
/** `auto`: human-readable on a terminal, JSON lines otherwise. */
export type LogFormat = 'auto' | 'json' | 'pretty';
export const LOG_FORMATS: readonly LogFormat[] = ['auto', 'json', 'pretty'];

/** Service settings, from the environment. Node-level settings live in the nodes file. */
export interface Settings {
  /** NODESENTRY_CONFIG: the nodes file; `--config` on the command line wins. */
  readonly configPath?: string;
  /** REDIS_URL: shared store for several replicas; absent = in-process store (one process). Secret: holds the password. */
  readonly redisUrl?: string;
  /** REDIS_SENTINELS (`host:port,...`) with REDIS_SENTINEL_NAME: Redis behind Sentinel instead of REDIS_URL. */
  readonly redisSentinels?: readonly HostPort[];
  readonly redisSentinelName?: string;
  /** REDIS_CLUSTER_NODES (`host:port,...`): a Redis Cluster instead of REDIS_URL. */
  readonly redisClusterNodes?: readonly HostPort[];
  /** REDIS_PASSWORD: for Sentinel / Cluster (REDIS_URL carries its own). Secret. */
  readonly redisPassword?: string;
  /** PORT: HTTP API port (default 8080; 0 = any free port). */
  readonly port: number;
  /** HOST: address the HTTP API binds to (default 0.0.0.0). */
  readonly host: string;
  /** LOG_LEVEL (default info). */
  readonly logLevel: LogLevel;
  /** NODESENTRY_ROLE: `api` serves, `worker` probes, `all` does both (default). */
  readonly role: Role;
  /** NODESENTRY_REDIS_PREFIX: every Redis key starts with `<prefix>:` (default nodesentry). */
  readonly redisPrefix: string;
  /** NODESENTRY_CONCURRENCY: probes in flight across all nodes (default 64). */
  readonly probeConcurrency: number;
  /** NODESENTRY_PER_HOST_CONCURRENCY: probes in flight to one host (default 8); the global limit still applies. */
  readonly perHostConcurrency: number;
  /** NODESENTRY_ADMIN_TOKEN: bearer token for admin routes; absent = admin routes disabled. Secret. */
  readonly adminToken?: string;
  /** NODESENTRY_API_KEY: key required on read routes; absent = open. Secret. */
  readonly apiKey?: string;
  /** NODESENTRY_MAX_RESPONSE_BYTES: larger RPC responses are cut off and fail (default 4 MiB). */
  readonly maxResponseBytes: number;
  /** NODESENTRY_AGENT_PORT: HAProxy agent-check TCP port; absent = no agent listener. */
  readonly agentPort?: number;
  /** NODESENTRY_CHAIN_MIN_HEALTHY: usable nodes a chain needs for its probe to answer up (default 1; `?min=` overrides). */
  readonly chainMinHealthy: number;
  /** NODESENTRY_PROTECT_PROBES: the load-balancer probes need the API key too (default false; needs NODESENTRY_API_KEY). */
  readonly protectProbes: boolean;
  /** NODESENTRY_MAX_CONNECTIONS: open HTTP connections at most; more are closed on accept (default 1000; keep it below `ulimit -n`). */
  readonly maxConnections: number;
  /** NODESENTRY_MAX_EVENT_STREAMS: open `GET /v1/events` streams at most; more get 429 (default 100). */
  readonly maxEventStreams: number;
  /** NODESENTRY_HEADERS_TIMEOUT_MS: a request's headers must arrive within this, ms, enforced within a second (default 10000). */
  readonly headersTimeoutMs: number;
  /** NODESENTRY_MAX_BACKOFF_MS: probe step ceiling for nodes that give no answer at all, ms (default 3000; 0 = none; below the staleness window). */
  readonly maxBackoffMs: number;
  /** NODESENTRY_FAST_INTERVAL_MS: re-check delay while a failure or a recovery is being confirmed, ms (default 100). */
  readonly fastIntervalMs: number;
  /** NODESENTRY_READY_WAIT_MS: `serve` opens its ports once every node has a verdict, or after this long (default 15000; 0 = at once). */
  readonly readyWaitMs: number;
  /** NODESENTRY_RPC_*: the JSON-RPC proxy at /rpc/<chain> (see proxy-settings.ts). */
  readonly rpc: ProxySettings;
  /** LOG_FORMAT: `auto` (default: pretty on a terminal, JSON otherwise), `json` or `pretty`. */
  readonly logFormat: LogFormat;
  /** NODESENTRY_ACCESS_LOG: one log line per API request (default true). */
  readonly accessLog: boolean;
  /** NODESENTRY_ACCESS_LOG_PROBES: share of load-balancer probe (and `/v1/chains/:chain/best`) requests logged, 0..1 (default 0: none; they are most of the traffic). */
  readonly accessLogProbes: number;
}

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** Defaults of every setting that has one. */
export const SETTINGS_DEFAULTS = Object.freeze({
  port: 8080,
  host: '0.0.0.0',
  logLevel: 'info' as LogLevel,
  role: 'all' as Role,
  redisPrefix: 'nodesentry',
  probeConcurrency: PROBE_DEFAULTS.concurrency,
  perHostConcurrency: PROBE_DEFAULTS.perHostConcurrency,
  maxResponseBytes: PROBE_DEFAULTS.maxResponseBytes,
  chainMinHealthy: 1,
  // Load balancers rarely can send a key, and a probe reveals only a state word: open by default.
  protectProbes: false,
  // Below Debian's default soft limit of 1024 file descriptors, leaving room for Redis and nodes.
  maxConnections: 1000,
  maxEventStreams: 100,
  headersTimeoutMs: 10_000,
  // Back-off only for nodes that do not answer, capped so such a node is seen back within
  // ~3 s and its record never goes stale (30 s); see README "Health rules".
  maxBackoffMs: 3_000,
  // fall 3 after a refused probe is counted in 2 x 100 ms, rise 2 after it answers in 100 ms.
  // A refused connection says the same thing twice in a row: waiting longer between the looks
  // adds failover time, not evidence.
  fastIntervalMs: 100,
  // A restart must not answer 503 `unknown` for nodes it simply has not probed yet (issue #13).
  readyWaitMs: 15_000,
  rpc: DEFAULT_PROXY_SETTINGS,
  logFormat: 'auto' as LogFormat,
  accessLog: true,
  accessLogProbes: 0,
});

/** The environment variable behind each setting. */
export const SETTING_VARIABLES = Object.freeze({
  configPath: 'NODESENTRY_CONFIG',
  redisUrl: 'REDIS_URL',
  redisSentinels: 'REDIS_SENTINELS',
  redisSentinelName: 'REDIS_SENTINEL_NAME',
  redisClusterNodes: 'REDIS_CLUSTER_NODES',
  redisPassword: 'REDIS_PASSWORD',
  port: 'PORT',
  host: 'HOST',
  logLevel: 'LOG_LEVEL',
  role: 'NODESENTRY_ROLE',
  redisPrefix: 'NODESENTRY_REDIS_PREFIX',
  probeConcurrency: 'NODESENTRY_CONCURRENCY',
  perHostConcurrency: 'NODESENTRY_PER_HOST_CONCURRENCY',
  adminToken: 'NODESENTRY_ADMIN_TOKEN',
  apiKey: 'NODESENTRY_API_KEY',
  maxResponseBytes: 'NODESENTRY_MAX_RESPONSE_BYTES',
  agentPort: 'NODESENTRY_AGENT_PORT',
  chainMinHealthy: 'NODESENTRY_CHAIN_MIN_HEALTHY',
  protectProbes: 'NODESENTRY_PROTECT_PROBES',
  maxConnections: 'NODESENTRY_MAX_CONNECTIONS',
  maxEventStreams: 'NODESENTRY_MAX_EVENT_STREAMS',
  headersTimeoutMs: 'NODESENTRY_HEADERS_TIMEOUT_MS',
  maxBackoffMs: 'NODESENTRY_MAX_BACKOFF_MS',
  fastIntervalMs: 'NODESENTRY_FAST_INTERVAL_MS',
  readyWaitMs: 'NODESENTRY_READY_WAIT_MS',
  logFormat: 'LOG_FORMAT',
  accessLog: 'NODESENTRY_ACCESS_LOG',
  accessLogProbes: 'NODESENTRY_ACCESS_LOG_PROBES',
} satisfies Record<Exclude<keyof Settings, 'rpc'>, string>);

export const MIN_ADMIN_TOKEN_LENGTH = 16;
const TRUE_WORDS: readonly string[] = ['true', '1', 'yes', 'on'];
const FALSE_WORDS: readonly string[] = ['false', '0', 'no', 'off'];
const REDACTED = '[redacted]';

/**
 * Read and validate the service settings. An empty variable counts as unset (compose files
 * often pass `VAR=`). Messages name the variable and never print a secret's value.
 * @throws ConfigError (file `environment`) listing every bad variable.
 */
export function loadSettings(env: NodeJS.ProcessEnv = process.env): Settings {
  const issues: ConfigIssue[] = [];
  const bad = (variable: string, message: string): undefined => {
    issues.push({ path: variable, message });
    return undefined;
  };
  const get = (variable: string): string | undefined => {
    const value = env[variable];
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  };
  const int = (variable: string, fallback: number | undefined, min: number, max: number): number | undefined => {
    const text = get(variable);
    if (text === undefined) return fallback;
    if (!/^\d+$/.test(text)) return bad(variable, `must be a whole number between ${min} and ${max}${shown(text)}`);
    const value = Number(text);
    if (value < min || value > max) return bad(variable, `must be between ${min} and ${max}${shown(text)}`);
    return value;
  };
  const oneOf = <T extends string>(variable: string, allowed: readonly T[], fallback: T): T => {
    const text = get(variable);
    if (text === undefined) return fallback;
    const value = text.toLowerCase();
    if ((allowed as readonly string[]).includes(value)) return value as T;
    bad(variable, `must be one of ${allowed.join(', ')}${shown(text)}`);
    return fallback;
  };
  const bool = (variable: string, fallback: boolean): boolean => {
    const text = get(variable);
    if (text === undefined) return fallback;
    const value = text.toLowerCase();
    if (TRUE_WORDS.includes(value)) return true;
    if (FALSE_WORDS.includes(value)) return false;
    bad(variable, `must be true or false${shown(text)}`);
    return fallback;
  };

  const configPath = get(SETTING_VARIABLES.configPath);

  const redisUrl = get(SETTING_VARIABLES.redisUrl);
  if (redisUrl !== undefined) {
    // Never shown: the URL may carry the Redis password.
    let url: URL | undefined;
    try {
      url = new URL(redisUrl);
    } catch {
      bad(SETTING_VARIABLES.redisUrl, 'not a valid URL (expected redis://[user:password@]host[:port][/db] or rediss://...)');
    }
    if (url !== undefined && url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
      bad(SETTING_VARIABLES.redisUrl, `unsupported scheme "${url.protocol.slice(0, -1).slice(0, 20)}" (expected redis or rediss)`);
    }
  }

  const port = int(SETTING_VARIABLES.port, SETTINGS_DEFAULTS.port, 0, 65_535);
  const host = get(SETTING_VARIABLES.host) ?? SETTINGS_DEFAULTS.host;
  if (!/^[A-Za-z0-9.:[\]%_-]{1,253}$/.test(host)) bad(SETTING_VARIABLES.host, 'must be a host name or an IP address');
  const logLevel = oneOf(SETTING_VARIABLES.logLevel, LOG_LEVELS, SETTINGS_DEFAULTS.logLevel);
  const role = oneOf(SETTING_VARIABLES.role, ROLES, SETTINGS_DEFAULTS.role);
  const hostPorts = (variable: string): HostPort[] | undefined => {
    const text = get(variable);
    if (text === undefined) return undefined;
    const out: HostPort[] = [];
    for (const part of text.split(',').map((p) => p.trim()).filter((p) => p !== '')) {
      const m = /^([A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]+\]):(\d{1,5})$/.exec(part);
      const port = m ? Number(m[2]) : NaN;
      if (!m || port < 1 || port > 65_535) {
        bad(variable, 'must be a comma-separated list of host:port');
        return undefined;
      }
      out.push({ host: m[1]!.replace(/^\[|\]$/g, ''), port });
    }
    if (out.length === 0) bad(variable, 'must list at least one host:port');
    return out;
  };
  const redisSentinels = hostPorts(SETTING_VARIABLES.redisSentinels);
  const redisSentinelName = get(SETTING_VARIABLES.redisSentinelName);
  const redisClusterNodes = hostPorts(SETTING_VARIABLES.redisClusterNodes);
  const redisPassword = get(SETTING_VARIABLES.redisPassword);
  const redisSources = [redisUrl, redisSentinels, redisClusterNodes].filter((x) => x !== undefined).length;
  if (redisSources > 1) {
    bad(SETTING_VARIABLES.redisUrl, `set only one of ${SETTING_VARIABLES.redisUrl}, ${SETTING_VARIABLES.redisSentinels}, ${SETTING_VARIABLES.redisClusterNodes}`);
  }
  if (redisSentinels !== undefined && redisSentinelName === undefined) bad(SETTING_VARIABLES.redisSentinelName, `is required with ${SETTING_VARIABLES.redisSentinels} (the master group name)`);
  if (redisSentinelName !== undefined && redisSentinels === undefined) bad(SETTING_VARIABLES.redisSentinelName, `needs ${SETTING_VARIABLES.redisSentinels} (the sentinels to ask)`);
  if (redisPassword !== undefined && redisUrl !== undefined) bad(SETTING_VARIABLES.redisPassword, `is for Sentinel and Cluster; put the password in ${SETTING_VARIABLES.redisUrl} instead`);

  if (role === 'api' && redisSources === 0) {
    // An in-process store is visible to this process only: an api without workers in the same
    // process has nothing to serve. (A lone worker may still serve HAProxy from its agent port.)
    bad(SETTING_VARIABLES.role, `api needs ${SETTING_VARIABLES.redisUrl}, shared with the workers (without Redis, run role all)`);
  }
  const redisPrefix = get(SETTING_VARIABLES.redisPrefix) ?? SETTINGS_DEFAULTS.redisPrefix;
  try {
    validatePrefix(redisPrefix);
  } catch (err) {
    // The store owns the key format; its message names the allowed characters.
    bad(SETTING_VARIABLES.redisPrefix, (err as Error).message.replace(/^invalid store prefix "[^"]*": /, ''));
  }
  const probeConcurrency = int(SETTING_VARIABLES.probeConcurrency, SETTINGS_DEFAULTS.probeConcurrency, 1, 10_000);
  const perHostConcurrency = int(SETTING_VARIABLES.perHostConcurrency, SETTINGS_DEFAULTS.perHostConcurrency, 1, 1_000);

  const adminToken = get(SETTING_VARIABLES.adminToken);
  if (adminToken !== undefined && adminToken.length < MIN_ADMIN_TOKEN_LENGTH) {
    bad(SETTING_VARIABLES.adminToken, `must be at least ${MIN_ADMIN_TOKEN_LENGTH} characters when set`);
  }
  const apiKey = get(SETTING_VARIABLES.apiKey);

  const maxResponseBytes = int(SETTING_VARIABLES.maxResponseBytes, SETTINGS_DEFAULTS.maxResponseBytes, 1_024, 1_073_741_824);
  const agentPort = int(SETTING_VARIABLES.agentPort, undefined, 0, 65_535);
  if (agentPort !== undefined && agentPort !== 0 && agentPort === port) {
    bad(SETTING_VARIABLES.agentPort, `must differ from ${SETTING_VARIABLES.port} (${port})`);
  }

  const chainMinHealthy = int(SETTING_VARIABLES.chainMinHealthy, SETTINGS_DEFAULTS.chainMinHealthy, 1, 10_000);
  const protectProbes = bool(SETTING_VARIABLES.protectProbes, SETTINGS_DEFAULTS.protectProbes);
  if (protectProbes && apiKey === undefined) {
    // A protection without a key would protect nothing: say so instead of serving open probes.
    bad(SETTING_VARIABLES.protectProbes, `needs ${SETTING_VARIABLES.apiKey} (the key the probes then require)`);
  }

  const maxConnections = int(SETTING_VARIABLES.maxConnections, SETTINGS_DEFAULTS.maxConnections, 10, 1_000_000);
  const maxEventStreams = int(SETTING_VARIABLES.maxEventStreams, SETTINGS_DEFAULTS.maxEventStreams, 0, 100_000);
  const headersTimeoutMs = int(SETTING_VARIABLES.headersTimeoutMs, SETTINGS_DEFAULTS.headersTimeoutMs, 1_000, 300_000);

  const maxBackoffMs = int(SETTING_VARIABLES.maxBackoffMs, SETTINGS_DEFAULTS.maxBackoffMs, 0, 3_600_000);
  const fastIntervalMs = int(SETTING_VARIABLES.fastIntervalMs, SETTINGS_DEFAULTS.fastIntervalMs, 10, 60_000);

  const readyWaitMs = int(SETTING_VARIABLES.readyWaitMs, SETTINGS_DEFAULTS.readyWaitMs, 0, 300_000);

  const rpc = loadProxySettings(env, issues);

  const logFormat = oneOf(SETTING_VARIABLES.logFormat, LOG_FORMATS, SETTINGS_DEFAULTS.logFormat);
  const accessLog = bool(SETTING_VARIABLES.accessLog, SETTINGS_DEFAULTS.accessLog);
  const probesText = get(SETTING_VARIABLES.accessLogProbes);
  const accessLogProbes = probesText === undefined ? SETTINGS_DEFAULTS.accessLogProbes : /^(0|1|0?\.\d+|1\.0*)$/.test(probesText) ? Number(probesText) : bad(SETTING_VARIABLES.accessLogProbes, `must be a fraction between 0 and 1 (e.g. 0.01 for one probe in a hundred)${shown(probesText)}`);

  if (issues.length > 0 || maxConnections === undefined || maxEventStreams === undefined || headersTimeoutMs === undefined || maxBackoffMs === undefined || fastIntervalMs === undefined || readyWaitMs === undefined || accessLogProbes === undefined || port === undefined || probeConcurrency === undefined || perHostConcurrency === undefined || maxResponseBytes === undefined || chainMinHealthy === undefined) {
    throw new ConfigError('environment', issues);
  }
  const settings: Settings = {
    ...(configPath === undefined ? {} : { configPath }),
    ...(redisUrl === undefined ? {} : { redisUrl }),
    ...(redisSentinels === undefined ? {} : { redisSentinels }),
    ...(redisSentinelName === undefined ? {} : { redisSentinelName }),
    ...(redisClusterNodes === undefined ? {} : { redisClusterNodes }),
    ...(redisPassword === undefined ? {} : { redisPassword }),
    port,
    host,
    logLevel,
    role,
    redisPrefix,
    probeConcurrency,
    perHostConcurrency,
    ...(adminToken === undefined ? {} : { adminToken }),
    ...(apiKey === undefined ? {} : { apiKey }),
    maxResponseBytes,
    ...(agentPort === undefined ? {} : { agentPort }),
    chainMinHealthy,
    protectProbes,
    maxConnections,
    maxEventStreams,
    headersTimeoutMs,
    maxBackoffMs,
    fastIntervalMs,
    readyWaitMs,
    rpc,
    logFormat,
    accessLog,
    accessLogProbes,
  };
  // Logging the settings object by mistake (pino, console.log, a template string) shows the
  // redacted view. The secrets stay readable as properties for the code that needs them.
  Object.defineProperties(settings, {
    toJSON: { value: () => redactSettings(settings), enumerable: false },
    [inspect.custom]: { value: () => redactSettings(settings), enumerable: false },
  });
  return Object.freeze(settings);
}

/** The settings as they may be logged: secrets replaced, the Redis password masked. */
export function redactSettings(settings: Settings): Record<keyof Settings, string | number | boolean | undefined> {
  return {
    configPath: settings.configPath,
    redisUrl: settings.redisUrl === undefined ? undefined : redactUrlPassword(settings.redisUrl),
    redisSentinels: settings.redisSentinels?.map((h) => `${h.host}:${h.port}`).join(','),
    redisSentinelName: settings.redisSentinelName,
    redisClusterNodes: settings.redisClusterNodes?.map((h) => `${h.host}:${h.port}`).join(','),
    redisPassword: settings.redisPassword === undefined ? undefined : REDACTED,
    port: settings.port,
    host: settings.host,
    logLevel: settings.logLevel,
    role: settings.role,
    redisPrefix: settings.redisPrefix,
    probeConcurrency: settings.probeConcurrency,
    perHostConcurrency: settings.perHostConcurrency,
    adminToken: settings.adminToken === undefined ? undefined : REDACTED,
    apiKey: settings.apiKey === undefined ? undefined : REDACTED,
    maxResponseBytes: settings.maxResponseBytes,
    agentPort: settings.agentPort,
    chainMinHealthy: settings.chainMinHealthy,
    protectProbes: settings.protectProbes,
    maxConnections: settings.maxConnections,
    maxEventStreams: settings.maxEventStreams,
    headersTimeoutMs: settings.headersTimeoutMs,
    maxBackoffMs: settings.maxBackoffMs,
    fastIntervalMs: settings.fastIntervalMs,
    readyWaitMs: settings.readyWaitMs,
    rpc: settings.rpc.enabled ? `enabled (deadline ${settings.rpc.deadlineMs} ms, ${settings.rpc.maxAttempts} attempts${settings.rpc.rateLimit === undefined ? '' : `, ${settings.rpc.rateLimit} req / ${settings.rpc.rateWindowMs} ms per key`})` : 'disabled',
    logFormat: settings.logFormat,
    accessLog: settings.accessLog,
    accessLogProbes: settings.accessLogProbes,
  };
}

/**
 * `NODESENTRY_*` variables that are not settings but look like a misspelt one, with the name
 * meant (`NODESENTRY_CONCURENCY` -> `NODESENTRY_CONCURRENCY`), for a start-up warning. Not an
 * error: operators may keep other `NODESENTRY_*` variables (node passwords) in the environment.
 */
export function misspeltSettingVariables(env: NodeJS.ProcessEnv = process.env): { variable: string; meant: string }[] {
  const known: string[] = [...Object.values(SETTING_VARIABLES), ...Object.values(PROXY_VARIABLES)];
  const found: { variable: string; meant: string }[] = [];
  for (const variable of Object.keys(env)) {
    if (known.includes(variable) || !/^(NODESENTRY_|REDIS_|LOG_)/i.test(variable)) continue;
    const meant = closestName(variable, known);
    if (meant !== undefined) found.push({ variable, meant });
  }
  return found;
}

function redactUrlPassword(text: string): string {
  try {
    const url = new URL(text);
    if (url.password !== '') url.password = '***';
    return url.href;
  } catch {
    return REDACTED;
  }
}

/** The offending value, for non-secret settings, if it is short and plain enough to be safe to echo. */
function shown(text: string): string {
  return /^[\w.-]{1,32}$/.test(text) ? ` (got "${text}")` : '';
}
