import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { pino } from 'pino';
import { createApp } from '../src/api/app.js';
import { loadSettings } from '../src/config/settings.js';
import { DEFAULT_HEALTH_POLICY } from '../src/health/policy.js';
import { Service } from '../src/service.js';
import { generateFleet } from '../src/simulator/fleet.js';
import { MemoryStore } from '../src/store/memory-store.js';
import { childOptions, failStart, serveParent } from './child-process.js';
import { startCpuProfile } from './cpu-profile.js';
import { remoteFleet, sharedPortUrl } from './remote-fleet.js';

export interface ApiServerOptions {
  /**
   * `nodesentry`: the real app over a loaded fleet; `express`: the floor, a constant OK;
   * `node-http`: the physical floor, a constant OK from a bare `node:http` handler.
   */
  readonly kind: 'nodesentry' | 'express' | 'node-http';
  readonly simPort?: number;
  readonly nodes?: number;
  readonly seed?: number;
  /** Profile the process while it serves (not while loading) into this directory. */
  readonly profileDir?: string;
}

export interface ApiServerReady {
  readonly origin: string;
  /** nodesentry: the chain probed and its selected (healthy) node. */
  readonly chain?: string;
  readonly nodeId?: string;
  readonly loadMs?: number;
}

/** The floor's chain: the one most of the generated fleet is on. */
const CHAIN = 'bsc';

/**
 * An HTTP server to load: the nodesentry API with a whole simulated fleet in its view, or the
 * bare express or bare node:http floor. All with the socket settings of `startHttp`, each in its own process.
 *
 * The fleet is loaded by sweeping it `riseAfter` times, then polling stops and the API's clock
 * is frozen at the end of loading: every request sees the same fleet (nothing goes stale),
 * and background probing does not compete with the endpoints for the two cores.
 */
async function main(): Promise<void> {
  const o = childOptions<ApiServerOptions>();
  if (o.kind === 'node-http') {
    // The same answer as express's `res.send('OK')` (status, content-type, length), no router.
    const ok: RequestListener = (req, res) => {
      if (req.method === 'GET' && req.url === '/ok') {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': '2' });
        res.end('OK');
      } else {
        res.writeHead(404, { 'content-length': '0' });
        res.end();
      }
    };
    const server = await listen(ok);
    const profile = o.profileDir ? await startCpuProfile(o.profileDir, 'api-node-http') : undefined;
    serveParent({ origin: origin(server) } satisfies ApiServerReady, { cpu: cpuUs }, async () => {
      await profile?.stop();
      await close(server);
    });
    return;
  }
  if (o.kind === 'express') {
    const app = express();
    app.disable('x-powered-by');
    app.disable('etag');
    app.get('/ok', (_req, res) => {
      res.send('OK');
    });
    const server = await listen(app);
    const profile = o.profileDir ? await startCpuProfile(o.profileDir, 'api-express') : undefined;
    serveParent({ origin: origin(server) } satisfies ApiServerReady, { cpu: cpuUs }, async () => {
      await profile?.stop();
      await close(server);
    });
    return;
  }

  const started = performance.now();
  const specs = generateFleet(o.nodes!, o.seed!);
  const logger = pino({ level: 'error' }, pino.destination(2));
  const service = await Service.start({
    settings: loadSettings({ PORT: '0', NODESENTRY_PER_HOST_CONCURRENCY: '64' }),
    nodes: remoteFleet(specs, (id) => sharedPortUrl(o.simPort!, id)),
    policy: DEFAULT_HEALTH_POLICY,
    logger,
    store: new MemoryStore(),
    startPolling: false,
  });
  for (let i = 0; i < DEFAULT_HEALTH_POLICY.riseAfter; i++) await service.poller!.sweepOnce();
  const frozen = Date.now();
  const { app, close: closeApp } = createApp({ service, logger, now: () => frozen });
  const server = await listen(app);
  const nodeId = service.view.chainFacts(CHAIN)?.facts?.selection.nodeId ?? undefined;
  const profile = o.profileDir ? await startCpuProfile(o.profileDir, `api-nodesentry-${o.nodes}`) : undefined;
  serveParent(
    {
      origin: origin(server),
      chain: CHAIN,
      ...(nodeId ? { nodeId } : {}),
      loadMs: performance.now() - started,
    } satisfies ApiServerReady,
    { cpu: cpuUs },
    async () => {
      await profile?.stop();
      closeApp();
      await close(server);
      await service.close();
    },
  );
}

/** CPU time this process used so far, µs: a cost per request that other load on the machine does not distort. */
function cpuUs(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

async function listen(app: express.Express | RequestListener): Promise<Server> {
  const server = createServer(app);
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return server;
}

function origin(server: Server): string {
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

main().catch(failStart);
