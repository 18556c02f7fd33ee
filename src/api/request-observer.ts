// Observes every request for the HTTP metrics (route template, status class, duration).
import type { Request, RequestHandler } from 'express';
import type { HttpMetrics } from '../metrics/http-metrics.js';

/** The route template express matched, e.g. `/v1/nodes/:id`; `unmatched` when none did. */
export function routeTemplate(req: Request): string {
  const path = (req.route as { path?: unknown } | undefined)?.path;
  return typeof path === 'string' ? path : 'unmatched';
}

/**
 * Times every request to its end ('close' fires for finished and aborted answers alike) and
 * records it by route template. First in the chain, so it sees the probes too.
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
