// `GET /v1/transitions`: the fleet's state changes, filtered and paged.
import { Router } from 'express';
import type { FleetTransition } from '../../store/store.js';
import type { ApiContext } from '../api-context.js';
import { requireApiKey } from '../auth.js';
import { QueryReader } from '../query.js';
import { storeCall } from '../store-call.js';
import { HEALTH_STATES } from '../../health/states.js';

/** maxLimit keeps a page small; the whole log is the store's fleetTransitionLimit (default 2000). */
export const FLEET_TRANSITION_PAGE = Object.freeze({ defaultLimit: 50, maxLimit: 500 });
/** What one request reads from the store at most: the log's default cap. */
const FLEET_LOG_READ = 2000;
const NAME_PATTERN = /^[A-Za-z0-9._-]+$/;

/**
 * `GET /v1/transitions`: the fleet's state changes, newest first, from the store's fleet-wide log
 * (so every replica, and a restarted one, shows the same history). Filters: `chain`, `node`, and
 * `state` (the state entered). Paged by an opaque cursor, stable while new changes arrive in
 * front. Names are not checked against the config: a removed node's history stays readable.
 */
export function transitionsRoutes(ctx: ApiContext): Router {
  const router = Router();
  const apiKey = requireApiKey(ctx.service.settings.apiKey);

  router.get('/v1/transitions', apiKey, async (req, res) => {
    const q = new QueryReader(req.url, ['chain', 'node', 'state', 'limit', 'cursor']);
    const chain = q.string('chain', {
      maxLength: 64,
      pattern: NAME_PATTERN,
      describe: 'must be a chain name such as bsc or defichain',
    });
    const node = q.string('node', { maxLength: 64, pattern: NAME_PATTERN, describe: 'must be a node id' });
    const state = q.oneOf('state', HEALTH_STATES);
    const limit = q.int('limit', 1, FLEET_TRANSITION_PAGE.maxLimit, FLEET_TRANSITION_PAGE.defaultLimit)!;
    const cursorText = q.string('cursor', { maxLength: 400 });
    const after = cursorText === undefined ? undefined : decodeCursor(cursorText);
    if (cursorText !== undefined && !after)
      q.reject('cursor', 'is not a cursor returned by this API (use nextCursor as it was given)');
    q.done();

    const log = await storeCall('read the state changes', () => ctx.service.store.getFleetTransitions(FLEET_LOG_READ));
    // Replicas append in their own time: order here, so pages and cursors agree.
    const matching = log
      .filter(
        (t) =>
          (chain === undefined || t.chain === chain) &&
          (node === undefined || t.nodeId === node) &&
          (state === undefined || t.to === state),
      )
      .sort(compare);
    let start = 0;
    if (after) {
      start = matching.findIndex((t) => compare(t, after) > 0);
      if (start < 0) start = matching.length;
    }
    const page = matching.slice(start, start + limit);
    const last = page[page.length - 1];
    res.set('cache-control', 'no-store').json({
      items: page.map((t) => ({
        nodeId: t.nodeId,
        chain: t.chain,
        from: t.from,
        to: t.to,
        reasons: [...t.reasons],
        at: t.at,
        replica: t.replica,
      })),
      limit,
      nextCursor: last && start + page.length < matching.length ? encodeCursor(last) : null,
      generatedAt: ctx.now(),
    });
  });
  return router;
}

type Key = Pick<FleetTransition, 'at' | 'nodeId' | 'to'>;

/** Newest first; ties (one sweep's changes) by node id, then by the state entered. */
function compare(a: Key, b: Key): number {
  if (a.at !== b.at) return b.at - a.at;
  if (a.nodeId !== b.nodeId) return a.nodeId < b.nodeId ? -1 : 1;
  return a.to < b.to ? -1 : a.to > b.to ? 1 : 0;
}

function encodeCursor(k: Key): string {
  return Buffer.from(JSON.stringify([k.at, k.nodeId, k.to]), 'utf8').toString('base64url');
}

function decodeCursor(text: string): Key | undefined {
  if (!/^[A-Za-z0-9_-]+$/.test(text)) return undefined;
  try {
    const v: unknown = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
    if (
      Array.isArray(v) &&
      v.length === 3 &&
      Number.isFinite(v[0]) &&
      typeof v[1] === 'string' &&
      typeof v[2] === 'string'
    )
      return { at: v[0] as number, nodeId: v[1], to: v[2] };
  } catch {
    // Not ours: reported as a bad cursor by the caller.
  }
  return undefined;
}
