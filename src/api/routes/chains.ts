// Chain routes for operators and backends: the chains, their ranking, the best node to use now.
import { type Request, type Response, Router } from 'express';
import { TAG_PATTERN } from '../../config/nodes-file-schema.js';
import type { RankedNode } from '../../health/ranking.js';
import type { HealthPolicy } from '../../health/policy.js';
import type { Selection } from '../../health/selection.js';
import type { HealthState } from '../../health/states.js';
import type { ApiContext } from '../api-context.js';
import { requireApiKey } from '../auth.js';
import type { BestNode, RankedChain, TopNode } from '../../read/best-node.js';
import { problems } from '../problem.js';
import { printable } from '../../read/printable.js';
import { QueryReader } from '../query.js';

const MAX_TOP = 100;
const JSON_TYPE = 'application/json; charset=utf-8';
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

  /** The last body of each chain's shared choice: the same text while its inputs are the same objects. */
  const sharedBodies = new Map<string, SharedBody>();
  router.get('/v1/chains/:chain/best', guard, (req, res) => {
    const q = new QueryReader(req.url, ['tag', 'top']);
    const tag = q.string('tag', TAG);
    const topN = q.int('top', 1, MAX_TOP);
    q.done();
    const best = resolve(req, tag ?? null);
    const sel = best.selection;
    const top = best.top(topN ?? best.policy.topN);
    res.setHeader('x-nodesentry-mode', sel.mode);
    if (sel.nodeId === null) {
      // No endpoint: a clear 503 (problem+json, the selection as its extension members), so a
      // backend cannot mistake it for an answer.
      const p = {
        type: 'urn:nodesentry:problem:no_usable_node',
        title: 'no usable node',
        status: 503,
        ...bestBody(ctx, best, top),
      };
      res.status(503).type('application/problem+json').setHeader('cache-control', 'no-store').send(JSON.stringify(p));
      return;
    }
    // Written straight to the socket, as the probes are (this is asked as often): express's
    // `json` would re-detect the type and look for caching headers on every answer. The shared
    // choice's body stays the same until the selection, its list or the chosen state changes.
    let text: string;
    if (best.source === 'shared') {
      const c = sharedBodies.get(best.chain);
      if (
        c !== undefined &&
        c.selection === sel &&
        c.top === top &&
        c.state === best.chosenState &&
        c.policy === best.policy
      )
        text = c.text;
      else {
        text = JSON.stringify(bestBody(ctx, best, top));
        sharedBodies.set(best.chain, { selection: sel, top, state: best.chosenState, policy: best.policy, text });
      }
    } else text = JSON.stringify(bestBody(ctx, best, top));
    res.writeHead(200, {
      'content-type': JSON_TYPE,
      'content-length': Buffer.byteLength(text),
      'cache-control': 'no-store',
    });
    res.end(text);
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

interface SharedBody {
  readonly selection: Selection;
  readonly top: readonly TopNode[];
  readonly state: HealthState | null;
  readonly policy: HealthPolicy;
  readonly text: string;
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
