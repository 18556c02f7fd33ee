// The Store interface: all state nodesentry shares between replicas, and the types it carries.
import type { PeerDetail, Sample } from '../chains/sample.js';
import type { ChainReport } from '../health/chain-report.js';
import type { NodeVerdict } from '../health/verdict.js';

/**
 * The one interface the domain talks to for shared state. Two implementations: Redis (many
 * replicas share one view) and in-process (one instance, the embedded default). One contract
 * test suite runs against both.
 *
 * Everything stored carries when it was observed and which replica wrote it, and expires: a
 * value nobody refreshes disappears instead of being served as fresh. The health core owns the
 * shapes of a record's `health` and a chain's `facts`; the codec checks them once on the way in.
 */
export interface NodeRecord {
  readonly nodeId: string;
  readonly chain: string;
  /** Latest sample, without `peerList` (kept apart: it is large and rarely read). */
  readonly sample: Sample;
  /** The health core's persisted state for this node; null when the stored value was not one (see asNodeVerdict). */
  readonly health: NodeVerdict | null;
  /** Replica that wrote the record. */
  readonly replica: string;
  /** Epoch ms when the record was written. */
  readonly writtenAt: number;
}

/** One compact point of a node's history (for rates and sparklines). */
export interface HistoryPoint {
  /** Epoch ms (sample.observedAt). */
  readonly t: number;
  readonly ok: boolean;
  readonly latencyMs: number;
  readonly peers?: number;
  readonly height?: number;
  readonly bytesRecv?: number;
  readonly bytesSent?: number;
  /** Bitcoin family `uptime`, seconds: tells a restart from a byte-total drop. */
  readonly uptimeS?: number;
}

/** One change of a node's health state, as kept in its bounded transition log. */
export interface TransitionEntry {
  readonly from: string;
  readonly to: string;
  readonly reasons: readonly string[];
  /** Epoch ms when the replica saw the change. */
  readonly at: number;
  /** Replica that saw it. */
  readonly replica: string;
}

/** A state change in the fleet-wide log: which node, on which chain, and the change. */
export interface FleetTransition extends TransitionEntry {
  readonly nodeId: string;
  readonly chain: string;
}

/** A state change to write: to the node's own log and, with `chain`, to the fleet-wide log too. */
export interface TransitionWrite {
  readonly nodeId: string;
  /** The node's chain; entries with one are also appended to the fleet-wide log. */
  readonly chain?: string;
  readonly transition: TransitionEntry;
}

/** Per-chain facts computed by workers (reference head, counts, the shared choice). */
export interface ChainFacts {
  readonly chain: string;
  /** The workers' report; null when the stored value was not one (see asChainReport). */
  readonly facts: ChainReport | null;
  readonly replica: string;
  readonly writtenAt: number;
}

/** An operator's drain of a node: who and when, visible to every replica. */
export interface Drain {
  readonly nodeId: string;
  readonly by: string;
  readonly at: number;
  readonly reason?: string;
}

/**
 * The latest operator decision on a node's drain, versioned: a drain, or an undrain kept as a
 * tombstone (`drain: null`). Versions only grow per node (the store assigns
 * max(server clock ms, stored version + 1)), so when two copies disagree (a replica's memory vs
 * Redis restored from an older snapshot) the higher version is the newer decision and wins.
 * Facts are never deleted by a reload or a node's removal: they belong to the fleet, not to
 * one replica's file.
 */
export interface DrainFact {
  readonly nodeId: string;
  readonly version: number;
  readonly drain: Drain | null;
}

/** What one sweep writes, in one batch of round trips. */
export interface SweepWrite {
  readonly records: readonly NodeRecord[];
  /** Peer lists by node id (only for samples that had one). */
  readonly peers?: ReadonlyMap<string, readonly PeerDetail[]>;
  /**
   * Lifetime of the peer lists, ms (default: the sweep's ttlMs). Peer lists are refreshed less
   * often than records (they are the heaviest part of a probe), so they must outlive them.
   */
  readonly peersTtlMs?: number;
  readonly history?: ReadonlyArray<{ readonly nodeId: string; readonly point: HistoryPoint }>;
  readonly chains?: readonly ChainFacts[];
  /** State changes to append to each node's transition log and the fleet-wide one (as `appendTransitions`, in the same round trips). */
  readonly transitions?: readonly TransitionWrite[];
  /**
   * Fence the per-node writes by lease: a node's record, peers, history and transitions are
   * written only if its lease is held by this replica, checked atomically with the write. A
   * replica that lost a lease (paused past its TTL, partitioned) cannot overwrite the owner.
   * Absent: unfenced (a single process probing without leases). Chain facts are not fenced.
   */
  readonly fence?: string;
}

/** A node's peer list as stored: `collectedAt` is null for lists written by older replicas. */
export interface StoredPeers {
  readonly peers: readonly PeerDetail[];
  readonly collectedAt: number | null;
}

/** What a sweep write did not do. */
export interface SweepResult {
  /** Nodes whose writes were refused by the fence: their lease is not this replica's. */
  readonly fenced: readonly string[];
  /** Fenced writes whose record was older than the stored one (not written; nothing else was). */
  readonly older?: readonly string[];
}

export type StoreEvent =
  /** Records written by some replica (batched: one event per write batch). */
  | { readonly type: 'records'; readonly records: readonly NodeRecord[] }
  /** A node's health state changed (for logs, SSE, dashboards). */
  | {
      readonly type: 'transition';
      readonly nodeId: string;
      readonly chain: string;
      readonly from: string;
      readonly to: string;
      readonly reasons: readonly string[];
      readonly at: number;
      readonly replica: string;
    }
  | { readonly type: 'chain'; readonly facts: ChainFacts }
  /** `version`: of the DrainFact this event announces (absent from older writers). */
  | { readonly type: 'drain'; readonly nodeId: string; readonly drain: Drain | null; readonly version?: number }
  /** A replica gave up leases (clean stop): others should claim at once. */
  | { readonly type: 'leases-released'; readonly replica: string; readonly nodeIds: readonly string[] }
  | { readonly type: 'nodes-removed'; readonly nodeIds: readonly string[] }
  /** A replica reloaded its nodes file and asks every other one to re-read its own (see FleetReload). */
  | {
      readonly type: 'reload-request';
      readonly id: string;
      readonly origin: string;
      readonly by: string;
      readonly at: number;
    };

export type StoreEventHandler = (event: StoreEvent) => void;

/** Connection state as seen by the service (readiness, staleness marks). */
export type StoreHealth = { readonly connected: boolean; readonly since: number; readonly lastError?: string };

export interface Store {
  /** `memory` or `redis`, for /readyz and logs. */
  readonly kind: 'memory' | 'redis';

  /** Write a sweep's results: pipelined, a bounded number of round trips regardless of size. */
  writeSweep(write: SweepWrite, ttlMs: number): Promise<SweepResult>;
  /** Latest records of these nodes (missing or expired ones are absent from the map). */
  getNodes(nodeIds: readonly string[]): Promise<Map<string, NodeRecord>>;
  /** Every live record under the prefix. */
  getAllNodes(): Promise<NodeRecord[]>;
  /** The node's stored peer list, with when it was collected (absent once it expired). */
  getPeers(nodeId: string): Promise<StoredPeers | undefined>;
  /** Newest first, at most `limit` points. */
  getHistory(nodeId: string, limit: number): Promise<HistoryPoint[]>;
  getChainFacts(chain: string): Promise<ChainFacts | undefined>;
  /**
   * Append state changes to their nodes' transition logs (pipelined, one round trip). Each log
   * is capped (default 50 per node) and expires some time after its last append (default 7
   * days). Within one call, a node's entries are ordered by `at`.
   */
  appendTransitions(entries: readonly TransitionWrite[]): Promise<void>;
  /** A node's state changes, newest first, at most `limit`. */
  getTransitions(nodeId: string, limit: number): Promise<TransitionEntry[]>;
  /**
   * The fleet-wide log of state changes (every entry written with a `chain`), newest first, at
   * most `limit`. Capped (default 2000 entries) and expiring like the per-node logs; kept when a
   * node is removed from the config (it is history).
   */
  getFleetTransitions(limit: number): Promise<FleetTransition[]>;
  /**
   * Delete the records, peers, history and transitions of these nodes (removed from this
   * replica's config). Drain facts stay (they are the fleet's, see DrainFact), and so do other
   * replicas' leases: a node still configured elsewhere keeps its owner.
   */
  removeNodes(nodeIds: readonly string[]): Promise<void>;

  /**
   * Drain (or with null, undrain) a node: stores a new DrainFact with a version above the
   * stored one, publishes it, and returns it.
   */
  setDrain(nodeId: string, drain: Drain | null): Promise<DrainFact>;
  /** Nodes drained now (tombstones left out). */
  getDrains(): Promise<Map<string, Drain>>;
  /** Every drain fact, undrains (tombstones) included. */
  getDrainFacts(): Promise<Map<string, DrainFact>>;
  /**
   * Write back facts a replica holds in memory, each only where the store's version for that
   * node is lower or absent (Redis lost its data, or came back from an older snapshot).
   * Atomic per call. Returns the facts written; publishes each.
   */
  restoreDrains(facts: readonly DrainFact[]): Promise<DrainFact[]>;
  /**
   * The id of the store's data set, created if missing. A replica that remembered another id
   * (or saw it created anew) knows the store lost its data since (e.g. Redis restarted without
   * persistence). `created` is true when this call made it.
   */
  epoch(): Promise<{ readonly epoch: string; readonly created: boolean }>;

  /** Append to the audit log of operator actions (bounded). Newest first on read. */
  appendAudit(entry: unknown): Promise<void>;
  getAudit(limit: number): Promise<unknown[]>;

  /**
   * Leases: which replica polls which node. `claim` renews the leases this replica holds among
   * `nodeIds` and takes free ones, up to `max` held in total; returns the ids held afterwards.
   */
  claimLeases(replica: string, nodeIds: readonly string[], ttlMs: number, max: number): Promise<string[]>;
  /**
   * Nodes whose lease may be free: it expired, was given up, or was offered free and left
   * untaken, by the store's clock; oldest first, at most `limit`. A lease round offers
   * `claimLeases` its own leases plus these, not every node (claimLeases stays the authority).
   */
  leaseCandidates(limit: number): Promise<string[]>;
  /** Give these leases up (only those held by `replica`) and tell the others. */
  releaseLeases(replica: string, nodeIds: readonly string[]): Promise<void>;
  /** Heartbeat of a live replica; `liveReplicas` lists those whose heartbeat has not expired. */
  heartbeat(replica: string, ttlMs: number): Promise<void>;
  liveReplicas(): Promise<string[]>;
  /** Remove this replica's heartbeat at once (clean stop). */
  leave(replica: string): Promise<void>;

  /**
   * Count one hit of `bucket` in its fixed window number `window` (epoch ms / windowMs) and
   * return the window's count so far, this hit included: a rate limit every replica shares.
   * The count expires soon after its window ends.
   */
  countInWindow(bucket: string, window: number, windowMs: number): Promise<number>;

  publish(event: StoreEvent): Promise<void>;
  /** Events from every replica, this one included. Returns an unsubscribe function. */
  subscribe(handler: StoreEventHandler): () => void;

  health(): StoreHealth;
  /**
   * One small write that proves the store takes writes now (readiness): rejects when it is
   * down, refuses writes (Redis `maxmemory` with `noeviction`: OOM) or does not answer.
   */
  probe(replica: string): Promise<void>;
  /** Waits for in-flight writes, then closes connections. Safe to call twice. */
  close(): Promise<void>;
}

/** How much each store keeps, and for how long: the same knobs on Redis and in process. */
export interface StoreRetentionOptions {
  /** History points kept per node. Default 360. */
  readonly historyLimit?: number;
  /** Audit entries kept. Default 1000. */
  readonly auditLimit?: number;
  /** How long a node's history outlives its last push, ms. Default 86_400_000 (1 day). */
  readonly historyTtlMs?: number;
  /** State changes kept per node. Default 50. */
  readonly transitionLimit?: number;
  /** How long a node's transition log outlives its last append, ms. Default 604_800_000 (7 days). */
  readonly transitionTtlMs?: number;
  /** State changes kept in the fleet-wide log (it lives transitionTtlMs after its last append too). Default 2000. */
  readonly fleetTransitionLimit?: number;
  /** Nodes per pipeline / batch in writeSweep (one `records` event per batch). Default 1000. */
  readonly sweepBatchSize?: number;
}
