// `GET /metrics` for Prometheus.
import { Router } from 'express';
import type { FleetMetrics } from '../../metrics/fleet-metrics.js';
import type { ApiContext } from '../api-context.js';
import { requireApiKey } from '../auth.js';

/**
 * `GET /metrics` for Prometheus, with the read routes' API key when one is set (Prometheus
 * sends it with `authorization: { credentials: ... }`). One registry per app (createApp makes it:
 * the request metrics observe every route into it).
 */
export function metricsRoutes(ctx: ApiContext, metrics: FleetMetrics): Router {
  const router = Router();
  const proxy = ctx.proxyMetrics;
  router.get('/metrics', requireApiKey(ctx.service.settings.apiKey), async (_req, res) => {
    const text = `${await metrics.scrape()}${await proxy.registry.metrics()}`;
    res.status(200).setHeader('cache-control', 'no-store');
    res.type(metrics.contentType).send(text);
  });
  return router;
}
