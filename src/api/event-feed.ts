// The event feed behind `GET /v1/events`: store events turned into the numbered messages SSE clients receive.
import { randomBytes } from 'node:crypto';
import type { SelectionMode } from '../health/selection.js';
import type { StoreEvent } from '../store/store.js';
import type { FleetView } from '../view/fleet-view.js';
import { drainJson } from './node-json.js';
import type { ReadModel } from '../read/read-model.js';
import type { DrainData, SelectionData, TransitionData } from './schemas/events.js';

/** Each event type with its data line's shape (the schemas in ./schemas/events.ts). */
interface FeedData {
  readonly transition: TransitionData;
  readonly drain: DrainData;
  readonly selection: SelectionData;
}

export type FeedEventType = keyof FeedData;

/** One event as clients of `GET /v1/events` see it. */
export type FeedEvent = {
  readonly [T in FeedEventType]: {
    /** `<feed>-<n>`: unique to this process's feed, increasing. */
    readonly id: string;
    readonly type: T;
    /** The chain it concerns (for `?chain=`); null when the node is no longer configured. */
    readonly chain: string | null;
    readonly data: FeedData[T];
  };
}[FeedEventType];

export interface EventFeedOptions {
  readonly view: FleetView;
  readonly read: ReadModel;
  /** Events kept for clients resuming with `Last-Event-ID`. Default 256. */
  readonly bufferSize?: number;
}

interface KnownSelection {
  readonly nodeId: string | null;
  readonly mode: SelectionMode | null;
  readonly evaluatedAt: number;
}

/**
 * Turns the fleet view's store events into the few events operators care about: a node's state
 * changed, a node was drained or undrained, a chain's chosen node changed. One view listener
 * per feed, taken when the first client subscribes and given back when the last one leaves,
 * so disconnected clients leave nothing behind.
 *
 * Each transition arrives once: the fleet view drops the store's echo of this replica's own.
 */
export class EventFeed {
  readonly #view: FleetView;
  readonly #read: ReadModel;
  readonly #tag = randomBytes(3).toString('hex');
  readonly #bufferSize: number;
  readonly #buffer: FeedEvent[] = [];
  readonly #subscribers = new Set<(e: FeedEvent) => void>();
  readonly #selections = new Map<string, KnownSelection>();
  #seq = 0;
  #unsubscribe: (() => void) | undefined;

  constructor(opts: EventFeedOptions) {
    this.#view = opts.view;
    this.#read = opts.read;
    this.#bufferSize = opts.bufferSize ?? 256;
  }

  get subscribers(): number {
    return this.#subscribers.size;
  }

  /** The id of the latest event, or null before the first. */
  get lastId(): string | null {
    return this.#seq === 0 ? null : `${this.#tag}-${this.#seq}`;
  }

  subscribe(fn: (e: FeedEvent) => void): () => void {
    this.#subscribers.add(fn);
    if (!this.#unsubscribe) {
      this.#primeSelections();
      this.#unsubscribe = this.#view.on((event) => this.#onStoreEvent(event));
    }
    return () => {
      if (!this.#subscribers.delete(fn)) return;
      if (this.#subscribers.size === 0) this.#stop();
    };
  }

  /**
   * Buffered events after `lastEventId`, or undefined when it cannot be resumed from (another
   * process's id, or older than the buffer): the client then starts afresh.
   */
  since(lastEventId: string): FeedEvent[] | undefined {
    const m = /^([0-9a-f]{6})-(\d{1,15})$/.exec(lastEventId);
    if (!m || m[1] !== this.#tag) return undefined;
    const n = Number(m[2]);
    if (n > this.#seq) return undefined;
    const oldest = this.#buffer[0];
    if (n === this.#seq) return [];
    if (!oldest || seqOf(oldest.id) > n + 1) return undefined;
    return this.#buffer.filter((e) => seqOf(e.id) > n);
  }

  close(): void {
    this.#subscribers.clear();
    this.#stop();
  }

  #stop(): void {
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    // Without a listener the feed misses changes; start from the view's truth next time.
    this.#selections.clear();
  }

  #primeSelections(): void {
    for (const chain of this.#read.chainNames()) {
      const s = this.#read.chainReport(chain)?.selection;
      if (s) this.#selections.set(chain, { nodeId: s.nodeId, mode: s.mode, evaluatedAt: s.evaluatedAt });
    }
  }

  #onStoreEvent(event: StoreEvent): void {
    switch (event.type) {
      case 'transition': {
        this.#publish('transition', event.chain, {
          nodeId: event.nodeId,
          chain: event.chain,
          from: event.from,
          to: event.to,
          reasons: [...event.reasons],
          at: event.at,
          replica: event.replica,
        });
        return;
      }
      case 'drain': {
        const chain = this.#read.config(event.nodeId)?.chain.name ?? null;
        this.#publish('drain', chain, {
          nodeId: event.nodeId,
          chain,
          drained: event.drain !== null,
          ...(event.drain ? drainJson(event.drain) : { by: null, at: null, reason: null }),
        });
        return;
      }
      case 'chain': {
        const report = event.facts.facts;
        if (!report) return;
        const s = report.selection;
        const prev = this.#selections.get(report.chain);
        // Reports from other replicas may arrive late: never step back in time.
        if (prev && prev.evaluatedAt > s.evaluatedAt) return;
        this.#selections.set(report.chain, { nodeId: s.nodeId, mode: s.mode, evaluatedAt: s.evaluatedAt });
        if ((prev?.nodeId ?? null) === s.nodeId && (prev?.mode ?? null) === s.mode) return;
        // The first report of a chain that picked nothing is not news.
        if (!prev && s.nodeId === null) return;
        this.#publish('selection', report.chain, {
          chain: report.chain,
          from: prev?.nodeId ?? null,
          to: s.nodeId,
          fromMode: prev?.mode ?? null,
          mode: s.mode,
          reason: s.reason,
          degradedChoice: s.degradedChoice,
          tier: s.tier,
          top: [...s.top],
          since: s.since,
          at: report.evaluatedAt,
          replica: event.facts.replica,
        });
        return;
      }
      default:
        return;
    }
  }

  #publish<T extends FeedEventType>(type: T, chain: string | null, data: FeedData[T]): void {
    this.#seq++;
    const e = { id: `${this.#tag}-${this.#seq}`, type, chain, data } as FeedEvent;
    this.#buffer.push(e);
    if (this.#buffer.length > this.#bufferSize) this.#buffer.shift();
    for (const fn of [...this.#subscribers]) {
      try {
        fn(e);
      } catch {
        // One broken stream must not keep the event from the others.
      }
    }
  }
}

function seqOf(id: string): number {
  return Number(id.slice(id.indexOf('-') + 1));
}
