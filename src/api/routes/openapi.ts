import { Router } from 'express';
import type { ApiContext } from '../api-context.js';

export function openapiRoutes(_ctx: ApiContext): Router {
  const router = Router();
  return router;
}
