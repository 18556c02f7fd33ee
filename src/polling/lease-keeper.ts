// The poller's lease rounds: heartbeat, renew this replica's share, take free nodes (candidate rounds, a full one now and then).
import type { Logger } from 'pino';
import type { Store } from '../store/store.js';
import { errText } from './err-text.js';

/** Shared by the lease keeper and the write buffer: the store is known to be failing (logged once per outage). */
export interface StoreOutage {
  failing: boolean;
}

/** What the lease keeper needs of the nodes: which are configured, which this replica polls. */
export interface LeasedNodes {
  /** Every configured node id. */
  configured(): string[];
  isConfigured(id: string): boolean;
  /** Nodes this replica polls now. */
  owned(): string[];
  isOwned(id: string): boolean;
  /** Start polling a node whose lease this replica won. */
  take(id: string): void;
  /** Stop polling a node whose lease this replica lost. */
  drop(id: string): void;
}

export interface LeaseKeeperOptions {
  readonly replica: string;
  readonly store: Store;
  readonly logger: Logger;
  readonly leaseRenewMs: number;
  readonly leaseTtlMs: number;
  readonly nodes: LeasedNodes;
  readonly outage: StoreOutage;
}

/** Every this many lease rounds one offers every node, not only candidates (see #roundOnce). */
export const FULL_LEASE_ROUND_EVERY = 15;
/** Candidates asked for beyond the fleet's size: ids of nodes other replicas configure and this one does not. */
const LEASE_CANDIDATES_SLACK = 1_000;

/**
 * Keeps this replica's leases: one round every leaseRenewMs (and on demand), never two at once.
 * Leases over the replica's fair share are given up at once, so a new replica gets work.
 */
export class LeaseKeeper {
  readonly #o: LeaseKeeperOptions;
  #timer: NodeJS.Timeout | undefined;
  #round: Promise<void> | undefined;
  /** Lease rounds done since the last full one (see #roundOnce). */
  #roundsSinceFull = 0;
  /** The next lease round offers every node: at start, after a failed round, and periodically. */
  #fullRoundDue = true;
  /** Nodes added or changed since the last lease round: offered once even if not candidates. */
  readonly #offerNext = new Set<string>();
  #stopped = false;
  readonly #stats = { leasesAcquired: 0, leasesLost: 0 };

  constructor(opts: LeaseKeeperOptions) {
    this.#o = opts;
  }

  get stats(): Readonly<{ leasesAcquired: number; leasesLost: number }> {
    return { ...this.#stats };
  }

  /** Offer these nodes at the next round even if the store does not name them as candidates (added or changed). */
  offer(ids: readonly string[]): void {
    for (const id of ids) this.#offerNext.add(id);
  }

  /** Run rounds on the timer until stop(). */
  start(): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      void this.tick().finally(() => this.start());
    }, this.#o.leaseRenewMs);
    this.#timer.unref();
  }

  /** No more rounds; resolves once a round in flight has ended. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#round?.catch(() => {});
  }

  /** A lease round now; a caller during a round shares it (rounds never overlap). */
  tick(): Promise<void> {
    this.#round ??= this.#roundOnce().finally(() => {
      this.#round = undefined;
    });
    return this.#round;
  }

  /** Hand these leases over and leave the replica set (a clean stop: others take over at once). */
  async handOver(ids: readonly string[]): Promise<void> {
    try {
      await this.#o.store.releaseLeases(this.#o.replica, ids);
      await this.#o.store.leave(this.#o.replica);
    } catch (err) {
      this.#o.logger.warn(
        { err: errText(err) },
        'could not hand leases over; other replicas take over when they expire',
      );
    }
  }

  /**
   * One lease round: heartbeat, renew what this replica holds up to its fair share, take free
   * nodes. A round offers the claim script only this replica's own leases, the candidates
   * the store names (leases that expired or were given up, by the store's clock: see
   * leaseCandidatesScript) and nodes just added, not every node: lease reads fall from
   * workers x nodes to about nodes per round. The script stays the authority (it takes only
   * free leases), so a candidate list that is stale or short can never steal a lease; what it
   * could miss (a store restarted between two rounds, leases written by an older version
   * without deadlines) is caught by a full round that offers every node, every
   * FULL_LEASE_ROUND_EVERY rounds and after any failed round.
   */
  async #roundOnce(): Promise<void> {
    if (this.#stopped) return;
    const { store, replica, leaseTtlMs, nodes } = this.#o;
    const ids = nodes.configured();
    const full = this.#fullRoundDue || this.#roundsSinceFull + 1 >= FULL_LEASE_ROUND_EVERY;
    const fresh = [...this.#offerNext];
    try {
      await store.heartbeat(replica, leaseTtlMs);
      const live = await store.liveReplicas();
      const replicas = Math.max(1, live.includes(replica) ? live.length : live.length + 1);
      // Fair share, so a new replica gets work: leases over the share are not renewed and are
      // released at once below, so another replica claims them without waiting for expiry.
      const max = Math.ceil(ids.length / replicas);
      let offered: string[];
      if (full) {
        offered = ids;
      } else {
        const own = nodes.owned();
        // At its share already: nothing to take, so no need to ask which leases are free.
        const candidates = own.length >= max ? [] : await store.leaseCandidates(ids.length + LEASE_CANDIDATES_SLACK);
        offered = [...new Set([...own, ...fresh, ...candidates])].filter((id) => nodes.isConfigured(id));
      }
      const held = new Set(offered.length === 0 ? [] : await store.claimLeases(replica, offered, leaseTtlMs, max));
      if (this.#stopped) return;
      if (full) {
        this.#fullRoundDue = false;
        this.#roundsSinceFull = 0;
      } else {
        this.#roundsSinceFull++;
      }
      for (const id of fresh) this.#offerNext.delete(id);
      const lost = nodes.owned().filter((id) => !held.has(id));
      for (const id of lost) nodes.drop(id);
      // Counted for operators: leases changing hands all the time (lease churn) mean replicas
      // fight over nodes, e.g. clocks or renewals too slow for the lease TTL.
      this.#stats.leasesLost += lost.length;
      if (lost.length > 0) await store.releaseLeases(replica, lost).catch(() => {});
      for (const id of held) {
        if (nodes.isOwned(id) || !nodes.isConfigured(id)) continue;
        nodes.take(id);
        this.#stats.leasesAcquired++;
      }
      if (this.#o.outage.failing) {
        this.#o.outage.failing = false;
        this.#o.logger.info('store reachable again; leases renewed');
      }
    } catch (err) {
      // Store down: keep probing what we hold, and take nothing more. Without the store this
      // replica cannot know who polls what: taking every node (as a replica that held none
      // once did on its first failed round) would make every such worker poll the whole
      // fleet. A node whose holder is gone is taken over once the store answers again.
      this.#fullRoundDue = true;
      if (!this.#o.outage.failing) {
        this.#o.outage.failing = true;
        this.#o.logger.warn(
          { err: errText(err) },
          'store unreachable: leases not renewed, probing continues from memory',
        );
      }
    }
  }
}
