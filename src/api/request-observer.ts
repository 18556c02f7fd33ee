// Observes every request for the HTTP metrics (route template, status class, duration).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestHandler } from 'express';
import type { HttpMetrics } from '../metrics/http-metrics.js';

/** The route template express (or the probe fast path) matched, e.g. `/v1/nodes/:id`; `unmatched` when none did. */
export function routeTemplate(req: IncomingMessage): string {
  const path = (req as { route?: { path?: unknown } }).route?.path;
  return typeof path === 'string' ? path : 'unmatched';
}

/**
 * Name the route of a request the probe fast path answers. It is the field express sets
 * (`req.route.path`), so the metrics and the access log name a probe as they did under express.
 */
export function setRouteTemplate(req: IncomingMessage, template: string): void {
  (req as { route?: { path: string } }).route = { path: template };
}

/**
 * Times a request to its end ('close' fires for finished and aborted answers alike) and records
 * it by route template, read at the end (the route is known only once one matched).
 */
export function observeRequest(metrics: HttpMetrics, req: IncomingMessage, res: ServerResponse): void {
  const start = process.hrtime.bigint();
  res.once('close', () => {
    metrics.observe(req.method ?? 'other', routeTemplate(req), res.statusCode, Number(process.hrtime.bigint() - start) / 1e9);
  });
}

/** `observeRequest` as express middleware: first in the chain, so it sees every request express gets. */
export function observeRequests(metrics: HttpMetrics): RequestHandler {
  return (req, res, next) => {
    observeRequest(metrics, req, res);
    next();
  };
}
