// Service: the store, the fleet view, the poller and the health judge of one process.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { Dispatcher } from 'undici';
import type { NodeConfig } from './config/node-config.js';
import type { Settings } from './config/settings.js';
import { staleAfterMs } from './health/freshness.js';
import { type HealthPolicy, policyForChain } from './health/policy.js';
import type { SelectionChange } from './health/selection.js';
import { HealthJudge } from './polling/health-judge.js';
import { Poller, type PollerOptions } from './polling/poller.js';
import { createNodeDispatcher } from './rpc/dispatcher.js';
import { MemoryStore } from './store/memory-store.js';
import { RedisStore } from './store/redis-store.js';
import type { Store } from './store/store.js';
import { FleetView } from './view/fleet-view.js';
import { LEASE_DEFAULTS } from './defaults.js';

export interface ServiceOptions {
  readonly settings: Settings;
  readonly nodes: readonly NodeConfig[];
  readonly policy: HealthPolicy;
  readonly logger: Logger;
  /** This process's name among replicas. Default `<hostname>-<pid>-<random>`. */
  readonly replica?: string;
  /** A store to use instead of the one the settings describe (tests, embedding). Closed by `close()`. */
  readonly store?: Store;
  /** The undici dispatcher for node traffic, instead of one built from the settings (main.ts builds it). Closed by `close()`. */
  readonly dispatcher?: Dispatcher;
  /** Poller knobs beyond the settings (lease timing, flush cadence); tests shorten them. */
  readonly poller?: Partial<Omit<PollerOptions, 'replica' | 'store' | 'view' | 'judge' | 'dispatcher' | 'logger'>>;
  /** Start scheduled polling (default true). Tests that drive `poller.sweepOnce()` themselves pass false. */
  readonly startPolling?: boolean;
}

/** A write probe that has not answered after this long failed, ms (readiness notices a hung Redis). */
const STORE_PROBE_TIMEOUT_MS = 900;
/** The store counts as working while its last write probe (one per second) succeeded this recently, ms. */
export const STORE_WRITABLE_WITHIN_MS = 2_500;
/** Every this many store-watch ticks (1 s), drain decisions are compared with the store's. */
const DRAIN_SYNC_TICKS = 5;

export interface ReloadResult {
  readonly added: string[];
  readonly removed: string[];
  readonly changed: string[];
}

/**
 * The core of a nodesentry process, without its HTTP faces: the store, the fleet view every
 * answer comes from, and (for the `worker` and `all` roles) the poller and the health judge.
 * `close()` stops probing, hands leases over, and closes connections; safe to call twice.
 */
export class Service {
  readonly replica: string;
  readonly settings: Settings;
  readonly logger: Logger;
  readonly store: Store;
  readonly view: FleetView;
  readonly judge: HealthJudge;
  readonly poller: Poller | undefined;
  readonly startedAt = Date.now();
  #nodes = new Map<string, NodeConfig>();
  #policy: HealthPolicy;
  readonly #dispatcher: Dispatcher;
  #storeWatch: NodeJS.Timeout | undefined;
  #storeWasConnected = true;
  /** The store's data-set id as this replica last saw it (see Store.epoch). */
  #epoch: string | undefined;
  #epochCheck: Promise<void> | undefined;
  #closing: Promise<void> | undefined;
  /** Readiness write probe: when the last one succeeded (epoch ms), the one in flight, the last failure. */
  #storeWriteOkAt = 0;
  #storeProbe: Promise<void> | undefined;
  #storeWriteError: string | undefined;
  readonly #selectionChanges = new Map<string, number>();

  private constructor(opts: ServiceOptions, store: Store) {
    this.replica = opts.replica ?? defaultReplicaName();
    this.settings = opts.settings;
    this.logger = opts.logger;
    this.store = store;
    this.#policy = opts.policy;
    this.#nodes = new Map(opts.nodes.map((n) => [n.id, n]));
    this.view = new FleetView({
      store,
      replica: this.replica,
      onWarning: (msg, data) => this.logger.warn(data ?? {}, msg),
    });
    this.judge = new HealthJudge({
      view: this.view,
      policy: opts.policy,
      replica: this.replica,
      nodes: () => this.#nodes,
      onSelectionChange: (c) => this.#logSelection(c),
    });
    this.#dispatcher =
      opts.dispatcher ?? createNodeDispatcher({ connectionsPerOrigin: nodeConnectionsPerOrigin(opts.settings) });
    this.poller =
      opts.settings.role === 'api'
        ? undefined
        : new Poller({
            replica: this.replica,
            store,
            view: this.view,
            judge: this.judge,
            dispatcher: this.#dispatcher,
            logger: this.logger,
            concurrency: opts.settings.probeConcurrency,
            perHostConcurrency: opts.settings.perHostConcurrency,
            maxResponseBytes: opts.settings.maxResponseBytes,
            leaseRenewMs: leaseRenewFor(opts.nodes),
            maxBackoffMs: opts.settings.maxBackoffMs,
            fastIntervalMs: opts.settings.fastIntervalMs,
            // Read at each use: a reload may change the policy.
            staleAfterMs: (node) => staleAfterMs(node.intervalMs, policyForChain(this.#policy, node.chain.name)),
            ...opts.poller,
          });
  }

  /** Build and start. Resolves once serving can begin: it never waits for the first sweep. */
  static async start(opts: ServiceOptions): Promise<Service> {
    const replica = opts.replica ?? defaultReplicaName();
    const store = opts.store ?? (await createStore(opts.settings, replica, opts.logger));
    const service = new Service({ ...opts, replica }, store);
    await service.view.start();
    service.#epoch = await store.epoch().then(
      (e) => e.epoch,
      () => undefined,
    );
    await service.#probeStore();
    if (service.poller) {
      await service.poller.setNodes([...service.#nodes.values()]);
      if (opts.startPolling !== false) await service.poller.start();
    }
    service.#watchStore();
    opts.logger.info(
      {
        replica,
        role: opts.settings.role,
        store: store.kind,
        nodes: service.#nodes.size,
        owned: service.poller?.ownedNodeIds.length ?? 0,
      },
      'nodesentry started',
    );
    return service;
  }

  /** Every configured node, by id. */
  get nodes(): ReadonlyMap<string, NodeConfig> {
    return this.#nodes;
  }

  get policy(): HealthPolicy {
    return this.#policy;
  }

  /**
   * Readiness: the view is loaded and, for workers, every owned node has been probed once.
   * `store` is true only while the store takes writes: a write probe succeeded within
   * STORE_WRITABLE_WITHIN_MS (a connected Redis that hangs, SIGSTOP, or refuses writes,
   * maxmemory with noeviction, is not a working store). It does not make the replica unready:
   * workers serve from memory, marked stale as it ages, through a store outage.
   */
  get ready(): { ready: boolean; view: boolean; firstSweep: boolean; store: boolean } {
    const firstSweep = this.poller ? this.poller.firstSweepDone : true;
    const store = this.storeStatus.writable;
    // An API replica with a store that never answered has nothing to serve but "unknown".
    const view = this.view.loaded || this.poller !== undefined;
    return { ready: view && firstSweep, view, firstSweep, store };
  }

  /** The store as it works now, for /readyz. */
  get storeStatus(): {
    connected: boolean;
    writable: boolean;
    lastWriteOkAgoMs: number | null;
    lastError: string | null;
  } {
    const connected = this.store.health().connected;
    const ago = this.#storeWriteOkAt === 0 ? null : Date.now() - this.#storeWriteOkAt;
    const writable = connected && ago !== null && ago <= STORE_WRITABLE_WITHIN_MS;
    return {
      connected: connected && writable,
      writable,
      lastWriteOkAgoMs: ago,
      lastError: writable ? null : (this.#storeWriteError ?? this.store.health().lastError ?? null),
    };
  }

  /** One bounded write probe; never rejects. */
  #probeStore(): Promise<void> {
    this.#storeProbe ??= (async () => {
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          this.store.probe(this.replica),
          new Promise<never>((_, reject) => {
            timer = setTimeout(
              () =>
                reject(
                  Object.assign(new Error(`no answer within ${STORE_PROBE_TIMEOUT_MS} ms`), { code: 'STORE_TIMEOUT' }),
                ),
              STORE_PROBE_TIMEOUT_MS,
            );
          }),
        ]);
        this.#storeWriteOkAt = Date.now();
        this.#storeWriteError = undefined;
      } catch (err) {
        // Store errors carry redacted details (the Redis reply, e.g. OOM); never the raw cause.
        const e = err as { code?: string; details?: string; shortMessage?: string };
        this.#storeWriteError = `${e.code ?? 'error'}: ${e.details ?? e.shortMessage ?? 'write failed'}`.slice(0, 200);
      } finally {
        clearTimeout(timer);
      }
    })().finally(() => (this.#storeProbe = undefined));
    return this.#storeProbe;
  }

  /** Apply a new fleet and policy (SIGHUP, admin reload). The caller validated them. */
  async reload(nodes: readonly NodeConfig[], policy: HealthPolicy): Promise<ReloadResult> {
    const prev = this.#nodes;
    this.#nodes = new Map(nodes.map((n) => [n.id, n]));
    this.#policy = policy;
    this.judge.setPolicy(policy);
    let result: ReloadResult;
    if (this.poller) {
      result = await this.poller.setNodes(nodes);
    } else {
      const removed = [...prev.keys()].filter((id) => !this.#nodes.has(id));
      const added = [...this.#nodes.keys()].filter((id) => !prev.has(id));
      this.view.remove(removed);
      result = { added, removed, changed: [] };
    }
    this.logger.info(
      {
        added: result.added.length,
        removed: result.removed.length,
        changed: result.changed.length,
        nodes: this.#nodes.size,
      },
      'configuration reloaded',
    );
    return result;
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      clearInterval(this.#storeWatch);
      await this.poller?.close();
      this.view.close();
      await this.store.close();
      await this.#dispatcher.close();
    })();
    return this.#closing;
  }

  /**
   * After an outage the view may have missed events: reload it when the store comes back. And
   * the store may have lost drain decisions meanwhile (Redis restarted empty, or from an older
   * snapshot, which the epoch key cannot tell): every reconnect, epoch change, and every
   * DRAIN_SYNC_TICKS seconds anyway, write back the decisions this replica holds that are newer
   * than the store's (see DrainFact), so an operator's drain or undrain never silently ends.
   */
  #watchStore(): void {
    let health = this.store.health();
    this.#storeWasConnected = health.connected;
    let since = health.since;
    let ticks = 0;
    this.#storeWatch = setInterval(() => {
      health = this.store.health();
      const connected = health.connected;
      void this.#probeStore();
      const reconnected = connected && (!this.#storeWasConnected || health.since !== since);
      since = health.since;
      ticks++;
      if (connected) {
        const syncDrains = reconnected || ticks % DRAIN_SYNC_TICKS === 0;
        this.#epochCheck ??= this.#checkStore(syncDrains, reconnected).finally(() => (this.#epochCheck = undefined));
      }
      if (reconnected && !this.#storeWasConnected) this.logger.info('store reachable again; reloading the fleet view');
      else if (!connected && this.#storeWasConnected) {
        this.logger.warn(
          { error: health.lastError },
          'store unreachable; serving from memory, marked stale as it ages',
        );
      }
      this.#storeWasConnected = connected;
    }, 1_000);
    this.#storeWatch.unref();
  }

  async #checkStore(syncDrains: boolean, reconnected = false): Promise<void> {
    let current: { epoch: string; created: boolean };
    try {
      current = await this.store.epoch();
    } catch {
      return; // unreachable again: the next tick tries
    }
    const known = this.#epoch;
    this.#epoch = current.epoch;
    const lost = known !== undefined && known !== current.epoch;
    if (lost)
      this.logger.warn(
        'the store lost its data (Redis restarted empty?): writing back the drains this replica holds; records are rewritten by the next sweep',
      );
    if (!lost && !syncDrains) return;
    await this.syncDrains().catch(() => {});
    // The records only after an outage or a data loss (events may have been missed): reading
    // every record back every DRAIN_SYNC_TICKS seconds cost a 10,000-node replica ~22 MB of
    // JSON parsed per 5 s, as much as the whole records feed. The drains are small: every time.
    if (lost || reconnected) await this.view.reload();
    else await this.view.reloadDrains();
  }

  /**
   * Write back the drain decisions this replica holds that are newer than the store's (or that
   * the store lacks), audited. Returns how many were written. The in-process store cannot lose
   * data behind our back, so there is nothing to do for it.
   */
  async syncDrains(): Promise<number> {
    if (this.store.kind === 'memory') return 0;
    const stored = await this.store.getDrainFacts();
    const newer = [...this.view.drainFacts().values()].filter((f) => (stored.get(f.nodeId)?.version ?? -1) < f.version);
    if (newer.length === 0) return 0;
    const written = await this.store.restoreDrains(newer);
    if (written.length === 0) return 0;
    const nodes = written.map((f) => ({ nodeId: f.nodeId, drained: f.drain !== null, version: f.version }));
    this.logger.warn(
      { restored: nodes },
      `the store held older drain decisions than this replica (restored from an older snapshot, or restarted empty): wrote back ${written.length}`,
    );
    await this.store
      .appendAudit({ action: 'drain-restore', by: this.replica, at: Date.now(), replica: this.replica, nodes })
      .catch(() => {});
    return written.length;
  }

  /** Changes of each chain's chosen node or mode this replica's judge made (the first choice after start-up excluded). */
  get selectionChanges(): ReadonlyMap<string, number> {
    return this.#selectionChanges;
  }

  #logSelection(c: SelectionChange): void {
    // The first evaluation of a chain after start-up is not news unless it picked a node.
    const first = c.fromMode === null;
    if (!first) this.#selectionChanges.set(c.chain, (this.#selectionChanges.get(c.chain) ?? 0) + 1);
    const level = first && c.to === null ? 'debug' : 'info';
    this.logger[level](
      { chain: c.chain, from: c.from, to: c.to, mode: c.mode, reason: c.reason },
      `chain ${c.chain}: best node ${c.from ?? 'none'} -> ${c.to ?? 'none'} (${c.reason})`,
    );
  }
}

/**
 * Lease renewal scaled to the fleet: half the shortest poll interval, between 100 ms and 2 s.
 * Leases live 3 renewals, so a dead replica's nodes are claimed by others within 4 renewals:
 * two intervals of the fastest node, the bound the README promises.
 */
export function leaseRenewFor(nodes: readonly NodeConfig[]): number {
  const shortest = nodes.reduce((m, n) => Math.min(m, n.intervalMs), Number.POSITIVE_INFINITY);
  return Number.isFinite(shortest)
    ? Math.min(LEASE_DEFAULTS.renewMs, Math.max(100, Math.floor(shortest / 2)))
    : LEASE_DEFAULTS.renewMs;
}

/** Connections per node origin: the per-host probe concurrency, between 2 and 16. */
export function nodeConnectionsPerOrigin(settings: Pick<Settings, 'perHostConcurrency'>): number {
  return Math.max(2, Math.min(settings.perHostConcurrency, 16));
}

/** This process's name among replicas: `<hostname>-<pid>-<random>`. */
export function defaultReplicaName(): string {
  return `${hostname()}-${process.pid}-${randomBytes(2).toString('hex')}`;
}

/** Redis when REDIS_URL is set, else the in-process store. Redis being down is not fatal. */
export async function createStore(settings: Settings, replica: string, logger: Logger): Promise<Store> {
  const onWarning = (msg: string, data?: object) => logger.warn(data ?? {}, msg);
  const target = settings.redisUrl
    ? { url: settings.redisUrl }
    : settings.redisSentinels && settings.redisSentinelName
      ? { sentinel: { sentinels: settings.redisSentinels, name: settings.redisSentinelName } }
      : settings.redisClusterNodes
        ? { cluster: { nodes: settings.redisClusterNodes } }
        : undefined;
  if (!target) return new MemoryStore({ onWarning });
  // The poller puts its own results into the view at once; their echo from Redis is skipped.
  const store = new RedisStore({
    ...target,
    ...(settings.redisPassword !== undefined && !settings.redisUrl ? { password: settings.redisPassword } : {}),
    prefix: settings.redisPrefix,
    replica,
    onWarning,
    skipOwnRecords: settings.role !== 'api',
  });
  try {
    await store.ready(5_000);
  } catch {
    // Workers probe and serve from memory meanwhile; the store reconnects on its own.
    logger.warn('Redis is not reachable yet; starting anyway, results are kept in memory until it is');
  }
  return store;
}
