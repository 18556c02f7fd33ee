// The Store on Redis: every command (records, leases, drains, audit, events); its connections are store/redis/connection.ts.
import { randomUUID } from 'node:crypto';
import type { ChainableCommander } from 'ioredis';
import { createStoreKeys, DEFAULT_PREFIX, type StoreKeys } from './keys.js';
import { PackedCommand } from './packed-command.js';
import {
  claimLeasesScript,
  leaseCandidatesScript,
  fencedSweepScript,
  heartbeatScript,
  liveReplicasScript,
  pruneIndexScript,
  releaseLeasesScript,
  restoreDrainsScript,
  setDrainScript,
} from './redis-scripts.js';
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
  applyRecordChange,
  decodeFeedEvent,
  decodeHistoryPoint,
  decodePeers,
  decodeRecord,
  decodeFleetTransition,
  decodeTransition,
  encodeAudit,
  drainEventPrefix,
  drainFactPrefix,
  encodeChainFacts,
  encodeDrainFact,
  encodeEvent,
  encodeHistoryPoint,
  encodeNodePeers,
  encodeRecord,
  encodeRecordEntry,
  encodeRecordsEvent,
  encodeFleetTransition,
  encodeTransition,
  FORMAT_VERSION,
  ownRecordsPrefix,
  sameStamp,
  type Decoded,
  type RecordChange,
} from './store-codec.js';
import {
  checkConnectionSource,
  RedisConnection,
  type RedisClient,
  type RedisConnectionOptions,
} from './redis/connection.js';
import { StoreClosedError, StoreCommandError, StoreError, StoreUnavailableError } from './store-errors.js';
import { chunk, fleetTransitionsOf, groupTransitions, planSweep, type SweepBatch } from './sweep-plan.js';
import { checkReplica, positiveInt, retentionOf } from './validate-args.js';
import { WarnOnce, type StoreWarningSink } from './warn-once.js';
import { InvalidArgumentError } from '../errors/argument-errors.js';

/** The connection's options (url, cluster or sentinel, password, replica, timeouts; see RedisConnectionOptions) and the store's own. */
export interface RedisStoreOptions extends StoreRetentionOptions, RedisConnectionOptions {
  /** Key prefix (hash-tagged, see keys.ts). Default `nodesentry`. */
  readonly prefix?: string;
  /**
   * Do not deliver this replica's own `records` events back to its subscribers (default false:
   * the Store contract delivers every event). A poller that already put its records into its
   * in-memory view sets it, sparing a JSON parse of every batch it wrote.
   */
  readonly skipOwnRecords?: boolean;
  /** Skipped values, invalid events, connection errors, an evicting maxmemory-policy. Default: ignore. */
  readonly onWarning?: StoreWarningSink;
  /** Events received and not yet taken in, in characters, past which they are dropped (see `receive`; default 256 Mi). */
  readonly receiveQueueMaxChars?: number;
  /** How long one turn of the event loop may take events in, ms (see `receive`; default 4; 0: one event a turn). */
  readonly receiveSliceMs?: number;
}

/** Node ids per MGET / DEL in a pipeline. */
const KEYS_PER_COMMAND = 500;
/** History points a fenced sweep pushes before it trims the list and refreshes its TTL. */
const HISTORY_SLACK = 8;
const HISTORY_SLACK_MIN_TTL_MS = 3_600_000;
/** Lease deadlines ended longer ago than this are pruned (see leaseCandidatesScript). */
const LEASE_DEADLINE_KEEP_MS = 10 * 60_000;

/** How long one turn of taking in events may hold the event loop, ms (see RedisStore.receive). */
const RECEIVE_SLICE_MS = 4;
/** Events queued past this many characters are dropped (see RedisStore.receive). */
const RECEIVE_QUEUE_MAX_CHARS = 256 * 2 ** 20;

/** Redis replies that mean "not serving right now", not "you asked something wrong". */
const TRANSIENT_REPLY = /^(LOADING|READONLY|MASTERDOWN|CLUSTERDOWN|TRYAGAIN|BUSY|NOREPLICAS|OOM|MISCONF)\b/;

/**
 * The Store on Redis (standalone, Sentinel or Cluster), shared by every replica. Two
 * connections (RedisConnection): one for commands, one in subscriber mode for the events channel.
 *
 * While Redis is down, calls reject at once with STORE_UNAVAILABLE (no offline queue, at most
 * one retry of an in-flight command): the poller keeps its own view and writes again next
 * sweep, which beats an unbounded queue of stale writes. Connections come back on their own
 * (capped exponential backoff) and the subscriber re-subscribes.
 */
export class RedisStore implements Store {
  readonly kind = 'redis' as const;
  readonly keys: StoreKeys;

  private readonly connection: RedisConnection;
  private readonly client: RedisClient;
  private readonly warnings: WarnOnce;
  private readonly historyLimit: number;
  private readonly auditLimit: number;
  private readonly historyTtlMs: number;
  private readonly transitionLimit: number;
  private readonly transitionTtlMs: number;
  private readonly fleetTransitionLimit: number;
  private readonly sweepBatchSize: number;
  /** History points between two LTRIM + PEXPIRE of a node's history (fencedSweepScript). */
  private readonly historySlack: number;
  private readonly handlers = new Set<StoreEventHandler>();
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly replica: string;
  /** Prefix of this replica's own records events, when they are not to be delivered. */
  private readonly ownRecords: string | undefined;
  /**
   * Cluster: a PUBLISH without keys goes to a random node each time, and nodes relay it over
   * the cluster bus, so events of one replica arrived out of order (found by the contract suite
   * on a real cluster). Every PUBLISH the client sends therefore goes in a pipeline with an
   * `EXISTS` of `keys.eventsRoute`, which sends it to the one master of that key's slot: one
   * origin, one order. That slot is half the slot space from our data's, so the records feed's
   * fan-out (the cluster bus relays every PUBLISH to every node) leaves from another master than
   * the one that takes the writes and replicates them (docs/scaling.md). Drain decisions are
   * still published inside their scripts, from the data's master, atomically with the write:
   * their order against other events is not kept, and nothing depends on it (a drain is
   * versioned, and applies to whatever record the receiver holds). (Sharded pub/sub,
   * SPUBLISH, would also spare the other shards the relay, but ioredis 5.11's sharded subscriber
   * crashed the process with an unhandled "Command queue state error" on the server's
   * sunsubscribe during CLUSTER FAILOVER; see docs/scaling.md.)
   */
  private readonly pinPublishes: boolean;
  /**
   * The records feed (docs/scaling.md): a records event carries a node's record as the change
   * from the one before it on the channel whenever that is smaller (a steady node's probe
   * changes timings, heights and counters, not its state). `sent`: the last record this
   * replica published per node, the base of its next change (dropped when another replica's
   * record for the node is heard). `held`: the newest record heard or read per node, onto
   * which a received change is applied only if it names exactly that record as its base; a
   * receiver that holds another (joined late, missed an event) reads the whole record from the
   * store instead, which the same write put there in full. Both hold the same objects as the
   * fleet view, so they cost a map entry per node, not a copy.
   */
  private readonly sent = new Map<string, NodeRecord>();
  /** Failed announcements (see announce): reset by the next success, so each outage is reported once. */
  private readonly announceWarnings: WarnOnce;
  private readonly held = new Map<string, NodeRecord>();
  /** fencedKeys' cache. */
  private readonly nodeKeys = new Map<string, readonly string[]>();
  private closed = false;
  private closing: Promise<void> | undefined;

  constructor(options: RedisStoreOptions) {
    checkConnectionSource(options);
    if (typeof options.replica !== 'string' || options.replica === '')
      throw new InvalidArgumentError('RedisStore option replica must be a non-empty string');
    ({
      historyLimit: this.historyLimit,
      auditLimit: this.auditLimit,
      historyTtlMs: this.historyTtlMs,
      transitionLimit: this.transitionLimit,
      transitionTtlMs: this.transitionTtlMs,
      fleetTransitionLimit: this.fleetTransitionLimit,
      sweepBatchSize: this.sweepBatchSize,
    } = retentionOf(options));
    // A list's TTL is refreshed every HISTORY_SLACK points: at the slowest probe cadence (the
    // back-off ceiling, minutes) far inside an hour. A shorter TTL is refreshed every point.
    this.historySlack = this.historyTtlMs >= HISTORY_SLACK_MIN_TTL_MS ? HISTORY_SLACK : 1;
    this.keys = createStoreKeys(options.prefix ?? DEFAULT_PREFIX);
    this.pinPublishes = options.cluster !== undefined;
    this.replica = options.replica;
    this.ownRecords = options.skipOwnRecords ? ownRecordsPrefix(options.replica) : undefined;
    this.receiveQueueMaxChars = options.receiveQueueMaxChars ?? RECEIVE_QUEUE_MAX_CHARS;
    this.receiveSliceMs = options.receiveSliceMs ?? RECEIVE_SLICE_MS;
    this.warnings = new WarnOnce(options.onWarning);
    this.announceWarnings = new WarnOnce(options.onWarning);
    this.receiveWarnings = new WarnOnce(options.onWarning);
    // Last: it connects at once, so nothing may throw after it.
    this.connection = new RedisConnection(options, {
      channel: this.keys.events,
      onMessage: (message) => this.receive(message),
    });
    this.client = this.connection.client;
  }

  /** Constructs and waits until ready; on failure closes what it opened and rejects (STORE_UNAVAILABLE). */
  static async connect(options: RedisStoreOptions, timeoutMs?: number): Promise<RedisStore> {
    const store = new RedisStore(options);
    try {
      await store.ready(timeoutMs);
      return store;
    } catch (err) {
      await store.close();
      throw err;
    }
  }

  /**
   * Resolves once both connections are up and the events channel is subscribed (events
   * published before that are not seen). Rejects with STORE_UNAVAILABLE after `timeoutMs`.
   */
  ready(timeoutMs = 10_000): Promise<void> {
    return this.connection.ready(timeoutMs);
  }

  health(): StoreHealth {
    return this.connection.health();
  }

  probe(replica: string): Promise<void> {
    return this.run('probe', async () => {
      checkReplica(replica);
      await this.client.set(this.keys.probe, replica, 'PX', 60_000);
    });
  }

  // --- records --------------------------------------------------------------------------------

  writeSweep(write: SweepWrite, ttlMs: number): Promise<SweepResult> {
    return this.run('writeSweep', async () => {
      const px = positiveInt('ttlMs', Math.ceil(ttlMs));
      const peersPx = positiveInt('peersTtlMs', Math.ceil(write.peersTtlMs ?? ttlMs));
      const batches = planSweep(write, this.sweepBatchSize);
      const fence = write.fence;
      if (fence !== undefined) checkReplica(fence);
      // All batches go out at once on one connection: ceil(units / batchSize) round trips
      // that overlap, in order (fenced: one script call per batch for its nodes, plus a
      // pipeline for its chains). Settle all before failing, so close() never races a straggler.
      const calls: Array<Promise<unknown>> = [];
      const fenced: string[] = [];
      const older: string[] = [];
      for (const batch of batches) {
        if (fence === undefined) {
          calls.push(this.sweepBatch(batch, px, peersPx));
          continue;
        }
        if (batch.nodes.length > 0) {
          calls.push(
            this.fencedNodes(batch, fence, px, peersPx).then(async (r) => {
              fenced.push(...r.fenced);
              older.push(...r.older);
              // The fleet-wide log follows the fence: only the changes of nodes whose own
              // writes went through (it is derived history, so a second round trip will do).
              const refused = new Set([...r.fenced, ...r.older]);
              const kept = batch.fleetTransitions.filter((t) => !refused.has(t.nodeId));
              if (kept.length > 0) {
                const p = this.client.pipeline();
                this.pushFleetTransitions(p, kept);
                await this.exec(p);
              }
            }),
          );
        }
        if (batch.chains.length > 0)
          calls.push(this.sweepBatch({ nodes: [], chains: batch.chains, fleetTransitions: [] }, px, peersPx));
      }
      const results = await Promise.allSettled(calls);
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
      return older.length > 0 ? { fenced, older } : { fenced };
    });
  }

  /** The nodes of one batch through fencedSweepScript; resolves with the ids refused. */
  private async fencedNodes(
    batch: SweepBatch,
    replica: string,
    px: number,
    peersPx: number,
  ): Promise<{ fenced: string[]; older: string[] }> {
    const keys: string[] = [this.keys.nodeIndex];
    const args: Array<string | number> = [
      replica,
      px,
      peersPx,
      this.historyLimit,
      this.historyTtlMs,
      this.transitionLimit,
      this.transitionTtlMs,
      this.historySlack,
    ];
    const encoded: string[] = [];
    for (const node of batch.nodes) {
      const nodeKeys = this.fencedKeys(node.nodeId);
      for (let i = 0; i < nodeKeys.length; i++) keys.push(nodeKeys[i]!);
      const transitions = node.transitions ?? [];
      const json = node.record ? encodeRecord(node.record) : '';
      encoded.push(json);
      args.push(node.nodeId, json, encodeNodePeers(node) ?? '', node.history.length);
      for (const point of node.history) args.push(encodeHistoryPoint(point));
      args.push(transitions.length);
      for (const t of transitions) args.push(encodeTransition(t));
    }
    const [refused, older] = (await fencedSweepScript.run(this.client, keys, args)) as [number[], number[]];
    const ids = (positions: number[]) => positions.flatMap((i) => batch.nodes[i - 1]?.nodeId ?? []);
    const notWritten = new Set([...refused, ...older]);
    // Announced after the reply, only what was written, each entry made against what this
    // replica announced last for the node: replies come back in the order the batches went, so
    // the bases follow the order the events leave in.
    const entries: string[] = [];
    const written: NodeRecord[] = [];
    batch.nodes.forEach((node, i) => {
      if (node.record === undefined || notWritten.has(i + 1)) return;
      entries.push(encodeRecordEntry(node.record, encoded[i]!, this.sent.get(node.nodeId), this.replica));
      written.push(node.record);
    });
    this.markSent(written);
    if (entries.length > 0) await this.announce(encodeRecordsEvent(entries, this.replica));
    return { fenced: ids(refused), older: ids(older) };
  }

  /** One unfenced batch (and every batch's chain facts): written in one pipeline, then announced. */
  private async sweepBatch(batch: SweepBatch, px: number, peersPx: number): Promise<void> {
    const published: NodeRecord[] = [];
    const messages: string[] = [];
    await this.exec(this.sweepPipeline(batch, px, peersPx, published, messages));
    this.markSent(published);
    await Promise.all(messages.map((m) => this.announce(m)));
  }

  /**
   * Publishes an event about data already written. A failure is reported (once per outage: the
   * first failure after a success), not thrown: the write stands and must not be retried for it
   * (a retried sweep would push its transitions twice); a receiver that missed the event holds
   * an older record, which ages to stale by its observedAt, and reads the node's next change
   * whole from the store, as it does after any missed event.
   */
  private announce(message: string): Promise<void> {
    return this.publishAlone(message).then(
      () => this.announceWarnings.reset(),
      (err: unknown) =>
        this.announceWarnings.warn(
          'announce',
          'store wrote data but could not announce it; replicas catch up from the next write',
          { reason: this.toStoreError(err).message },
        ),
    );
  }

  private sweepPipeline(
    batch: SweepBatch,
    px: number,
    peersPx: number,
    published: NodeRecord[],
    messages: string[],
  ): ChainableCommander {
    const k = this.keys;
    const p = this.client.pipeline();
    const encoded: string[] = [];
    const ids: string[] = [];
    for (const node of batch.nodes) {
      const peers = encodeNodePeers(node);
      if (peers !== undefined) p.set(k.peers(node.nodeId), peers, 'PX', peersPx);
      if (node.history.length > 0) {
        const key = k.history(node.nodeId);
        p.lpush(key, ...node.history.map(encodeHistoryPoint));
        p.ltrim(key, 0, this.historyLimit - 1);
        p.pexpire(key, this.historyTtlMs);
      }
      if (node.transitions) this.pushTransitions(p, node.nodeId, node.transitions);
      if (node.record) {
        const json = encodeRecord(node.record);
        p.set(k.node(node.nodeId), json, 'PX', px);
        encoded.push(encodeRecordEntry(node.record, json, this.sent.get(node.nodeId), this.replica));
        ids.push(node.nodeId);
        published.push(node.record);
      }
    }
    this.pushFleetTransitions(p, batch.fleetTransitions);
    if (ids.length > 0) {
      p.sadd(k.nodeIndex, ...ids);
      messages.push(encodeRecordsEvent(encoded, this.replica));
    }
    for (const facts of batch.chains) {
      // Chain facts rank every node of the chain (megabytes at 10,000 nodes): encode them once
      // for the key and the event, as the records are.
      const json = encodeChainFacts(facts);
      p.set(k.chain(facts.chain), json, 'PX', px);
      messages.push(chainEventFrom(json));
    }
    return p;
  }

  /**
   * A node's five keys in the order fencedSweepScript takes them, built once per node: every
   * probe's write names them, and a key made afresh each time was five concatenations plus five
   * copies when ioredis measured them (the cached strings are flattened once, on first use).
   * Forgotten when the node is removed; a map entry per configured node otherwise.
   */
  private fencedKeys(nodeId: string): readonly string[] {
    let keys = this.nodeKeys.get(nodeId);
    if (keys === undefined) {
      const k = this.keys;
      keys = [k.lease(nodeId), k.node(nodeId), k.peers(nodeId), k.history(nodeId), k.transitions(nodeId)];
      this.nodeKeys.set(nodeId, keys);
    }
    return keys;
  }

  /** Records published: the bases of their nodes' next changes. */
  private markSent(records: readonly NodeRecord[]): void {
    for (const r of records) {
      const prev = this.sent.get(r.nodeId);
      if (!prev || newerOrSame(r, prev)) this.sent.set(r.nodeId, r);
    }
  }

  /** Remember the newest record known per node (the base a received change must name). */
  private hold(r: NodeRecord): void {
    const prev = this.held.get(r.nodeId);
    if (!prev || newerOrSame(r, prev)) this.held.set(r.nodeId, r);
    // Another replica's record is now the channel's latest for this node: our next one goes whole.
    if (r.replica !== this.replica && this.sent.get(r.nodeId) !== undefined) this.sent.delete(r.nodeId);
  }

  /** LPUSH (oldest first, so the newest ends at the head) + LTRIM to the cap + PEXPIRE. */
  private pushTransitions(p: ChainableCommander, nodeId: string, transitions: readonly TransitionEntry[]): void {
    if (transitions.length === 0) return;
    const key = this.keys.transitions(nodeId);
    p.lpush(key, ...transitions.map(encodeTransition));
    p.ltrim(key, 0, this.transitionLimit - 1);
    p.pexpire(key, this.transitionTtlMs);
  }

  /** The fleet-wide log: one LPUSH per batch (oldest first), LTRIM to its cap, PEXPIRE. */
  private pushFleetTransitions(p: ChainableCommander, transitions: readonly FleetTransition[]): void {
    if (transitions.length === 0) return;
    const key = this.keys.fleetTransitions;
    p.lpush(key, ...transitions.map(encodeFleetTransition));
    p.ltrim(key, 0, this.fleetTransitionLimit - 1);
    p.pexpire(key, this.transitionTtlMs);
  }

  appendTransitions(entries: readonly TransitionWrite[]): Promise<void> {
    return this.run('appendTransitions', async () => {
      if (entries.length === 0) return;
      const p = this.client.pipeline();
      const grouped = groupTransitions(entries);
      for (const [nodeId, transitions] of grouped) this.pushTransitions(p, nodeId, transitions);
      const chainOf = new Map(entries.flatMap((e) => (e.chain !== undefined ? [[e.nodeId, e.chain] as const] : [])));
      this.pushFleetTransitions(
        p,
        fleetTransitionsOf(
          [...grouped].map(([nodeId, transitions]) => ({ nodeId, transitions })),
          chainOf,
        ),
      );
      await this.exec(p);
    });
  }

  getFleetTransitions(limit: number): Promise<FleetTransition[]> {
    return this.run('getFleetTransitions', async () => {
      const n = Math.floor(limit);
      if (!(n > 0)) return [];
      const key = this.keys.fleetTransitions;
      const raw = await this.client.lrange(key, 0, n - 1);
      return raw.flatMap((item) => this.decoded(key, decodeFleetTransition(item)) ?? []);
    });
  }

  getTransitions(nodeId: string, limit: number): Promise<TransitionEntry[]> {
    return this.run('getTransitions', async () => {
      const n = Math.floor(limit);
      if (!(n > 0)) return [];
      const key = this.keys.transitions(nodeId);
      const raw = await this.client.lrange(key, 0, n - 1);
      return raw.flatMap((item) => this.decoded(key, decodeTransition(item)) ?? []);
    });
  }

  getNodes(nodeIds: readonly string[]): Promise<Map<string, NodeRecord>> {
    return this.run('getNodes', async () => {
      const { records } = await this.readRecords([...new Set(nodeIds)]);
      return records;
    });
  }

  getAllNodes(): Promise<NodeRecord[]> {
    return this.run('getAllNodes', async () => {
      const ids = (await this.client.smembers(this.keys.nodeIndex)).sort();
      const { records, missing } = await this.readRecords(ids);
      if (missing.length > 0) {
        // Expired records leave their id in the index; drop it unless a record came back since.
        await pruneIndexScript.run(this.client, [this.keys.nodeIndex, ...missing.map(this.keys.node)], missing);
      }
      return [...records.values()];
    });
  }

  private async readRecords(ids: readonly string[]): Promise<{ records: Map<string, NodeRecord>; missing: string[] }> {
    const records = new Map<string, NodeRecord>();
    const missing: string[] = [];
    if (ids.length === 0) return { records, missing };
    const parts = chunk(ids, KEYS_PER_COMMAND);
    const p = this.client.pipeline();
    for (const part of parts) p.mget(part.map(this.keys.node));
    const results = await this.exec(p);
    parts.forEach((part, i) => {
      const values = results[i] as Array<string | null>;
      part.forEach((id, j) => {
        const raw = values[j];
        if (raw === null || raw === undefined) {
          missing.push(id);
          return;
        }
        const record = this.decoded(this.keys.node(id), decodeRecord(raw, id));
        if (record) {
          records.set(id, record);
          const prev = this.held.get(id);
          if (!prev || newerOrSame(record, prev)) this.held.set(id, record);
        }
      });
    });
    return { records, missing };
  }

  getPeers(nodeId: string): Promise<StoredPeers | undefined> {
    return this.run('getPeers', async () => {
      const key = this.keys.peers(nodeId);
      const raw = await this.client.get(key);
      return raw === null ? undefined : this.decoded(key, decodePeers(raw));
    });
  }

  getHistory(nodeId: string, limit: number): Promise<HistoryPoint[]> {
    return this.run('getHistory', async () => {
      const n = Math.floor(limit);
      if (!(n > 0)) return [];
      const key = this.keys.history(nodeId);
      // The fenced sweep trims a list only every historySlack points: never read past the cap.
      const raw = await this.client.lrange(key, 0, Math.min(n, this.historyLimit) - 1);
      return raw.flatMap((item) => this.decoded(key, decodeHistoryPoint(item)) ?? []);
    });
  }

  getChainFacts(chain: string): Promise<ChainFacts | undefined> {
    return this.run('getChainFacts', async () => {
      const key = this.keys.chain(chain);
      const raw = await this.client.get(key);
      return raw === null ? undefined : this.decoded(key, decodeChainFacts(raw));
    });
  }

  removeNodes(nodeIds: readonly string[]): Promise<void> {
    return this.run('removeNodes', async () => {
      const ids = [...new Set(nodeIds)];
      if (ids.length === 0) return;
      const k = this.keys;
      const p = this.client.pipeline();
      for (const part of chunk(ids, KEYS_PER_COMMAND)) {
        // Not the drains (the fleet's decisions) nor the leases (another replica may still poll
        // the node; the caller released its own).
        p.del(...part.flatMap((id) => [k.node(id), k.peers(id), k.history(id), k.transitions(id)]));
        p.srem(k.nodeIndex, ...part);
      }
      for (const id of ids) {
        this.sent.delete(id);
        this.held.delete(id);
        this.nodeKeys.delete(id);
      }
      await this.exec(p);
      await this.publishAlone(encodeEvent({ type: 'nodes-removed', nodeIds: ids }));
    });
  }

  // --- drains and audit -----------------------------------------------------------------------

  setDrain(nodeId: string, drain: Drain | null): Promise<DrainFact> {
    return this.run('setDrain', async () => {
      if (drain !== null && drain.nodeId !== nodeId)
        throw new InvalidArgumentError(
          `drain.nodeId ${JSON.stringify(drain.nodeId)} does not match ${JSON.stringify(nodeId)}`,
        );
      const version = Number(
        await setDrainScript.run(
          this.client,
          [this.keys.drains],
          [nodeId, drainFactPrefix(nodeId, drain), drainEventPrefix(nodeId, drain), this.keys.events],
        ),
      );
      return { nodeId, version, drain };
    });
  }

  restoreDrains(facts: readonly DrainFact[]): Promise<DrainFact[]> {
    return this.run('restoreDrains', async () => {
      if (facts.length === 0) return [];
      const args: Array<string | number> = [this.keys.events];
      for (const f of facts)
        args.push(
          f.nodeId,
          Math.floor(f.version),
          encodeDrainFact(f),
          `${drainEventPrefix(f.nodeId, f.drain)}${Math.floor(f.version)}}`,
        );
      const written = (await restoreDrainsScript.run(this.client, [this.keys.drains], args)) as number[];
      return written.flatMap((i) => facts[i - 1] ?? []);
    });
  }

  epoch(): Promise<{ epoch: string; created: boolean }> {
    return this.run('epoch', async () => {
      const fresh = randomUUID();
      const created = (await this.client.set(this.keys.epoch, fresh, 'NX')) === 'OK';
      if (created) return { epoch: fresh, created };
      const current = await this.client.get(this.keys.epoch);
      return { epoch: current ?? fresh, created: false };
    });
  }

  getDrains(): Promise<Map<string, Drain>> {
    return this.run('getDrains', async () => {
      const drains = new Map<string, Drain>();
      for (const [nodeId, fact] of await this.readDrainFacts()) if (fact.drain) drains.set(nodeId, fact.drain);
      return drains;
    });
  }

  getDrainFacts(): Promise<Map<string, DrainFact>> {
    return this.run('getDrainFacts', () => this.readDrainFacts());
  }

  private async readDrainFacts(): Promise<Map<string, DrainFact>> {
    const all = await this.client.hgetall(this.keys.drains);
    const facts = new Map<string, DrainFact>();
    for (const [nodeId, raw] of Object.entries(all)) {
      const fact = this.decoded(`${this.keys.drains}#${nodeId}`, decodeDrainFact(raw));
      if (fact && fact.nodeId === nodeId && (fact.drain === null || fact.drain.nodeId === nodeId))
        facts.set(nodeId, fact);
    }
    return facts;
  }

  appendAudit(entry: unknown): Promise<void> {
    return this.run('appendAudit', async () => {
      const p = this.client.pipeline();
      p.lpush(this.keys.audit, encodeAudit(entry, Date.now()));
      p.ltrim(this.keys.audit, 0, this.auditLimit - 1);
      await this.exec(p);
    });
  }

  getAudit(limit: number): Promise<unknown[]> {
    return this.run('getAudit', async () => {
      const n = Math.floor(limit);
      if (!(n > 0)) return [];
      const raw = await this.client.lrange(this.keys.audit, 0, n - 1);
      const out: unknown[] = [];
      for (const item of raw) {
        const d = decodeAudit(item);
        if (d.ok) out.push(d.value);
        else
          this.warnings.warn(`${this.keys.audit}:${d.reason}`, 'store skipped an unreadable value', {
            key: this.keys.audit,
            reason: d.reason,
          });
      }
      return out;
    });
  }

  // --- leases and replicas --------------------------------------------------------------------

  claimLeases(replica: string, nodeIds: readonly string[], ttlMs: number, max: number): Promise<string[]> {
    return this.run('claimLeases', async () => {
      checkReplica(replica);
      const px = positiveInt('ttlMs', Math.ceil(ttlMs));
      const ids = [...new Set(nodeIds)];
      if (ids.length === 0) return [];
      const held = await claimLeasesScript.run(
        this.client,
        [this.keys.leaseDeadlines, ...ids.map(this.keys.lease)],
        [replica, px, Math.max(0, Math.floor(max)), ...ids],
      );
      return indexesToIds(held, ids);
    });
  }

  leaseCandidates(limit: number): Promise<string[]> {
    return this.run('leaseCandidates', async () => {
      const n = Math.max(0, Math.floor(limit));
      if (n === 0) return [];
      const ids = await leaseCandidatesScript.run(this.client, [this.keys.leaseDeadlines], [n, LEASE_DEADLINE_KEEP_MS]);
      return Array.isArray(ids) ? ids.map(String) : [];
    });
  }

  releaseLeases(replica: string, nodeIds: readonly string[]): Promise<void> {
    return this.run('releaseLeases', async () => {
      checkReplica(replica);
      const ids = [...new Set(nodeIds)];
      if (ids.length === 0) return;
      const released = indexesToIds(
        await releaseLeasesScript.run(
          this.client,
          [this.keys.leaseDeadlines, ...ids.map(this.keys.lease)],
          [replica, ...ids],
        ),
        ids,
      );
      if (released.length > 0)
        await this.publishAlone(encodeEvent({ type: 'leases-released', replica, nodeIds: released }));
    });
  }

  heartbeat(replica: string, ttlMs: number): Promise<void> {
    return this.run('heartbeat', async () => {
      checkReplica(replica);
      await heartbeatScript.run(this.client, [this.keys.replicas], [replica, positiveInt('ttlMs', Math.ceil(ttlMs))]);
    });
  }

  liveReplicas(): Promise<string[]> {
    return this.run('liveReplicas', async () => {
      const members = (await liveReplicasScript.run(this.client, [this.keys.replicas], [])) as string[];
      return members.sort();
    });
  }

  leave(replica: string): Promise<void> {
    return this.run('leave', async () => {
      await this.client.zrem(this.keys.replicas, replica);
    });
  }

  countInWindow(bucket: string, window: number, windowMs: number): Promise<number> {
    return this.run('countInWindow', async () => {
      const key = this.keys.rate(bucket, window);
      // One round trip. The key names its window, so refreshing the expiry on every hit only
      // keeps it until two windows after the last one (PEXPIRE NX would need Redis 7).
      const replies = await this.client
        .multi()
        .incr(key)
        .pexpire(key, positiveInt('windowMs', windowMs) * 2)
        .exec();
      const [err, count] = replies?.[0] ?? [new Error('transaction discarded'), null];
      if (err) throw err;
      return Number(count);
    });
  }

  // --- events ---------------------------------------------------------------------------------

  publish(event: StoreEvent): Promise<void> {
    return this.run('publish', async () => {
      await this.publishAlone(encodeEvent(event));
    });
  }

  /**
   * PUBLISHes queued in this event-loop turn (see publishAlone), sent in one pipeline. The cold
   * sweep publishes one transition per node; a pipeline of its own each cost it 8 % of its CPU
   * in socket writes (issue #17).
   */
  private queuedPublishes:
    { messages: string[]; resolve: () => void; reject: (err: unknown) => void; done: Promise<void> } | undefined;

  /**
   * PUBLISH (on a cluster pinned to our slot's master, see `pinPublishes`), coalesced with the
   * others of this event-loop turn into one pipeline. Every other call flushes the queue before
   * it sends anything (see `run`), so events and writes still leave in the order they were made.
   */
  private publishAlone(message: string): Promise<void> {
    let q = this.queuedPublishes;
    if (q === undefined) {
      let resolve!: () => void;
      let reject!: (err: unknown) => void;
      const done = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      q = this.queuedPublishes = { messages: [], resolve, reject, done };
      setImmediate(() => this.flushPublishes());
    }
    q.messages.push(message);
    return q.done;
  }

  private flushPublishes(): void {
    const q = this.queuedPublishes;
    if (q === undefined) return;
    this.queuedPublishes = undefined;
    const p = this.client.pipeline();
    if (this.pinPublishes) p.exists(this.keys.eventsRoute);
    // Packed (packed-command.ts): a records event carries every entry of a sweep batch, and
    // ioredis's own string path would build it as a rope and flatten it again in the socket.
    // (ioredis's Pipeline has sendCommand, as every Commander; its typings leave it out.)
    const queue = p as unknown as { sendCommand(command: PackedCommand): unknown };
    for (const m of q.messages) queue.sendCommand(new PackedCommand('publish', [this.keys.events, m]));
    this.exec(p).then(() => q.resolve(), q.reject);
  }

  subscribe(handler: StoreEventHandler): () => void {
    if (this.closed) return () => {};
    this.handlers.add(handler);
    return () => {
      this.handlers.delete(handler);
    };
  }

  /** Events received and not dispatched yet, oldest first from `receivedHead` (see `receive`). */
  private received: Array<string | undefined> = [];
  private receivedHead = 0;
  private receivedChars = 0;
  private draining = false;
  private readonly receiveQueueMaxChars: number;
  private readonly receiveSliceMs: number;
  /** The overflow warning: once per overload (reset when the queue is empty again). */
  private readonly receiveWarnings: WarnOnce;

  /**
   * An event as it arrives: queued, then dispatched in slices of about RECEIVE_SLICE_MS with the
   * event loop let go in between, in arrival order. ioredis hands over every event one socket
   * read brought in, in one go: at 20,000 records/s (100,000 nodes) that was ~100 ms of applying
   * changes in one task, and a load balancer's probe of this process waited behind several
   * (p90 68 ms, p99 400 ms, max 785 ms; bench/feed-load.mjs). Past RECEIVE_QUEUE_MAX_CHARS
   * (a process that cannot keep up: before, Redis's pub/sub output limit cut it off) the queue
   * is dropped, once per overload with a warning: the next change of each node then names a
   * base this replica does not hold, so the record is read whole (fetchWhole); drains and
   * chain facts are read again within seconds.
   */
  private receive(message: string): void {
    if (this.closed) return;
    if (this.ownRecords !== undefined && message.startsWith(this.ownRecords)) return;
    if (this.receivedChars + message.length > this.receiveQueueMaxChars) {
      this.receiveWarnings.warn('overflow', 'store dropped events it could not take in fast enough', {
        queued: this.received.length - this.receivedHead,
        chars: this.receivedChars,
      });
      this.received = [];
      this.receivedHead = 0;
      this.receivedChars = 0;
    }
    this.received.push(message);
    this.receivedChars += message.length;
    if (!this.draining) {
      this.draining = true;
      setImmediate(() => this.drainReceived());
    }
  }

  private drainReceived(): void {
    const start = performance.now();
    try {
      do {
        const message = this.received[this.receivedHead]!;
        this.received[this.receivedHead++] = undefined;
        this.receivedChars -= message.length;
        if (!this.closed) this.dispatch(message);
      } while (this.receivedHead < this.received.length && performance.now() - start < this.receiveSliceMs);
    } finally {
      if (this.receivedHead >= this.received.length) {
        this.received = [];
        this.receivedHead = 0;
        this.receivedChars = 0;
        this.draining = false;
        this.receiveWarnings.reset();
      } else {
        if (this.receivedHead >= 1024) {
          this.received = this.received.slice(this.receivedHead);
          this.receivedHead = 0;
        }
        setImmediate(() => this.drainReceived());
      }
    }
  }

  private dispatch(message: string): void {
    const decoded = decodeFeedEvent(message);
    if (!decoded.ok) {
      this.warnings.warn(`event:${decoded.reason}`, 'store ignored an invalid event', {
        channel: this.keys.events,
        reason: decoded.reason,
      });
      return;
    }
    const { event, changes } = decoded.value;
    if (event.type === 'nodes-removed') {
      for (const id of event.nodeIds) {
        this.sent.delete(id);
        this.held.delete(id);
      }
    }
    if (event.type !== 'records') {
      this.deliver(event);
      return;
    }
    for (const r of event.records) this.hold(r);
    if (changes.length === 0) {
      this.deliver(event);
      return;
    }
    const records = [...event.records];
    const fetch: string[] = [];
    for (const c of changes) {
      const r = this.applyChange(c);
      if (r === 'fetch') fetch.push(c.nodeId);
      else if (r !== undefined) records.push(r);
    }
    if (records.length > 0) this.deliver({ type: 'records', records });
    if (fetch.length > 0) void this.fetchWhole(fetch);
  }

  /** The record a change makes, or undefined when a newer one is held, or 'fetch' when its base is not held. */
  private applyChange(c: RecordChange): NodeRecord | undefined | 'fetch' {
    const base = this.held.get(c.nodeId);
    if (base !== undefined && sameStamp(base, c.base)) {
      const d = applyRecordChange(base, c);
      if (!d.ok) {
        this.warnings.warn(`event:${d.reason}`, 'store ignored an invalid record change', {
          channel: this.keys.events,
          reason: d.reason,
        });
        return 'fetch';
      }
      this.hold(d.value);
      return d.value;
    }
    // A record as new as the change's (or newer) is held already: nothing to learn.
    if (base !== undefined && Math.floor(base.sample.observedAt) > c.observedAt) return undefined;
    return 'fetch';
  }

  /** Whole records of nodes whose change could not be applied here, from the store (where each write puts them whole). */
  private async fetchWhole(ids: readonly string[]): Promise<void> {
    if (this.closed) return;
    try {
      const found = await this.getNodes(ids);
      const records = [...found.values()];
      for (const r of records) this.hold(r);
      if (records.length > 0) this.deliver({ type: 'records', records });
    } catch (err) {
      // The view reloads after a reconnect; until then it serves what it holds, marked stale as it ages.
      const reason = err instanceof Error ? err.message : String(err);
      this.warnings.warn(`fetch:${reason}`, 'store could not read records a change named', { reason });
    }
  }

  private deliver(event: StoreEvent): void {
    for (const handler of [...this.handlers]) {
      try {
        handler(event);
      } catch (err) {
        const reason = err instanceof Error ? err.message : String(err);
        this.warnings.warn(`handler:${reason}`, 'store event handler threw', { type: event.type, reason });
      }
    }
  }

  // --- lifecycle ------------------------------------------------------------------------------

  /** Waits for in-flight calls, then closes both connections. Safe to call twice. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.closed = true;
    await this.connection.close(async () => {
      await Promise.allSettled([...this.inFlight]);
      this.handlers.clear();
    });
  }

  /** Runs one call: rejects once closed, maps ioredis errors to store errors, tracks it for close(). */
  private run<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new StoreClosedError(operation));
    // Publishes queued before this call leave before anything it sends.
    if (operation !== 'publish') this.flushPublishes();
    const p = fn().catch((err: unknown) => {
      throw this.toStoreError(err);
    });
    this.inFlight.add(p);
    const forget = () => this.inFlight.delete(p);
    p.then(forget, forget);
    return p;
  }

  private async exec(pipeline: ChainableCommander): Promise<unknown[]> {
    const results = await pipeline.exec();
    if (results === null) throw new StoreUnavailableError({ details: 'pipeline was discarded' });
    return results.map(([err, value]) => {
      if (err) throw err;
      return value;
    });
  }

  private toStoreError(err: unknown): Error {
    if (err instanceof StoreError || err instanceof TypeError || err instanceof RangeError) return err;
    const message = this.connection.redact(err instanceof Error ? err.message : String(err));
    if (err instanceof Error && err.name === 'ReplyError' && !TRANSIENT_REPLY.test(message)) {
      return new StoreCommandError({ details: message, cause: err });
    }
    return new StoreUnavailableError({ details: message, cause: err });
  }

  /** Skip (and report once) a value we cannot read; never throw for it. */
  private decoded<T>(key: string, d: Decoded<T>): T | undefined {
    if (d.ok) return d.value;
    this.warnings.warn(`${key}:${d.reason}`, 'store skipped an unreadable value', { key, reason: d.reason });
    return undefined;
  }
}

function indexesToIds(reply: unknown, ids: readonly string[]): string[] {
  return (reply as number[]).flatMap((i) => {
    const id = ids[i - 1];
    return id === undefined ? [] : [id];
  });
}

/** A `chain` event around facts already encoded with `encodeChainFacts`: byte for byte what `encodeEvent` makes. */
function chainEventFrom(encodedFacts: string): string {
  return `{"v":${FORMAT_VERSION},"type":"chain","facts":${encodedFacts}}`;
}

/** `a` is at least as new as `b` (as the fleet view orders records: observedAt, then writtenAt). */
function newerOrSame(a: NodeRecord, b: NodeRecord): boolean {
  return (
    a.sample.observedAt > b.sample.observedAt ||
    (a.sample.observedAt === b.sample.observedAt && a.writtenAt >= b.writtenAt)
  );
}
