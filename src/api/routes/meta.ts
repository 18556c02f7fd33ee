// `/livez` and `/readyz`: this process's liveness and readiness.
import { Router } from 'express';
import { buildInfo } from '../../build/build-info.js';
import type { ApiContext } from '../api-context.js';

/** Liveness and readiness of this process (not of the nodes it watches). Open: orchestrators probe them. */
export function metaRoutes(ctx: ApiContext): Router {
  const router = Router();
  // Alive as long as the event loop answers: a liveness probe must not restart us because a
  // node or Redis is down.
  const { version, commit } = buildInfo();
  router.get('/livez', (_req, res) => {
    res.set('cache-control', 'no-store').json({ status: 'ok', replica: ctx.service.replica, version, commit, uptimeS: Math.round((ctx.now() - ctx.service.startedAt) / 1000) });
  });
  // Ready once the view is loaded and this replica's nodes have each been probed once.
  router.get('/readyz', (_req, res) => {
    const r = ctx.service.ready;
    res
      .status(r.ready ? 200 : 503)
      .set('cache-control', 'no-store')
      .json({ status: r.ready ? 'ready' : 'not_ready', replica: ctx.service.replica, role: ctx.service.settings.role, store: { kind: ctx.service.store.kind, ...ctx.service.storeStatus }, view: r.view, firstSweep: r.firstSweep, nodes: ctx.service.nodes.size });
  });
  return router;
}
