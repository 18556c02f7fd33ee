// The access log: one line per request, probes sampled.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestHandler } from 'express';
import type { Logger } from 'pino';
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
 * One line per request when it ends: method, path, route template, status, time, request id
 * (the caller's `x-request-id` when it is a plain token, else a new one, echoed back). Only
 * those fields: never a header (API keys, tokens, cookies), and the path without its query
 * string (a client may put anything there, a password included). Probes get no line unless
 * sampled. Level by status: 500 and other 5xx error; 503 (not ready, store away: answers by
 * design) and 4xx warn; else info.
 *
 * The line has the shape pino-http gave it (`reqId`, `req`, `res`, `responseTime`, `route`),
 * but it is built here: pino-http made two child loggers per request (serialising the request
 * into each) even when the level dropped the line, about a tenth of an `/rpc` call's CPU in
 * the proxy benchmark. Here a request costs one id, three listeners and, at its end, one call
 * to the logger when its level is enabled.
 */
/** `log` (an accessLogger) as express middleware: one logger, and one id sequence, for both faces. */
export function middlewareOf(log: (req: IncomingMessage, res: ServerResponse) => void): RequestHandler {
  return (req, res, next) => {
    log(req, res);
    next();
  };
}

type Level = 'error' | 'warn' | 'info';

function levelOf(status: number, failed: boolean): Level {
  if (failed && status < 500) return 'error';
  if (status >= 500 && status !== 503) return 'error';
  return status >= 400 ? 'warn' : 'info';
}

/**
 * The log without express, for the fast path: call it when a request arrives. `sampled`
 * (default: a probe path): only a `probeSample` share get a line. The fast path samples its
 * probes and `/v1/chains/:chain/best` (asked as often by backends), not the proxy's calls.
 */
export function accessLogger(
  opts: AccessLogOptions,
): (req: IncomingMessage, res: ServerResponse, sampled?: boolean) => void {
  const { logger } = opts;
  const random = opts.random ?? Math.random;
  const prefix = `${process.pid.toString(36)}-`;
  let next = 0;
  return (req, res, sampled = isProbePath(req.url ?? '')) => {
    if (sampled && !(opts.probeSample > 0 && random() < opts.probeSample)) return;
    const given = req.headers['x-request-id'];
    const id = typeof given === 'string' && REQUEST_ID.test(given) ? given : prefix + (next++).toString(36);
    res.setHeader('x-request-id', id);
    const start = Date.now();
    // As the request arrived: express rewrites `req.url` inside mounted routers.
    const method = req.method ?? '';
    const url = pathOf(req.url ?? '');
    const remoteAddress = req.socket?.remoteAddress;
    // The first of 'finish' (answered), 'close' (answered or aborted) and 'error' ends it.
    const done = (err?: unknown): void => {
      res.removeListener('finish', done);
      res.removeListener('close', done);
      res.removeListener('error', done);
      const status = res.statusCode;
      const level = levelOf(status, err !== undefined);
      if (!logger.isLevelEnabled(level)) return;
      const route = routeTemplate(req);
      const ms = Date.now() - start;
      logger[level](
        { reqId: id, req: { id, method, url, remoteAddress }, res: { statusCode: status }, responseTime: ms, route },
        err !== undefined || status >= 500
          ? `${method} ${route} ${status}`
          : `${method} ${route} ${status} ${Math.round(ms)} ms`,
      );
    };
    res.on('finish', done);
    res.on('close', done);
    res.on('error', done);
  };
}

function pathOf(url: string): string {
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  return path.length > MAX_URL ? `${path.slice(0, MAX_URL)}...` : path;
}
