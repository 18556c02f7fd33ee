import type { Logger } from 'pino';
import type { Dispatcher } from 'undici';
import { NodeProber } from '../chains/node-prober.js';
import { type PeerDetail, type Sample, withoutPeerList } from '../chains/sample.js';
import type { NodeConfig } from '../config/node-config.js';
import type { HistoryPoint, NodeRecord, Store, TransitionEntry } from '../store/store.js';
import type { FleetView } from '../view/fleet-view.js';
import { RpcErrorCode } from '../errors/rpc-errors.js';
import type { ProbeSchedule } from '../health/verdict.js';
import type { Judge, SampleVerdict } from './judge.js';
import { hostKey, ProbeLimiters } from './limiters.js';
import { OutOfRangeError } from '../errors/argument-errors.js';
import { LEASE_DEFAULTS, PROBE_DEFAULTS } from '../defaults.js';

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
  /** Random spread of each interval, as a fraction (0.1 = +-10 %), so nodes do not fire in lockstep. Default 0.1. */
  readonly jitter?: number;
  readonly now?: () => number;
  readonly random?: () => number;
}

interface Entry {
  node: NodeConfig;
  prober: NodeProber;
  host: string;
  timer: NodeJS.Timeout | undefined;
  inFlight: Promise<void> | undefined;
  /** Consecutive unanswered probes while the node's stable state is down (drives the back-off). */
  downStreak: number;
  /** The node gave no answer at its previous probe: once it answers, its rise is checked fast. */
  silent: boolean;
  /** It answered again after silence and the rise is still being confirmed. */
  fastRise: boolean;
  /** When `recheckSoon` last asked for a probe (rate limit). */
  recheckAt: number;
}

interface Pending {
  record: NodeRecord;
  peers?: readonly PeerDetail[];
  history: HistoryPoint[];
  /** State changes not yet written, oldest first. */
  transitions: TransitionEntry[];
}

const MIN_RECORD_TTL_MS = 15_000;

/**
 * Sample errors that mean the node gave no answer to judge: nothing but its absence. Such a
 * node is backed off once confirmed down (an answering node never is: its reason must stay
 * fresh). The transport failures, auth and 5xx are also confirmed fast: they are not blips a
 * second look a few hundred ms later would miss. A 429 is not re-probed fast (it asks us to
 * slow down), nor is any other 4xx.
 */
const NO_ANSWER = new Set<string>([
  RpcErrorCode.Timeout,
  RpcErrorCode.ConnectionRefused,
  RpcErrorCode.ConnectionReset,
  RpcErrorCode.Dns,
  RpcErrorCode.Tls,
  RpcErrorCode.Network,
  RpcErrorCode.AuthFailed,
  RpcErrorCode.Forbidden,
  RpcErrorCode.HttpStatus,
]);

function gaveNoAnswer(sample: Sample): boolean {
  return !sample.ok && sample.error !== undefined && NO_ANSWER.has(sample.error.code);
}

function isHardFailure(sample: Sample): boolean {
  if (!gaveNoAnswer(sample)) return false;
  const status = sample.error?.httpStatus;
  return sample.error?.code !== RpcErrorCode.HttpStatus || (status !== undefined && status >= 500);
}
/** Backlog per node kept while the store is away (history points, state changes). */
const MAX_PENDING_HISTORY = 60;
const MAX_PENDING_TRANSITIONS = 50;

/** Keep the newest `max` items of `list` (oldest first), in place. */
function keepNewest<T>(list: T[], max: number): void {
  if (list.length > max) list.splice(0, list.length - max);
}

/**
 * Records outlive a few missed rounds, never many: unrefreshed state must expire, not linger.
 * A backed-off node's round is its back-off step plus its timeout, so that counts too: a node
 * probed on its schedule never has its record expire between two probes.
 */
/** Every this many lease rounds one offers every node, not only candidates (see #leaseRoundOnce). */
const FULL_LEASE_ROUND_EVERY = 15;
/** Candidates asked for beyond the fleet's size: ids of nodes other replicas configure and this one does not. */
const LEASE_CANDIDATES_SLACK = 1_000;

function recordTtlMs(node: NodeConfig, leaseTtlMs: number, maxBackoffMs: number): number {
  const round = Math.max(node.intervalMs, maxBackoffMs) + node.timeoutMs;
  return Math.max(3 * round, leaseTtlMs + 2 * round, MIN_RECORD_TTL_MS);
}

/**
 * Keeps every node this replica holds a lease for probed on its own interval (with jitter),
 * under a global and a per-host concurrency limit. A node's rounds never overlap; a hung node
 * costs at most its timeout and delays nobody else. Nodes that are changing state are
 * re-checked sooner (HAProxy's fastinter); nodes that stay down are backed off, never dropped.
 * Results reach the fleet view at once and Redis in batched pipelines.
 */
export class Poller {
  readonly #o: Required<Omit<PollerOptions, 'now' | 'random'>> & { now: () => number; random: () => number };
  readonly #limiters: ProbeLimiters;
  /** Every configured node, by id. */
  readonly #nodes = new Map<string, NodeConfig>();
  /** Nodes this replica holds the lease for and schedules. */
  readonly #owned = new Map<string, Entry>();
  readonly #pending = new Map<string, Pending>();
  #flushTimer: NodeJS.Timeout | undefined;
  #leaseTimer: NodeJS.Timeout | undefined;
  #flushChain: Promise<void> = Promise.resolve();
  #leaseRound: Promise<void> | undefined;
  /** Lease rounds done since the last full one (see #leaseRoundOnce). */
  #roundsSinceFull = 0;
  /** The next lease round offers every node: at start, after a failed round, and periodically. */
  #fullRoundDue = true;
  /** Nodes added or changed since the last lease round: offered once even if not candidates. */
  readonly #offerNext = new Set<string>();
  #started = false;
  #closed = false;
  #storeFailing = false;
  #firstSweepPending = new Set<string>();
  #firstSweepDone = false;
  /** A flush skipped re-ranking the chains (see #enqueueFlush); the next full flush must do it. */
  #chainsOwed = false;
  #unsubscribe: (() => void) | undefined;
  readonly #stats = { probes: 0, flushes: 0, flushFailures: 0, lastFlushMs: 0, leasesAcquired: 0, leasesLost: 0 };

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
      peerDetailsEveryMs: 60_000,
      ...opts,
      leaseRenewMs,
      leaseTtlMs: opts.leaseTtlMs ?? LEASE_DEFAULTS.ttlRenewals * leaseRenewMs,
      now: opts.now ?? Date.now,
      random: opts.random ?? Math.random,
    };
    if (this.#o.leaseTtlMs <= leaseRenewMs) throw new OutOfRangeError('leaseTtlMs must be longer than leaseRenewMs');
    this.#limiters = new ProbeLimiters(this.#o.concurrency, this.#o.perHostConcurrency);
  }

  /** Readiness: every node owned at start has been probed once (or there was nothing to probe). */
  get firstSweepDone(): boolean {
    return this.#firstSweepDone;
  }

  get ownedNodeIds(): string[] {
    return [...this.#owned.keys()];
  }

  get stats(): Readonly<{ probes: number; flushes: number; flushFailures: number; lastFlushMs: number; leasesAcquired: number; leasesLost: number; owned: number; inFlight: number; queued: number }> {
    const p = this.#limiters.pending;
    return { ...this.#stats, owned: this.#owned.size, inFlight: p.active, queued: p.queued };
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
      this.#drop(id);
      this.#pending.delete(id);
    }
    for (const id of changed) {
      this.#nodes.set(id, next.get(id)!);
      if (this.#owned.has(id)) {
        this.#drop(id);
        this.#own(id, 0);
      }
    }
    for (const id of added) this.#nodes.set(id, next.get(id)!);
    for (const id of [...added, ...changed]) this.#offerNext.add(id);
    this.#limiters.retainHosts(new Set([...this.#nodes.values()].map((n) => hostKey(n.requestUrl?.reveal() ?? n.url))));
    if (removed.length > 0) {
      this.#o.view.remove(removed);
      try {
        await this.#o.store.releaseLeases(this.#o.replica, removed);
        await this.#o.store.removeNodes(removed);
      } catch (err) {
        this.#o.logger.warn({ err: errText(err), nodes: removed.length }, 'could not remove deleted nodes from the store yet; their records will expire');
      }
    }
    if (this.#started && (added.length > 0 || changed.length > 0)) await this.#leaseTick();
    return { added, removed, changed };
  }

  /** Begin claiming leases and probing. Resolves once the first lease round is done, not the first sweep. */
  async start(): Promise<void> {
    if (this.#started || this.#closed) return;
    this.#started = true;
    this.#unsubscribe = this.#o.store.subscribe((event) => {
      // A replica that stopped cleanly handed its nodes over: claim them now, not at the next tick.
      if (event.type === 'leases-released' && event.replica !== this.#o.replica) void this.#leaseTick();
    });
    await this.#leaseTick();
    // Nodes taken on by a one-off sweepOnce() before start() have no timer yet.
    for (const e of this.#owned.values()) if (!e.timer && !e.inFlight) this.#schedule(e, this.#firstDelay(e.node.id));
    this.#firstSweepPending = new Set(this.#owned.keys());
    if (this.#firstSweepPending.size === 0) this.#firstSweepDone = true;
    this.#scheduleLeases();
    this.#scheduleFlush();
  }

  /**
   * Probe every owned node once now and write the results (benchmarks, tests, `demo --once`).
   * Nodes already being probed are awaited, not probed twice.
   */
  async sweepOnce(): Promise<Sample[]> {
    if (!this.#started) {
      // Without start(), a one-off sweep probes every configured node (single process use).
      for (const id of this.#nodes.keys()) if (!this.#owned.has(id)) this.#own(id, undefined);
    }
    const samples: Sample[] = [];
    await Promise.all(
      [...this.#owned.values()].map(async (e) => {
        if (e.inFlight) await e.inFlight;
        const s = await this.#probe(e, false);
        if (s) samples.push(s);
      }),
    );
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
    const e = this.#owned.get(nodeId);
    if (!e || !this.#started || this.#closed || e.inFlight) return;
    const now = this.#o.now();
    if (now - e.recheckAt < this.#o.recheckMinGapMs) return;
    e.recheckAt = now;
    this.#schedule(e, 0);
  }

  /** Write buffered results now. Never throws; on failure the latest results stay buffered. */
  flush(): Promise<void> {
    return this.#enqueueFlush(true);
  }

  /**
   * `withChains`: also re-rank the chains and write their facts. Flushes forced by a full buffer
   * skip that: chain facts hold every node's ranking (megabytes at 10,000 nodes), so re-ranking
   * per 1,000 records made a sweep rank and write every chain ten times over. The timer's flush
   * and explicit ones still re-rank, so the chain facts stay at most one flush interval behind.
   */
  #enqueueFlush(withChains: boolean): Promise<void> {
    // Flushes run strictly one after another, so an older batch can never land after a newer one.
    const next = this.#flushChain.then(() => this.#flushOnce(withChains));
    this.#flushChain = next;
    return next;
  }

  /** Stop probing, wait for probes in flight (bounded by their timeouts), write, hand leases over. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#leaseTimer);
    clearTimeout(this.#flushTimer);
    this.#unsubscribe?.();
    for (const e of this.#owned.values()) clearTimeout(e.timer);
    await Promise.allSettled([...this.#owned.values()].map((e) => e.inFlight));
    await this.#leaseRound?.catch(() => {});
    await this.flush();
    const owned = [...this.#owned.keys()];
    this.#owned.clear();
    if (this.#started) {
      try {
        await this.#o.store.releaseLeases(this.#o.replica, owned);
        await this.#o.store.leave(this.#o.replica);
      } catch (err) {
        this.#o.logger.warn({ err: errText(err) }, 'could not hand leases over; other replicas take over when they expire');
      }
    }
  }

  // --- leases -------------------------------------------------------------------------------

  #scheduleLeases(): void {
    if (this.#closed) return;
    this.#leaseTimer = setTimeout(() => {
      void this.#leaseTick().finally(() => this.#scheduleLeases());
    }, this.#o.leaseRenewMs);
    this.#leaseTimer.unref();
  }

  #leaseTick(): Promise<void> {
    // Lease rounds never overlap: a caller during a round shares it.
    this.#leaseRound ??= this.#leaseRoundOnce().finally(() => {
      this.#leaseRound = undefined;
    });
    return this.#leaseRound;
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
  async #leaseRoundOnce(): Promise<void> {
    if (this.#closed) return;
    const { store, replica, leaseTtlMs } = this.#o;
    const ids = [...this.#nodes.keys()];
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
        const own = [...this.#owned.keys()];
        // At its share already: nothing to take, so no need to ask which leases are free.
        const candidates = own.length >= max ? [] : await store.leaseCandidates(ids.length + LEASE_CANDIDATES_SLACK);
        offered = [...new Set([...own, ...fresh, ...candidates])].filter((id) => this.#nodes.has(id));
      }
      const held = new Set(offered.length === 0 ? [] : await store.claimLeases(replica, offered, leaseTtlMs, max));
      if (this.#closed) return;
      if (full) {
        this.#fullRoundDue = false;
        this.#roundsSinceFull = 0;
      } else {
        this.#roundsSinceFull++;
      }
      for (const id of fresh) this.#offerNext.delete(id);
      const lost = [...this.#owned.keys()].filter((id) => !held.has(id));
      for (const id of lost) this.#drop(id);
      // Counted for operators: leases changing hands all the time (lease churn) mean replicas
      // fight over nodes, e.g. clocks or renewals too slow for the lease TTL.
      this.#stats.leasesLost += lost.length;
      if (lost.length > 0) await store.releaseLeases(replica, lost).catch(() => {});
      for (const id of held) {
        if (this.#owned.has(id) || !this.#nodes.has(id)) continue;
        this.#own(id, this.#firstDelay(id));
        this.#stats.leasesAcquired++;
      }
      if (this.#storeFailing) {
        this.#storeFailing = false;
        this.#o.logger.info('store reachable again; leases renewed');
      }
    } catch (err) {
      // Store down: keep probing what we hold, and take nothing more. Without the store this
      // replica cannot know who polls what: taking every node (as a replica that held none
      // once did on its first failed round) would make every such worker poll the whole
      // fleet. A node whose holder is gone is taken over once the store answers again.
      this.#fullRoundDue = true;
      if (!this.#storeFailing) {
        this.#storeFailing = true;
        this.#o.logger.warn({ err: errText(err) }, 'store unreachable: leases not renewed, probing continues from memory');
      }
    }
  }

  /**
   * The store refused writes for nodes whose lease is no longer ours: stop probing them now
   * (their results are dropped, the owner's stand) and renew at once, to re-take whatever is
   * free and our share.
   */
  #lostLeases(nodeIds: readonly string[]): void {
    for (const id of nodeIds) {
      this.#drop(id);
      this.#pending.delete(id);
    }
    this.#o.logger.warn({ nodes: nodeIds.length, sample: nodeIds.slice(0, 5) }, 'store refused writes for nodes whose lease this replica no longer holds (paused or partitioned past the lease?): stopped polling them');
    if (!this.#closed) void this.#leaseTick();
  }

  /** After a takeover, continue the node's rhythm: probe when its last sample is one interval old. */
  #firstDelay(id: string): number {
    const node = this.#nodes.get(id)!;
    const last = this.#o.view.get(id)?.sample.observedAt;
    if (last === undefined) return Math.floor(this.#o.random() * Math.min(node.intervalMs, 1_000));
    return Math.max(0, last + node.intervalMs - this.#o.now());
  }

  #own(id: string, delayMs: number | undefined): void {
    const node = this.#nodes.get(id);
    if (!node || this.#owned.has(id)) return;
    const entry: Entry = {
      node,
      prober: new NodeProber(node, { dispatcher: this.#o.dispatcher, maxResponseBytes: this.#o.maxResponseBytes, now: this.#o.now, peerDetailsEveryMs: this.#o.peerDetailsEveryMs }),
      host: hostKey(node.requestUrl?.reveal() ?? node.url),
      timer: undefined,
      inFlight: undefined,
      downStreak: 0,
      silent: false,
      fastRise: false,
      recheckAt: -Infinity,
    };
    this.#owned.set(id, entry);
    if (delayMs !== undefined && this.#started) this.#schedule(entry, delayMs);
  }

  #drop(id: string): void {
    const e = this.#owned.get(id);
    if (!e) return;
    clearTimeout(e.timer);
    this.#owned.delete(id);
    this.#firstSweepPending.delete(id);
  }

  // --- probing ------------------------------------------------------------------------------

  #schedule(e: Entry, delayMs: number): void {
    if (this.#closed || this.#owned.get(e.node.id) !== e) return;
    clearTimeout(e.timer);
    e.timer = setTimeout(() => {
      e.timer = undefined;
      void this.#probe(e, true);
    }, delayMs);
    e.timer.unref();
  }

  async #probe(e: Entry, reschedule: boolean): Promise<Sample | undefined> {
    if (e.inFlight) return undefined; // rounds never overlap
    let sample: Sample | undefined;
    let delay = this.#jittered(e.node.intervalMs);
    const run = async () => {
      sample = await this.#limiters.run(e.host, () => e.prober.probe());
      this.#stats.probes++;
      delay = this.#accept(e, sample);
    };
    e.inFlight = run()
      .catch((err) => this.#o.logger.error({ err: errText(err), node: e.node.id }, 'probe handling failed'))
      .finally(() => {
        e.inFlight = undefined;
      });
    await e.inFlight;
    if (this.#firstSweepPending.delete(e.node.id) && this.#firstSweepPending.size === 0 && !this.#firstSweepDone) {
      this.#firstSweepDone = true;
      this.#o.logger.info({ nodes: this.#owned.size }, 'first sweep complete');
    }
    if (reschedule) this.#schedule(e, delay);
    return sample;
  }

  /** Judge, buffer for the store, publish to the view; returns the delay until the next probe. */
  #accept(e: Entry, sample: Sample): number {
    const now = this.#o.now();
    const verdict = this.#o.judge.judge(e.node, sample, now);
    const plan = this.#plan(e, sample, verdict);
    const peerList = sample.peerList;
    const probing: ProbeSchedule = { mode: plan.mode, delayMs: plan.delayMs, nextProbeAt: now + plan.delayMs, ...(plan.mode === 'backoff' ? { backoffStep: e.downStreak } : {}) };
    const health = verdict.record.health;
    const record: NodeRecord = { ...verdict.record, sample: withoutPeerList(sample), health: health && typeof health === 'object' ? { ...health, probing } : health };
    this.#o.view.ingest([record]);

    const point: HistoryPoint = {
      t: sample.observedAt,
      ok: sample.ok,
      latencyMs: sample.latencyMs,
      ...(sample.peers ? { peers: sample.peers.total } : {}),
      ...(sample.height !== undefined ? { height: sample.height } : {}),
      ...(sample.netTotals ? { bytesRecv: sample.netTotals.totalBytesRecv, bytesSent: sample.netTotals.totalBytesSent } : {}),
      ...(sample.uptimeS !== undefined ? { uptimeS: sample.uptimeS } : {}),
    };
    const prev = this.#pending.get(e.node.id);
    const history = prev ? prev.history : [];
    const transitions = prev ? prev.transitions : [];
    // While Redis is away, keep a bounded backlog of history and state changes per node, newest last.
    history.push(point);
    keepNewest(history, MAX_PENDING_HISTORY);
    const t = verdict.transition;
    if (t) {
      transitions.push({ from: t.from, to: t.to, reasons: [...t.reasons], at: now, replica: this.#o.replica });
      keepNewest(transitions, MAX_PENDING_TRANSITIONS);
    }
    this.#pending.set(e.node.id, { record, history, transitions, ...(peerList ? { peers: peerList } : prev?.peers ? { peers: prev.peers } : {}) });
    if (this.#pending.size >= this.#o.flushMaxRecords) void this.#enqueueFlush(false);

    if (t) {
      const event = { type: 'transition' as const, nodeId: e.node.id, chain: e.node.chain.name, from: t.from, to: t.to, reasons: [...t.reasons], at: now, replica: this.#o.replica };
      // Logged once, here, by the replica that saw it; published for the others.
      // A new node confirming its first samples is routine; anything else is worth a look.
      const level = t.from === 'new' && t.to === 'unknown' ? 'debug' : t.to === 'healthy' ? 'info' : 'warn';
      this.#o.logger[level]({ node: e.node.id, chain: e.node.chain.name, from: t.from, to: t.to, reasons: t.reasons }, `node ${e.node.id} ${t.from} -> ${t.to}`);
      this.#o.view.emitLocal(event);
      this.#o.store.publish(event).catch(() => {});
    }
    return plan.delayMs;
  }

  /**
   * When to probe next. Cadence follows what is known:
   * - a change under way is confirmed fast (fastinter) when it is a hard failure of a usable
   *   node, or a rise of a node that answers again after silence or has no state yet; other
   *   changes (peers, lag: what a node says) at a third of the interval, so a blip still has
   *   time to pass;
   * - a node confirmed down that gives no answer at all is backed off, doubling from its
   *   interval up to max(interval, maxBackoffMs), jittered downwards only;
   * - every other node, answering whatever its state, on its interval.
   */
  #plan(e: Entry, sample: Sample, verdict: SampleVerdict): { mode: ProbeSchedule['mode']; delayMs: number } {
    const interval = e.node.intervalMs;
    const silent = gaveNoAnswer(sample);
    if (!silent && e.silent) e.fastRise = true;
    e.silent = silent;
    if (!verdict.changing) e.fastRise = false;
    if (silent && verdict.down && !verdict.changing) {
      e.downStreak++;
      const fits = (this.#o.staleAfterMs(e.node) - e.node.timeoutMs) / 2;
      const ceiling = Math.max(interval, Math.min(this.#o.maxBackoffMs, fits));
      const step = Math.min(interval * 2 ** Math.min(e.downStreak - 1, 16), ceiling);
      return { mode: step > interval ? 'backoff' : 'interval', delayMs: Math.round(step * (1 - this.#o.jitter * this.#o.random())) };
    }
    e.downStreak = 0;
    const fast = Math.min(this.#o.fastIntervalMs, interval);
    if (verdict.changing) {
      const confirmFast = verdict.rising ? !silent && (e.fastRise || verdict.unconfirmed) : isHardFailure(sample);
      return { mode: 'fast', delayMs: this.#jittered(confirmFast ? fast : Math.max(fast, Math.floor(interval / 3))) };
    }
    return { mode: 'interval', delayMs: this.#jittered(interval) };
  }

  #jittered(ms: number): number {
    const j = this.#o.jitter;
    return Math.max(0, Math.round(ms * (1 - j + 2 * j * this.#o.random())));
  }

  // --- writing ------------------------------------------------------------------------------

  #scheduleFlush(): void {
    if (this.#closed) return;
    this.#flushTimer = setTimeout(() => {
      void this.flush().finally(() => this.#scheduleFlush());
    }, this.#o.flushIntervalMs);
    this.#flushTimer.unref();
  }

  async #flushOnce(withChains: boolean): Promise<void> {
    // A flush that skipped the chains owes them to the next one, even if that finds no records.
    if (this.#pending.size === 0 && !(withChains && this.#chainsOwed)) return;
    const batch = [...this.#pending.values()];
    this.#pending.clear();
    const started = performance.now();
    const peers = new Map<string, readonly PeerDetail[]>();
    for (const p of batch) if (p.peers) peers.set(p.record.nodeId, p.peers);
    const now = this.#o.now();
    const chains = withChains ? this.#o.judge.chainFacts(now) : [];
    this.#chainsOwed = !withChains;
    if (batch.length === 0 && chains.length === 0) return;
    for (const c of chains) this.#o.view.setChainFacts(c);
    // A chains-only write: the facts live as long as the records of the nodes held here.
    const ttlNodes = batch.length > 0 ? batch.map((p) => this.#nodes.get(p.record.nodeId)) : [...this.#owned.values()].map((e) => e.node);
    const ttl = Math.max(MIN_RECORD_TTL_MS, ...ttlNodes.map((n) => recordTtlMs(n ?? ({ intervalMs: 5_000, timeoutMs: 2_000 } as NodeConfig), this.#o.leaseTtlMs, this.#o.maxBackoffMs)));
    try {
      const { fenced } = await this.#o.store.writeSweep(
        {
          records: batch.map((p) => p.record),
          peers,
          history: batch.flatMap((p) => p.history.map((point) => ({ nodeId: p.record.nodeId, point }))),
          transitions: batch.flatMap((p) => p.transitions.map((transition) => ({ nodeId: p.record.nodeId, chain: p.record.chain, transition }))),
          chains,
          // Peer lists are refreshed every peerDetailsEveryMs: keep them across a few refreshes.
          peersTtlMs: Math.max(ttl, 3 * this.#o.peerDetailsEveryMs),
          // Once leases are in play, only the holder writes a node (a replica resumed after a
          // pause past its lease must not write the past over the new owner's records).
          ...(this.#started ? { fence: this.#o.replica } : {}),
        },
        ttl,
      );
      if (fenced.length > 0) this.#lostLeases(fenced);
      this.#stats.flushes++;
      this.#stats.lastFlushMs = performance.now() - started;
    } catch (err) {
      this.#stats.flushFailures++;
      // Put back what is not superseded by a newer result meanwhile; latest state wins.
      for (const p of batch) {
        const newer = this.#pending.get(p.record.nodeId);
        if (!newer) this.#pending.set(p.record.nodeId, p);
        else {
          // Older entries go in front of the newer ones, within the same bounds.
          newer.history.unshift(...p.history);
          keepNewest(newer.history, MAX_PENDING_HISTORY);
          newer.transitions.unshift(...p.transitions);
          keepNewest(newer.transitions, MAX_PENDING_TRANSITIONS);
        }
      }
      if (!this.#storeFailing) {
        this.#storeFailing = true;
        this.#o.logger.warn({ err: errText(err), buffered: this.#pending.size }, 'store write failed; results stay in memory and are written when it returns');
      }
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
    (a.credentials === b.credentials || (a.credentials !== undefined && b.credentials !== undefined && a.credentials.sameAs(b.credentials))) &&
    a.tags.join('\u0000') === b.tags.join('\u0000')
  );
}

function errText(err: unknown): string {
  if (err && typeof err === 'object' && 'code' in err && typeof (err as { code: unknown }).code === 'string') {
    return `${(err as { code: string }).code}: ${(err as unknown as Error).message}`;
  }
  return err instanceof Error ? err.message : String(err);
}
