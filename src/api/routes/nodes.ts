import { Router } from 'express';
import type { ApiContext } from '../api-context.js';

export function nodesRoutes(_ctx: ApiContext): Router {
  const router = Router();
  return router;
}
