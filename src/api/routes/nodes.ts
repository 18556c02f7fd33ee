// Node routes for operators: the fleet, one node, its peers, history and state changes.
import { Router, type Request, type Response } from 'express';
import { TAG_PATTERN } from '../../config/nodes-file-schema.js';
import { PEER_DETAILS_EVERY_MS } from '../../defaults.js';
import { HEALTH_STATES } from '../../health/states.js';
import type { ApiContext } from '../api-context.js';
import { requireApiKey } from '../auth.js';
import { nodeDetail, nodeSummary } from '../node-json.js';
import { problems } from '../problem.js';
import { QueryReader } from '../query.js';
import type { NodeView } from '../../read/read-model.js';
import { storeCall } from '../store-call.js';
import { summarizePeers, trafficRates } from '../traffic.js';

export const NODES_PAGE = Object.freeze({ defaultLimit: 100, maxLimit: 500 });
export const HISTORY_LIMITS = Object.freeze({ defaultLimit: 60, maxLimit: 360 });
/** maxLimit is the store's default cap per node (transitionLimit). */
export const TRANSITION_LIMITS = Object.freeze({ defaultLimit: 20, maxLimit: 50 });
const NAME_PATTERN = /^[A-Za-z0-9._-]+$/;

/**
 * Read-only views of nodes for operators and dashboards: the fleet (filtered, paged), one
 * node in full, its peers, its recent history and its recent state changes. Everything but
 * peers, history and state changes comes from memory; those read the store (one round trip).
 */
export function nodesRoutes(ctx: ApiContext): Router {
  const router = Router();
  const apiKey = requireApiKey(ctx.service.settings.apiKey);

  router.get('/v1/nodes', apiKey, (req, res) => {
    const q = new QueryReader(req.url, ['chain', 'tag', 'state', 'limit', 'cursor', 'offset']);
    const chain = q.string('chain', {
      maxLength: 64,
      pattern: NAME_PATTERN,
      describe: 'must be a chain name such as bsc or defichain',
    });
    const tags = q.strings('tag', {
      maxLength: 64,
      pattern: TAG_PATTERN,
      describe: 'must be a node tag: letters, digits or . _ : = / -, starting with a letter or digit',
    });
    const state = q.oneOf('state', HEALTH_STATES);
    const limit = q.int('limit', 1, NODES_PAGE.maxLimit, NODES_PAGE.defaultLimit);
    const cursorText = q.string('cursor', { maxLength: 400 });
    const offset = q.int('offset', 0, 10_000_000);
    let after: Cursor | undefined;
    if (cursorText !== undefined) {
      after = decodeCursor(cursorText);
      if (!after) q.reject('cursor', 'is not a cursor returned by this API (use nextCursor as it was given)');
      if (offset !== undefined) q.reject('offset', 'cannot be combined with cursor');
    }
    if (chain !== undefined && !ctx.read.chainNodes(chain)) {
      const known = ctx.read.chainNames();
      q.reject('chain', `no configured node is on this chain (chains: ${known.join(', ') || 'none'})`);
    }
    q.done();

    const now = ctx.now();
    const drains = ctx.service.view.drains();
    const views = chain !== undefined ? (ctx.read.chainViews(chain, now) ?? []) : ctx.read.nodes(now);
    const matching = views.filter(
      (v) => (state === undefined || v.health.state === state) && tags.every((t) => v.node.tags.includes(t)),
    );
    let start = 0;
    if (after) {
      const a = after;
      start = matching.findIndex((v) => compareKey(v.node.chain.name, v.node.id, a.chain, a.id) > 0);
      if (start < 0) start = matching.length;
    } else if (offset !== undefined) {
      start = Math.min(offset, matching.length);
    }
    const page = matching.slice(start, start + limit);
    const last = page[page.length - 1];
    const more = start + page.length < matching.length;
    noStore(res).json({
      items: page.map((v) => nodeSummary(v, drains.has(v.node.id), now, ctx.read.policy(v.node.chain.name))),
      total: matching.length,
      limit,
      ...(offset !== undefined ? { offset } : {}),
      nextCursor: more && last ? encodeCursor({ chain: last.node.chain.name, id: last.node.id }) : null,
      generatedAt: now,
    });
  });

  router.get('/v1/nodes/:id', apiKey, (req, res) => {
    new QueryReader(req.url, []).done();
    const now = ctx.now();
    const v = nodeOr404(ctx, req, now);
    noStore(res).json(
      nodeDetail(v, ctx.service.view.drain(v.node.id), now, ctx.read.policy(v.node.chain.name), ctx.service.replica),
    );
  });

  router.get('/v1/nodes/:id/peers', apiKey, async (req, res) => {
    new QueryReader(req.url, []).done();
    const now = ctx.now();
    const v = nodeOr404(ctx, req, now);
    const sample = v.record?.sample;
    const base = {
      nodeId: v.node.id,
      chain: v.node.chain.name,
      family: v.node.chain.family,
      observedAt: sample?.observedAt ?? null,
      reported: sample?.peers
        ? {
            total: sample.peers.total,
            inbound: sample.peers.inbound ?? null,
            outbound: sample.peers.outbound ?? null,
            source: sample.peers.source,
          }
        : null,
    };
    if (v.node.chain.family === 'evm') {
      noStore(res).json({
        ...base,
        source: 'net_peerCount',
        total: sample?.peers?.total ?? null,
        detail:
          'not offered: EVM nodes report only a peer count (net_peerCount); per-peer detail needs the admin API (admin_peers), which nodesentry does not use',
        list: 'not_offered',
        summary: null,
        peers: null,
      });
      return;
    }
    const stored = await storeCall('read the peer list', () => ctx.service.store.getPeers(v.node.id));
    // A list is rebuilt once a minute (and when the count changes), so one older than that plus
    // two intervals was not refreshed: its node's getpeerinfo has given no list since, or the
    // node stopped answering. It is served as what it is, the last one known, never as current;
    // it expires a few minutes later (peer lists outlive records, see WriteBuffer).
    const listDueBy = PEER_DETAILS_EVERY_MS + 2 * v.node.intervalMs;
    if (!stored) {
      const missing = sample?.missingMethods.includes('getpeerinfo') ?? false;
      const answers = !missing && sample?.ok === true;
      // Lists are built once a minute per node, the first phased over the minute after its first
      // probe (issue #17): a node that answers has counts but may have no list yet, which is not
      // "no peers" nor a failure. Past that minute (counted from the start of its usable run,
      // which comes after its first probe), a node that still answers but has no list is not
      // delivering one: its getpeerinfo fails or answers something invalid.
      const usableSince = v.record?.health?.health.usableSince ?? null;
      const pending = answers && (usableSince === null || now - usableSince <= listDueBy);
      noStore(res).json({
        ...base,
        source: 'getpeerinfo',
        total: sample?.peers?.total ?? null,
        detail: missing
          ? 'not offered: the node does not answer getpeerinfo'
          : pending
            ? 'not collected yet: per-peer details are collected once a minute per node, the first within a minute of its first probe; the counts in `reported` are from its latest probe'
            : answers
              ? 'no peer list stored: the node answers, but none of its getpeerinfo answers in the last minutes gave a list (the call failed or its answer was invalid); the counts in `reported` are from its latest probe'
              : 'no peer list stored: the node was not probed recently, or its last probes failed',
        list: missing ? 'not_offered' : pending ? 'not_collected_yet' : 'unavailable',
        summary: null,
        peers: null,
      });
      return;
    }
    const { peers, collectedAt } = stored;
    const ageMs = collectedAt === null ? null : Math.max(0, now - collectedAt);
    const stale = ageMs !== null && ageMs > listDueBy;
    noStore(res).json({
      ...base,
      source: 'getpeerinfo',
      total: peers.length,
      list: stale ? 'stale' : 'collected',
      collectedAt,
      ...(stale
        ? {
            detail: `stale: the last list, collected ${Math.round(ageMs / 1000)} s ago; lists are rebuilt every ${PEER_DETAILS_EVERY_MS / 1000} s, and none of this node's probes since gave one (its getpeerinfo fails or answers something invalid, or the node does not answer); the counts in \`reported\` are from its latest probe`,
          }
        : {}),
      summary: summarizePeers(peers, sample?.height),
      peers: peers.map((p) => ({
        id: p.id,
        addr: p.addr,
        inbound: p.inbound,
        subver: p.subver ?? null,
        version: p.version ?? null,
        pingMs: typeof p.pingTime === 'number' ? Math.round(p.pingTime * 1_000_000) / 1000 : null,
        minPingMs: typeof p.minPing === 'number' ? Math.round(p.minPing * 1_000_000) / 1000 : null,
        startingHeight: p.startingHeight ?? null,
        syncedHeaders: p.syncedHeaders ?? null,
        syncedBlocks: p.syncedBlocks ?? null,
        bytesSent: p.bytesSent ?? null,
        bytesRecv: p.bytesRecv ?? null,
        connTime: p.connTime ?? null,
        connTimeFrom: p.connTimeFrom ?? null,
      })),
    });
  });

  router.get('/v1/nodes/:id/history', apiKey, async (req, res) => {
    const q = new QueryReader(req.url, ['limit']);
    const limit = q.int('limit', 1, HISTORY_LIMITS.maxLimit, HISTORY_LIMITS.defaultLimit);
    q.done();
    const v = nodeOr404(ctx, req, ctx.now());
    const history = await storeCall('read the history', () => ctx.service.store.getHistory(v.node.id, limit));
    const points = [...history].sort((a, b) => b.t - a.t);
    const rates = trafficRates(points);
    noStore(res).json({
      nodeId: v.node.id,
      chain: v.node.chain.name,
      limit,
      points: points.map((p) => ({
        t: p.t,
        ok: p.ok,
        latencyMs: p.latencyMs,
        peers: p.peers ?? null,
        height: p.height ?? null,
        bytesRecv: p.bytesRecv ?? null,
        bytesSent: p.bytesSent ?? null,
        uptimeS: p.uptimeS ?? null,
      })),
      rates,
      ...(rates
        ? {}
        : {
            ratesDetail:
              v.node.chain.family === 'evm'
                ? 'not offered: EVM nodes do not report network totals'
                : 'needs at least two points with network totals (getnettotals)',
          }),
    });
  });

  router.get('/v1/nodes/:id/transitions', apiKey, async (req, res) => {
    const q = new QueryReader(req.url, ['limit']);
    const limit = q.int('limit', 1, TRANSITION_LIMITS.maxLimit, TRANSITION_LIMITS.defaultLimit);
    q.done();
    const v = nodeOr404(ctx, req, ctx.now());
    const stored = await storeCall('read the state changes', () => ctx.service.store.getTransitions(v.node.id, limit));
    // Newest first (stable: the store's order breaks ties).
    const transitions = [...stored].sort((a, b) => b.at - a.at);
    noStore(res).json({
      nodeId: v.node.id,
      chain: v.node.chain.name,
      limit,
      transitions: transitions.map((t) => ({
        from: t.from,
        to: t.to,
        reasons: [...t.reasons],
        at: t.at,
        replica: t.replica,
      })),
    });
  });

  return router;
}

function nodeOr404(ctx: ApiContext, req: Request, now: number): NodeView {
  const id = String(req.params.id ?? '');
  const v = ctx.read.node(id, now);
  if (!v)
    throw problems.notFound(
      'node',
      /^[A-Za-z0-9._-]{1,64}$/.test(id)
        ? `no node with id "${id}" is configured`
        : 'no node with this id is configured',
    );
  return v;
}

/** Answers describe a moment: caches must not serve them later. */
function noStore(res: Response): Response {
  return res.set('cache-control', 'no-store');
}

interface Cursor {
  readonly chain: string;
  readonly id: string;
}

/** The key of the last item served: opaque to clients, stable while nodes come and go. */
function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify([c.chain, c.id]), 'utf8').toString('base64url');
}

function decodeCursor(text: string): Cursor | undefined {
  if (!/^[A-Za-z0-9_-]+$/.test(text)) return undefined;
  try {
    const v: unknown = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
    if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'string' && typeof v[1] === 'string')
      return { chain: v[0], id: v[1] };
  } catch {
    // Not ours: reported as a bad cursor by the caller.
  }
  return undefined;
}

/** The list's order (ReadModel.nodes): chain, then id, by code unit. */
function compareKey(chainA: string, idA: string, chainB: string, idB: string): number {
  if (chainA !== chainB) return chainA < chainB ? -1 : 1;
  return idA < idB ? -1 : idA > idB ? 1 : 0;
}
