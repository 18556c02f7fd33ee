/** Credentials (this tab only, sessionStorage) and calls to the nodesentry API. */
import { REQUEST_TIMEOUT_MS } from './constants.js';
import { $ } from './dom.js';
import { hooks } from './state.js';

export interface Creds {
  apiKey: string;
  admin: string;
  operator: string;
}
export const KEYS: Readonly<Record<keyof Creds, string>> = {
  apiKey: 'nodesentry.apiKey',
  admin: 'nodesentry.adminToken',
  operator: 'nodesentry.operator',
};
export function load(k: string): string {
  try {
    return sessionStorage.getItem(k) || '';
  } catch (e) {
    return '';
  }
}
export function save(k: string, v: string): void {
  try {
    if (v) sessionStorage.setItem(k, v);
    else sessionStorage.removeItem(k);
  } catch (e) {
    /* memory only */
  }
}
export const creds: Creds = { apiKey: load(KEYS.apiKey), admin: load(KEYS.admin), operator: load(KEYS.operator) };
export function setCreds(next: Partial<Creds>): void {
  const keyChanged = next.apiKey !== undefined && next.apiKey !== creds.apiKey;
  for (const k of Object.keys(next) as (keyof Creds)[]) {
    const v = next[k];
    if (v === undefined) continue;
    creds[k] = v;
    save(KEYS[k], v);
  }
  $('api-key').value = creds.apiKey;
  $('admin-token').value = creds.admin;
  $('d-token').value = creds.admin;
  $('operator').value = creds.operator;
  hooks.renderActions();
  if (keyChanged) {
    void hooks.refresh();
    hooks.restartStream();
  }
}

export class ApiError extends Error {
  readonly status: number;
  readonly problem: { detail?: string; title?: string } | null;
  constructor(status: number, problem: ApiError['problem'], message: string) {
    super(message);
    this.status = status;
    this.problem = problem;
  }
}
/** The HTTP status of a failed call (0: no answer); undefined for any other error. */
export const statusOf = (e: unknown): number | undefined => (e instanceof ApiError ? e.status : undefined);
export const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/**
 * One call; the answer is `T`, one of the shapes in types.ts (what the server's schema for that
 * route promises; not re-validated here). A failure throws an ApiError.
 */
export async function api<T>(path: string, opts?: { admin?: boolean; method?: string; body?: unknown }): Promise<T> {
  opts = opts || {};
  const headers: Record<string, string> = { accept: 'application/json' };
  if (creds.apiKey) headers['x-api-key'] = creds.apiKey;
  if (opts.admin) {
    headers.authorization = 'Bearer ' + creds.admin;
    if (creds.operator) headers['x-operator'] = creds.operator;
  }
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(path, {
      method: opts.method || 'GET',
      headers,
      body: opts.body === undefined ? null : JSON.stringify(opts.body),
      cache: 'no-store',
      credentials: 'omit',
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  } catch (e) {
    throw new ApiError(
      0,
      null,
      (e as { name?: unknown } | null)?.name === 'TimeoutError'
        ? 'nodesentry did not answer in time'
        : 'cannot reach nodesentry',
    );
  }
  let body: unknown = null;
  try {
    body = await res.json();
  } catch (e) {
    body = null;
  }
  if (!res.ok) {
    const p = body && typeof body === 'object' ? (body as ApiError['problem']) : null;
    throw new ApiError(res.status, p, (p && (p.detail || p.title)) || 'HTTP ' + res.status);
  }
  return body as T;
}
export const nodePath = (id: string, rest?: string): string => '/v1/nodes/' + encodeURIComponent(id) + (rest || '');
