// The poller: wires the lease keeper, the scheduler and the write buffer of one replica, and publishes each judged result.
import type { Logger } from 'pino';
import type { Dispatcher } from 'undici';
import { type Sample, withoutPeerList } from '../chains/sample.js';
import type { NodeConfig } from '../config/node-config.js';
import type { NodeRecord, Store } from '../store/store.js';
import type { FleetView } from '../view/fleet-view.js';
import type { ProbeSchedule } from '../health/verdict.js';
import type { Judge } from './judge.js';
import { OutOfRangeError } from '../errors/argument-errors.js';
import { LEASE_DEFAULTS, PEER_DETAILS_EVERY_MS, PROBE_DEFAULTS } from '../defaults.js';
import { errText } from './err-text.js';
import { LeaseKeeper, type StoreOutage } from './lease-keeper.js';
import { Scheduler, type ProbeResult } from './scheduler.js';
import { WriteBuffer } from './write-buffer.js';

export interface PollerOptions {
  /** This process's name among replicas (in records, leases and logs). */
  readonly replica: string;
  readonly store: Store;
  readonly view: FleetView;
  readonly judge: Judge;
  readonly dispatcher: Dispatcher;
  readonly logger: Logger;
  /** Probes in flight across the process. Default 64. */
  readonly concurrency?: number;
  /** Probes in flight per node host:port. Default 8. */
  readonly perHostConcurrency?: number;
  /** Cap on one node response, bytes. Default 4 MiB. */
  readonly maxResponseBytes?: number;
  /** Buffered results are written at least this often, ms. Default 250. */
  readonly flushIntervalMs?: number;
  /** ... or as soon as this many records are buffered. Default 1000. */
  readonly flushMaxRecords?: number;
  /** How often leases are renewed and free nodes claimed, ms. Default 2000. */
  readonly leaseRenewMs?: number;
  /** Lease lifetime, ms: a dead replica's nodes are taken over after at most this plus one renewal. Default 3 x leaseRenewMs. */
  readonly leaseTtlMs?: number;
  /**
   * Ceiling of the back-off for nodes that give no answer at all (refused, timeout, DNS, TLS,
   * auth, HTTP errors), ms. Default 3 s: with the 2 s interval a dead node is probed every 3 s,
   * so it is seen back within ~3 s of answering again, and its record never goes stale (30 s).
   * A node's own interval is never stretched: the step is max(interval, this). 0 = no back-off.
   */
  readonly maxBackoffMs?: number;
  /**
   * Re-check delay while a change is being confirmed (HAProxy's fastinter), ms: after a hard
   * failure of a usable node (so `failAfter` is counted in a fraction of a second), and after a
   * node answers again or is new (so `riseAfter` is). Default 100; never above the interval.
   */
  readonly fastIntervalMs?: number;
  /**
   * A node's staleness window, ms (the health policy's): the back-off is capped so that two
   * back-off rounds (step plus timeout) fit in it, whatever maxBackoffMs says, so a node probed
   * on its schedule is never shown unknown. Default: no cap beyond maxBackoffMs.
   */
  readonly staleAfterMs?: (node: NodeConfig) => number;
  /** `recheckSoon` probes one node at most this often, ms. Default 1000. */
  readonly recheckMinGapMs?: number;
  /** Per-peer details (getpeerinfo) are fetched at most this often per node, ms. Default 60 s (see NodeProber). */
  readonly peerDetailsEveryMs?: number;
  /**
   * Phase each node's first per-peer list over `peerDetailsEveryMs` by its id, so the cold sweep
   * asks getpeerinfo for the counts but builds and stores no lists at once (issue #17). Default
   * true; false builds every node's list on its first probe (tests that read lists at once).
   */
  readonly phasePeerDetails?: boolean;
  /** Random spread of each interval, as a fraction (0.1 = +-10 %), so nodes do not fire in lockstep. Default 0.1. */
  readonly jitter?: number;
  readonly now?: () => number;
  readonly random?: () => number;
}

/**
 * Keeps every node this replica holds a lease for probed on its own interval (with jitter),
 * under a global and a per-host concurrency limit. A node's rounds never overlap; a hung node
 * costs at most its timeout and delays nobody else. Nodes that are changing state are
 * re-checked sooner (HAProxy's fastinter); nodes that stay down are backed off, never dropped.
 * Results reach the fleet view at once and Redis in batched pipelines.
 *
 * The parts: `LeaseKeeper` (which nodes are ours), `Scheduler` (when each is probed, by the
 * rules in cadence.ts), `WriteBuffer` (what reaches the store, and when). The poller wires
 * them, owns the fleet's configuration and turns each judged sample into a record and events.
 */
export class Poller {
  readonly #o: Required<Omit<PollerOptions, 'now' | 'random'>> & { now: () => number; random: () => number };
  /** Every configured node, by id. */
  readonly #nodes = new Map<string, NodeConfig>();
  readonly #outage: StoreOutage = { failing: false };
  readonly #scheduler: Scheduler;
  readonly #leases: LeaseKeeper;
  readonly #buffer: WriteBuffer;
  #started = false;
  #closed = false;
  #unsubscribe: (() => void) | undefined;

  constructor(opts: PollerOptions) {
    const leaseRenewMs = opts.leaseRenewMs ?? LEASE_DEFAULTS.renewMs;
    this.#o = {
      ...PROBE_DEFAULTS,
      flushIntervalMs: 250,
      flushMaxRecords: 1_000,
      maxBackoffMs: 3_000,
      fastIntervalMs: 100,
      recheckMinGapMs: 1_000,
      staleAfterMs: () => Infinity,
      jitter: 0.1,
      peerDetailsEveryMs: PEER_DETAILS_EVERY_MS,
      phasePeerDetails: true,
      ...opts,
      leaseRenewMs,
      leaseTtlMs: opts.leaseTtlMs ?? LEASE_DEFAULTS.ttlRenewals * leaseRenewMs,
      now: opts.now ?? Date.now,
      random: opts.random ?? Math.random,
    };
    if (this.#o.leaseTtlMs <= leaseRenewMs) throw new OutOfRangeError('leaseTtlMs must be longer than leaseRenewMs');
    const o = this.#o;
    this.#scheduler = new Scheduler({ ...o, onResult: (r) => this.#publish(r) });
    const scheduler = this.#scheduler;
    this.#leases = new LeaseKeeper({
      ...o,
      outage: this.#outage,
      nodes: {
        configured: () => [...this.#nodes.keys()],
        isConfigured: (id) => this.#nodes.has(id),
        owned: () => scheduler.ownedNodeIds,
        isOwned: (id) => scheduler.has(id),
        take: (id) => {
          const node = this.#nodes.get(id)!;
          scheduler.own(node, scheduler.resumeDelay(node));
        },
        drop: (id) => scheduler.drop(id),
      },
    });
    this.#buffer = new WriteBuffer({
      ...o,
      outage: this.#outage,
      chainFacts: (now) => o.judge.chainFacts(now),
      nodeOf: (id) => this.#nodes.get(id),
      ownedNodes: () => scheduler.ownedNodes,
      fence: () => (this.#started ? o.replica : undefined),
      onFenced: (ids) => this.#lostLeases(ids),
    });
  }

  /** Readiness: every node owned at start has been probed once (or there was nothing to probe). */
  get firstSweepDone(): boolean {
    return this.#scheduler.firstSweepDone;
  }

  get ownedNodeIds(): string[] {
    return this.#scheduler.ownedNodeIds;
  }

  get stats(): Readonly<{
    probes: number;
    flushes: number;
    flushFailures: number;
    lastFlushMs: number;
    leasesAcquired: number;
    leasesLost: number;
    owned: number;
    inFlight: number;
    queued: number;
  }> {
    const s = this.#scheduler.stats;
    return {
      probes: s.probes,
      ...this.#buffer.stats,
      ...this.#leases.stats,
      owned: this.#scheduler.size,
      inFlight: s.inFlight,
      queued: s.queued,
    };
  }

  /**
   * Set the fleet (start-up and config reloads): adds new nodes, drops removed ones (their
   * keys are deleted from the store), and re-creates probers of changed ones.
   */
  async setNodes(nodes: readonly NodeConfig[]): Promise<{ added: string[]; removed: string[]; changed: string[] }> {
    const next = new Map(nodes.map((n) => [n.id, n]));
    const added: string[] = [];
    const removed: string[] = [];
    const changed: string[] = [];
    for (const [id, prev] of this.#nodes) {
      const n = next.get(id);
      if (!n) removed.push(id);
      else if (!sameNode(prev, n)) changed.push(id);
    }
    for (const id of next.keys()) if (!this.#nodes.has(id)) added.push(id);

    for (const id of removed) {
      this.#nodes.delete(id);
      this.#scheduler.drop(id);
      this.#buffer.discard(id);
    }
    for (const id of changed) {
      const node = next.get(id)!;
      this.#nodes.set(id, node);
      if (this.#scheduler.has(id)) {
        this.#scheduler.drop(id);
        this.#scheduler.own(node, 0);
      }
    }
    for (const id of added) this.#nodes.set(id, next.get(id)!);
    this.#leases.offer([...added, ...changed]);
    this.#scheduler.retainHosts(this.#nodes.values());
    if (removed.length > 0) {
      this.#o.view.remove(removed);
      try {
        await this.#o.store.releaseLeases(this.#o.replica, removed);
        await this.#o.store.removeNodes(removed);
      } catch (err) {
        this.#o.logger.warn(
          { err: errText(err), nodes: removed.length },
          'could not remove deleted nodes from the store yet; their records will expire',
        );
      }
    }
    if (this.#started && (added.length > 0 || changed.length > 0)) await this.#leases.tick();
    return { added, removed, changed };
  }

  /** Begin claiming leases and probing. Resolves once the first lease round is done, not the first sweep. */
  async start(): Promise<void> {
    if (this.#started || this.#closed) return;
    this.#started = true;
    this.#scheduler.activate();
    this.#unsubscribe = this.#o.store.subscribe((event) => {
      // A replica that stopped cleanly handed its nodes over: claim them now, not at the next tick.
      if (event.type === 'leases-released' && event.replica !== this.#o.replica) void this.#leases.tick();
    });
    await this.#leases.tick();
    this.#scheduler.beginFirstSweep();
    this.#leases.start();
    this.#buffer.start();
  }

  /**
   * Probe every owned node once now and write the results (benchmarks, tests, `demo --once`).
   * Nodes already being probed are awaited, not probed twice.
   */
  async sweepOnce(): Promise<Sample[]> {
    if (!this.#started) {
      // Without start(), a one-off sweep probes every configured node (single process use).
      for (const node of this.#nodes.values()) this.#scheduler.own(node, undefined);
    }
    const samples = await this.#scheduler.probeAllOnce();
    await this.flush();
    return samples;
  }

  /**
   * Probe `nodeId` now instead of at its next turn: for callers that saw it fail outside the
   * poller (a proxy whose request to it failed: passive health). Ignored unless this replica
   * owns the node and polls it, and while a probe of it is in flight; at most once per
   * `recheckMinGapMs` per node, so a burst of failed requests costs one probe.
   */
  recheckSoon(nodeId: string): void {
    this.#scheduler.recheckSoon(nodeId);
  }

  /** Write buffered results now. Never throws; on failure the latest results stay buffered. */
  flush(): Promise<void> {
    return this.#buffer.flush();
  }

  /** Stop probing, wait for probes in flight (bounded by their timeouts), write, hand leases over. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const leasesStopped = this.#leases.stop();
    this.#buffer.stop();
    this.#unsubscribe?.();
    await this.#scheduler.close();
    await leasesStopped;
    await this.flush();
    const owned = this.#scheduler.clear();
    if (this.#started) await this.#leases.handOver(owned);
  }

  /**
   * The store refused writes for nodes whose lease is no longer ours: stop probing them now
   * (their results are dropped, the owner's stand) and renew at once, to re-take whatever is
   * free and our share.
   */
  #lostLeases(nodeIds: readonly string[]): void {
    for (const id of nodeIds) {
      this.#scheduler.drop(id);
      this.#buffer.discard(id);
    }
    this.#o.logger.warn(
      { nodes: nodeIds.length, sample: nodeIds.slice(0, 5) },
      'store refused writes for nodes whose lease this replica no longer holds (paused or partitioned past the lease?): stopped polling them',
    );
    if (!this.#closed) void this.#leases.tick();
  }

  /** A judged sample: to the view at once, to the write buffer, and its state change logged and published. */
  #publish({ node, sample, verdict, plan, now }: ProbeResult): void {
    const peerList = sample.peerList;
    const probing: ProbeSchedule = {
      mode: plan.mode,
      delayMs: plan.delayMs,
      nextProbeAt: now + plan.delayMs,
      ...(plan.mode === 'backoff' ? { backoffStep: plan.state.downStreak } : {}),
    };
    const health = verdict.record.health;
    const record: NodeRecord = {
      ...verdict.record,
      sample: withoutPeerList(sample),
      health: health && typeof health === 'object' ? { ...health, probing } : health,
    };
    this.#o.view.ingest([record]);

    const t = verdict.transition;
    const transition = t
      ? { from: t.from, to: t.to, reasons: [...t.reasons], at: now, replica: this.#o.replica }
      : undefined;
    this.#buffer.add(node.id, { record, sample, peers: peerList, transition });

    if (t) {
      const event = {
        type: 'transition' as const,
        nodeId: node.id,
        chain: node.chain.name,
        from: t.from,
        to: t.to,
        reasons: [...t.reasons],
        at: now,
        replica: this.#o.replica,
      };
      // Logged once, here, by the replica that saw it; published for the others.
      // A new node confirming its first samples is routine; anything else is worth a look.
      const level = t.from === 'new' && t.to === 'unknown' ? 'debug' : t.to === 'healthy' ? 'info' : 'warn';
      this.#o.logger[level](
        { node: node.id, chain: node.chain.name, from: t.from, to: t.to, reasons: t.reasons },
        `node ${node.id} ${t.from} -> ${t.to}`,
      );
      this.#o.view.emitLocal(event);
      this.#o.store.publish(event).catch(() => {});
    }
  }
}

function sameNode(a: NodeConfig, b: NodeConfig): boolean {
  return (
    a.url === b.url &&
    a.requestUrl?.reveal() === b.requestUrl?.reveal() &&
    JSON.stringify(a.chain) === JSON.stringify(b.chain) &&
    a.intervalMs === b.intervalMs &&
    a.timeoutMs === b.timeoutMs &&
    a.tier === b.tier &&
    (a.credentials === b.credentials ||
      (a.credentials !== undefined && b.credentials !== undefined && a.credentials.sameAs(b.credentials))) &&
    a.tags.join('\u0000') === b.tags.join('\u0000')
  );
}
