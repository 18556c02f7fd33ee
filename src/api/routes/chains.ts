import { type Request, type Response, Router } from 'express';
import { TAG_PATTERN } from '../../config/nodes-file-schema.js';
import type { RankedNode } from '../../health/ranking.js';
import type { HealthState } from '../../health/states.js';
import type { ApiContext } from '../api-context.js';
import { requireApiKey } from '../auth.js';
import { type BestNode, bestNodeResolverFor, sharedFreshMs, topNodes } from '../best-node.js';
import { problems } from '../problem.js';
import { badQuery, intParam, parseQuery, patternParam, printable, type ParsedQuery, type QuerySpec } from '../probe-dialect.js';

const MAX_TOP = 100;
const TAG = patternParam(TAG_PATTERN, 'must be a node tag: 1-64 letters, digits or . _ : = / -, starting with a letter or digit');
const LIST_QUERY = {} satisfies QuerySpec;
const RANKING_QUERY = { tag: TAG } satisfies QuerySpec;
const BEST_QUERY = { tag: TAG, top: intParam(1, MAX_TOP) } satisfies QuerySpec;

/**
 * What backends ask: the chains, their ranking, and the endpoint to use now. Behind the API key
 * (when one is set). Every answer is computed from memory at request time.
 */
export function chainsRoutes(ctx: ApiContext): Router {
  const router = Router();
  const resolver = bestNodeResolverFor(ctx.read);
  const guard = requireApiKey(ctx.service.settings.apiKey);

  router.get('/v1/chains', guard, (req, res) => {
    query(req, LIST_QUERY);
    const now = ctx.now();
    const chains = ctx.read.chainNames().map((name) => {
      const best = resolver.resolve(name, now)!;
      const counts: Record<HealthState, number> = { healthy: 0, degraded: 0, unhealthy: 0, unknown: 0, maintenance: 0 };
      for (const r of best.ranking) counts[r.state]++;
      const report = best.report;
      const nodes = ctx.read.chainNodes(name)!;
      const reportAgeMs = report === undefined ? null : Math.max(0, now - report.evaluatedAt);
      return {
        chain: name,
        family: nodes[0]!.chain.family,
        nodes: nodes.length,
        usable: counts.healthy + counts.degraded,
        counts,
        reference: report === undefined ? null : pick(report.reference, ['height', 'contributors', 'quorum', 'highest', 'atMs']),
        best: {
          nodeId: best.selection.nodeId,
          url: urlOf(best, best.selection.nodeId),
          mode: best.selection.mode,
          degradedChoice: best.selection.degradedChoice,
          reason: best.selection.reason,
          since: best.selection.since,
          source: best.source,
        },
        evaluatedAt: report?.evaluatedAt ?? null,
        reportAgeMs,
        reportFresh: reportAgeMs !== null && reportAgeMs <= sharedFreshMs(nodes),
      };
    });
    send(res, 200, { at: now, chains });
  });

  router.get('/v1/chains/:chain/ranking', guard, (req, res) => {
    const q = query(req, RANKING_QUERY);
    const best = resolve(req, q.tag ?? null);
    const now = best.now;
    send(res, 200, {
      chain: best.chain,
      tag: best.tag,
      at: now,
      best: best.selection.nodeId,
      mode: best.selection.mode,
      source: best.source,
      nodes: best.ranking.map((r) => rankedNode(best, r, now)),
    });
  });

  router.get('/v1/chains/:chain/best', guard, (req, res) => {
    const q = query(req, BEST_QUERY);
    const best = resolve(req, q.tag ?? null);
    const sel = best.selection;
    const chosen = sel.nodeId === null ? undefined : best.ranking.find((r) => r.nodeId === sel.nodeId);
    const top = topNodes(best, q.top ?? best.policy.topN).map((r) => ({ nodeId: r.nodeId, url: urlOf(best, r.nodeId), tier: r.tier, state: r.state }));
    const body = {
      chain: best.chain,
      tag: best.tag,
      nodeId: sel.nodeId,
      url: urlOf(best, sel.nodeId),
      tier: sel.tier,
      state: chosen?.state ?? null,
      mode: sel.mode,
      degradedChoice: sel.degradedChoice,
      reason: sel.reason,
      since: sel.since,
      evaluatedAt: sel.evaluatedAt,
      source: best.source,
      pendingFailback: sel.pendingFailback,
      top,
      policy: { whenAllUnhealthy: best.policy.whenAllUnhealthy },
      ...(best.ranking.some((r) => r.usable) ? {} : { detail: noneUsableDetail(best) }),
    };
    res.setHeader('x-nodesentry-mode', sel.mode);
    if (sel.nodeId === null) {
      // No endpoint: a clear 503 (problem+json, the selection as its extension members), so a
      // backend cannot mistake it for an answer.
      const p = { type: 'urn:nodesentry:problem:no_usable_node', title: 'no usable node', status: 503, ...body };
      res.status(503).type('application/problem+json').setHeader('cache-control', 'no-store').send(JSON.stringify(p));
      return;
    }
    send(res, 200, body);
  });

  /** Re-evaluated per request with the request's clock; `now` rides along for the answer. */
  function resolve(req: Request, tag: string | null): BestNode & { now: number } {
    const chain = req.params.chain as string;
    const nodes = ctx.read.chainNodes(chain);
    if (nodes === undefined) throw problems.notFound('chain', `no configured node serves chain "${printable(chain, 64)}"`);
    if (tag !== null && !nodes.some((n) => n.tags.includes(tag))) throw problems.notFound('tag', `no node of chain ${chain} has tag "${tag}"`);
    const now = ctx.now();
    return { ...resolver.resolve(chain, now, tag)!, now };
  }

  return router;
}

function query<S extends QuerySpec>(req: Request, spec: S): ParsedQuery<S> {
  const q = req.url.indexOf('?');
  const r = parseQuery(q < 0 ? '' : req.url.slice(q + 1), spec);
  if (!r.ok) throw badQuery(r.errors);
  return r.value;
}

function send(res: Response, status: number, body: unknown): void {
  res.status(status).setHeader('cache-control', 'no-store');
  res.json(body);
}

function urlOf(best: BestNode, nodeId: string | null): string | null {
  // NodeConfig.url never carries credentials (they are stripped when the config is loaded).
  return nodeId === null ? null : (best.views.get(nodeId)?.node.url ?? null);
}

function rankedNode(best: BestNode, r: RankedNode, now: number) {
  const view = best.views.get(r.nodeId);
  const observedAt = view?.record?.sample.observedAt ?? null;
  return {
    rank: r.rank,
    nodeId: r.nodeId,
    url: urlOf(best, r.nodeId),
    tier: r.tier,
    tags: r.tags,
    state: r.state,
    usable: r.usable,
    selected: r.nodeId === best.selection.nodeId,
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
    const state = best.ranking.find((r) => r.nodeId === sel.nodeId)?.state ?? 'unknown';
    return `no usable node on ${scope}; the policy fails open: serving the least bad node, ${sel.nodeId} (${state})`;
  }
  if (sel.mode === 'fail-open') return `no usable node on ${scope} and no node that may serve as a last resort (drained or on another chain)`;
  return `no usable node on ${scope}; the policy fails closed: no endpoint until a node is usable again`;
}

function pick<T extends object, K extends keyof T>(o: T, keys: readonly K[]): Pick<T, K> {
  const out = {} as Pick<T, K>;
  for (const k of keys) out[k] = o[k];
  return out;
}
