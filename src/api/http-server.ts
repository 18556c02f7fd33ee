import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { reloadFromFile, type Running } from '../cli/serve-command.js';
import { AgentCheckServer } from './agent-check.js';
import { createApp } from './app.js';
import { nodeAnswersFor } from './node-answers.js';
import { ReadModel } from './read-model.js';

export interface HttpHandle {
  readonly server: Server;
  /** Base URL, e.g. http://127.0.0.1:8080 */
  readonly url: string;
  /** The HAProxy agent-check listener, when NODESENTRY_AGENT_PORT is set. */
  readonly agent: AgentCheckServer | undefined;
  /** Stop accepting, close streams, let in-flight requests finish. Safe twice. */
  close(): Promise<void>;
}

/** Start the API on the configured host and port. */
export async function startHttp(running: Running): Promise<HttpHandle> {
  const { app, close: closeApp } = createApp({ service: running.service, logger: running.logger, reload: () => reloadFromFile(running) });
  const server = createServer(app);
  // Slowloris and idle-socket hygiene: load balancers keep connections alive, attackers too.
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(running.settings.port, running.settings.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = running.settings.host === '0.0.0.0' || running.settings.host === '::' ? '127.0.0.1' : running.settings.host;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  running.logger.info({ url }, 'API listening');
  let agent: AgentCheckServer | undefined;
  if (running.settings.agentPort !== undefined) {
    try {
      agent = await AgentCheckServer.start({
        port: running.settings.agentPort,
        host: running.settings.host,
        answers: nodeAnswersFor(new ReadModel(running.service)),
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
          server.close(() => resolve());
          closeApp();
          // Answers from now on tell the client not to reuse the connection.
          server.prependListener('request', (_req, res) => res.setHeader('connection', 'close'));
          server.closeIdleConnections();
          // close() drops only the connections idle at this moment: a keep-alive connection
          // busy now (a request in flight) would stay open after its answer until the client
          // or keepAliveTimeout (65 s) closes it, holding the stop. Drop each as it goes idle.
          const idle = setInterval(() => server.closeIdleConnections(), 50);
          idle.unref();
          server.once('close', () => clearInterval(idle));
        }),
        agent?.close(),
      ]).then(() => undefined);
      return closing;
    },
  };
}
