// Chain routes for operators and backends: the chains, their ranking, the best node to use now.
import type { IncomingMessage } from 'node:http';
import { type Request, type Response, Router } from 'express';
import { TAG_PATTERN } from '../../config/nodes-file-schema.js';
import type { RankedNode } from '../../health/ranking.js';
import type { HealthPolicy } from '../../health/policy.js';
import type { Selection } from '../../health/selection.js';
import type { HealthState } from '../../health/states.js';
import type { ApiContext } from '../api-context.js';
import { apiKeyProblem, requireApiKey } from '../auth.js';
import { type RenderedAnswer, writeAnswer } from '../compressed-answer.js';
import { type FastRoute, routePattern } from '../fast-path.js';
import { ProbeQueryCache } from '../probe-dialect.js';
import type { BestNode, RankedChain, TopNode } from '../../read/best-node.js';
import { ProblemError, problems } from '../problem.js';
import { printable } from '../../read/printable.js';
import { badQuery, QueryReader } from '../query.js';

const MAX_TOP = 100;
const JSON_TYPE = 'application/json; charset=utf-8';
const PROBLEM_TYPE = 'application/problem+json; charset=utf-8';
const TAG = {
  maxLength: 64,
  pattern: TAG_PATTERN,
  describe: 'must be a node tag: 1-64 letters, digits or . _ : = / -, starting with a letter or digit',
};

/**
 * What backends ask: the chains, their ranking, and the endpoint to use now. Behind the API key
 * (when one is set). Every answer is computed from memory at request time.
 */
export function chainsRoutes(ctx: ApiContext): Router {
  const router = Router();
  const resolver = ctx.best;
  const guard = requireApiKey(ctx.service.settings.apiKey);

  router.get('/v1/chains', guard, (req, res) => {
    new QueryReader(req.url, []).done();
    const now = ctx.now();
    const chains = ctx.read.chainNames().map((name) => {
      const best = resolver.resolve(name, now)!;
      // The counts come from the chain's cached summary: a walk over the chain only after a change.
      const summary = ctx.read.chainSummary(name, now)!;
      const report = best.report;
      const nodes = summary.nodes;
      const reportAgeMs = report === undefined ? null : Math.max(0, now - report.evaluatedAt);
      return {
        chain: name,
        family: nodes[0]!.chain.family,
        nodes: nodes.length,
        usable: summary.usable,
        counts: { ...summary.counts },
        // The head with its evidence: who voted, how many had to agree, how far apart they were,
        // and what it rests on (advancing nodes, unproven ones at start-up, or a halt).
        reference:
          report === undefined
            ? null
            : pick(report.reference, [
                'height',
                'contributors',
                'quorum',
                'highest',
                'atMs',
                'basis',
                'lowest',
                'spread',
                'eligible',
                'stalled',
                'excluded',
                'voters',
                'haltedForMs',
              ]),
        best: {
          nodeId: best.selection.nodeId,
          url: urlOf(ctx, best.selection.nodeId),
          mode: best.selection.mode,
          degradedChoice: best.selection.degradedChoice,
          reason: best.selection.reason,
          since: best.selection.since,
          source: best.source,
        },
        evaluatedAt: report?.evaluatedAt ?? null,
        reportAgeMs,
        reportFresh: reportAgeMs !== null && reportAgeMs <= ctx.read.sharedFreshMs(name)!,
      };
    });
    send(res, 200, { at: now, chains });
  });

  router.get('/v1/chains/:chain/ranking', guard, (req, res) => {
    const q = new QueryReader(req.url, ['tag']);
    const tag = q.string('tag', TAG);
    q.done();
    const best = resolve(req, tag ?? null);
    const now = best.now;
    const ranked = resolver.ranking(best.chain, now, best.tag)!;
    send(res, 200, {
      chain: best.chain,
      tag: best.tag,
      at: now,
      best: best.selection.nodeId,
      mode: best.selection.mode,
      source: best.source,
      nodes: ranked.ranking.map((r) => rankedNode(ranked, best.selection, r, now)),
    });
  });

  const bestOf = bestAnswers(ctx);
  // Answered by the fast path in front of express (bestRoute): this route stays for what the
  // fast path hands on, and as the reference the parity tests compare the fast path with.
  router.get('/v1/chains/:chain/best', guard, (req, res) => {
    const a = bestOf(req.params.chain as string, req.url);
    if (a instanceof ProblemError) throw a;
    res.writeHead(a.status, a.headers);
    res.end(a.body);
  });

  /** Re-evaluated per request with the request's clock; `now` rides along for the answer. */
  function resolve(req: Request, tag: string | null): BestNode & { now: number } {
    const chain = req.params.chain as string;
    const nodes = ctx.read.chainNodes(chain);
    if (nodes === undefined)
      throw problems.notFound('chain', `no configured node serves chain "${printable(chain, 64)}"`);
    if (tag !== null && !ctx.read.chainHasTag(chain, tag))
      throw problems.notFound('tag', `no node of chain ${chain} has tag "${tag}"`);
    const now = ctx.now();
    return { ...resolver.resolve(chain, now, tag)!, now };
  }

  return router;
}

function bestBody(ctx: ApiContext, best: BestNode, top: readonly TopNode[]) {
  const sel = best.selection;
  return {
    chain: best.chain,
    tag: best.tag,
    nodeId: sel.nodeId,
    url: urlOf(ctx, sel.nodeId),
    tier: sel.tier,
    state: best.chosenState,
    mode: sel.mode,
    degradedChoice: sel.degradedChoice,
    reason: sel.reason,
    since: sel.since,
    evaluatedAt: sel.evaluatedAt,
    source: best.source,
    pendingFailback: sel.pendingFailback,
    top,
    policy: { whenAllUnhealthy: best.policy.whenAllUnhealthy },
    ...(best.anyUsable ? {} : { detail: noneUsableDetail(best) }),
  };
}

function send(res: Response, status: number, body: unknown): void {
  res.status(status).setHeader('cache-control', 'no-store');
  res.json(body);
}

function urlOf(ctx: ApiContext, nodeId: string | null): string | null {
  // NodeConfig.url never carries credentials (they are stripped when the config is loaded).
  return nodeId === null ? null : (ctx.read.config(nodeId)?.url ?? null);
}

function rankedNode(ranked: RankedChain, selection: Selection, r: RankedNode, now: number) {
  const view = ranked.views.get(r.nodeId);
  const observedAt = view?.record?.sample.observedAt ?? null;
  return {
    rank: r.rank,
    nodeId: r.nodeId,
    url: view?.node.url ?? null,
    tier: r.tier,
    tags: r.tags,
    state: r.state,
    usable: r.usable,
    selected: r.nodeId === selection.nodeId,
    lastResort: r.lastResort,
    since: r.since,
    usableSince: r.usableSince,
    score: r.score,
    reasons: r.reasons.map((x) => ({ code: x.code, text: x.text, severity: x.severity, data: x.data })),
    observedAt,
    ageMs: observedAt === null ? null : Math.max(0, now - observedAt),
  };
}

function noneUsableDetail(best: BestNode): string {
  const sel = best.selection;
  const scope = best.tag === null ? `chain ${best.chain}` : `chain ${best.chain} with tag ${best.tag}`;
  if (sel.mode === 'fail-open' && sel.nodeId !== null) {
    const state = best.chosenState ?? 'unknown';
    return `no usable node on ${scope}; the policy fails open: serving the least bad node, ${sel.nodeId} (${state})`;
  }
  if (sel.mode === 'fail-open')
    return `no usable node on ${scope} and no node that may serve as a last resort (drained or on another chain)`;
  return `no usable node on ${scope}; the policy fails closed: no endpoint until a node is usable again`;
}

function pick<T extends object, K extends keyof T>(o: T, keys: readonly K[]): Pick<T, K> {
  const out = {} as Pick<T, K>;
  for (const k of keys) out[k] = o[k];
  return out;
}

interface BestQuery {
  readonly tag: string | null;
  readonly top: number | undefined;
}

/** The last body of a chain's shared choice, with what it was rendered from. */
interface SharedAnswer {
  readonly selection: Selection;
  readonly top: readonly TopNode[];
  readonly state: HealthState | null;
  readonly policy: HealthPolicy;
  readonly answer: RenderedAnswer;
}

/**
 * `/v1/chains/:chain/best` rendered: status, headers and body, or the problem to answer. One
 * function for the fast path and the express route, so both answer alike.
 */
export type BestAnswers = (chain: string, url: string) => RenderedAnswer | ProblemError;

export function bestAnswers(ctx: ApiContext): BestAnswers {
  const resolver = ctx.best;
  // Backends send the same query on every call: parsed once per distinct query (bounded).
  const queries = new ProbeQueryCache<BestQuery>((raw) => {
    const q = new QueryReader(`?${raw}`, ['tag', 'top']);
    const tag = q.string('tag', TAG);
    const top = q.int('top', 1, MAX_TOP);
    const errors = q.issues();
    return errors.length > 0 ? { ok: false, errors } : { ok: true, options: { tag: tag ?? null, top } };
  });
  /** The shared choice's answer stays the same until the selection, its list or the chosen state changes. */
  const shared = new Map<string, SharedAnswer>();
  return (chain, url) => {
    const q = queries.get(url);
    if (!q.ok) return badQuery(q.errors);
    const { tag, top: topN } = q.options;
    if (ctx.read.chainNodes(chain) === undefined)
      return problems.notFound('chain', `no configured node serves chain "${printable(chain, 64)}"`);
    if (tag !== null && !ctx.read.chainHasTag(chain, tag))
      return problems.notFound('tag', `no node of chain ${chain} has tag "${tag}"`);
    // Re-evaluated per request with the request's clock.
    const best = resolver.resolve(chain, ctx.now(), tag)!;
    const sel = best.selection;
    const top = best.top(topN ?? best.policy.topN);
    if (sel.nodeId === null) {
      // No endpoint: a clear 503 (problem+json, the selection as its extension members), so a
      // backend cannot mistake it for an answer.
      const body = JSON.stringify({
        type: 'urn:nodesentry:problem:no_usable_node',
        title: 'no usable node',
        status: 503,
        ...bestBody(ctx, best, top),
      });
      return rendered(503, PROBLEM_TYPE, sel.mode, body);
    }
    if (best.source !== 'shared') return rendered(200, JSON_TYPE, sel.mode, JSON.stringify(bestBody(ctx, best, top)));
    const key = topN === undefined ? chain : `${chain}\u0000${topN}`;
    const c = shared.get(key);
    if (
      c !== undefined &&
      c.selection === sel &&
      c.top === top &&
      c.state === best.chosenState &&
      c.policy === best.policy
    )
      return c.answer;
    const answer = rendered(200, JSON_TYPE, sel.mode, JSON.stringify(bestBody(ctx, best, top)), true);
    // One entry per chain and `top` asked: bounded by the chains and MAX_TOP.
    shared.set(key, { selection: sel, top, state: best.chosenState, policy: best.policy, answer });
    return answer;
  };
}

function rendered(status: number, type: string, mode: string, body: string, keep = false): RenderedAnswer {
  const length = Buffer.byteLength(body);
  return {
    status,
    headers: {
      'content-type': type,
      'content-length': length,
      'cache-control': 'no-store',
      'x-nodesentry-mode': mode,
      // Under express, the compression middleware said so on every answer of this route.
      vary: 'Accept-Encoding',
    },
    body,
    length,
    ...(keep ? { compressed: new Map() } : {}),
  };
}

/**
 * `GET`/`HEAD /v1/chains/:chain/best` on the fast path in front of express: backends ask it as
 * often as load balancers probe, and through express's router, compression and full access log
 * it ran at a tenth of node:http (bench/RESULTS.md, issue #17). Same answers, headers and
 * problems as the express route; other methods go on to express (OPTIONS, 404).
 */
export function bestRoute(ctx: ApiContext): FastRoute {
  const best = bestAnswers(ctx);
  const key = ctx.service.settings.apiKey;
  return {
    template: '/v1/chains/:chain/best',
    pattern: routePattern('/v1/chains/:chain/best'),
    methods: ['GET', 'HEAD'],
    compress: true,
    ...(key ? { guard: (req: IncomingMessage) => apiKeyProblem(req, key) } : {}),
    handle(req, res, [chain]) {
      const a = best(chain!, req.url ?? '');
      if (a instanceof ProblemError) return a;
      writeAnswer(req, res, a);
      return undefined;
    },
  };
}
