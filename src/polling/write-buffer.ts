// The poller's write buffer: judged results held per node and flushed to the store in writeSweep batches.
import type { Logger } from 'pino';
import type { PeerDetail, Sample } from '../chains/sample.js';
import type { NodeConfig } from '../config/node-config.js';
import type { ChainFacts, HistoryPoint, NodeRecord, Store, TransitionEntry } from '../store/store.js';
import type { FleetView } from '../view/fleet-view.js';
import { errText } from './err-text.js';
import type { StoreOutage } from './lease-keeper.js';

export interface WriteBufferOptions {
  readonly store: Store;
  readonly view: FleetView;
  readonly logger: Logger;
  readonly flushIntervalMs: number;
  readonly flushMaxRecords: number;
  readonly leaseTtlMs: number;
  readonly maxBackoffMs: number;
  readonly peerDetailsEveryMs: number;
  readonly now: () => number;
  /** Per-chain facts to write with a full flush (the judge's). */
  readonly chainFacts: (now: number) => ChainFacts[];
  /** A configured node, by id (its record TTL follows its interval and timeout). */
  readonly nodeOf: (id: string) => NodeConfig | undefined;
  /** The nodes this replica polls (a chains-only write lives as long as their records). */
  readonly ownedNodes: () => NodeConfig[];
  /** The replica that fences writes (only the lease holder writes a node), once leases are in play. */
  readonly fence: () => string | undefined;
  /** The store refused writes for these nodes: their lease is no longer ours. */
  readonly onFenced: (nodeIds: readonly string[]) => void;
  /** Shared with the lease keeper: the store is known to be failing (logged once per outage). */
  readonly outage: StoreOutage;
}

/** One probe's result, as handed to the buffer. */
export interface BufferedResult {
  readonly record: NodeRecord;
  readonly sample: Sample;
  /** The sample's peer list, when this probe fetched one. */
  readonly peers: readonly PeerDetail[] | undefined;
  readonly transition: TransitionEntry | undefined;
}

interface Pending {
  record: NodeRecord;
  peers?: readonly PeerDetail[];
  history: HistoryPoint[];
  /** State changes not yet written, oldest first. */
  transitions: TransitionEntry[];
}

const MIN_RECORD_TTL_MS = 15_000;
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
function recordTtlMs(node: NodeConfig, leaseTtlMs: number, maxBackoffMs: number): number {
  const round = Math.max(node.intervalMs, maxBackoffMs) + node.timeoutMs;
  return Math.max(3 * round, leaseTtlMs + 2 * round, MIN_RECORD_TTL_MS);
}

function historyPoint(sample: Sample): HistoryPoint {
  return {
    t: sample.observedAt,
    ok: sample.ok,
    latencyMs: sample.latencyMs,
    ...(sample.peers ? { peers: sample.peers.total } : {}),
    ...(sample.height !== undefined ? { height: sample.height } : {}),
    ...(sample.netTotals
      ? { bytesRecv: sample.netTotals.totalBytesRecv, bytesSent: sample.netTotals.totalBytesSent }
      : {}),
    ...(sample.uptimeS !== undefined ? { uptimeS: sample.uptimeS } : {}),
  };
}

/**
 * Holds the latest record per node with a bounded backlog of history and state changes, and
 * writes them in one writeSweep per flush: on a timer, when the buffer is full, and on demand.
 * Flushes never overlap; a failed one puts its batch back (latest state wins).
 */
export class WriteBuffer {
  readonly #o: WriteBufferOptions;
  readonly #pending = new Map<string, Pending>();
  #flushTimer: NodeJS.Timeout | undefined;
  #flushChain: Promise<void> = Promise.resolve();
  /** A flush skipped re-ranking the chains (see #enqueueFlush); the next full flush must do it. */
  #chainsOwed = false;
  #stopped = false;
  readonly #stats = { flushes: 0, flushFailures: 0, lastFlushMs: 0 };

  constructor(opts: WriteBufferOptions) {
    this.#o = opts;
  }

  get stats(): Readonly<{ flushes: number; flushFailures: number; lastFlushMs: number }> {
    return { ...this.#stats };
  }

  /** Buffer one result; a full buffer is flushed at once (without re-ranking the chains). */
  add(nodeId: string, result: BufferedResult): void {
    const prev = this.#pending.get(nodeId);
    const history = prev ? prev.history : [];
    const transitions = prev ? prev.transitions : [];
    // While Redis is away, keep a bounded backlog of history and state changes per node, newest last.
    history.push(historyPoint(result.sample));
    keepNewest(history, MAX_PENDING_HISTORY);
    if (result.transition) {
      transitions.push(result.transition);
      keepNewest(transitions, MAX_PENDING_TRANSITIONS);
    }
    const peers = result.peers ?? prev?.peers;
    this.#pending.set(nodeId, { record: result.record, history, transitions, ...(peers ? { peers } : {}) });
    if (this.#pending.size >= this.#o.flushMaxRecords) void this.#enqueueFlush(false);
  }

  /** Forget what is buffered for a node (removed, or its lease is lost). */
  discard(nodeId: string): void {
    this.#pending.delete(nodeId);
  }

  /** Flush on the timer until stop(). */
  start(): void {
    if (this.#stopped) return;
    this.#flushTimer = setTimeout(() => {
      void this.flush().finally(() => this.start());
    }, this.#o.flushIntervalMs);
    this.#flushTimer.unref();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#flushTimer);
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

  async #flushOnce(withChains: boolean): Promise<void> {
    // A flush that skipped the chains owes them to the next one, even if that finds no records.
    if (this.#pending.size === 0 && !(withChains && this.#chainsOwed)) return;
    const batch = [...this.#pending.values()];
    this.#pending.clear();
    const started = performance.now();
    const peers = new Map<string, readonly PeerDetail[]>();
    for (const p of batch) if (p.peers) peers.set(p.record.nodeId, p.peers);
    const now = this.#o.now();
    const chains = withChains ? this.#o.chainFacts(now) : [];
    this.#chainsOwed = !withChains;
    if (batch.length === 0 && chains.length === 0) return;
    for (const c of chains) this.#o.view.setChainFacts(c);
    // A chains-only write: the facts live as long as the records of the nodes held here.
    const ttlNodes = batch.length > 0 ? batch.map((p) => this.#o.nodeOf(p.record.nodeId)) : this.#o.ownedNodes();
    const ttl = Math.max(
      MIN_RECORD_TTL_MS,
      ...ttlNodes.map((n) =>
        recordTtlMs(
          n ?? ({ intervalMs: 5_000, timeoutMs: 2_000 } as NodeConfig),
          this.#o.leaseTtlMs,
          this.#o.maxBackoffMs,
        ),
      ),
    );
    const fence = this.#o.fence();
    try {
      const { fenced } = await this.#o.store.writeSweep(
        {
          records: batch.map((p) => p.record),
          peers,
          history: batch.flatMap((p) => p.history.map((point) => ({ nodeId: p.record.nodeId, point }))),
          transitions: batch.flatMap((p) =>
            p.transitions.map((transition) => ({ nodeId: p.record.nodeId, chain: p.record.chain, transition })),
          ),
          chains,
          // Peer lists are refreshed every peerDetailsEveryMs: keep them across a few refreshes.
          peersTtlMs: Math.max(ttl, 3 * this.#o.peerDetailsEveryMs),
          // Once leases are in play, only the holder writes a node (a replica resumed after a
          // pause past its lease must not write the past over the new owner's records).
          ...(fence !== undefined ? { fence } : {}),
        },
        ttl,
      );
      if (fenced.length > 0) this.#o.onFenced(fenced);
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
      if (!this.#o.outage.failing) {
        this.#o.outage.failing = true;
        this.#o.logger.warn(
          { err: errText(err), buffered: this.#pending.size },
          'store write failed; results stay in memory and are written when it returns',
        );
      }
    }
  }
}
