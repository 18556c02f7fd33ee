// The HTTP server around the express app (socket hygiene, graceful close) and the agent-check port.
import { createServer, type Server } from 'node:http';
import { Server as NetServer, type AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Settings } from '../config/settings.js';
import { AgentCheckServer } from './agent-check.js';
import { createApp } from './app.js';
import type { ApiService, ReloadOutcome } from './api-context.js';

export interface HttpHandle {
  readonly server: Server;
  /** Base URL, e.g. http://127.0.0.1:8080 */
  readonly url: string;
  /** The HAProxy agent-check listener, when NODESENTRY_AGENT_PORT is set. */
  readonly agent: AgentCheckServer | undefined;
  /** Stop accepting, close streams, let in-flight requests finish. Safe twice. */
  close(): Promise<void>;
}

/** What the HTTP faces need of the running process (main.ts composes it). */
export interface HttpDeps {
  readonly service: ApiService;
  readonly logger: Logger;
  readonly settings: Settings;
  /** Re-read the nodes file (on this replica, or fleet-wide). */
  readonly reload: (by: string) => Promise<ReloadOutcome>;
}

/** Start the API on the configured host and port. */
export async function startHttp(running: HttpDeps): Promise<HttpHandle> {
  const {
    app,
    answers,
    close: closeApp,
  } = createApp({ service: running.service, logger: running.logger, reload: running.reload });
  const { headersTimeoutMs, maxConnections } = running.settings;
  // Slowloris and idle-socket hygiene: load balancers keep connections alive, attackers too.
  // Node checks headersTimeout / requestTimeout only every connectionsCheckingInterval (30 s by
  // default: a 10 s header timeout held a slowloris socket 24.6 s, issue 14); check every second.
  const server = createServer(
    {
      connectionsCheckingInterval: 1_000,
      headersTimeout: headersTimeoutMs,
      requestTimeout: Math.max(30_000, headersTimeoutMs),
      keepAliveTimeout: 65_000,
    },
    app,
  );
  // Connections past the bound are closed on accept, so idle sockets cannot exhaust file
  // descriptors (20,000 did, and /livez failed with them).
  server.maxConnections = maxConnections;
  // Node's header timeout starts with the first byte of a request: a connection that never
  // sends one would be held until keepAliveTimeout. Close those after headersTimeoutMs too.
  const firstRequest = new WeakMap<object, NodeJS.Timeout>();
  server.on('connection', (socket) => {
    const timer = setTimeout(() => socket.destroy(), headersTimeoutMs);
    timer.unref();
    firstRequest.set(socket, timer);
    socket.once('close', () => clearTimeout(timer));
  });
  server.on('request', (req) => {
    const timer = firstRequest.get(req.socket);
    if (timer === undefined) return;
    clearTimeout(timer);
    firstRequest.delete(req.socket);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(running.settings.port, running.settings.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host =
    running.settings.host === '0.0.0.0' || running.settings.host === '::' ? '127.0.0.1' : running.settings.host;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  running.logger.info({ url }, 'API listening');
  let agent: AgentCheckServer | undefined;
  if (running.settings.agentPort !== undefined) {
    try {
      agent = await AgentCheckServer.start({
        port: running.settings.agentPort,
        host: running.settings.host,
        // The app's own answer cache: a probe over HTTP and one over the agent port share it.
        answers,
        // The agent honours NODESENTRY_PROTECT_PROBES like the HTTP probes: `key=<key>` in agent-send.
        apiKey: running.settings.protectProbes ? running.settings.apiKey : undefined,
        logger: running.logger,
      });
    } catch (err) {
      // Do not leave the HTTP server listening behind a failed start.
      closeApp();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      throw err;
    }
    running.logger.info({ port: agent.port }, 'HAProxy agent-check listening');
  }
  let closing: Promise<void> | undefined;
  return {
    server,
    url,
    agent,
    close() {
      closing ??= Promise.all([
        new Promise<void>((resolve) => {
          closeApp();
          // Answers from now on tell the client not to reuse the connection.
          server.prependListener('request', (_req, res) => res.setHeader('connection', 'close'));
          // Stop accepting, but do not drop idle keep-alive connections yet (http.Server.close
          // would, at once): a client may be sending its next request on one right now, and
          // would see ECONNRESET (16 per run under keep-alive load, issue 14). For a grace
          // period, requests on open connections are served with `Connection: close`, so busy
          // clients leave on their own; then idle ones are closed as they go idle.
          NetServer.prototype.close.call(server, () => resolve());
          const grace = setTimeout(() => {
            server.closeIdleConnections();
            const idle = setInterval(() => server.closeIdleConnections(), 50);
            idle.unref();
            server.once('close', () => clearInterval(idle));
          }, SHUTDOWN_GRACE_MS);
          grace.unref();
          server.once('close', () => clearTimeout(grace));
        }),
        agent?.close(),
      ]).then(() => undefined);
      return closing;
    },
  };
}

/** How long open keep-alive connections may still carry requests after a stop begins, ms. */
export const SHUTDOWN_GRACE_MS = 1_000;
