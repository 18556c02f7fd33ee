// `GET /openapi.json`: the generated OpenAPI document.
import { Router } from 'express';
import type { ApiContext } from '../api-context.js';
import { openApiDocument } from '../openapi.js';

/** `GET /openapi.json`: open, like the docs of any API; it describes routes, not data. */
export function openapiRoutes(_ctx: ApiContext): Router {
  const router = Router();
  const body = JSON.stringify(openApiDocument());
  router.get('/openapi.json', (_req, res) => {
    res.status(200).type('application/json').set('cache-control', 'no-cache').send(body);
  });
  return router;
}
