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
    res.status(200).setHeader('cache-control', 'no-store');
    res.type(metrics.contentType);
    // Each part as it is made, once the one before has left (a write that fills the socket's
    // buffer waits for 'drain'): at 100,000 nodes the text is ~80 MB; sent in one piece it was
    // encoded in one go (~160 ms of one task), and held whole it cost GC pauses.
    // One 'drain' listener for the whole response, waking whichever write waits: with gzip the
    // compression middleware hands 'drain' listeners to its stream, where neither res.off nor
    // once's wrapper (it removes itself from res) reach them, so a listener per wait piled up
    // (101 at 30,000 nodes; Node warned past 10).
    let waiting: (() => void) | undefined;
    const wake = (): void => {
      const w = waiting;
      waiting = undefined;
      w?.();
    };
    res.on('drain', wake);
    res.on('close', wake);
    const emit = async (part: string): Promise<void> => {
      if (res.destroyed || res.write(part)) return;
      await new Promise<void>((resolve) => (waiting = resolve));
    };
    await metrics.scrape(emit);
    await emit(await proxy.registry.metrics());
    res.end();
  });
  return router;
}
