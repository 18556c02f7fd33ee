// The load-balancer probe routes, answered by the fast path in front of express (../fast-path.ts).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ApiContext } from '../api-context.js';
import { apiKeyProblem } from '../auth.js';
import { type FastRoute, routePattern } from '../fast-path.js';
import { nodeAnswerJson } from '../../read/node-answers.js';
import { type ProblemError, problems } from '../problem.js';
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
const PROBE_METHODS = ['GET', 'HEAD', 'OPTIONS'] as const;
/** `x-nodesentry-state` of a 404 for a node or chain that is not configured (a drained node's 404 says `maintenance`). */
const NOT_CONFIGURED = 'not_configured';
/** Rendered chain probe bodies kept per summary (format x min). */
const MAX_CHAIN_BODIES = 16;
/**
 * Every probe answer, problems (400, 401, 403, 404, 405) included, must never be cached by a
 * proxy between the load balancer and nodesentry: on every problem, and in `write`.
 */
const NO_STORE = Object.freeze({ 'cache-control': 'no-store' });

interface ChainAnswer {
  readonly state: ChainProbeState;
  readonly body: string;
  readonly length: number;
}

/**
 * Load-balancer probes: `/probe/nodes/:id`, `/probe/host` (the node named by the Host
 * header) and `/probe/chains/:chain`, for GET, HEAD and
 * OPTIONS alike (HAProxy's default check is `OPTIONS / HTTP/1.0`: it must see the status a GET
 * would); other methods get a 405 with `Allow`, never a 404 (HAProxy's `disable-on-404` would
 * drain). Answers come from the per-node answer cache: no store or node I/O, small bodies
 * (Consul keeps 4 KB), `cache-control: no-store`, the state in `x-nodesentry-state`. Served by
 * the fast path in front of express, never by express. See docs/load-balancers.md for each
 * load balancer's configuration.
 */
export function probeRoutes(ctx: ApiContext): FastRoute[] {
  const answers = ctx.answers;
  const nodeQueries = nodeProbeQueryCache();
  const chainQueries = chainProbeQueryCache();
  const settings = ctx.service.settings;
  // The read model listens to the fleet view to version its per-chain caches: stop with the app.
  ctx.onClose(() => ctx.read.close());
  const guard = settings.protectProbes ? (req: IncomingMessage) => apiKeyProblem(req, settings.apiKey) : undefined;

  const answerNode = (id: string, req: IncomingMessage, res: ServerResponse): ProblemError | undefined => {
    const q = nodeQueries.get(req.url ?? '');
    if (!q.ok) return badQuery(q.errors);
    const o = q.options;
    const now = ctx.now();
    const a = answers.answer(id, now);
    if (a === undefined) {
      res.setHeader('x-nodesentry-state', NOT_CONFIGURED);
      return problems.notFound('node', `no node "${printable(id, 64)}" is configured`);
    }
    const degraded = a.state === 'degraded';
    if (o.format === 'text')
      return write(res, nodeProbeStatus(a.state, o), TEXT_TYPE, a.text, a.textLength, a.state, degraded);
    const body = nodeAnswerJson(a, now);
    return write(res, nodeProbeStatus(a.state, o), JSON_TYPE, body, Buffer.byteLength(body), a.state, degraded);
  };
  // Envoy sends one path for a whole cluster, but a Host per endpoint
  // (`health_check_config.hostname`): the node id, without a port.
  const probeHost = (req: IncomingMessage, res: ServerResponse): ProblemError | undefined => {
    const host = req.headers.host;
    if (host === undefined || host === '')
      return problems.badRequest('send the node id as the Host header (e.g. Envoy health_check_config.hostname)');
    const colon = host.indexOf(':');
    return answerNode(colon < 0 ? host : host.slice(0, colon), req, res);
  };

  // Chain probes answer from the chain's summary (counts by effective health, recomputed only
  // after a change or when a sample crosses its staleness limit: see ReadModel.chainSummary),
  // with the bodies rendered once per summary, format and min.
  const chainBodies = new WeakMap<ChainSummary, Map<string, ChainAnswer>>();
  const probeChain = (req: IncomingMessage, res: ServerResponse, chain: string): ProblemError | undefined => {
    const q = chainQueries.get(req.url ?? '');
    if (!q.ok) return badQuery(q.errors);
    const o = q.options;
    const summary = ctx.read.chainSummary(chain, ctx.now());
    if (summary === undefined) {
      res.setHeader('x-nodesentry-state', NOT_CONFIGURED);
      return problems.notFound('chain', `no configured node serves chain "${printable(chain, 64)}"`);
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
    return write(
      res,
      chainProbeStatus(a.state, o),
      o.format === 'text' ? TEXT_TYPE : JSON_TYPE,
      a.body,
      a.length,
      a.state,
      a.state === 'degraded',
    );
  };

  const route = (template: string, handle: FastRoute['handle']): FastRoute => ({
    template,
    pattern: routePattern(template),
    methods: PROBE_METHODS,
    allow: ALLOW,
    problemHeaders: NO_STORE,
    ...(guard ? { guard } : {}),
    handle,
  });
  return [
    route('/probe/nodes/:id', (req, res, [id]) => answerNode(id!, req, res)),
    route('/probe/host', (req, res) => probeHost(req, res)),
    route('/probe/chains/:chain', (req, res, [chain]) => probeChain(req, res, chain!)),
  ];
}

/** One `writeHead`: the whole header block at once, the body already rendered. */
function write(
  res: ServerResponse,
  status: number,
  type: string,
  body: string,
  length: number,
  state: string,
  degraded: boolean,
): undefined {
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
  return undefined;
}

function chainBody(
  format: ProbeFormat,
  chain: string,
  state: string,
  nodes: number,
  usable: number,
  healthy: number,
  min: number,
): string {
  return format === 'text'
    ? `${state} ${usable}/${nodes} usable, ${healthy} healthy, min ${min}\n`
    : `{"chain":${JSON.stringify(chain)},"state":"${state}","nodes":${nodes},"usable":${usable},"healthy":${healthy},"min":${min}}`;
}
