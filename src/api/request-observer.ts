// Observes every request for the HTTP metrics (route template, status class, duration).
import type { IncomingMessage } from 'node:http';
import type { RequestHandler } from 'express';
import type { HttpMetrics } from '../metrics/http-metrics.js';

/** The route template express (or the probe fast path) matched, e.g. `/v1/nodes/:id`; `unmatched` when none did. */
export function routeTemplate(req: IncomingMessage): string {
  const path = (req as { route?: { path?: unknown } }).route?.path;
  return typeof path === 'string' ? path : 'unmatched';
}

/** What `req.route` holds for `routeTemplate`: express's matched route, or one of the fast path's. */
export interface RouteRef {
  readonly path: string;
}

/**
 * Name the route of a request the probe fast path answers. It is the field express sets
 * (`req.route`), so the access log names a probe as it did under express. `route`: one object
 * per route, made once, not one per request.
 */
export function setRoute(req: IncomingMessage, route: RouteRef): void {
  (req as { route?: RouteRef }).route = route;
}

/**
 * Times every request to its end ('close' fires for finished and aborted answers alike) and
 * records it by route template. First in express's chain, so it sees every request express
 * gets; the probe fast path times its own (fast-path.ts).
 */
export function observeRequests(metrics: HttpMetrics): RequestHandler {
  return (req, res, next) => {
    const start = process.hrtime.bigint();
    res.once('close', () => {
      metrics.observe(req.method, routeTemplate(req), res.statusCode, Number(process.hrtime.bigint() - start) / 1e9);
    });
    next();
  };
}
