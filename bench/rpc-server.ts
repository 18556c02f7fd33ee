import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { Pool } from 'undici';
import { createApp } from '../src/api/app.js';
import { BUILTIN_CHAINS } from '../src/chains/chain-spec.js';
import type { NodeConfig } from '../src/config/node-config.js';
import { loadSettings } from '../src/config/settings.js';
import { DEFAULT_HEALTH_POLICY } from '../src/health/policy.js';
import { Service } from '../src/service.js';
import { MemoryStore } from '../src/store/memory-store.js';
import { childOptions, failStart, serveParent } from './child-process.js';
import { startCpuProfile } from './cpu-profile.js';

export interface RpcServerOptions {
  /**
   * `nodesentry`: the real app, /rpc/bsc over `nodeUrls` (the first is the primary);
   * `bare`: the floor, node:http + an undici pool forwarding every body to `nodeUrls[0]`.
   */
  readonly kind: 'nodesentry' | 'bare';
  readonly nodeUrls: readonly string[];
  readonly profileDir?: string;
}

export interface RpcServerReady {
  readonly origin: string;
  /** Path to POST to. */
  readonly path: string;
}

/** Connections to the node, for both: the same pool size nodesentry's proxy uses. */
const CONNECTIONS = 64;

/**
 * A JSON-RPC forwarder to load, in its own process: nodesentry's proxy, or the bare Node
 * forwarder it is judged against (what a backend team would write in ten lines: read the
 * body, POST it to the node over a keep-alive pool, send the answer back).
 */
async function main(): Promise<void> {
  const o = childOptions<RpcServerOptions>();
  if (o.kind === 'bare') {
    const target = new URL(o.nodeUrls[0]!);
    const pool = new Pool(target.origin, { connections: CONNECTIONS, keepAliveTimeout: 30_000 });
    const server = createServer((req, res) => {
      void readAll(req).then(async (body) => {
        try {
          const up = await pool.request({
            path: target.pathname,
            method: 'POST',
            body,
            headers: { 'content-type': 'application/json' },
          });
          const text = await up.body.text();
          res.writeHead(up.statusCode, { 'content-type': String(up.headers['content-type'] ?? 'application/json') });
          res.end(text);
        } catch {
          res.writeHead(502).end();
        }
      });
    });
    await listen(server);
    const profile = o.profileDir ? await startCpuProfile(o.profileDir, 'rpc-bare') : undefined;
    serveParent({ origin: origin(server), path: '/' } satisfies RpcServerReady, { cpu: cpuUs }, async () => {
      await profile?.stop();
      await close(server);
      await pool.close();
    });
    return;
  }

  const logger = pino({ level: 'error' }, pino.destination(2));
  const nodes: NodeConfig[] = o.nodeUrls.map((url, i) => ({
    id: `bsc-${i}`,
    chain: BUILTIN_CHAINS.bsc!,
    url,
    tags: [],
    tier: i === 0 ? 0 : 1,
    intervalMs: 5_000,
    timeoutMs: 2_000,
  }));
  const service = await Service.start({
    settings: loadSettings({ PORT: '0' }),
    nodes,
    policy: DEFAULT_HEALTH_POLICY,
    logger,
    store: new MemoryStore(),
    startPolling: false,
  });
  for (let i = 0; i < DEFAULT_HEALTH_POLICY.riseAfter; i++) await service.poller!.sweepOnce();
  // As bench/api-server: polling stops and the API's clock is frozen, so the selection holds.
  const frozen = Date.now();
  const { app, close: closeApp } = createApp({ service, logger, now: () => frozen });
  const server = createServer(app);
  await listen(server);
  const profile = o.profileDir ? await startCpuProfile(o.profileDir, 'rpc-nodesentry') : undefined;
  serveParent({ origin: origin(server), path: '/rpc/bsc' } satisfies RpcServerReady, { cpu: cpuUs }, async () => {
    await profile?.stop();
    closeApp();
    await close(server);
    await service.close();
  });
}

/** CPU time this process used so far, µs: a cost per request that other load on the machine does not distort. */
function cpuUs(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

function readAll(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

async function listen(server: Server): Promise<void> {
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
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
