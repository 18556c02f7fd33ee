import { type NextFunction, type Request, type RequestHandler, type Response, Router } from 'express';
import type { ApiContext } from '../api-context.js';
import { requireApiKey } from '../auth.js';
import { nodeAnswerJson } from '../../read/node-answers.js';
import { ProblemError, problems } from '../problem.js';
import {
  chainProbeQueryCache,
  chainProbeState,
  chainProbeStatus,
  nodeProbeQueryCache,
  nodeProbeStatus,
  type ChainProbeState,
  type ProbeFormat,
} from '../probe-dialect.js';
import { badQuery } from '../query.js';
import { printable } from '../../read/printable.js';
import type { ChainSummary } from '../../read/read-model.js';

const JSON_TYPE = 'application/json; charset=utf-8';
const TEXT_TYPE = 'text/plain; charset=utf-8';
const ALLOW = 'GET, HEAD, OPTIONS';
/** `x-nodesentry-state` of a 404 for a node or chain that is not configured (a drained node's 404 says `maintenance`). */
const NOT_CONFIGURED = 'not_configured';
/** Rendered chain probe bodies kept per summary (format x min). */
const MAX_CHAIN_BODIES = 16;

interface ChainAnswer {
  readonly state: ChainProbeState;
  readonly body: string;
  readonly length: number;
}

/**
 * Load-balancer probes: `/probe/nodes/:id`, `/probe/host` (the node named by the Host
 * header) and `/probe/chains/:chain`, for GET, HEAD and
 * OPTIONS alike (HAProxy's default check is `OPTIONS / HTTP/1.0`: it must see the status a GET
 * would). Answers come from the per-node answer cache: no store or node I/O, small bodies
 * (Consul keeps 4 KB), `cache-control: no-store`, the state in `x-nodesentry-state`. See
 * docs/load-balancers.md for each load balancer's configuration.
 */
export function probesRoutes(ctx: ApiContext): Router {
  const router = Router();
  const answers = ctx.answers;
  const nodeQueries = nodeProbeQueryCache();
  const chainQueries = chainProbeQueryCache();
  const settings = ctx.service.settings;
  // The read model listens to the fleet view to version its per-chain caches: stop with the app.
  ctx.onClose(() => ctx.read.close());
  const guard: RequestHandler[] = settings.protectProbes ? [requireApiKey(settings.apiKey)] : [];

  const answerNode = (id: string, req: Request, res: Response, next: NextFunction): void => {
    const q = nodeQueries.get(req.url);
    if (!q.ok) return next(badQuery(q.errors));
    const o = q.options;
    const now = ctx.now();
    const a = answers.answer(id, now);
    if (a === undefined) {
      res.setHeader('x-nodesentry-state', NOT_CONFIGURED);
      return next(problems.notFound('node', `no node "${printable(id, 64)}" is configured`));
    }
    const degraded = a.state === 'degraded';
    if (o.format === 'text') return write(res, nodeProbeStatus(a.state, o), TEXT_TYPE, a.text, a.textLength, a.state, degraded);
    const body = nodeAnswerJson(a, now);
    return write(res, nodeProbeStatus(a.state, o), JSON_TYPE, body, Buffer.byteLength(body), a.state, degraded);
  };
  const probeNode: RequestHandler = (req, res, next) => answerNode(req.params.id as string, req, res, next);
  // Envoy sends one path for a whole cluster, but a Host per endpoint
  // (`health_check_config.hostname`): the node id, without a port.
  const probeHost: RequestHandler = (req, res, next) => {
    const host = req.headers.host;
    if (host === undefined || host === '') return next(problems.badRequest('send the node id as the Host header (e.g. Envoy health_check_config.hostname)'));
    const colon = host.indexOf(':');
    return answerNode(colon < 0 ? host : host.slice(0, colon), req, res, next);
  };

  // Chain probes answer from the chain's summary (counts by effective health, recomputed only
  // after a change or when a sample crosses its staleness limit: see ReadModel.chainSummary),
  // with the bodies rendered once per summary, format and min.
  const chainBodies = new WeakMap<ChainSummary, Map<string, ChainAnswer>>();
  const probeChain: RequestHandler = (req, res, next) => {
    const q = chainQueries.get(req.url);
    if (!q.ok) return next(badQuery(q.errors));
    const o = q.options;
    const chain = req.params.chain as string;
    const summary = ctx.read.chainSummary(chain, ctx.now());
    if (summary === undefined) {
      res.setHeader('x-nodesentry-state', NOT_CONFIGURED);
      return next(problems.notFound('chain', `no configured node serves chain "${printable(chain, 64)}"`));
    }
    const min = o.min ?? settings.chainMinHealthy;
    let bodies = chainBodies.get(summary);
    if (bodies === undefined) chainBodies.set(summary, (bodies = new Map()));
    const key = `${o.format}${min}`;
    let a = bodies.get(key);
    if (a === undefined) {
      const state = chainProbeState(summary.counts.healthy, summary.usable, min);
      const body = chainBody(o.format, chain, state, summary.nodes.length, summary.usable, summary.counts.healthy, min);
      a = { state, body, length: Buffer.byteLength(body) };
      // `min` comes from the query: keep a few, not one per value a client may try.
      if (bodies.size < MAX_CHAIN_BODIES) bodies.set(key, a);
    }
    return write(res, chainProbeStatus(a.state, o), o.format === 'text' ? TEXT_TYPE : JSON_TYPE, a.body, a.length, a.state, a.state === 'degraded');
  };

  const notAllowed: RequestHandler = (req, res, next) => {
    res.setHeader('allow', ALLOW);
    next(new ProblemError({ status: 405, code: 'method_not_allowed', title: 'method not allowed', detail: `${printable(req.method, 16)} is not allowed here; use ${ALLOW}` }));
  };

  // Every probe answer, problems (400, 401, 403, 404, 405) included, must never be cached by a
  // proxy between the load balancer and nodesentry: set before any handler can fail.
  const noStore: RequestHandler = (_req, res, next) => {
    res.setHeader('cache-control', 'no-store');
    next();
  };
  for (const [path, handler] of [['/probe/nodes/:id', probeNode], ['/probe/host', probeHost], ['/probe/chains/:chain', probeChain]] as const) {
    router
      .route(path)
      .all(noStore)
      .get(...guard, handler)
      .head(...guard, handler)
      .options(...guard, handler)
      .all(notAllowed);
  }
  return router;
}

/** Written straight to the socket: express's `send` would re-detect types and hash for an ETag. */
function write(res: Response, status: number, type: string, body: string, length: number, state: string, degraded: boolean): void {
  res.writeHead(status, {
    'content-type': type,
    'content-length': length,
    'cache-control': 'no-store',
    'x-nodesentry-state': state,
    // Envoy's health checker marks a host degraded on this header (with a 200).
    ...(degraded ? { 'x-envoy-degraded': 'true' } : {}),
  });
  // Node drops the body of a HEAD answer itself; the length above stays what a GET would get.
  res.end(body);
}

function chainBody(format: ProbeFormat, chain: string, state: string, nodes: number, usable: number, healthy: number, min: number): string {
  return format === 'text'
    ? `${state} ${usable}/${nodes} usable, ${healthy} healthy, min ${min}\n`
    : `{"chain":${JSON.stringify(chain)},"state":"${state}","nodes":${nodes},"usable":${usable},"healthy":${healthy},"min":${min}}`;
}
