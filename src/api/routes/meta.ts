// `/livez` and `/readyz`: this process's liveness and readiness.
import { Router } from 'express';
import { buildInfo } from '../../build/build-info.js';
import type { ApiContext } from '../api-context.js';
import { type FastRoute, routePattern } from '../fast-path.js';

const JSON_TYPE = 'application/json; charset=utf-8';

/** Readiness of this process (not of the nodes it watches). Open: orchestrators probe it. */
export function metaRoutes(ctx: ApiContext): Router {
  const router = Router();
  // Ready once the view is loaded and this replica's nodes have each been probed once.
  router.get('/readyz', (_req, res) => {
    const r = ctx.service.ready;
    res
      .status(r.ready ? 200 : 503)
      .set('cache-control', 'no-store')
      .json({
        status: r.ready ? 'ready' : 'not_ready',
        replica: ctx.service.replica,
        role: ctx.service.settings.role,
        store: { kind: ctx.service.store.kind, ...ctx.service.storeStatus },
        view: r.view,
        firstSweep: r.firstSweep,
        nodes: ctx.service.nodes.size,
      });
  });
  return router;
}

/**
 * `/livez`, answered by the fast path in front of express (orchestrators ask it as often as load
 * balancers probe). Alive as long as the event loop answers: a liveness probe must not restart
 * us because a node or Redis is down. GET and HEAD (as express answers HEAD for a GET route);
 * other methods go on to express, which has no such route.
 */
export function livezRoute(ctx: ApiContext): FastRoute {
  const { version, commit } = buildInfo();
  // Everything but the uptime is fixed for the life of the process: render it once.
  const head = JSON.stringify({ status: 'ok', replica: ctx.service.replica, version, commit }).slice(0, -1);
  return {
    template: '/livez',
    pattern: routePattern('/livez'),
    methods: ['GET', 'HEAD'],
    handle(_req, res) {
      const body = `${head},"uptimeS":${Math.round((ctx.now() - ctx.service.startedAt) / 1000)}}`;
      res.writeHead(200, {
        'content-type': JSON_TYPE,
        'content-length': Buffer.byteLength(body),
        'cache-control': 'no-store',
      });
      res.end(body);
      return undefined;
    },
  };
}
