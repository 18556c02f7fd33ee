// The undici keep-alive pool for node traffic, built by the composition root.
import { Agent, type Dispatcher } from 'undici';

export interface DispatcherOptions {
  /** Keep-alive connections per node origin. Probes are one request each, so few are needed. Default 4. */
  readonly connectionsPerOrigin?: number;
  /** How long an idle keep-alive socket is kept, ms. Default 30 s (well above probe intervals). */
  readonly keepAliveTimeoutMs?: number;
  /** TCP + TLS connect deadline, ms. Default 2 s. */
  readonly connectTimeoutMs?: number;
}

/**
 * The process's one keep-alive pool for talking to nodes. Created by the composition root and
 * passed down (no global dispatcher); `close()` it on shutdown.
 */
export function createNodeDispatcher(opts: DispatcherOptions = {}): Dispatcher {
  return new Agent({
    connections: opts.connectionsPerOrigin ?? 4,
    keepAliveTimeout: opts.keepAliveTimeoutMs ?? 30_000,
    keepAliveMaxTimeout: Math.max(opts.keepAliveTimeoutMs ?? 30_000, 60_000),
    connect: { timeout: opts.connectTimeoutMs ?? 2_000 },
    // undici's request() follows no redirects: a node never sends us (or our auth) elsewhere.
  });
}
