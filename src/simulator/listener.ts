// An HTTP listener that can be closed hard and reopened on its port.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * One HTTP listener that can be closed hard (every socket destroyed, hung requests included)
 * and reopened on the same port: what a node process dying and restarting looks like.
 */
export class Listener {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  #listening = false;
  #port: number | undefined;

  constructor(handler: RequestHandler) {
    this.#server = createServer(handler);
    this.#server.on('connection', (socket: Socket) => {
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
    });
    // No 'clientError' handler on purpose: Node's default answers bytes that are not HTTP (a TLS
    // ClientHello, say) with "400 Bad Request" and closes, as geth's and bitcoind's servers do.
  }

  get listening(): boolean {
    return this.#listening;
  }

  /** The bound port (also after close, so the same port can be reopened). */
  get port(): number | undefined {
    return this.#port;
  }

  async listen(host: string, port: number): Promise<number> {
    if (this.#listening) return this.#port as number;
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.#server.once('error', onError);
      this.#server.listen({ host, port, exclusive: true }, () => {
        this.#server.off('error', onError);
        resolve();
      });
    });
    this.#listening = true;
    this.#port = (this.#server.address() as AddressInfo).port;
    return this.#port;
  }

  /** Stops accepting at once (later connects are refused), destroys every open socket. Safe twice. */
  async close(): Promise<void> {
    if (!this.#listening) return;
    this.#listening = false;
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const socket of this.#sockets) socket.destroy();
    this.#sockets.clear();
    this.#server.closeAllConnections();
    await closed;
  }
}
