// FleetView: this process's in-memory picture of the fleet, fed by the store.
import type { ChainFacts, Drain, DrainFact, NodeRecord, Store, StoreEvent } from '../store/store.js';

export type ViewListener = (event: StoreEvent) => void;

export interface FleetViewOptions {
  readonly store: Store;
  /** This replica: its own transitions are emitted locally at once, so their store echo is dropped. */
  readonly replica?: string;
  readonly onWarning?: (msg: string, data?: object) => void;
}

/**
 * This process's in-memory picture of the whole fleet: every node's latest record, chain
 * facts and drains. Fed by this replica's own results at once and by the store's events from
 * every other replica, so API answers never wait on Redis or on a node. Records only move
 * forward in time: an older record arriving late (events from another replica, a reload from
 * Redis) never replaces a newer one.
 */
export class FleetView {
  readonly #store: Store;
  readonly #records = new Map<string, NodeRecord>();
  readonly #chains = new Map<string, ChainFacts>();
  #drains = new Map<string, Drain>();
  /** Every drain decision seen, undrains included, with its version (see DrainFact). */
  readonly #drainFacts = new Map<string, DrainFact>();
  readonly #listeners = new Set<ViewListener>();
  readonly #recordWatchers = new Set<(nodeId: string) => void>();
  readonly #onWarning: (msg: string, data?: object) => void;
  readonly #replica: string | undefined;
  #unsubscribe: (() => void) | undefined;
  #loaded = false;
  /** Epoch ms of the last successful sync with the store (initial load or event). */
  #lastStoreContact = 0;

  constructor(opts: FleetViewOptions) {
    this.#store = opts.store;
    this.#onWarning = opts.onWarning ?? (() => {});
    this.#replica = opts.replica;
  }

  /** Subscribe to the store's events, then load what is already there. */
  async start(): Promise<void> {
    if (this.#unsubscribe) return;
    this.#unsubscribe = this.#store.subscribe((event) => this.#apply(event));
    await this.reload();
  }

  /** (Re)load everything from the store; used at start and after the store reconnects. */
  async reload(): Promise<boolean> {
    try {
      const [records, facts] = await Promise.all([this.#store.getAllNodes(), this.#store.getDrainFacts()]);
      for (const r of records) this.#upsert(r);
      // Merged by version, never replaced: a store restored from an older snapshot must not
      // take back a newer decision held here (the service writes those back, see Service).
      // A new map object all the same: readers (ReadModel) take it as "anything may have changed".
      this.#drains = new Map(this.#drains);
      for (const fact of facts.values()) this.applyDrainFact(fact);
      this.#loaded = true;
      this.#lastStoreContact = Date.now();
      return true;
    } catch (err) {
      this.#onWarning('could not load the fleet view from the store; serving what is in memory', {
        error: (err as Error).message,
      });
      return false;
    }
  }

  /** Merge the store's drain facts (as `reload`, without reading every record back). */
  async reloadDrains(): Promise<boolean> {
    try {
      const facts = await this.#store.getDrainFacts();
      this.#drains = new Map(this.#drains);
      for (const fact of facts.values()) this.applyDrainFact(fact);
      this.#lastStoreContact = Date.now();
      return true;
    } catch (err) {
      this.#onWarning('could not load drains from the store; serving what is in memory', {
        error: (err as Error).message,
      });
      return false;
    }
  }

  get loaded(): boolean {
    return this.#loaded;
  }

  get lastStoreContact(): number {
    return this.#lastStoreContact;
  }

  /** Records produced by this replica: visible at once, before (and regardless of) Redis. */
  ingest(records: readonly NodeRecord[]): void {
    const accepted: NodeRecord[] = [];
    for (const r of records) if (this.#upsert(r)) accepted.push(r);
    if (accepted.length > 0) this.#emit({ type: 'records', records: accepted });
  }

  setChainFacts(facts: ChainFacts): void {
    this.#chains.set(facts.chain, facts);
  }

  get(nodeId: string): NodeRecord | undefined {
    return this.#records.get(nodeId);
  }

  records(): IterableIterator<NodeRecord> {
    return this.#records.values();
  }

  get size(): number {
    return this.#records.size;
  }

  chainFacts(chain: string): ChainFacts | undefined {
    return this.#chains.get(chain);
  }

  drain(nodeId: string): Drain | undefined {
    return this.#drains.get(nodeId);
  }

  drains(): ReadonlyMap<string, Drain> {
    return this.#drains;
  }

  /** Every drain decision this view holds, undrains included. */
  drainFacts(): ReadonlyMap<string, DrainFact> {
    return this.#drainFacts;
  }

  /**
   * Apply a drain locally at once (the store's event confirms it for every replica). Without a
   * version (embedding, tests) it counts as newer than what is held.
   */
  setDrain(nodeId: string, drain: Drain | null, version?: number): boolean {
    return this.applyDrainFact({ nodeId, drain, version: version ?? (this.#drainFacts.get(nodeId)?.version ?? 0) + 1 });
  }

  /** Apply a fact unless an equal or newer one is held. True if applied. */
  applyDrainFact(fact: DrainFact): boolean {
    const held = this.#drainFacts.get(fact.nodeId);
    if (held && held.version > fact.version) return false;
    if (held && held.version === fact.version && sameDrain(held.drain, fact.drain)) return false;
    this.#drainFacts.set(fact.nodeId, fact);
    if (fact.drain) this.#drains.set(fact.nodeId, fact.drain);
    else this.#drains.delete(fact.nodeId);
    return true;
  }

  /** Forget the records of nodes no longer configured. Drains stay: they are the fleet's. */
  remove(nodeIds: readonly string[]): void {
    for (const id of nodeIds) if (this.#records.delete(id)) this.#recordChanged(id);
  }

  /**
   * `watcher` is told the id of every node whose record is replaced or removed, by any path
   * (own results, other replicas' events, reloads), before events go out: for state derived
   * from records that must follow them (the judge's head votes). It must be cheap and not throw.
   */
  watchRecords(watcher: (nodeId: string) => void): () => void {
    this.#recordWatchers.add(watcher);
    return () => this.#recordWatchers.delete(watcher);
  }

  /** Local listeners (SSE, metrics, logs) see every event this view applies. */
  on(listener: ViewListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Emit an event to local listeners only (e.g. a transition this replica decided). */
  emitLocal(event: StoreEvent): void {
    this.#emit(event);
  }

  close(): void {
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    this.#listeners.clear();
  }

  #apply(event: StoreEvent): void {
    this.#lastStoreContact = Date.now();
    switch (event.type) {
      case 'records': {
        const accepted = event.records.filter((r) => this.#upsert(r));
        if (accepted.length > 0) this.#emit({ type: 'records', records: accepted });
        return;
      }
      case 'chain':
        this.#chains.set(event.facts.chain, event.facts);
        break;
      case 'drain':
        // An older decision arriving late changes nothing and is not news. The echo of one
        // applied here already is (local listeners, SSE, learn of it from the store's event).
        if (event.version === undefined) this.setDrain(event.nodeId, event.drain);
        else if ((this.#drainFacts.get(event.nodeId)?.version ?? -1) > event.version) return;
        else this.applyDrainFact({ nodeId: event.nodeId, drain: event.drain, version: event.version });
        break;
      case 'nodes-removed':
        this.remove(event.nodeIds);
        break;
      case 'transition':
        if (event.replica === this.#replica) return;
        break;
      case 'leases-released':
      case 'reload-request':
        break;
      default:
        this.#onWarning('ignoring an unknown store event', { type: (event as { type?: unknown }).type });
        return;
    }
    this.#emit(event);
  }

  #upsert(r: NodeRecord): boolean {
    if (!r || typeof r.nodeId !== 'string' || !r.sample || typeof r.sample.observedAt !== 'number') {
      this.#onWarning('ignoring a malformed node record');
      return false;
    }
    const prev = this.#records.get(r.nodeId);
    if (prev && prev.sample.observedAt > r.sample.observedAt) return false;
    if (prev && prev.sample.observedAt === r.sample.observedAt && prev.writtenAt >= r.writtenAt) return false;
    this.#records.set(r.nodeId, r);
    this.#recordChanged(r.nodeId);
    return true;
  }

  #recordChanged(nodeId: string): void {
    for (const w of this.#recordWatchers) w(nodeId);
  }

  #emit(event: StoreEvent): void {
    for (const l of this.#listeners) {
      try {
        l(event);
      } catch (err) {
        this.#onWarning('a fleet view listener failed', { error: (err as Error).message });
      }
    }
  }
}

function sameDrain(a: Drain | null, b: Drain | null): boolean {
  if (a === null || b === null) return a === b;
  return a.by === b.by && a.at === b.at && a.reason === b.reason;
}
