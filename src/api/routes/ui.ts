// The dashboard's routes: its page and hashed assets.
import { Router, type Request, type Response } from 'express';
import { DASHBOARD_CSP, dashboardAssets, type UiAsset } from '../../ui/assets.js';
import type { ApiContext } from '../api-context.js';

/** A year: the longest lifetime caches honour; hashed names change with every release anyway. */
const IMMUTABLE = 'public, max-age=31536000, immutable';

/**
 * The operator's dashboard: `GET /` (the page) and `GET /ui/{asset}` (its script, stylesheet
 * and icon). Open like /openapi.json: the page holds no data; the data comes from the API
 * routes, with the API key when one is configured.
 *
 * Caching: asset names carry a hash of their content, so they are cached for a year as
 * immutable; the page itself is `no-cache` with a strong ETag, so every load revalidates
 * (a 304 when nothing changed) and a new release is picked up at once.
 */
export function uiRoutes(_ctx: ApiContext): Router {
  const router = Router();
  const { page, files } = dashboardAssets();

  router.get('/', (req, res) => {
    res.set({
      'content-security-policy': DASHBOARD_CSP,
      'referrer-policy': 'no-referrer',
      'x-frame-options': 'DENY',
    });
    send(req, res, page, 'no-cache');
  });

  router.get('/ui/:asset', (req, res, next) => {
    const file = files.get(String(req.params.asset));
    // Unknown names (an old release's hash included) fall through to the 404 problem.
    if (!file) return next();
    send(req, res, file, IMMUTABLE);
  });

  return router;
}

function send(req: Request, res: Response, file: UiAsset, cacheControl: string): void {
  res.set({
    'content-type': file.type,
    'cache-control': cacheControl,
    etag: file.etag,
    'x-content-type-options': 'nosniff',
  });
  if (req.fresh) {
    res.status(304).end();
    return;
  }
  res.status(200).send(file.body);
}
