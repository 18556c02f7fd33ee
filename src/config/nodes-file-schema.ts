// The zod schema of a nodes file, key by key.
import { z } from 'zod';
import { BUILTIN_CHAINS, GENERIC_FAMILIES, isKnownChainName } from '../chains/chain-spec.js';

/**
 * The shape of a nodes file, key by key. This schema checks what a single value can get wrong
 * (type, range, format); what depends on several keys, the environment or the file system
 * (credentials, generic chain expectations, timeout below interval) is checked when a node is
 * resolved (load-config.ts, resolve-chain.ts, resolve-credentials.ts). No message here may contain the input value: some inputs are
 * URLs with passwords in them.
 */

/** Bounds on the values a nodes file may set. Defaults live in NODE_DEFAULTS (node-config.ts). */
export const NODE_LIMITS = Object.freeze({
  minIntervalMs: 100,
  // Anything slower is not monitoring.
  maxIntervalMs: 3_600_000,
  minTimeoutMs: 50,
  maxBlockTimeMs: 86_400_000,
  maxPeers: 100_000,
});

export const NODE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** Tags are labels for selection (`eu`, `archive`, `region=eu-west-1`), not free text. */
export const TAG_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:=/-]{0,63}$/;
const ENV_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
/** What `getblockchaininfo.chain` may look like: main, test, testnet4, regtest, changi, ... */
const NETWORK_PATTERN = /^[a-z0-9][a-z0-9_-]{0,31}$/;
const HEX_CHAIN_ID_PATTERN = /^0x[0-9a-fA-F]{1,13}$/;

export const CHAIN_NAMES: readonly string[] = [...Object.keys(BUILTIN_CHAINS), ...GENERIC_FAMILIES];

const envName = z.string().regex(ENV_NAME_PATTERN, {
  // Not echoed: a value in the wrong place (`env: "user:secret"`) would otherwise be printed.
  error: 'must be the name of an environment variable (letters, digits and _), not its value',
});

export const authSchema = z.strictObject({
  usernameEnv: envName.optional(),
  passwordEnv: envName.optional(),
  /** One variable holding `user:password`. */
  env: envName.optional(),
  /** bitcoind `.cookie` file; relative to the nodes file's directory. */
  cookieFile: z.string().min(1, { error: 'must not be empty' }).optional(),
});

const chainName = z.string().superRefine((name, ctx) => {
  if (isKnownChainName(name)) return;
  // Echo the name only if it looks like a name: a URL pasted into the wrong key must not be.
  const shown = /^[A-Za-z0-9._-]{1,40}$/.test(name) ? ` "${name}"` : '';
  ctx.addIssue({ code: 'custom', message: `unknown chain${shown} (expected one of ${CHAIN_NAMES.join(', ')})` });
});

const nodeUrl = z.string().transform((text, ctx) => {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    const hint = text.includes('@') ? ' (characters such as @ : / # ? in credentials must be percent-encoded)' : '';
    ctx.addIssue({ code: 'custom', message: `not a valid URL${hint}` });
    return z.NEVER;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    ctx.addIssue({ code: 'custom', message: `unsupported scheme "${url.protocol.slice(0, -1).slice(0, 20)}" (expected http or https)` });
    return z.NEVER;
  }
  if (url.hostname === '') {
    ctx.addIssue({ code: 'custom', message: 'has no host' });
    return z.NEVER;
  }
  return url;
});

const chainId = z.union([z.number(), z.string()], { error: 'expected a positive integer or a hex string like "0x38"' }).transform((value, ctx) => {
  const id = typeof value === 'number' ? value : HEX_CHAIN_ID_PATTERN.test(value) ? Number.parseInt(value.slice(2), 16) : Number.NaN;
  if (!Number.isSafeInteger(id) || id <= 0) {
    ctx.addIssue({ code: 'custom', message: 'expected a positive integer or a hex string like "0x38"' });
    return z.NEVER;
  }
  return id;
});

const intervalMs = z.int().min(NODE_LIMITS.minIntervalMs).max(NODE_LIMITS.maxIntervalMs);
const timeoutMs = z.int().min(NODE_LIMITS.minTimeoutMs).max(NODE_LIMITS.maxIntervalMs);

export const defaultsSchema = z.strictObject({
  intervalMs: intervalMs.optional(),
  timeoutMs: timeoutMs.optional(),
});

export const nodeSchema = z.strictObject({
  id: z.string().regex(NODE_ID_PATTERN, { error: 'must be 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit' }),
  chain: chainName,
  url: nodeUrl,
  tags: z.array(z.string().regex(TAG_PATTERN, { error: 'must be 1-64 letters, digits or . _ : = / -, starting with a letter or digit' })).optional(),
  /** 0 = primary; higher tiers are backups. */
  tier: z.int().min(0).max(1_000).optional(),
  intervalMs: intervalMs.optional(),
  timeoutMs: timeoutMs.optional(),
  /** Generic `evm` only (required there); a built-in chain accepts its own id. */
  chainId: chainId.optional(),
  /** Generic `bitcoin` only (required there): the expected `getblockchaininfo.chain`. */
  network: z.string().regex(NETWORK_PATTERN, { error: 'must be a lowercase network name such as main, test, regtest or changi' }).optional(),
  blockTimeMs: z.int().min(1).max(NODE_LIMITS.maxBlockTimeMs).optional(),
  targetPeers: z.int().min(1).max(NODE_LIMITS.maxPeers).optional(),
  minPeers: z.int().min(0).max(NODE_LIMITS.maxPeers).optional(),
  auth: authSchema.optional(),
});

export type RawNode = z.output<typeof nodeSchema>;
export type RawAuth = z.output<typeof authSchema>;
export type RawDefaults = z.output<typeof defaultsSchema>;

/** Top level. Keys starting with `x-` are ignored: they hold YAML anchors (see load-config.ts). */
export const fileSchema = z.strictObject({
  // `nodes:` with nothing after it is null in YAML: the same as no nodes.
  nodes: z.array(z.unknown()).nullable().optional(),
  defaults: defaultsSchema.nullable().optional(),
  // Health knobs (rise/fall, lag thresholds, weights, per-chain overrides...): checked by the
  // health core's own validation (mergePolicy), which names the bad knob.
  health: z.record(z.string(), z.unknown()).nullable().optional(),
});

/** The keys allowed in the mapping at a zod path, for "did you mean" hints. */
export function allowedKeysAt(path: readonly PropertyKey[]): readonly string[] {
  if (path.length === 0) return Object.keys(fileSchema.shape);
  if (path.length === 1 && path[0] === 'defaults') return Object.keys(defaultsSchema.shape);
  if (path[0] === 'nodes' && path.length === 2) return Object.keys(nodeSchema.shape);
  if (path[0] === 'nodes' && path.length === 3 && path[2] === 'auth') return Object.keys(authSchema.shape);
  return [];
}

/**
 * Messages for zod's own issue codes. It never looks at the input's value, only its type: the
 * wording is ours so that a zod upgrade cannot start quoting inputs.
 */
export const configErrorMap: z.core.$ZodErrorMap = (issue) => {
  const last = issue.path?.[issue.path.length - 1];
  const unit = typeof last === 'string' && last.endsWith('Ms') ? ' ms' : '';
  switch (issue.code) {
    case 'invalid_type':
      return issue.input === undefined ? 'required' : `expected ${expectedName(issue.expected)}, got ${typeName(issue.input)}`;
    case 'too_small':
      if (issue.origin === 'string') return 'must not be empty';
      return `must be at least ${String(issue.minimum)}${unit}`;
    case 'too_big':
      return `must be at most ${String(issue.maximum)}${unit}`;
    case 'unrecognized_keys':
      return 'unknown key';
    default:
      return 'invalid value';
  }
};

function expectedName(expected: string): string {
  switch (expected) {
    case 'int':
      return 'a whole number';
    case 'number':
      return 'a number';
    case 'string':
      return 'a string';
    case 'array':
      return 'a list';
    case 'object':
    case 'record':
      return 'a mapping';
    case 'boolean':
      return 'true or false';
    default:
      return expected;
  }
}

/** The kind of a value, never the value. */
export function typeName(value: unknown): string {
  if (value === null) return 'an empty value';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'number') return Number.isInteger(value) ? 'a whole number' : Number.isFinite(value) ? 'a fractional number' : 'a non-finite number';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return 'a string';
  if (typeof value === 'boolean') return 'a boolean';
  return typeof value;
}
