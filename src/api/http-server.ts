import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Running } from '../cli/serve-command.js';
import { createApp } from './app.js';

export interface HttpHandle {
  readonly server: Server;
  /** Base URL, e.g. http://127.0.0.1:8080 */
  readonly url: string;
  close(): Promise<void>;
}

/** Start the API on the configured host and port. */
export async function startHttp(running: Running): Promise<HttpHandle> {
  const app = createApp({ service: running.service });
  const server = createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(running.settings.port, running.settings.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = running.settings.host === '0.0.0.0' || running.settings.host === '::' ? '127.0.0.1' : running.settings.host;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  running.logger.info({ url }, 'API listening');
  let closing: Promise<void> | undefined;
  return {
    server,
    url,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      return closing;
    },
  };
}
