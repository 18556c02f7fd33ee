// The app factory (no listen): the probe fast path, then express with its middleware and routers in hot-path order.
import type { RequestListener } from 'node:http';
import compression from 'compression';
import express, { type Express, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import { FleetMetrics } from '../metrics/fleet-metrics.js';
import { HttpMetrics } from '../metrics/http-metrics.js';
import { ProxyMetrics } from '../proxy/proxy-metrics.js';
import { accessLogger, isProbePath, middlewareOf } from './access-log.js';
import type { ApiContext, ApiService, ReloadOutcome } from './api-context.js';
import { fastPath, type FastRoute } from './fast-path.js';
import { errorHandler, notFoundHandler } from './problem.js';
import { BestNodeResolver } from '../read/best-node.js';
import { NodeAnswers } from '../read/node-answers.js';
import { ReadModel } from '../read/read-model.js';
import { observeRequests } from './request-observer.js';
import { adminRoutes } from './routes/admin.js';
import { bestRoute, chainsRoutes } from './routes/chains.js';
import { eventsRoutes } from './routes/events.js';
import { livezRoute, metaRoutes } from './routes/meta.js';
import { metricsRoutes } from './routes/metrics.js';
import { nodesRoutes } from './routes/nodes.js';
import { openapiRoutes } from './routes/openapi.js';
import { probeRoutes } from './routes/probes.js';
import { rpcRoutes } from './routes/rpc.js';
import { transitionsRoutes } from './routes/transitions.js';
import { uiRoutes } from './routes/ui.js';

export interface AppDeps {
  readonly service: ApiService;
  readonly logger?: Logger;
  readonly now?: () => number;
  readonly reload?: (by: string) => Promise<ReloadOutcome>;
}

export interface App {
  /**
   * The request listener to serve (`http.createServer(app)`): the probes and `/livez` answered
   * by the fast path, everything else by express.
   */
  readonly app: RequestListener;
  /** The express app behind it (every route but the fast path's). */
  readonly express: Express;
  /** The routes the fast path answers, in front of express. */
  readonly fastRoutes: readonly FastRoute[];
  /** The app's one answer cache: the agent-check port answers from it too (http-server). */
  readonly answers: NodeAnswers;
  /** Close open streams (SSE) so the HTTP server can finish; safe twice. */
  close(): void;
}

/**
 * The app (no listen). Routes only translate HTTP to and from the read model and the service;
 * every answer comes from memory. Load-balancer probes and `/livez`, most of the traffic, are
 * answered by a plain node:http handler in front of express (./fast-path.ts): through express
 * they ran at a fraction of what Node can serve (bench/RESULTS.md, issue #17).
 */
export function createApp(deps: AppDeps): App {
  const closers: Array<() => void> = [];
  const logger = deps.logger ?? deps.service.logger;
  // One read model, one answer cache, one resolver and one set of proxy counters per app: every face shares them.
  const read = new ReadModel(deps.service);
  const answers = new NodeAnswers(read);
  const ctx: ApiContext = {
    service: deps.service,
    read,
    answers,
    best: new BestNodeResolver(read, answers),
    proxyMetrics: new ProxyMetrics(),
    logger,
    now: deps.now ?? Date.now,
    ...(deps.reload ? { reload: deps.reload } : {}),
    onClose: (fn) => closers.push(fn),
  };
  const metrics = new FleetMetrics({ read: ctx.read, best: ctx.best, service: deps.service, now: ctx.now });
  closers.push(() => metrics.close());
  const httpMetrics = new HttpMetrics(metrics.registry);
  const settings = deps.service.settings;
  const logRequest = settings.accessLog ? accessLogger({ logger, probeSample: settings.accessLogProbes }) : undefined;
  const onError = (err: unknown, method: string, path: string): void =>
    logger.error(
      { err: err instanceof Error ? { name: err.name, message: err.message } : String(err), method, path },
      'unexpected error in a request',
    );
  // Probes are never compressed (small bodies, written in one go; load balancers rarely ask for
  // gzip), and never go through express: the fast path answers them with the same metrics,
  // access log and problems.
  const rpc = rpcRoutes(ctx);
  const fastRoutes = [...probeRoutes(ctx), livezRoute(ctx), bestRoute(ctx), ...rpc.fastRoutes];
  const fast = fastPath(fastRoutes, { metrics: httpMetrics, log: logRequest, onError });
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.set('query parser', 'simple');
  app.use(observeRequests(httpMetrics));
  // The same logger as the fast path's: one sequence of request ids for both.
  if (logRequest) app.use(middlewareOf(logRequest));
  // The proxy's other methods (405); its POSTs and the best-node lookups are on the fast path.
  app.use(rpc.router);
  // Everything after this may be compressed (JSON, the dashboard, /metrics), but event streams
  // (a compressor would hold their events back) and /readyz.
  app.use(compression({ filter: compressible }));
  app.use(chainsRoutes(ctx));
  app.use(metaRoutes(ctx));
  app.use(metricsRoutes(ctx, metrics));
  app.use(openapiRoutes(ctx));
  app.use(nodesRoutes(ctx));
  app.use(transitionsRoutes(ctx));
  app.use(eventsRoutes(ctx));
  app.use(adminRoutes(ctx));
  app.use(uiRoutes(ctx));
  app.use(notFoundHandler);
  app.use(errorHandler(onError));
  const listener: RequestListener = (req, res) => {
    if (!fast(req, res)) app(req, res);
  };
  let closed = false;
  return {
    app: listener,
    express: app,
    fastRoutes,
    answers,
    close() {
      if (closed) return;
      closed = true;
      for (const fn of closers) fn();
    },
  };
}

function compressible(req: Request, res: Response): boolean {
  if (isProbePath(req.url)) return false;
  const type = res.getHeader('content-type');
  if (typeof type === 'string' && type.startsWith('text/event-stream')) return false;
  return compression.filter(req, res);
}
