// Splits `user:pass@` out of a node URL into Credentials.
import { Credentials } from './credentials.js';
import { InvalidArgumentError } from '../errors/argument-errors.js';

/**
 * Split `http://user:pass@host/path` into a credential-free URL and `Credentials`.
 * undici (like fetch) refuses URLs with userinfo, and a URL with userinfo must never reach a
 * log line, so this is the one place where it is taken apart. Throws a TypeError that never
 * repeats the input (it may hold a password).
 */
export function splitUrlCredentials(raw: string): { url: string; credentials?: Credentials } {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new InvalidArgumentError('not a valid URL');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    throw new InvalidArgumentError(`unsupported URL scheme ${u.protocol} (use http: or https:)`);
  if (!u.hostname) throw new InvalidArgumentError('URL has no host');
  const username = decodeURIComponent(u.username);
  const password = decodeURIComponent(u.password);
  u.username = '';
  u.password = '';
  const url = u.toString();
  if (!username && !password) return { url };
  return { url, credentials: new Credentials({ kind: 'basic', username, password }) };
}

/** A URL for display: origin and path only, userinfo removed, query kept out (API keys live there). */
export function redactUrl(raw: string): string {
  try {
    const u = new URL(raw);
    return `${u.protocol}//${u.host}${u.pathname === '/' ? '' : u.pathname}`;
  } catch {
    return '[invalid url]';
  }
}
