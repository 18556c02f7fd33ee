// The Redis store's connections (as bullmq's RedisConnection): ioredis client/cluster/sentinel, reconnects, the subscriber, readiness, and the maxmemory-policy check on each connect.
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { InvalidArgumentError } from '../../errors/argument-errors.js';
import { StoreClosedError, StoreUnavailableError } from '../store-errors.js';
import type { StoreHealth } from '../store.js';
import { positiveInt } from '../validate-args.js';
import { WarnOnce, type StoreWarningSink } from '../warn-once.js';

export type RedisClient = Redis | Cluster;

export interface RedisConnectionOptions {
  /** `redis://[user:pass@]host:port[/db]` or `rediss://...`. Exactly one of url, cluster, sentinel. */
  readonly url?: string;
  readonly cluster?: { readonly nodes: ReadonlyArray<{ readonly host: string; readonly port: number }> };
  readonly sentinel?: {
    readonly sentinels: ReadonlyArray<{ readonly host: string; readonly port: number }>;
    readonly name: string;
  };
  /** Password for Sentinel-managed masters and Cluster nodes (a `url` carries its own). Secret. */
  readonly password?: string;
  /** This replica's id: names the connections (CLIENT LIST) so operators see who is who. */
  readonly replica: string;
  /** Connection errors, an evicting maxmemory-policy. Default: ignore. */
  readonly onWarning?: StoreWarningSink;
  /** TCP connect timeout, ms. Default 5000. */
  readonly connectTimeoutMs?: number;
  /** A command without an answer fails after this long, ms (a hung server must not hang us). Default 5000. */
  readonly commandTimeoutMs?: number;
  /** Cap of the exponential reconnect backoff, ms. Default 2000. */
  readonly reconnectMaxDelayMs?: number;
}

export interface SubscriberOptions {
  /** The one channel the subscriber listens to (re-subscribed after every reconnect). */
  readonly channel: string;
  readonly onMessage: (message: string) => void;
}

const DEFAULTS = {
  connectTimeoutMs: 5000,
  commandTimeoutMs: 5000,
  reconnectMaxDelayMs: 2000,
} as const;

/** Throws unless exactly one of url, cluster, sentinel is given and a url is redis: or rediss:. */
export function checkConnectionSource(options: RedisConnectionOptions): void {
  const sources = (['url', 'cluster', 'sentinel'] as const).filter((k) => options[k] !== undefined);
  if (sources.length !== 1)
    throw new InvalidArgumentError(
      `RedisStore needs exactly one of url, cluster, sentinel (got ${sources.length === 0 ? 'none' : sources.join(', ')})`,
    );
  if (options.url !== undefined) validateRedisUrl(options.url);
}

/**
 * Two connections to one Redis (standalone, Sentinel or Cluster): `client` for commands, and a
 * subscriber for the events channel. While Redis is down, commands reject at once (no offline
 * queue, at most one retry of an in-flight command): an unbounded queue of stale writes would
 * be worse than a failed sweep written again next time. Both come back on their own (capped
 * exponential backoff) and the subscriber re-subscribes; `health()` says connected only while
 * both are up and the channel is subscribed.
 */
export class RedisConnection {
  readonly client: RedisClient;
  readonly #subscriber: RedisClient;
  readonly #channel: string;
  /** Connection errors: once per outage, not once per process (cleared on reconnect). */
  readonly #connectionWarnings: WarnOnce;
  /** What the policy check found: once per server and policy, so a failover to a new master is checked too. */
  readonly #policyWarnings: WarnOnce;
  readonly #secrets: string[];
  #readyWaiters: Array<{ resolve: () => void; reject: (err: Error) => void }> = [];
  #subscribed = false;
  #closed = false;
  /** The maxmemory-policy check in flight, if any (one at a time; every ready starts one). */
  #policyCheck: Promise<void> | undefined;
  #state: { connected: boolean; since: number; lastError?: string } = { connected: false, since: Date.now() };

  constructor(options: RedisConnectionOptions, subscriber: SubscriberOptions) {
    checkConnectionSource(options);
    const connectTimeout = positiveInt('connectTimeoutMs', options.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs);
    const commandTimeout = positiveInt('commandTimeoutMs', options.commandTimeoutMs ?? DEFAULTS.commandTimeoutMs);
    const reconnectMaxDelayMs = positiveInt(
      'reconnectMaxDelayMs',
      options.reconnectMaxDelayMs ?? DEFAULTS.reconnectMaxDelayMs,
    );
    this.#channel = subscriber.channel;
    this.#connectionWarnings = new WarnOnce(options.onWarning, 100);
    this.#policyWarnings = new WarnOnce(options.onWarning, 100);
    this.#secrets = options.url === undefined ? (options.password ? [options.password] : []) : urlSecrets(options.url);

    const retryStrategy = (times: number): number => Math.min(50 * 2 ** Math.min(times, 10), reconnectMaxDelayMs);
    const common = (role: 'cmd' | 'sub'): RedisOptions => ({
      connectionName: `nodesentry:${options.replica}:${role}`,
      // Fail fast while disconnected instead of queueing without bound (see class comment).
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      // Resubscription is ours (onSubscriberReady), so we know when events flow again.
      autoResubscribe: false,
      connectTimeout,
      commandTimeout,
      retryStrategy,
      ...(options.password !== undefined && options.url === undefined ? { password: options.password } : {}),
    });
    const connect = (role: 'cmd' | 'sub'): RedisClient => {
      if (options.url !== undefined) return new Redis(options.url, common(role));
      if (options.sentinel !== undefined) {
        return new Redis({
          ...common(role),
          sentinels: options.sentinel.sentinels.map(({ host, port }) => ({ host, port })),
          name: options.sentinel.name,
        });
      }
      const { enableOfflineQueue: _q, retryStrategy: _r, ...redisOptions } = common(role);
      return new Cluster(
        options.cluster!.nodes.map(({ host, port }) => ({ host, port })),
        {
          enableOfflineQueue: false,
          clusterRetryStrategy: retryStrategy,
          redisOptions,
        },
      );
    };
    this.client = connect('cmd');
    this.#subscriber = connect('sub');

    for (const [conn, role] of [
      [this.client, 'command'],
      [this.#subscriber, 'subscriber'],
    ] as const) {
      conn.on('error', (err: unknown) => this.#onConnectionError(role, err));
      conn.on('close', () => {
        if (role === 'subscriber') this.#subscribed = false;
        // A server that goes away cleanly closes the socket without an 'error'; say so.
        if (this.#state.connected && !this.#closed)
          this.#state = { ...this.#state, lastError: `${role} connection closed` };
        this.#onConnectionState();
      });
      conn.on('end', () => this.#onConnectionState());
    }
    this.client.on('ready', () => {
      this.#onConnectionState();
      this.#checkPolicy();
    });
    this.#subscriber.on('ready', () => this.#onSubscriberReady());
    this.#subscriber.on('message', (channel: string, message: string) => {
      if (channel === this.#channel) subscriber.onMessage(message);
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Resolves once both connections are up and the channel is subscribed (messages published
   * before that are not seen). Rejects with STORE_UNAVAILABLE after `timeoutMs`.
   */
  ready(timeoutMs = 10_000): Promise<void> {
    if (this.#closed) return Promise.reject(new StoreClosedError('ready'));
    if (this.#state.connected) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter = {
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (err: Error) => {
          clearTimeout(timer);
          reject(err);
        },
      };
      const timer = setTimeout(() => {
        this.#readyWaiters = this.#readyWaiters.filter((w) => w !== waiter);
        reject(
          new StoreUnavailableError({
            details: `not connected within ${timeoutMs} ms${this.#state.lastError ? ` (${this.#state.lastError})` : ''}`,
          }),
        );
      }, timeoutMs);
      this.#readyWaiters.push(waiter);
    });
  }

  health(): StoreHealth {
    return { ...this.#state };
  }

  /**
   * Closes both connections. `drain` runs first, once no new work is taken (`closed` is true):
   * the store waits there for its calls in flight. Call once (the store guards it).
   */
  async close(drain: () => Promise<void>): Promise<void> {
    this.#closed = true;
    await drain();
    await this.#policyCheck;
    await Promise.all([quitOrDisconnect(this.client), quitOrDisconnect(this.#subscriber)]);
    this.#subscribed = false;
    this.#onConnectionState();
    for (const w of this.#readyWaiters.splice(0)) w.reject(new StoreClosedError('ready'));
  }

  /** Blank out the connection's secrets (URL userinfo, password) from any text bound for a log or an error. */
  redact(text: string): string {
    let out = text.replace(/(rediss?:\/\/)[^@\s/]*@/gi, '$1***@');
    for (const s of this.#secrets) out = out.split(s).join('***');
    return out;
  }

  async #onSubscriberReady(): Promise<void> {
    this.#onConnectionState();
    if (this.#closed) return;
    try {
      await this.#subscriber.subscribe(this.#channel);
      this.#subscribed = true;
    } catch (err) {
      // The connection dropped again; the next 'ready' retries.
      this.#onConnectionError('subscriber', err);
    }
    this.#onConnectionState();
  }

  #onConnectionState(): void {
    const connected =
      !this.#closed && this.client.status === 'ready' && this.#subscriber.status === 'ready' && this.#subscribed;
    if (connected !== this.#state.connected) {
      this.#state = { ...this.#state, connected, since: Date.now() };
      if (connected) this.#connectionWarnings.reset();
    }
    if (connected) for (const w of this.#readyWaiters.splice(0)) w.resolve();
  }

  #onConnectionError(role: 'command' | 'subscriber', err: unknown): void {
    const message = this.redact(err instanceof Error ? err.message : String(err));
    this.#state = { ...this.#state, lastError: message };
    this.#connectionWarnings.warn(`${role}:${message}`, 'redis connection error', { connection: role, error: message });
    this.#onConnectionState();
  }

  // --- maxmemory-policy ------------------------------------------------------------------------

  /**
   * On every ready of the command connection (start-up, a reconnect, a Sentinel or cluster
   * failover that put another server behind it), read each master's maxmemory-policy and warn
   * if it lets Redis evict our keys: a replica promoted by Sentinel keeps its own config, which
   * may evict although the old master did not. Warned once per server and policy, so reconnects
   * to the same server stay quiet. Never blocks readiness and never fails the store: a Redis
   * that refuses to say (managed services often disable CONFIG) is reported once.
   */
  #checkPolicy(): void {
    if (this.#policyCheck || this.#closed) return;
    this.#policyCheck = this.#readPolicies()
      .catch(() => {
        // The connection dropped mid-check: the next ready checks again.
      })
      .finally(() => {
        this.#policyCheck = undefined;
      });
  }

  async #readPolicies(): Promise<void> {
    const masters: Array<{ node: string | undefined; conn: Redis }> =
      this.client instanceof Cluster
        ? this.client.nodes('master').map((conn) => ({ node: `${conn.options.host}:${conn.options.port}`, conn }))
        : [{ node: undefined, conn: this.client }];
    const found = await Promise.all(masters.map(async (m) => ({ ...m, read: await readMaxmemoryPolicy(m.conn) })));
    for (const { node, read } of found) {
      const where = node === undefined ? {} : { node };
      if ('refused' in read) {
        this.#policyWarnings.warn(
          'refused',
          'could not read the Redis maxmemory-policy (CONFIG GET and INFO not permitted, as on some managed Redis services); make sure it is noeviction: an evicting policy silently drops leases, node records and drains under memory pressure',
          { ...where, error: this.redact(read.refused) },
        );
        continue;
      }
      const risk = evictionRisk(read.policy);
      // A single server or Sentinel: the address this connection reached, which changes on failover.
      const server = node ?? serverAddress(this.client);
      if (risk !== undefined)
        this.#policyWarnings.warn(
          `policy:${server}:${read.policy}`,
          `redis maxmemory-policy is ${read.policy}: ${risk}; set maxmemory-policy noeviction (writes then fail visibly and /readyz says so)`,
          { ...where, ...(node === undefined && server !== '' ? { server } : {}), policy: read.policy },
        );
    }
  }
}

/**
 * What an eviction policy puts at risk, or undefined for noeviction. Not only allkeys-*: our
 * keys that carry a TTL are exactly the ones whose loss misleads (a lease evicted lets a second
 * replica poll the node, a record evicted shows a live node as unknown), so volatile-* is no
 * safer for us. allkeys-* also takes keys without a TTL: drains and the audit log (operator
 * decisions lost without a trace) and the epoch (so a data loss is no longer noticed).
 * https://redis.io/docs/latest/develop/reference/eviction/
 */
export function evictionRisk(policy: string): string | undefined {
  if (policy === 'noeviction') return undefined;
  const ttlKeys =
    'leases (a second replica takes over a node still polled) and node records (live nodes shown unknown)';
  if (policy.startsWith('volatile-')) return `under memory pressure Redis evicts keys with a TTL: ${ttlKeys}`;
  return `under memory pressure Redis evicts any key: ${ttlKeys}, and drains, the audit log and the data epoch (operator decisions lost without a trace)`;
}

/** host:port of the server a (non-cluster) connection is on, '' when its socket does not say. */
function serverAddress(conn: RedisClient): string {
  if (conn instanceof Cluster) return '';
  const { remoteAddress, remotePort } = (conn.stream ?? {}) as { remoteAddress?: string; remotePort?: number };
  return remoteAddress === undefined || remotePort === undefined ? '' : `${remoteAddress}:${remotePort}`;
}

/** CONFIG GET maxmemory-policy, else INFO memory (often allowed where CONFIG is not); `refused` with the server's reply when neither is permitted. */
async function readMaxmemoryPolicy(conn: Redis): Promise<{ policy: string } | { refused: string }> {
  try {
    const reply = (await conn.config('GET', 'maxmemory-policy')) as unknown;
    if (Array.isArray(reply) && typeof reply[1] === 'string') return { policy: reply[1] };
  } catch (err) {
    if (!isReplyError(err)) throw err;
  }
  try {
    const info = await conn.info('memory');
    const policy = /^maxmemory_policy:(\S+)/m.exec(info)?.[1];
    return policy === undefined ? { refused: 'INFO memory has no maxmemory_policy' } : { policy };
  } catch (err) {
    if (!isReplyError(err)) throw err;
    return { refused: (err as Error).message };
  }
}

/** The server answered with an error (not permitted, unknown command), as opposed to a dropped connection. */
function isReplyError(err: unknown): boolean {
  return err instanceof Error && err.name === 'ReplyError';
}

/** Never repeats the URL: it may hold a password. */
function validateRedisUrl(raw: string): void {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new InvalidArgumentError('Redis url is not a valid URL');
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:')
    throw new InvalidArgumentError(`Redis url has unsupported scheme ${u.protocol} (use redis: or rediss:)`);
}

/** Userinfo of the URL, to blank out of any error text (at least 3 characters, to keep text readable). */
function urlSecrets(raw: string): string[] {
  try {
    const u = new URL(raw);
    return [u.password, decodeURIComponent(u.password), decodeURIComponent(u.username)].filter((s) => s.length >= 3);
  } catch {
    return [];
  }
}

async function quitOrDisconnect(conn: RedisClient): Promise<void> {
  if (conn.status === 'end') return;
  if (conn.status === 'ready') {
    try {
      await conn.quit();
      return;
    } catch {
      // Fall through: the connection dropped while quitting.
    }
  }
  conn.disconnect();
}
