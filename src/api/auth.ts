// API key and admin token checks, in constant time.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { RequestHandler } from 'express';
import { problems, type ProblemError } from './problem.js';

/**
 * Compare a presented secret with the configured one in constant time: both are hashed first,
 * so neither the content nor the length of the real secret leaks through response timing.
 */
export function secretMatches(presented: string | undefined, expected: string): boolean {
  if (presented === undefined) return false;
  const a = createHash('sha256').update(presented, 'utf8').digest();
  const b = createHash('sha256').update(expected, 'utf8').digest();
  return timingSafeEqual(a, b);
}

function bearer(req: IncomingMessage): string | undefined {
  const h = req.headers.authorization;
  if (typeof h !== 'string') return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
  return m?.[1];
}

/**
 * Admin routes: `Authorization: Bearer <NODESENTRY_ADMIN_TOKEN>`. Without a configured token
 * the admin routes are disabled (403), so a forgotten variable never leaves them open.
 */
export function requireAdmin(token: string | undefined): RequestHandler {
  return (req, _res, next) => {
    if (!token)
      return next(problems.forbidden('admin actions are disabled: set NODESENTRY_ADMIN_TOKEN to enable them'));
    const presented = bearer(req);
    if (presented === undefined) return next(problems.unauthorized('send Authorization: Bearer <admin token>'));
    if (!secretMatches(presented, token)) return next(problems.forbidden('the admin token is not valid'));
    return next();
  };
}

/**
 * Read routes, when NODESENTRY_API_KEY is set: `X-API-Key: <key>` or `Authorization: Bearer <key>`.
 * Without a configured key they are open.
 */
export function requireApiKey(key: string | undefined): RequestHandler {
  return (req, _res, next) => next(apiKeyProblem(req, key));
}

/** The 401/403 problem of a request without the API key `key`, or undefined when it may pass (or no key is set). */
export function apiKeyProblem(req: IncomingMessage, key: string | undefined): ProblemError | undefined {
  if (!key) return undefined;
  const header = req.headers['x-api-key'];
  const presented = (typeof header === 'string' ? header : undefined) ?? bearer(req);
  if (presented === undefined) return problems.unauthorized('send X-API-Key: <key>');
  if (!secretMatches(presented, key)) return problems.forbidden('the API key is not valid');
  return undefined;
}
