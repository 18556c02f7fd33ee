import express, { type Express } from 'express';
import type { Service } from '../service.js';

export interface AppDeps {
  readonly service: Service;
}

/** The express app (no listen): routes only translate HTTP to the service's view. */
export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.get('/livez', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', (_req, res) => {
    const r = deps.service.ready;
    res.status(r.ready ? 200 : 503).json({ status: r.ready ? 'ready' : 'not_ready', ...r });
  });
  return app;
}
