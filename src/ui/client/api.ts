/** Credentials (this tab only, sessionStorage) and calls to the nodesentry API. */
import { REQUEST_TIMEOUT_MS, $ } from './constants.js';
import { hooks } from './state.js';

export const KEYS = { apiKey: 'nodesentry.apiKey', admin: 'nodesentry.adminToken', operator: 'nodesentry.operator' };
export function load(k) { try { return sessionStorage.getItem(k) || ''; } catch (e) { return ''; } }
export function save(k, v) { try { if (v) sessionStorage.setItem(k, v); else sessionStorage.removeItem(k); } catch (e) { /* memory only */ } }
export const creds = { apiKey: load(KEYS.apiKey), admin: load(KEYS.admin), operator: load(KEYS.operator) };
export function setCreds(next) {
  const keyChanged = next.apiKey !== undefined && next.apiKey !== creds.apiKey;
  for (const k of Object.keys(next)) { creds[k] = next[k]; save(KEYS[k], next[k]); }
  $('api-key').value = creds.apiKey;
  $('admin-token').value = creds.admin;
  $('d-token').value = creds.admin;
  $('operator').value = creds.operator;
  hooks.renderActions();
  if (keyChanged) { void hooks.refresh(); hooks.restartStream(); }
}

export class ApiError extends Error {
  readonly status: number;
  readonly problem: { detail?: string; title?: string } | null;
  constructor(status: number, problem: ApiError['problem'], message: string) { super(message); this.status = status; this.problem = problem; }
}
export async function api(path: string, opts?: { admin?: boolean; method?: string; body?: unknown }) {
  opts = opts || {};
  const headers: Record<string, string> = { accept: 'application/json' };
  if (creds.apiKey) headers['x-api-key'] = creds.apiKey;
  if (opts.admin) {
    headers.authorization = 'Bearer ' + creds.admin;
    if (creds.operator) headers['x-operator'] = creds.operator;
  }
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  let res;
  try {
    res = await fetch(path, { method: opts.method || 'GET', headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body), cache: 'no-store', credentials: 'omit', signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  } catch (e) {
    throw new ApiError(0, null, e && e.name === 'TimeoutError' ? 'nodesentry did not answer in time' : 'cannot reach nodesentry');
  }
  let body = null;
  try { body = await res.json(); } catch (e) { body = null; }
  if (!res.ok) {
    const p = body && typeof body === 'object' ? body : null;
    throw new ApiError(res.status, p, (p && (p.detail || p.title)) || 'HTTP ' + res.status);
  }
  return body;
}
export const nodePath = (id: string, rest?: string) => '/v1/nodes/' + encodeURIComponent(id) + (rest || '');
