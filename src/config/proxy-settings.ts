// Settings of the JSON-RPC proxy, from NODESENTRY_RPC_* variables.
import type { ConfigIssue } from './config-error.js';

/** Settings of the JSON-RPC proxy (`POST /rpc/<chain>`), from NODESENTRY_RPC_* variables. */
export interface ProxySettings {
  /** NODESENTRY_RPC_ENABLED: serve /rpc at all (default true). */
  readonly enabled: boolean;
  /** NODESENTRY_RPC_DEADLINE_MS: a request's whole budget, every failover included (default 10000). */
  readonly deadlineMs: number;
  /** NODESENTRY_RPC_ATTEMPT_TIMEOUT_MS: one node's budget within it (default 5000). */
  readonly attemptTimeoutMs: number;
  /** NODESENTRY_RPC_MAX_ATTEMPTS: nodes tried per request, the first included (default 3). */
  readonly maxAttempts: number;
  /** NODESENTRY_RPC_MAX_BODY_BYTES: larger request bodies get 413 (default 5 MiB, geth's limit). */
  readonly maxBodyBytes: number;
  /** NODESENTRY_RPC_MAX_BATCH: calls per batch (default 100). */
  readonly maxBatch: number;
  /** NODESENTRY_RPC_MAX_RESPONSE_BYTES: larger node answers are refused, -32003 (default 25 MiB, geth's batch response limit). */
  readonly maxResponseBytes: number;
  /** NODESENTRY_RPC_BREAKER_MS: a node that failed a request is skipped this long, doubling while it keeps failing (default 2000). */
  readonly breakerMs: number;
  /** NODESENTRY_RPC_RATE_LIMIT: requests per key (API key, else client address) per window, shared by replicas; absent = off. */
  readonly rateLimit?: number;
  /** NODESENTRY_RPC_RATE_WINDOW_MS: the rate limit's window (default 1000). */
  readonly rateWindowMs: number;
  /** NODESENTRY_RPC_CONSISTENCY_WAIT_MS: how long a request may wait for a node to reach the head a client was served (default 3000). */
  readonly consistencyWaitMs: number;
  /** NODESENTRY_RPC_ALLOW_EVM / _BITCOIN: methods allowed despite the default deny list (`name`, `prefix_*`, `*`). */
  readonly allow: { readonly evm: readonly string[]; readonly bitcoin: readonly string[] };
  /** NODESENTRY_RPC_DENY_EVM / _BITCOIN: methods refused on top of the default deny list. */
  readonly deny: { readonly evm: readonly string[]; readonly bitcoin: readonly string[] };
}

export const PROXY_DEFAULTS = Object.freeze({
  enabled: true,
  deadlineMs: 10_000,
  attemptTimeoutMs: 5_000,
  maxAttempts: 3,
  maxBodyBytes: 5 * 1024 * 1024,
  maxBatch: 100,
  maxResponseBytes: 25 * 1024 * 1024,
  breakerMs: 2_000,
  rateWindowMs: 1_000,
  consistencyWaitMs: 3_000,
});

export const PROXY_VARIABLES = Object.freeze({
  enabled: 'NODESENTRY_RPC_ENABLED',
  deadlineMs: 'NODESENTRY_RPC_DEADLINE_MS',
  attemptTimeoutMs: 'NODESENTRY_RPC_ATTEMPT_TIMEOUT_MS',
  maxAttempts: 'NODESENTRY_RPC_MAX_ATTEMPTS',
  maxBodyBytes: 'NODESENTRY_RPC_MAX_BODY_BYTES',
  maxBatch: 'NODESENTRY_RPC_MAX_BATCH',
  maxResponseBytes: 'NODESENTRY_RPC_MAX_RESPONSE_BYTES',
  breakerMs: 'NODESENTRY_RPC_BREAKER_MS',
  rateLimit: 'NODESENTRY_RPC_RATE_LIMIT',
  rateWindowMs: 'NODESENTRY_RPC_RATE_WINDOW_MS',
  consistencyWaitMs: 'NODESENTRY_RPC_CONSISTENCY_WAIT_MS',
  allowEvm: 'NODESENTRY_RPC_ALLOW_EVM',
  allowBitcoin: 'NODESENTRY_RPC_ALLOW_BITCOIN',
  denyEvm: 'NODESENTRY_RPC_DENY_EVM',
  denyBitcoin: 'NODESENTRY_RPC_DENY_BITCOIN',
});

/** The proxy's settings when no NODESENTRY_RPC_* variable is set. */
export const DEFAULT_PROXY_SETTINGS: ProxySettings = Object.freeze({
  ...PROXY_DEFAULTS,
  allow: Object.freeze({ evm: [], bitcoin: [] }),
  deny: Object.freeze({ evm: [], bitcoin: [] }),
});

/** `eth_call`, `debug_*`, `*`: a name, a prefix with a trailing star, or everything. */
const METHOD_PATTERN = /^(\*|\*?[A-Za-z][A-Za-z0-9_]{0,99}\*?)$/;

/**
 * Read the proxy's variables. Bad ones are pushed onto `issues` (the caller throws one
 * ConfigError for the whole environment) and fall back to their defaults.
 */
export function loadProxySettings(env: NodeJS.ProcessEnv, issues: ConfigIssue[]): ProxySettings {
  const get = (variable: string): string | undefined => {
    const v = env[variable];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  };
  const int = (variable: string, fallback: number, min: number, max: number): number => {
    const text = get(variable);
    if (text === undefined) return fallback;
    if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) {
      issues.push({ path: variable, message: `must be a whole number between ${min} and ${max}${/^[\w.-]{1,32}$/.test(text) ? ` (got "${text}")` : ''}` });
      return fallback;
    }
    return Number(text);
  };
  const list = (variable: string): string[] => {
    const text = get(variable);
    if (text === undefined) return [];
    const out = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
    const bad = out.filter((s) => !METHOD_PATTERN.test(s));
    if (bad.length > 0) issues.push({ path: variable, message: `must be a comma-separated list of method names or prefixes ending in * (bad: ${bad.slice(0, 3).map((b) => JSON.stringify(b.slice(0, 40))).join(', ')})` });
    return out.filter((s) => METHOD_PATTERN.test(s));
  };
  const enabledText = get(PROXY_VARIABLES.enabled)?.toLowerCase();
  let enabled: boolean = PROXY_DEFAULTS.enabled;
  if (enabledText !== undefined) {
    if (['true', '1', 'yes', 'on'].includes(enabledText)) enabled = true;
    else if (['false', '0', 'no', 'off'].includes(enabledText)) enabled = false;
    else issues.push({ path: PROXY_VARIABLES.enabled, message: 'must be true or false' });
  }
  const deadlineMs = int(PROXY_VARIABLES.deadlineMs, PROXY_DEFAULTS.deadlineMs, 100, 600_000);
  const attemptTimeoutMs = int(PROXY_VARIABLES.attemptTimeoutMs, Math.min(PROXY_DEFAULTS.attemptTimeoutMs, deadlineMs), 50, 600_000);
  if (attemptTimeoutMs > deadlineMs) issues.push({ path: PROXY_VARIABLES.attemptTimeoutMs, message: `must not exceed ${PROXY_VARIABLES.deadlineMs} (${deadlineMs})` });
  const rateLimitText = get(PROXY_VARIABLES.rateLimit);
  const rateLimit = rateLimitText === undefined ? undefined : int(PROXY_VARIABLES.rateLimit, 0, 1, 10_000_000);
  return {
    enabled,
    deadlineMs,
    attemptTimeoutMs,
    maxAttempts: int(PROXY_VARIABLES.maxAttempts, PROXY_DEFAULTS.maxAttempts, 1, 10),
    maxBodyBytes: int(PROXY_VARIABLES.maxBodyBytes, PROXY_DEFAULTS.maxBodyBytes, 256, 1_073_741_824),
    maxBatch: int(PROXY_VARIABLES.maxBatch, PROXY_DEFAULTS.maxBatch, 1, 10_000),
    maxResponseBytes: int(PROXY_VARIABLES.maxResponseBytes, PROXY_DEFAULTS.maxResponseBytes, 1_024, 1_073_741_824),
    breakerMs: int(PROXY_VARIABLES.breakerMs, PROXY_DEFAULTS.breakerMs, 0, 600_000),
    ...(rateLimit === undefined || rateLimit === 0 ? {} : { rateLimit }),
    rateWindowMs: int(PROXY_VARIABLES.rateWindowMs, PROXY_DEFAULTS.rateWindowMs, 100, 3_600_000),
    consistencyWaitMs: int(PROXY_VARIABLES.consistencyWaitMs, PROXY_DEFAULTS.consistencyWaitMs, 0, 60_000),
    allow: { evm: list(PROXY_VARIABLES.allowEvm), bitcoin: list(PROXY_VARIABLES.allowBitcoin) },
    deny: { evm: list(PROXY_VARIABLES.denyEvm), bitcoin: list(PROXY_VARIABLES.denyBitcoin) },
  };
}
