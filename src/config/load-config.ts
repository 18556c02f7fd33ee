// Loads a nodes file: parse, validate, resolve chains and credentials, read the health policy.
import { readFile } from 'node:fs/promises';
import type { core } from 'zod';
import { dirname, resolve } from 'node:path';
import { closestName } from './closest-name.js';
import { parseConfigText, type ConfigDocument } from './config-document.js';
import { ConfigError, formatKeyPath, type ConfigIssue, type ReportIssue } from './config-error.js';
import { NODE_DEFAULTS, type NodeConfig, type NodeDefaults } from './node-config.js';
import { allowedKeysAt, configErrorMap, defaultsSchema, fileSchema, nodeSchema, NODE_ID_PATTERN, typeName, type RawDefaults, type RawNode } from './nodes-file-schema.js';
import { DEFAULT_HEALTH_POLICY, mergePolicy, type HealthPolicy, type HealthPolicyInput } from '../health/policy.js';
import { HealthPolicyError } from '../health/policy-error.js';
import { hideSecretQuery, SecretUrl } from '../rpc/secret-url.js';
import { resolveChain } from './resolve-chain.js';
import { resolveCredentials, type CredentialContext } from './resolve-credentials.js';

/** A nodes file, validated and resolved. `nodes` is empty when the file lists none. */
export interface LoadedConfig {
  /** The file as the caller named it. */
  readonly file: string;
  readonly defaults: NodeDefaults;
  readonly nodes: NodeConfig[];
  /** The health policy: defaults with the file's `health:` block laid over them. */
  readonly policy: HealthPolicy;
}

/**
 * Read and validate a nodes file (YAML or JSON, see parseConfigText). Relative cookie file paths
 * resolve against the file's directory; credential variables are read from `env`.
 * @throws ConfigError listing every problem found.
 */
export async function loadConfigFile(path: string, env: NodeJS.ProcessEnv = process.env): Promise<LoadedConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'does not exist' : code === 'EISDIR' ? 'is a directory' : code === 'EACCES' ? 'is not readable by this process' : `cannot be read (${code ?? 'error'})`;
    throw new ConfigError(path, [{ path: '', message: `the configuration file ${why}` }], { cause: err });
  }
  return parseConfig(text, path, env, dirname(resolve(path)));
}

type ZodIssue = core.$ZodIssue;

interface PendingIssue {
  /** Where the problem is; for an unknown key, the mapping that holds it. */
  readonly at: readonly PropertyKey[];
  readonly key?: string;
  readonly message: string;
}

/**
 * Validate the text of a nodes file. `file` names it in messages and decides the format by its
 * extension; `baseDir` (default: the file's directory) anchors relative cookie file paths.
 * Synchronous: it runs once, at start-up, and checks cookie files with sync fs calls.
 * @throws ConfigError listing every problem found.
 */
export function parseConfig(text: string, file: string, env: NodeJS.ProcessEnv = process.env, baseDir: string = dirname(resolve(file))): LoadedConfig {
  const secrets = secretsInText(text);
  const parsed = parseConfigText(text, file);
  if (!parsed.ok) throw new ConfigError(file, scrub(parsed.issues, secrets));
  const { document } = parsed;

  const pending: PendingIssue[] = [];
  const report: ReportIssue = (at, message) => {
    pending.push({ at, message });
  };
  const fail = (): ConfigError => {
    const issues = pending.map((issue) => toIssue(issue, document));
    // In file order when every issue has a line (zod lists unknown keys after the rest).
    if (issues.every((issue) => issue.line !== undefined)) issues.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
    return new ConfigError(file, scrub(issues, secrets));
  };

  const data = document.data;
  if (data === undefined) return { file, defaults: NODE_DEFAULTS, nodes: [], policy: DEFAULT_HEALTH_POLICY };
  if (!isMapping(data)) {
    report([], `the top level must be a mapping with a "nodes" list (and optionally "defaults"), got ${typeName(data)}`);
    throw fail();
  }

  // `x-` keys hold YAML anchors for nodes to merge (`<<: *bsc-defaults`), as in compose files.
  const known = Object.fromEntries(Object.entries(data).filter(([key]) => !key.startsWith('x-')));
  collectZodIssues(fileSchema.safeParse(known, { error: configErrorMap }), [], pending);
  const parsedDefaults = defaultsSchema.safeParse(data['defaults'] ?? {}, { error: configErrorMap });
  const defaults = parsedDefaults.success ? resolveDefaults(parsedDefaults.data, report) : undefined;

  const entries = Array.isArray(data['nodes']) ? (data['nodes'] as unknown[]) : [];
  const ctx: CredentialContext = { env, baseDir, secrets };
  const firstIndexOfId = new Map<string, number>();
  const nodes: NodeConfig[] = [];
  entries.forEach((entry, index) => {
    const at = ['nodes', index] as const;
    if (!isMapping(entry)) {
      report(at, `expected a mapping with id, chain and url, got ${typeName(entry)}`);
      return;
    }
    const id = entry['id'];
    if (typeof id === 'string' && NODE_ID_PATTERN.test(id)) {
      const first = firstIndexOfId.get(id);
      if (first === undefined) firstIndexOfId.set(id, index);
      else report([...at, 'id'], `duplicate id "${id}" (also at ${formatKeyPath(['nodes', first, 'id'])})`);
    }
    // `${VAR}` placeholders in the URL are filled from the environment before it is checked.
    let substitutions: Array<[string, string]> = [];
    let checked: Record<string, unknown> = entry;
    if (typeof entry['url'] === 'string' && entry['url'].includes('${')) {
      const filled = fillPlaceholders(entry['url'], [...at, 'url'], ctx, report);
      if (filled === undefined) return;
      substitutions = filled.substitutions;
      checked = { ...entry, url: filled.text };
    }
    const result = nodeSchema.safeParse(checked, { error: configErrorMap });
    if (!result.success) {
      collectZodIssues(result, at, pending);
      return;
    }
    const node = resolveNode(result.data, at, defaults, ctx, report);
    if (node !== undefined) nodes.push(withSecretQuery(substitutions.length === 0 ? node : withSecretUrl(node, substitutions)));
  });

  const policy = resolvePolicy(data['health'], report);
  if (pending.length > 0) throw fail();
  return { file, defaults: defaults ?? NODE_DEFAULTS, nodes, policy: policy ?? DEFAULT_HEALTH_POLICY };
}

const PLACEHOLDER = /\$\{([^}]*)\}/g;
const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Fill `${VAR}` from the environment; every value read is a secret (it never reaches a message). */
function fillPlaceholders(text: string, at: readonly PropertyKey[], ctx: CredentialContext, report: ReportIssue): { text: string; substitutions: Array<[string, string]> } | undefined {
  const substitutions: Array<[string, string]> = [];
  let ok = true;
  const filled = text.replace(PLACEHOLDER, (whole, name: string) => {
    if (!VARIABLE_NAME.test(name)) {
      report(at, 'a ${...} placeholder must name an environment variable (letters, digits, _)');
      ok = false;
      return whole;
    }
    const value = ctx.env[name];
    if (value === undefined || value === '') {
      report(at, `environment variable ${name} (named by a \${${name}} placeholder) is not set`);
      ok = false;
      return whole;
    }
    ctx.secrets.add(value);
    substitutions.push([name, value]);
    return value;
  });
  return ok ? { text: filled, substitutions } : undefined;
}

/**
 * A node whose URL carried secrets from `${VAR}` placeholders: requests use the filled URL, and
 * `url` (what is logged and served) puts the placeholders back. If a secret cannot be located
 * in the URL's serialised form, only the origin is shown.
 */
function withSecretUrl(node: NodeConfig, substitutions: ReadonlyArray<[string, string]>): NodeConfig {
  let shown = node.url;
  for (const [name, value] of substitutions) {
    for (const form of new Set([value, encodeURIComponent(value), encodeURI(value)])) shown = shown.split(form).join(`\${${name}}`);
  }
  if (substitutions.some(([, value]) => shown.includes(value))) shown = `${new URL(node.url).origin}/...`;
  return Object.freeze({ ...node, url: shown, requestUrl: new SecretUrl(node.url, substitutions.map(([, value]) => value)) });
}

/** A node whose URL carries key-like query parameters (see hideSecretQuery). */
function withSecretQuery(node: NodeConfig): NodeConfig {
  const hidden = hideSecretQuery(node.url, node.requestUrl);
  return hidden ? Object.freeze({ ...node, url: hidden.url, requestUrl: hidden.requestUrl }) : node;
}

function resolvePolicy(raw: unknown, report: ReportIssue): HealthPolicy | undefined {
  if (raw === undefined || raw === null || !isMapping(raw)) return undefined; // shape errors come from the schema
  try {
    return mergePolicy(raw as HealthPolicyInput);
  } catch (err) {
    if (!(err instanceof HealthPolicyError)) throw err;
    report(['health', ...err.key.split('.')], err.shortMessage.replace(/^health policy: `[^`]*` /, ''));
    return undefined;
  }
}

function resolveDefaults(raw: RawDefaults, report: ReportIssue): NodeDefaults | undefined {
  const defaults: NodeDefaults = Object.freeze({
    intervalMs: raw.intervalMs ?? NODE_DEFAULTS.intervalMs,
    timeoutMs: raw.timeoutMs ?? NODE_DEFAULTS.timeoutMs,
  });
  if (defaults.timeoutMs >= defaults.intervalMs) {
    const origin = (key: 'intervalMs' | 'timeoutMs') => (raw[key] === undefined ? ', built-in default' : '');
    report(['defaults', raw.timeoutMs !== undefined ? 'timeoutMs' : 'intervalMs'], overlapMessage(defaults.timeoutMs, origin('timeoutMs'), defaults.intervalMs, origin('intervalMs')));
    return undefined;
  }
  return defaults;
}

function resolveNode(raw: RawNode, at: readonly PropertyKey[], defaults: NodeDefaults | undefined, ctx: CredentialContext, report: ReportIssue): NodeConfig | undefined {
  const chain = resolveChain(raw, at, report);
  const access = resolveCredentials(raw.url, raw.auth, at, ctx, report);

  // The defaults have been reported if they are unusable; a node that sets both keys can
  // still be checked on its own.
  const intervalMs = raw.intervalMs ?? defaults?.intervalMs;
  const timeoutMs = raw.timeoutMs ?? defaults?.timeoutMs;
  let timingOk = intervalMs !== undefined && timeoutMs !== undefined;
  if (intervalMs !== undefined && timeoutMs !== undefined && timeoutMs >= intervalMs && (raw.intervalMs !== undefined || raw.timeoutMs !== undefined)) {
    const origin = (key: 'intervalMs' | 'timeoutMs') => (raw[key] === undefined ? ', from defaults' : '');
    report([...at, raw.timeoutMs !== undefined ? 'timeoutMs' : 'intervalMs'], `${overlapMessage(timeoutMs, origin('timeoutMs'), intervalMs, origin('intervalMs'))} (node "${raw.id}")`);
    timingOk = false;
  }
  if (chain === undefined || access === undefined || !timingOk || intervalMs === undefined || timeoutMs === undefined) return undefined;

  return Object.freeze({
    id: raw.id,
    chain,
    url: access.url,
    ...(access.credentials === undefined ? {} : { credentials: access.credentials }),
    // Order kept, repeats dropped: a tag is a set membership.
    tags: Object.freeze([...new Set(raw.tags ?? [])]),
    tier: raw.tier ?? 0,
    intervalMs,
    timeoutMs,
  });
}

function overlapMessage(timeoutMs: number, timeoutOrigin: string, intervalMs: number, intervalOrigin: string): string {
  return `timeoutMs (${timeoutMs} ms${timeoutOrigin}) must be less than intervalMs (${intervalMs} ms${intervalOrigin}), so that a hung node cannot make its rounds overlap`;
}

function collectZodIssues(result: { success: boolean; error?: { issues: readonly ZodIssue[] } }, prefix: readonly PropertyKey[], into: PendingIssue[]): void {
  for (const issue of result.error?.issues ?? []) {
    const at = [...prefix, ...issue.path];
    if (issue.code === 'unrecognized_keys') {
      const allowed = allowedKeysAt(at);
      for (const key of issue.keys) {
        const guess = closestName(key, allowed);
        const anchors = at.length === 0 ? ', and x-... keys to hold YAML anchors' : '';
        const hint = guess !== undefined ? ` (did you mean "${guess}"?)` : allowed.length > 0 ? ` (allowed: ${allowed.join(', ')}${anchors})` : '';
        into.push({ at, key, message: `unknown key${hint}` });
      }
    } else {
      into.push({ at, message: issue.message });
    }
  }
}

function toIssue(issue: PendingIssue, document: ConfigDocument): ConfigIssue {
  const path = formatKeyPath(issue.key === undefined ? issue.at : [...issue.at, issue.key]);
  const pos = document.locate(issue.at, issue.key);
  return pos === undefined ? { path, message: issue.message } : { path, message: issue.message, line: pos.line };
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Passwords written into URLs anywhere in the text, even in URLs too broken to parse. Messages
 * are built not to quote inputs; this is the second line of defence, run over every issue.
 */
function secretsInText(text: string): Set<string> {
  const secrets = new Set<string>();
  // Userinfo runs to the last @ before the end of the authority (WHATWG URL).
  for (const match of text.matchAll(/[A-Za-z][A-Za-z0-9+.-]*:\/\/([^\s/?#"']*)@/g)) {
    const userinfo = match[1] ?? '';
    const sep = userinfo.indexOf(':');
    if (sep < 0) continue;
    const password = userinfo.slice(sep + 1);
    secrets.add(password);
    try {
      secrets.add(decodeURIComponent(password));
    } catch {
      // Not percent-encoding: the raw form is all there is.
    }
  }
  return secrets;
}

/**
 * Fields whose value is, or carries, a secret: a node's URL (userinfo, placeholders, key-like
 * query values) and its `auth` block. A whole-file issue (a syntax error) may quote any text.
 */
const SECRET_FIELD = /(^|\.)(url|auth)(\.|\[|$)|password|token|secret|Env$/i;

/**
 * Redaction by structure (issue 14): messages are built not to quote inputs; as a second line
 * of defence, an issue about a secret field (or the whole file) whose message still contains a
 * known secret value has its message replaced whole. Paths are built from keys and never
 * touched, and no other message is rewritten: replacing every substring equal to a password
 * garbled "nodes[0].auth.passwordEnv" and, with a password "chain", said "unknown [redacted]",
 * which revealed it.
 */
function scrub(issues: readonly ConfigIssue[], secrets: ReadonlySet<string>): ConfigIssue[] {
  const list = [...secrets].filter((s) => s.length > 0);
  if (list.length === 0) return [...issues];
  return issues.map((raw) => {
    // An odd key is quoted whole in the path (a URL pasted as a key): hide that segment only.
    const path = raw.path.replace(/\["(?:[^"\\]|\\.)*"\]/g, (segment) => (list.some((secret) => segment.includes(secret)) ? '["<a key holding a secret, not shown>"]' : segment));
    const issue = path === raw.path ? raw : { ...raw, path };
    if (!(issue.path === '' || SECRET_FIELD.test(issue.path))) return issue;
    if (!list.some((secret) => issue.message.includes(secret))) return issue;
    return { ...issue, message: issue.path === '' ? 'invalid text near a secret value (not shown)' : 'invalid value (not shown: this field holds a secret)' };
  });
}
