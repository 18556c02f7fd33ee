// The read model: every node and chain as readers see them now, from the fleet view.
import type { NodeConfig } from '../config/node-config.js';
import type { ChainReport } from '../health/chain-report.js';
import { staleAfterMs } from '../health/freshness.js';
import type { NodeHealth } from '../health/hysteresis.js';
import { type HealthPolicy, policyForChain } from '../health/policy.js';
import type { HealthState } from '../health/states.js';
import type { NodeVerdict } from '../health/verdict.js';
import type { Drain, NodeRecord, StoreEvent } from '../store/store.js';
import { effectiveOf } from '../view/effective-node.js';
import type { FleetView } from '../view/fleet-view.js';

/** What the read side reads of the running service (a Service has it): the fleet, its view, the policy. */
export interface FleetSource {
  readonly nodes: ReadonlyMap<string, NodeConfig>;
  readonly view: FleetView;
  readonly policy: HealthPolicy;
}

/** One node as every reader sees it at `now`: config, latest record, and its effective health. */
export interface NodeView {
  readonly node: NodeConfig;
  readonly record: NodeRecord | undefined;
  readonly verdict: NodeVerdict | undefined;
  /** Effective at `now`: stale -> unknown, drained -> maintenance (see effectiveHealth). */
  readonly health: NodeHealth;
}

/**
 * A chain's nodes counted by effective health, as of one version of the chain and for the time
 * window in which no sample of the chain can have crossed its staleness limit. The same object
 * is returned for as long as it holds, so callers may key their own caches on its identity.
 */
export interface ChainSummary {
  readonly chain: string;
  readonly nodes: readonly NodeConfig[];
  readonly counts: Readonly<Record<HealthState, number>>;
  /** healthy + degraded */
  readonly usable: number;
  /** Nodes whose latest sample is stale (their reason text carries an age that moves). */
  readonly stale: number;
  /** Epoch ms of the computation. */
  readonly at: number;
  /** The counts hold for `validFrom < now <= validUntil` while the chain's version is the same. */
  readonly validFrom: number;
  readonly validUntil: number;
}

interface SummaryEntry {
  readonly summary: ChainSummary;
  readonly version: number;
}

/**
 * The workers' shared selection is served as long as it is at most this old (or two of the
 * chain's shortest poll intervals, for slowly polled chains: workers re-rank at each write,
 * and they write when samples arrive) and its choice still holds at request time.
 */
export const SHARED_SELECTION_FRESH_MS = 10_000;

/** How old a chain's shared report may be and still be served (see SHARED_SELECTION_FRESH_MS). */
export function sharedFreshMs(nodes: Iterable<{ readonly intervalMs: number }>): number {
  let shortest = Infinity;
  for (const n of nodes) if (n.intervalMs < shortest) shortest = n.intervalMs;
  return Math.max(SHARED_SELECTION_FRESH_MS, 2 * shortest);
}

/**
 * The API's window on the service's in-memory fleet view. Every answer is computed from memory
 * (no store or node I/O), with staleness applied at read time, so a record nobody refreshes is
 * never served as fresh. Per-chain indexes are rebuilt only when the fleet changes.
 *
 * Per-chain answers that would cost a walk over every node (counts, rankings) are cached against
 * a per-chain version: bumped by the fleet view's events for the chain's nodes (records, drains,
 * transitions, removals), and for every chain at once when the fleet, the policy or the view's
 * drain map object changes (`FleetView.reload`, after a store outage, replaces that map and
 * upserts records without emitting events). Drains set on the view directly (`setDrain`, which
 * emits nothing) are caught by comparing the drain map with a copy at each request: operators
 * drain a handful of nodes, so that is a few comparisons, and a drain applies at once, not when
 * the store's event comes back.
 */
export class ReadModel {
  readonly #service: FleetSource;
  #indexedFor: ReadonlyMap<string, NodeConfig> | undefined;
  #byChain = new Map<string, NodeConfig[]>();
  #tagsByChain = new Map<string, ReadonlySet<string>>();
  #freshMsByChain = new Map<string, number>();
  #policyFor: HealthPolicy | undefined;
  readonly #policies = new Map<string, HealthPolicy>();

  /** Versions: every bump takes the next tick, so a chain's version is max(its own, the epoch). */
  #tick = 0;
  #epoch = 0;
  readonly #versions = new Map<string, number>();
  #unsubscribe: (() => void) | undefined;
  #closed = false;
  #versionedPolicy: HealthPolicy | undefined;
  #drainsSeen: ReadonlyMap<string, Drain> | undefined;
  #drainsCopy = new Map<string, Drain>();
  readonly #summaries = new Map<string, SummaryEntry>();

  constructor(service: FleetSource) {
    this.#service = service;
  }

  get service(): FleetSource {
    return this.#service;
  }

  config(id: string): NodeConfig | undefined {
    return this.#service.nodes.get(id);
  }

  node(id: string, now: number): NodeView | undefined {
    const node = this.#service.nodes.get(id);
    return node ? this.#viewOf(node, now) : undefined;
  }

  /** The view of a configured node (one lookup fewer than `node`). */
  nodeView(node: NodeConfig, now: number): NodeView {
    return this.#viewOf(node, now);
  }

  /** Every node, sorted by chain then id. */
  nodes(now: number): NodeView[] {
    this.#index();
    const out: NodeView[] = [];
    for (const name of [...this.#byChain.keys()].sort())
      for (const n of this.#byChain.get(name)!) out.push(this.#viewOf(n, now));
    return out;
  }

  chainNames(): string[] {
    this.#index();
    return [...this.#byChain.keys()].sort();
  }

  /** A chain's nodes (config order by id); undefined for a chain with no configured node. */
  chainNodes(chain: string): readonly NodeConfig[] | undefined {
    this.#index();
    return this.#byChain.get(chain);
  }

  /** Whether some node of the chain carries the tag. */
  chainHasTag(chain: string, tag: string): boolean {
    this.#index();
    return this.#tagsByChain.get(chain)?.has(tag) === true;
  }

  /** sharedFreshMs of the chain's nodes, kept with the index; undefined for an unknown chain. */
  sharedFreshMs(chain: string): number | undefined {
    this.#index();
    return this.#freshMsByChain.get(chain);
  }

  chainViews(chain: string, now: number): NodeView[] | undefined {
    return this.chainNodes(chain)?.map((n) => this.#viewOf(n, now));
  }

  /** The workers' latest shared selection, reference head and counts for a chain, if any. */
  chainReport(chain: string): ChainReport | undefined {
    return this.#service.view.chainFacts(chain)?.facts ?? undefined;
  }

  policy(chain: string): HealthPolicy {
    const current = this.#service.policy;
    if (this.#policyFor !== current) {
      this.#policies.clear();
      this.#policyFor = current;
    }
    let p = this.#policies.get(chain);
    if (!p) {
      p = policyForChain(current, chain);
      this.#policies.set(chain, p);
    }
    return p;
  }

  /**
   * A number that changes whenever something a chain's answers depend on may have changed,
   * other than the clock: see the class comment. Callers pair it with a time window.
   */
  chainVersion(chain: string): number {
    this.#sync();
    // After close() nothing tells us about changes any more: every call is a new version.
    if (this.#closed) return ++this.#tick;
    return Math.max(this.#epoch, this.#versions.get(chain) ?? 0);
  }

  /**
   * The chain's counts by effective health at `now`, recomputed only when the chain's version
   * changed or `now` left the window the last computation holds for; undefined for a chain with
   * no configured node.
   */
  chainSummary(chain: string, now: number): ChainSummary | undefined {
    const version = this.chainVersion(chain);
    const nodes = this.#byChain.get(chain);
    if (nodes === undefined) return undefined;
    const e = this.#summaries.get(chain);
    if (e !== undefined && e.version === version && now > e.summary.validFrom && now <= e.summary.validUntil)
      return e.summary;
    const summary = this.#summarize(chain, nodes, now);
    this.#summaries.set(chain, { summary, version });
    return summary;
  }

  /** Stop listening to the fleet view (the app is closing); answers stay correct, uncached. */
  close(): void {
    this.#closed = true;
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    this.#summaries.clear();
  }

  #viewOf(node: NodeConfig, now: number): NodeView {
    const record = this.#service.view.get(node.id);
    const drained = this.#service.view.drain(node.id) !== undefined;
    const health = effectiveOf(record, node, drained, now, this.policy(node.chain.name));
    return { node, record, verdict: record?.health ?? undefined, health };
  }

  #summarize(chain: string, nodes: readonly NodeConfig[], now: number): ChainSummary {
    const view = this.#service.view;
    const policy = this.policy(chain);
    const counts: Record<HealthState, number> = { healthy: 0, degraded: 0, unhealthy: 0, unknown: 0, maintenance: 0 };
    let stale = 0;
    // A drained or never sampled node's state does not depend on the clock; a sampled one's
    // changes when its sample crosses observedAt + staleAfterMs (effectiveHealth: fresh while
    // the age is at most that), forward for a fresh one, backward for a stale one.
    let validFrom = -Infinity;
    let validUntil = Infinity;
    for (const node of nodes) {
      const record = view.get(node.id);
      const drained = view.drain(node.id) !== undefined;
      if (record !== undefined && !drained) {
        const freshUntil = record.sample.observedAt + staleAfterMs(node.intervalMs, policy);
        if (now <= freshUntil) {
          if (freshUntil < validUntil) validUntil = freshUntil;
        } else {
          stale++;
          if (freshUntil > validFrom) validFrom = freshUntil;
        }
      }
      counts[effectiveOf(record, node, drained, now, policy).state]++;
    }
    return { chain, nodes, counts, usable: counts.healthy + counts.degraded, stale, at: now, validFrom, validUntil };
  }

  /** Per request: subscribe once, and catch the changes that come without an event. */
  #sync(): void {
    if (this.#closed) return;
    if (this.#unsubscribe === undefined) this.#unsubscribe = this.#service.view.on((event) => this.#onEvent(event));
    this.#index();
    if (this.#service.policy !== this.#versionedPolicy) {
      this.#versionedPolicy = this.#service.policy;
      this.#bumpAll();
    }
    this.#syncDrains();
  }

  #syncDrains(): void {
    const drains = this.#service.view.drains();
    if (drains !== this.#drainsSeen) {
      // A new map: the view reloaded from the store (which also upserts records without an
      // event), or this is the first look. Anything may have changed.
      this.#drainsSeen = drains;
      this.#drainsCopy = new Map(drains);
      this.#bumpAll();
      return;
    }
    const copy = this.#drainsCopy;
    let changed = drains.size !== copy.size;
    if (!changed) {
      for (const [id, d] of drains) {
        if (copy.get(id) !== d) {
          changed = true;
          break;
        }
      }
    }
    if (!changed) return;
    for (const [id, d] of drains) if (copy.get(id) !== d) this.#bumpNode(id);
    for (const id of copy.keys()) if (!drains.has(id)) this.#bumpNode(id);
    this.#drainsCopy = new Map(drains);
  }

  #onEvent(event: StoreEvent): void {
    switch (event.type) {
      case 'records':
        for (const r of event.records) {
          this.#bumpNode(r.nodeId);
          // The record's own chain too, should it differ from the configured one.
          if (typeof r.chain === 'string') this.#bumpChain(r.chain);
        }
        return;
      case 'drain':
      case 'transition':
        this.#bumpNode(event.nodeId);
        return;
      case 'nodes-removed':
        for (const id of event.nodeIds) this.#bumpNode(id);
        return;
      case 'chain':
      case 'leases-released':
      case 'reload-request':
        // Chain facts are read at each request; leases change who polls, not what is known.
        return;
      default:
        this.#bumpAll();
    }
  }

  /** A node's chain, by the configuration: answers are built from configured nodes only. */
  #bumpNode(nodeId: string): void {
    const node = this.#service.nodes.get(nodeId);
    // Not configured here (another replica's newer config, or removed): no answer uses it, and
    // a reload that adds it replaces the fleet map, which changes every version.
    if (node !== undefined) this.#bumpChain(node.chain.name);
  }

  #bumpChain(chain: string): void {
    this.#versions.set(chain, ++this.#tick);
  }

  #bumpAll(): void {
    this.#epoch = ++this.#tick;
    this.#versions.clear();
    this.#summaries.clear();
  }

  #index(): void {
    const nodes = this.#service.nodes;
    if (this.#indexedFor === nodes) return;
    const byChain = new Map<string, NodeConfig[]>();
    const tags = new Map<string, Set<string>>();
    for (const n of nodes.values()) {
      const list = byChain.get(n.chain.name);
      if (list) list.push(n);
      else byChain.set(n.chain.name, [n]);
      let t = tags.get(n.chain.name);
      if (t === undefined) tags.set(n.chain.name, (t = new Set()));
      for (const tag of n.tags) t.add(tag);
    }
    const freshMs = new Map<string, number>();
    for (const [name, list] of byChain) {
      list.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      freshMs.set(name, sharedFreshMs(list));
    }
    this.#byChain = byChain;
    this.#tagsByChain = tags;
    this.#freshMsByChain = freshMs;
    this.#indexedFor = nodes;
    // A reload replaced the fleet (nodes added, removed, moved between chains, new intervals).
    this.#bumpAll();
  }
}
