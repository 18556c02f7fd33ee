// A node's credentials from its config: URL userinfo, environment variables or a cookie file (exactly one).
import { accessSync, constants, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { Credentials } from '../rpc/credentials.js';
import type { ReportIssue } from './config-error.js';
import type { RawAuth } from './nodes-file-schema.js';

export interface CredentialContext {
  readonly env: NodeJS.ProcessEnv;
  /** Directory that relative `cookieFile` paths are resolved against: the nodes file's. */
  readonly baseDir: string;
  /** Every secret value read, so that the caller can make sure none reaches a message. */
  readonly secrets: Set<string>;
}

export interface ResolvedAccess {
  /** The URL without userinfo. */
  readonly url: string;
  readonly credentials?: Credentials;
}

/**
 * A node's credentials, from exactly one of: `user:pass@` in the URL, `auth.usernameEnv` +
 * `auth.passwordEnv`, `auth.env` (`user:pass`), `auth.cookieFile`. Returns the URL stripped of
 * userinfo, because Node's fetch refuses URLs with credentials and because the URL is shown.
 * Messages name keys, variables and paths, never a value read from the URL or the environment.
 */
export function resolveCredentials(url: URL, auth: RawAuth | undefined, at: readonly PropertyKey[], ctx: CredentialContext, report: ReportIssue): ResolvedAccess | undefined {
  const inline = url.username !== '' || url.password !== '';
  const stripped = new URL(url.href);
  stripped.username = '';
  stripped.password = '';
  const bare = stripped.href;

  if (inline && auth !== undefined) {
    report([...at, 'auth'], 'credentials are given both in url and in auth; keep only one');
    return undefined;
  }
  if (inline) {
    let username: string;
    let password: string;
    try {
      username = decodeURIComponent(url.username);
      password = decodeURIComponent(url.password);
    } catch {
      report([...at, 'url'], 'the credentials in the URL are not valid percent-encoding');
      return undefined;
    }
    ctx.secrets.add(url.password).add(password);
    if (password === '') {
      report([...at, 'url'], 'has a user name but no password (use user:password@, or auth)');
      return undefined;
    }
    return { url: bare, credentials: new Credentials({ kind: 'basic', username, password }) };
  }
  if (auth === undefined) return { url: bare };

  const authAt = [...at, 'auth'];
  const forms = [
    auth.usernameEnv !== undefined || auth.passwordEnv !== undefined ? 'usernameEnv + passwordEnv' : undefined,
    auth.env !== undefined ? 'env' : undefined,
    auth.cookieFile !== undefined ? 'cookieFile' : undefined,
  ].filter((form) => form !== undefined);
  if (forms.length === 0) {
    report(authAt, 'is empty: give usernameEnv and passwordEnv, env, or cookieFile');
    return undefined;
  }
  if (forms.length > 1) {
    report(authAt, `give only one of usernameEnv + passwordEnv, env, cookieFile (found ${forms.join(' and ')})`);
    return undefined;
  }

  if (auth.cookieFile !== undefined) {
    const path = resolve(ctx.baseDir, auth.cookieFile);
    const problem = cookieFileProblem(path);
    if (problem !== undefined) {
      // The path is configuration, not a secret; the file's content is never read here.
      report([...authAt, 'cookieFile'], `cookie file ${path} ${problem}`);
      return undefined;
    }
    return { url: bare, credentials: new Credentials({ kind: 'cookie', path }) };
  }

  if (auth.env !== undefined) {
    const value = readVariable(auth.env, [...authAt, 'env'], ctx, report);
    if (value === undefined) return undefined;
    const sep = value.indexOf(':');
    if (sep < 0 || sep === value.length - 1) {
      report([...authAt, 'env'], `environment variable ${auth.env} must hold user:password (with a non-empty password)`);
      return undefined;
    }
    ctx.secrets.add(value.slice(sep + 1));
    return { url: bare, credentials: new Credentials({ kind: 'basic', username: value.slice(0, sep), password: value.slice(sep + 1) }) };
  }

  let ok = true;
  if (auth.usernameEnv === undefined) {
    report([...authAt, 'usernameEnv'], 'required with passwordEnv');
    ok = false;
  }
  if (auth.passwordEnv === undefined) {
    report([...authAt, 'passwordEnv'], 'required with usernameEnv');
    ok = false;
  }
  if (!ok || auth.usernameEnv === undefined || auth.passwordEnv === undefined) return undefined;
  const username = readVariable(auth.usernameEnv, [...authAt, 'usernameEnv'], ctx, report, { allowEmpty: true });
  const password = readVariable(auth.passwordEnv, [...authAt, 'passwordEnv'], ctx, report);
  if (username === undefined || password === undefined) return undefined;
  return { url: bare, credentials: new Credentials({ kind: 'basic', username, password }) };
}

function readVariable(name: string, at: readonly PropertyKey[], ctx: CredentialContext, report: ReportIssue, options: { allowEmpty?: boolean } = {}): string | undefined {
  const value = ctx.env[name];
  if (value === undefined) {
    report(at, `environment variable ${name} is not set`);
    return undefined;
  }
  ctx.secrets.add(value);
  if (value === '' && options.allowEmpty !== true) {
    report(at, `environment variable ${name} is empty`);
    return undefined;
  }
  return value;
}

/** Why a cookie file cannot be used, or undefined. Checked now so a typo fails at start-up, not at the first probe. */
function cookieFileProblem(path: string): string | undefined {
  try {
    if (!statSync(path).isFile()) return 'is not a regular file';
    accessSync(path, constants.R_OK);
    return undefined;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return 'does not exist';
    if (code === 'EACCES' || code === 'EPERM') return 'is not readable by this process';
    if (code === 'ENOTDIR') return 'does not exist (a parent is not a directory)';
    return `cannot be read (${code ?? 'error'})`;
  }
}
