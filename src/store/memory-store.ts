// MemoryStore: the Store in-process, with the Redis store's semantics.
import { randomUUID } from 'node:crypto';
import { withoutPeerList } from '../chains/sample.js';
import type {
  ChainFacts,
  Drain,
  DrainFact,
  HistoryPoint,
  NodeRecord,
  Store,
  StoreEvent,
  StoreEventHandler,
  StoredPeers,
  StoreHealth,
  SweepResult,
  SweepWrite,
  TransitionEntry,
  StoreRetentionOptions,
  FleetTransition,
  TransitionWrite,
} from './store.js';
import {
  decodeAudit,
  decodeChainFacts,
  decodeDrainFact,
  decodeEvent,
  decodeHistoryPoint,
  decodePeers,
  decodeRecord,
  decodeFleetTransition,
  decodeTransition,
  encodeAudit,
  encodeChainFacts,
  encodeDrainFact,
  encodeEvent,
  encodeHistoryPoint,
  encodeNodePeers,
  encodeRecord,
  encodeFleetTransition,
  encodeTransition,
  type Decoded,
} from './store-codec.js';
import { StoreClosedError } from './store-errors.js';
import { fleetTransitionsOf, groupTransitions, planSweep } from './sweep-plan.js';
import { checkReplica, positiveInt, retentionOf } from './validate-args.js';
import { WarnOnce, type StoreWarningSink } from './warn-once.js';
import { InvalidArgumentError } from '../errors/argument-errors.js';

export interface MemoryStoreOptions extends StoreRetentionOptions {
  /** Clock for every TTL, epoch ms. Default `Date.now` (tests inject their own). */
  readonly now?: () => number;
  /** Event handlers that threw. Default: ignore. */
  readonly onWarning?: StoreWarningSink;
}

/** As RedisStore: lease deadlines ended longer ago than this are pruned. */
const LEASE_DEADLINE_KEEP_MS = 10 * 60_000;

interface Expiring<T> {
  value: T;
  expiresAt: number;
}

/**
 * The Store in-process: one instance, no Redis (the embedded default). Same semantics as
 * RedisStore: values are kept as the same JSON (so what comes back is a fresh copy, exactly as
 * Redis would return it), TTLs expire by the injected clock (checked on read, no timers), history
 * and audit are capped, leases and heartbeats expire, and events reach subscribers
 * asynchronously after `publish`, never inside it. Two MemoryStores share nothing.
 */
export class MemoryStore implements Store {
  readonly kind = 'memory' as const;

  private readonly now: () => number;
  private readonly historyLimit: number;
  private readonly auditLimit: number;
  private readonly historyTtlMs: number;
  private readonly transitionLimit: number;
  private readonly transitionTtlMs: number;
  private readonly fleetTransitionLimit: number;
  /** Newest first. */
  private fleetTransitions: Expiring<string[]> | undefined;
  private readonly sweepBatchSize: number;
  private readonly warnings: WarnOnce;

  /** Each record's JSON (reads return fresh copies) and its sample's observedAt (the fence's check, without parsing). */
  private readonly records = new Map<string, Expiring<string> & { observedAt: number }>();
  private readonly peers = new Map<string, Expiring<string>>();
  private readonly epochId = randomUUID();
  private readonly history = new Map<string, Expiring<string[]>>();
  /** Newest first. */
  private readonly transitions = new Map<string, Expiring<string[]>>();
  private readonly chains = new Map<string, Expiring<string>>();
  private readonly drains = new Map<string, string>();
  /** Newest first. */
  private audit: string[] = [];
  /** nodeId -> replica holding the lease. */
  private readonly leases = new Map<string, Expiring<string>>();
  /** nodeId -> when its lease ends (as the Redis lease-deadlines zset). */
  private readonly leaseDeadlines = new Map<string, number>();
  /** replica -> heartbeat expiry. */
  private readonly replicas = new Map<string, number>();
  /** rate-limit bucket + window -> hits. */
  private readonly rates = new Map<string, Expiring<number>>();
  private readonly handlers = new Set<StoreEventHandler>();
  private readonly since: number;
  private closed = false;
  private closedAt = 0;

  constructor(options: MemoryStoreOptions = {}) {
    this.now = options.now ?? Date.now;
    ({
      historyLimit: this.historyLimit,
      auditLimit: this.auditLimit,
      historyTtlMs: this.historyTtlMs,
      transitionLimit: this.transitionLimit,
      transitionTtlMs: this.transitionTtlMs,
      fleetTransitionLimit: this.fleetTransitionLimit,
      sweepBatchSize: this.sweepBatchSize,
    } = retentionOf(options));
    this.warnings = new WarnOnce(options.onWarning);
    this.since = this.now();
  }

  health(): StoreHealth {
    return this.closed ? { connected: false, since: this.closedAt } : { connected: true, since: this.since };
  }

  probe(replica: string): Promise<void> {
    return this.run('probe', () => {
      checkReplica(replica);
    });
  }

  // --- records --------------------------------------------------------------------------------

  writeSweep(write: SweepWrite, ttlMs: number): Promise<SweepResult> {
    return this.run('writeSweep', () => {
      const px = positiveInt('ttlMs', Math.ceil(ttlMs));
      const peersPx = positiveInt('peersTtlMs', Math.ceil(write.peersTtlMs ?? ttlMs));
      const batches = planSweep(write, this.sweepBatchSize);
      const fence = write.fence;
      if (fence !== undefined) checkReplica(fence);
      this.purgeExpired();
      const now = this.now();
      const fenced: string[] = [];
      const older: string[] = [];
      for (const batch of batches) {
        const written: NodeRecord[] = [];
        const refused = new Set<string>();
        for (const node of batch.nodes) {
          // As the Redis script: a node's values only under this replica's lease.
          if (fence !== undefined && this.live(this.leases, node.nodeId)?.value !== fence) {
            fenced.push(node.nodeId);
            refused.add(node.nodeId);
            continue;
          }
          if (
            fence !== undefined &&
            node.record &&
            this.storedObservedAt(node.nodeId) > Math.floor(node.record.sample.observedAt)
          ) {
            older.push(node.nodeId);
            refused.add(node.nodeId);
            continue;
          }
          const peers = encodeNodePeers(node);
          if (peers !== undefined) this.peers.set(node.nodeId, { value: peers, expiresAt: now + peersPx });
          if (node.history.length > 0) {
            const old = this.live(this.history, node.nodeId)?.value ?? [];
            const pushed = node.history.map(encodeHistoryPoint).reverse();
            this.history.set(node.nodeId, {
              value: [...pushed, ...old].slice(0, this.historyLimit),
              expiresAt: now + this.historyTtlMs,
            });
          }
          if (node.transitions) this.pushTransitions(node.nodeId, node.transitions, now);
          if (node.record) {
            const json = encodeRecord(node.record);
            this.records.set(node.nodeId, {
              value: json,
              observedAt: Math.floor(node.record.sample.observedAt),
              expiresAt: now + px,
            });
            const r = node.record;
            written.push(r.sample.peerList === undefined ? r : { ...r, sample: withoutPeerList(r.sample) });
          }
        }
        this.pushFleetTransitions(
          refused.size === 0 ? batch.fleetTransitions : batch.fleetTransitions.filter((t) => !refused.has(t.nodeId)),
          now,
        );
        // In process, subscribers get the records as written, not a JSON round trip of each
        // (records are immutable values; reads from the store still return copies).
        if (written.length > 0) this.deliver({ type: 'records', records: written });
        for (const facts of batch.chains) {
          this.chains.set(facts.chain, { value: encodeChainFacts(facts), expiresAt: now + px });
          this.emit(encodeEvent({ type: 'chain', facts }));
        }
      }
      return older.length > 0 ? { fenced, older } : { fenced };
    });
  }

  private storedObservedAt(nodeId: string): number {
    return this.live(this.records, nodeId)?.observedAt ?? Number.NEGATIVE_INFINITY;
  }

  /** As LPUSH + LTRIM + PEXPIRE: `transitions` oldest first end newest at the head. */
  private pushTransitions(nodeId: string, transitions: readonly TransitionEntry[], now: number): void {
    if (transitions.length === 0) return;
    const old = this.live(this.transitions, nodeId)?.value ?? [];
    const pushed = transitions.map(encodeTransition).reverse();
    this.transitions.set(nodeId, {
      value: [...pushed, ...old].slice(0, this.transitionLimit),
      expiresAt: now + this.transitionTtlMs,
    });
  }

  /** As the Redis list: LPUSH (oldest first) + LTRIM + PEXPIRE. */
  private pushFleetTransitions(transitions: readonly FleetTransition[], now: number): void {
    if (transitions.length === 0) return;
    const old = this.fleetTransitions && this.fleetTransitions.expiresAt > now ? this.fleetTransitions.value : [];
    const pushed = transitions.map(encodeFleetTransition).reverse();
    this.fleetTransitions = {
      value: [...pushed, ...old].slice(0, this.fleetTransitionLimit),
      expiresAt: now + this.transitionTtlMs,
    };
  }

  appendTransitions(entries: readonly TransitionWrite[]): Promise<void> {
    return this.run('appendTransitions', () => {
      const now = this.now();
      const grouped = groupTransitions(entries);
      for (const [nodeId, transitions] of grouped) this.pushTransitions(nodeId, transitions, now);
      const chainOf = new Map(entries.flatMap((e) => (e.chain !== undefined ? [[e.nodeId, e.chain] as const] : [])));
      this.pushFleetTransitions(
        fleetTransitionsOf(
          [...grouped].map(([nodeId, transitions]) => ({ nodeId, transitions })),
          chainOf,
        ),
        now,
      );
    });
  }

  getFleetTransitions(limit: number): Promise<FleetTransition[]> {
    return this.run('getFleetTransitions', () => {
      const n = Math.floor(limit);
      const log = this.fleetTransitions;
      if (!(n > 0) || !log || log.expiresAt <= this.now()) return [];
      return log.value.slice(0, n).flatMap((item) => this.decoded(decodeFleetTransition(item)) ?? []);
    });
  }

  getTransitions(nodeId: string, limit: number): Promise<TransitionEntry[]> {
    return this.run('getTransitions', () => {
      const n = Math.floor(limit);
      if (!(n > 0)) return [];
      const raw = this.live(this.transitions, nodeId)?.value ?? [];
      return raw.slice(0, n).flatMap((item) => this.decoded(decodeTransition(item)) ?? []);
    });
  }

  getNodes(nodeIds: readonly string[]): Promise<Map<string, NodeRecord>> {
    return this.run('getNodes', () => {
      const out = new Map<string, NodeRecord>();
      for (const id of nodeIds) {
        const raw = this.live(this.records, id);
        const record = raw && this.decoded(decodeRecord(raw.value, id));
        if (record) out.set(id, record);
      }
      return out;
    });
  }

  getAllNodes(): Promise<NodeRecord[]> {
    return this.run('getAllNodes', () => {
      const ids = [...this.records.keys()].sort();
      return ids.flatMap((id) => {
        const raw = this.live(this.records, id);
        return (raw && this.decoded(decodeRecord(raw.value, id))) ?? [];
      });
    });
  }

  getPeers(nodeId: string): Promise<StoredPeers | undefined> {
    return this.run('getPeers', () => {
      const raw = this.live(this.peers, nodeId);
      return raw && this.decoded(decodePeers(raw.value));
    });
  }

  getHistory(nodeId: string, limit: number): Promise<HistoryPoint[]> {
    return this.run('getHistory', () => {
      const n = Math.floor(limit);
      if (!(n > 0)) return [];
      const raw = this.live(this.history, nodeId)?.value ?? [];
      return raw.slice(0, n).flatMap((item) => this.decoded(decodeHistoryPoint(item)) ?? []);
    });
  }

  getChainFacts(chain: string): Promise<ChainFacts | undefined> {
    return this.run('getChainFacts', () => {
      const raw = this.live(this.chains, chain);
      return raw && this.decoded(decodeChainFacts(raw.value));
    });
  }

  removeNodes(nodeIds: readonly string[]): Promise<void> {
    return this.run('removeNodes', () => {
      const ids = [...new Set(nodeIds)];
      if (ids.length === 0) return;
      for (const id of ids) {
        this.records.delete(id);
        this.peers.delete(id);
        this.history.delete(id);
        this.transitions.delete(id);
      }
      this.emit(encodeEvent({ type: 'nodes-removed', nodeIds: ids }));
    });
  }

  // --- drains and audit -----------------------------------------------------------------------

  setDrain(nodeId: string, drain: Drain | null): Promise<DrainFact> {
    return this.run('setDrain', () => {
      if (drain !== null && drain.nodeId !== nodeId)
        throw new InvalidArgumentError(
          `drain.nodeId ${JSON.stringify(drain.nodeId)} does not match ${JSON.stringify(nodeId)}`,
        );
      // As the Redis script: above the stored version whatever the clock says.
      const fact: DrainFact = {
        nodeId,
        version: Math.max(Math.floor(this.now()), this.storedDrainVersion(nodeId) + 1),
        drain,
      };
      this.drains.set(nodeId, encodeDrainFact(fact));
      this.emit(encodeEvent({ type: 'drain', nodeId, drain, version: fact.version }));
      return fact;
    });
  }

  restoreDrains(facts: readonly DrainFact[]): Promise<DrainFact[]> {
    return this.run('restoreDrains', () => {
      const written: DrainFact[] = [];
      for (const fact of facts) {
        if (this.storedDrainVersion(fact.nodeId) >= fact.version) continue;
        this.drains.set(fact.nodeId, encodeDrainFact(fact));
        this.emit(encodeEvent({ type: 'drain', nodeId: fact.nodeId, drain: fact.drain, version: fact.version }));
        written.push(fact);
      }
      return written;
    });
  }

  private storedDrainVersion(nodeId: string): number {
    const raw = this.drains.get(nodeId);
    if (raw === undefined) return -1;
    const d = decodeDrainFact(raw);
    return d.ok ? d.value.version : 0;
  }

  epoch(): Promise<{ epoch: string; created: boolean }> {
    // In-process data lives exactly as long as this store: its epoch never changes.
    return this.run('epoch', () => ({ epoch: this.epochId, created: false }));
  }

  getDrains(): Promise<Map<string, Drain>> {
    return this.run('getDrains', () => {
      const out = new Map<string, Drain>();
      for (const [nodeId, fact] of this.drainFacts()) if (fact.drain) out.set(nodeId, fact.drain);
      return out;
    });
  }

  getDrainFacts(): Promise<Map<string, DrainFact>> {
    return this.run('getDrainFacts', () => this.drainFacts());
  }

  private drainFacts(): Map<string, DrainFact> {
    const out = new Map<string, DrainFact>();
    for (const [nodeId, raw] of this.drains) {
      const fact = this.decoded(decodeDrainFact(raw));
      if (fact) out.set(nodeId, fact);
    }
    return out;
  }

  appendAudit(entry: unknown): Promise<void> {
    return this.run('appendAudit', () => {
      this.audit = [encodeAudit(entry, this.now()), ...this.audit.slice(0, this.auditLimit - 1)];
    });
  }

  getAudit(limit: number): Promise<unknown[]> {
    return this.run('getAudit', () => {
      const n = Math.floor(limit);
      if (!(n > 0)) return [];
      return this.audit.slice(0, n).flatMap((item) => {
        const d = decodeAudit(item);
        return d.ok ? [d.value] : [];
      });
    });
  }

  // --- leases and replicas --------------------------------------------------------------------

  claimLeases(replica: string, nodeIds: readonly string[], ttlMs: number, max: number): Promise<string[]> {
    return this.run('claimLeases', () => {
      checkReplica(replica);
      const px = positiveInt('ttlMs', Math.ceil(ttlMs));
      const limit = Math.max(0, Math.floor(max));
      const ids = [...new Set(nodeIds)];
      const expiresAt = this.now() + px;
      // Same two passes as the Redis script: renew ours (giving up any beyond max), then take free ones.
      const held = new Set<string>();
      const free: string[] = [];
      for (const id of ids) {
        const lease = this.live(this.leases, id);
        if (lease?.value === replica) {
          if (held.size < limit) {
            lease.expiresAt = expiresAt;
            held.add(id);
            this.leaseDeadlines.set(id, expiresAt);
          } else {
            this.leases.delete(id);
            this.leaseDeadlines.set(id, this.now());
          }
        } else if (!lease) {
          free.push(id);
        }
      }
      for (const id of free) {
        if (held.size < limit) {
          this.leases.set(id, { value: replica, expiresAt });
          held.add(id);
          this.leaseDeadlines.set(id, expiresAt);
        } else {
          this.leaseDeadlines.set(id, this.now());
        }
      }
      return ids.filter((id) => held.has(id));
    });
  }

  leaseCandidates(limit: number): Promise<string[]> {
    return this.run('leaseCandidates', () => {
      const now = this.now();
      const n = Math.max(0, Math.floor(limit));
      for (const [id, at] of this.leaseDeadlines) if (at < now - LEASE_DEADLINE_KEEP_MS) this.leaseDeadlines.delete(id);
      return [...this.leaseDeadlines]
        .filter(([, at]) => at <= now)
        .sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
        .slice(0, n)
        .map(([id]) => id);
    });
  }

  releaseLeases(replica: string, nodeIds: readonly string[]): Promise<void> {
    return this.run('releaseLeases', () => {
      checkReplica(replica);
      const released = [...new Set(nodeIds)].filter((id) => this.live(this.leases, id)?.value === replica);
      for (const id of released) {
        this.leases.delete(id);
        this.leaseDeadlines.set(id, this.now());
      }
      if (released.length > 0) this.emit(encodeEvent({ type: 'leases-released', replica, nodeIds: released }));
    });
  }

  heartbeat(replica: string, ttlMs: number): Promise<void> {
    return this.run('heartbeat', () => {
      checkReplica(replica);
      this.replicas.set(replica, this.now() + positiveInt('ttlMs', Math.ceil(ttlMs)));
    });
  }

  liveReplicas(): Promise<string[]> {
    return this.run('liveReplicas', () => {
      const now = this.now();
      for (const [replica, expiresAt] of this.replicas) if (expiresAt <= now) this.replicas.delete(replica);
      return [...this.replicas.keys()].sort();
    });
  }

  leave(replica: string): Promise<void> {
    return this.run('leave', () => {
      this.replicas.delete(replica);
    });
  }

  countInWindow(bucket: string, window: number, windowMs: number): Promise<number> {
    return this.run('countInWindow', () => {
      const key = `${bucket}:${window}`;
      const e = this.live(this.rates, key);
      if (e !== undefined) return ++e.value;
      if (this.rates.size > 10_000)
        for (const [k, r] of this.rates) if (r.expiresAt <= this.now()) this.rates.delete(k);
      this.rates.set(key, { value: 1, expiresAt: this.now() + positiveInt('windowMs', windowMs) * 2 });
      return 1;
    });
  }

  // --- events ---------------------------------------------------------------------------------

  publish(event: StoreEvent): Promise<void> {
    return this.run('publish', () => {
      this.emit(encodeEvent(event));
    });
  }

  subscribe(handler: StoreEventHandler): () => void {
    if (this.closed) return () => {};
    this.handlers.add(handler);
    return () => {
      this.handlers.delete(handler);
    };
  }

  /** Deliver after the current call returns, as a Redis subscriber would: a fresh decoded copy. */
  private emit(message: string): void {
    const decoded = decodeEvent(message);
    if (decoded.ok) this.deliver(decoded.value);
  }

  /** Deliver `event` after the current call returns, as a Redis subscriber would. */
  private deliver(event: StoreEvent): void {
    queueMicrotask(() => {
      if (this.closed) return;
      for (const handler of [...this.handlers]) {
        try {
          handler(event);
        } catch (err) {
          const reason = err instanceof Error ? err.message : String(err);
          this.warnings.warn(`handler:${reason}`, 'store event handler threw', { type: event.type, reason });
        }
      }
    });
  }

  // --- lifecycle ------------------------------------------------------------------------------

  /** Nothing runs in the background; later calls reject with STORE_CLOSED. Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.closedAt = this.now();
    this.handlers.clear();
  }

  private run<T>(operation: string, fn: () => T): Promise<T> {
    if (this.closed) return Promise.reject(new StoreClosedError(operation));
    try {
      return Promise.resolve(fn());
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** The entry if it has not expired; an expired one is deleted (as Redis does lazily). */
  private live<T, E extends Expiring<T> = Expiring<T>>(map: Map<string, E>, key: string): E | undefined {
    const e = map.get(key);
    if (e === undefined) return undefined;
    if (e.expiresAt > this.now()) return e;
    map.delete(key);
    return undefined;
  }

  /** Drop expired entries of nodes nobody reads any more (removed from config, renamed). */
  private purgeExpired(): void {
    const now = this.now();
    for (const map of [
      this.records,
      this.peers,
      this.history,
      this.transitions,
      this.chains,
      this.leases,
      this.rates,
    ] as Array<Map<string, Expiring<unknown>>>) {
      for (const [key, e] of map) if (e.expiresAt <= now) map.delete(key);
    }
  }

  private decoded<T>(d: Decoded<T>): T | undefined {
    return d.ok ? d.value : undefined;
  }
}
