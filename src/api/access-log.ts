// The access log: one line per request, probes sampled.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestHandler } from 'express';
import type { Logger } from 'pino';
import { pinoHttp } from 'pino-http';
import { routeTemplate } from './request-observer.js';

export interface AccessLogOptions {
  readonly logger: Logger;
  /** Share of probe requests (load balancers' /probe/..., orchestrators' /livez and /readyz) logged, 0..1. */
  readonly probeSample: number;
  /** Random source for the sample (tests pass a fixed one). Default Math.random. */
  readonly random?: () => number;
}

// Case-insensitive like express's routing (`/READYZ` reaches the readiness route).
const PROBE_PATH = /^\/(?:probe\/|livez|readyz)/i;
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;
const MAX_URL = 300;

/** Load-balancer and orchestrator probes: most of the traffic, and each one alike. */
export function isProbePath(url: string): boolean {
  return PROBE_PATH.test(url);
}

/**
 * One line per request when it ends (pino-http): method, path, route template, status, time,
 * request id (the caller's `x-request-id` when it is a plain token, else a new one, echoed
 * back). Only those fields: never a header (API keys, tokens, cookies), and the path without
 * its query string (a client may put anything there, a password included). Probes get
 * no line unless sampled, and skip pino-http entirely (no child logger on the hot path).
 * Level by status: 500 and other 5xx error; 503 (not ready, store away: answers by design) and
 * 4xx warn; else info. pino-http's made-up error for a 5xx ("failed with status code") is dropped:
 * the status says it, and a stack trace of pino-http's own code helps nobody.
 */
export function accessLog(opts: AccessLogOptions): RequestHandler {
  const log = accessLogger(opts);
  return (req, res, next) => {
    log(req, res);
    next();
  };
}

/**
 * The same log without express, for the fast path: call it when a request arrives. `sampled`
 * (default: a probe path): only a `probeSample` share get a line. The fast path samples its
 * probes and `/v1/chains/:chain/best` (asked as often by backends), not the proxy's calls.
 */
export function accessLogger(
  opts: AccessLogOptions,
): (req: IncomingMessage, res: ServerResponse, sampled?: boolean) => void {
  const random = opts.random ?? Math.random;
  let next = 0;
  const http = pinoHttp<IncomingMessage, ServerResponse>({
    logger: opts.logger,
    quietReqLogger: true,
    genReqId(req, res) {
      const given = req.headers['x-request-id'];
      const id =
        typeof given === 'string' && REQUEST_ID.test(given)
          ? given
          : `${process.pid.toString(36)}-${(next++).toString(36)}`;
      res.setHeader('x-request-id', id);
      return id;
    },
    serializers: {
      req: (req: { id: unknown; method: string; url: string; remoteAddress?: string }) => ({
        id: req.id,
        method: req.method,
        url: pathOf(req.url),
        remoteAddress: req.remoteAddress,
      }),
      res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
    },
    customLogLevel: (_req, res, err) =>
      err && res.statusCode < 500
        ? 'error'
        : res.statusCode >= 500 && res.statusCode !== 503
          ? 'error'
          : res.statusCode >= 400
            ? 'warn'
            : 'info',
    customSuccessMessage: (req, res, ms) =>
      `${req.method} ${routeTemplate(req)} ${res.statusCode} ${Math.round(ms)} ms`,
    customErrorMessage: (req, res) => `${req.method} ${routeTemplate(req)} ${res.statusCode}`,
    customSuccessObject: (req, _res, val: Record<string, unknown>) => ({ ...val, route: routeTemplate(req) }),
    customErrorObject: (req, _res, _err, val: Record<string, unknown>) => {
      const { err: _made_up, ...rest } = val;
      return { ...rest, route: routeTemplate(req) };
    },
  });
  return (req, res, sampled = isProbePath(req.url ?? '')) => {
    if (sampled && !(opts.probeSample > 0 && random() < opts.probeSample)) return;
    http(req, res);
  };
}

function pathOf(url: string): string {
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  return path.length > MAX_URL ? `${path.slice(0, MAX_URL)}...` : path;
}
