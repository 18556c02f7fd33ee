// The fleet's Prometheus metrics, on a registry of its own, computed at scrape time from the read model.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { BestNodeResolver } from '../read/best-node.js';
import { buildInfo } from '../build/build-info.js';
import type { FleetSource, NodeView, ReadModel } from '../read/read-model.js';
import type { HealthPolicy } from '../health/policy.js';
import { RpcErrorCode } from '../errors/rpc-errors.js';
import { isFresh } from '../health/freshness.js';
import { HEALTH_STATES, type HealthState, isUsable } from '../health/states.js';
import type { Poller } from '../polling/poller.js';
import type { Store, StoreEvent } from '../store/store.js';
import { type NodeSnapshot, type TextSink, TurnBudget, renderNodeSeries } from './node-series.js';

/** What the metrics read of the running service (a Service has it). */
export interface MetricsSource extends FleetSource {
  readonly poller: Poller | undefined;
  readonly selectionChanges: ReadonlyMap<string, number>;
  readonly settings: { readonly role: string };
  readonly store: Pick<Store, 'kind' | 'health'>;
  /** The store as /readyz reports it: connected and taking writes (the write probe), not only its socket. */
  readonly storeStatus: { readonly connected: boolean };
}

export interface FleetMetricsOptions {
  readonly read: ReadModel;
  /** The app's resolver: the best-node gauge shows what /v1/chains/:chain/best answers. */
  readonly best: BestNodeResolver;
  readonly service: MetricsSource;
  readonly now: () => number;
  /** Also export prom-client's process and Node.js metrics (default true), from the first scrape on. */
  readonly defaultMetrics?: boolean;
}

const STATES = HEALTH_STATES;
const ERROR_CODES: ReadonlySet<string> = new Set(Object.values(RpcErrorCode));
// From a fast local node (a few ms) to the longest sane probe timeout.
const PROBE_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10];
/**
 * prom-client's default collectors export these gauges with a `_total` suffix, which the
 * exposition conventions keep for counters (`promtool check metrics` rejects them). The same
 * numbers by type stay as nodejs_active_handles / _requests / _resources: `sum()` of those.
 * https://prometheus.io/docs/practices/naming/
 */
const MISNAMED_DEFAULT_GAUGES = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

interface Snapshot {
  readonly nodes: readonly NodeSnapshot[];
  /** Nodes by chain and effective state, counted while the snapshot was taken (in its slices). */
  readonly counts: ReadonlyMap<string, Record<HealthState, number>>;
  readonly now: number;
}

/**
 * nodesentry's Prometheus metrics, on a registry of its own (never prom-client's global one).
 * The fleet gauges are computed at scrape time from the read model, so they show effective
 * health (stale -> unknown) like every other answer; sample-derived values (peers, height, lag,
 * latency, score) are left out for a node whose sample is not fresh, rather than repeating an
 * old number as if current. Labels are bounded: node ids and chain names from the config,
 * fixed state, direction, outcome and mode words, error codes from the RPC taxonomy (else
 * `other`). Never a URL or an error message.
 *
 * Probe durations are observed from the fleet view's record events, so they cover every
 * replica's probes, each once per process.
 */
export class FleetMetrics {
  readonly registry = new Registry();
  readonly #o: FleetMetricsOptions;
  #snapshot: Snapshot | undefined;
  #defaultsOn = false;
  readonly #unsubscribe: () => void;

  constructor(opts: FleetMetricsOptions) {
    this.#o = opts;
    const registers = [this.registry];
    const service = opts.service;
    const self = this;

    // The per-node families are written by renderNodeSeries (node-series.ts), not by gauges.

    new Gauge({
      name: 'nodesentry_chain_nodes',
      help: 'Nodes of the chain by effective health state.',
      labelNames: ['chain', 'state'],
      registers,
      collect() {
        this.reset();
        for (const [chain, c] of self.#snap().counts) for (const state of STATES) this.set({ chain, state }, c[state]);
      },
    });
    new Gauge({
      name: 'nodesentry_chain_usable_nodes',
      help: 'Usable (healthy or degraded) nodes of the chain.',
      labelNames: ['chain'],
      registers,
      collect() {
        this.reset();
        // From the snapshot's counts, set once per chain: an inc() per usable node hashed its
        // labels each time (~100 ms of a 100,000-node scrape in one piece).
        const counts = self.#snap().counts;
        for (const chain of opts.read.chainNames()) {
          const c = counts.get(chain);
          this.set({ chain }, c ? STATES.reduce((n, state) => n + (isUsable(state) ? c[state] : 0), 0) : 0);
        }
      },
    });
    new Gauge({
      name: 'nodesentry_chain_reference_height',
      help: "The chain's corroborated reference head (highest height a majority of fresh nodes reached), from the workers' latest report.",
      labelNames: ['chain'],
      registers,
      collect() {
        this.reset();
        for (const chain of opts.read.chainNames()) {
          const h = opts.read.chainReport(chain)?.reference.height;
          if (typeof h === 'number') this.set({ chain }, h);
        }
      },
    });
    new Gauge({
      name: 'nodesentry_chain_report_age_seconds',
      help: "Age of the workers' latest ranking of the chain, seconds.",
      labelNames: ['chain'],
      registers,
      collect() {
        this.reset();
        const now = self.#snap().now;
        for (const chain of opts.read.chainNames()) {
          const at = opts.read.chainReport(chain)?.evaluatedAt;
          if (typeof at === 'number') this.set({ chain }, Math.max(0, now - at) / 1000);
        }
      },
    });
    new Gauge({
      name: 'nodesentry_chain_best',
      help: "The chain's current endpoint choice (what /v1/chains/:chain/best answers): 1 on its node and mode; node is empty when failing closed.",
      labelNames: ['chain', 'node', 'mode'],
      registers,
      collect() {
        this.reset();
        const resolver = opts.best;
        const now = self.#snap().now;
        for (const chain of opts.read.chainNames()) {
          const sel = resolver.resolve(chain, now)?.selection;
          if (sel) this.set({ chain, node: sel.nodeId ?? '', mode: sel.mode }, 1);
        }
      },
    });

    if (service.poller) {
      new Counter({
        name: 'nodesentry_chain_best_changes_total',
        help: "Changes of the chain's chosen node or mode made by this replica's judge (workers only; the first choice after start-up excluded).",
        labelNames: ['chain'],
        registers,
        collect() {
          this.reset();
          for (const chain of opts.read.chainNames()) this.inc({ chain }, service.selectionChanges.get(chain) ?? 0);
        },
      });
    }

    const build = buildInfo();
    new Gauge({
      name: 'nodesentry_build_info',
      help: 'Version and commit of this nodesentry, and the Node.js running it: always 1.',
      labelNames: ['version', 'commit', 'nodejs', 'role'],
      registers,
    }).set({ version: build.version, commit: build.commit, nodejs: build.node, role: service.settings.role }, 1);

    new Gauge({
      name: 'nodesentry_store_connected',
      help: 'The shared store (Redis, or the in-process one) is reachable and takes writes, as /readyz reports it: 1, else 0.',
      labelNames: ['store'],
      registers,
      collect() {
        this.reset();
        // Not the socket's state alone: a Redis that is connected but hangs (SIGSTOP) or refuses
        // writes (maxmemory with noeviction) is down for us, and the alert on this gauge must say so.
        this.set({ store: service.store.kind }, service.storeStatus.connected ? 1 : 0);
      },
    });

    const poller = service.poller;
    if (poller) {
      type Stats = typeof poller.stats;
      const stat = (name: string, help: string, value: (s: Stats) => number, kind: 'counter' | 'gauge'): void => {
        if (kind === 'counter') {
          new Counter({
            name,
            help,
            registers,
            collect() {
              // The poller keeps the running total; the counter mirrors it.
              this.reset();
              this.inc(value(poller.stats));
            },
          });
        } else {
          new Gauge({
            name,
            help,
            registers,
            collect() {
              this.set(value(poller.stats));
            },
          });
        }
      };
      stat('nodesentry_poller_probes_total', 'Probes this replica has run.', (s) => s.probes, 'counter');
      stat(
        'nodesentry_poller_flushes_total',
        'Batches of results this replica has written to the store.',
        (s) => s.flushes,
        'counter',
      );
      stat(
        'nodesentry_poller_flush_failures_total',
        'Store writes that failed (results stay buffered).',
        (s) => s.flushFailures,
        'counter',
      );
      stat(
        'nodesentry_poller_leases_acquired_total',
        'Node leases this replica took (at start, from a replica that left, or on rebalancing).',
        (s) => s.leasesAcquired,
        'counter',
      );
      stat(
        'nodesentry_poller_leases_lost_total',
        'Node leases this replica held and lost to another (expired, or over its fair share).',
        (s) => s.leasesLost,
        'counter',
      );
      stat('nodesentry_poller_probes_in_flight', 'Probes running now.', (s) => s.inFlight, 'gauge');
      stat('nodesentry_poller_probes_queued', 'Probes waiting for a concurrency slot.', (s) => s.queued, 'gauge');
      stat(
        'nodesentry_poller_owned_nodes',
        'Nodes this replica holds the lease for and probes.',
        (s) => s.owned,
        'gauge',
      );
      stat(
        'nodesentry_poller_last_flush_seconds',
        'Duration of the last store write, seconds.',
        (s) => s.lastFlushMs / 1000,
        'gauge',
      );
    }

    const durations = new Histogram({
      name: 'nodesentry_probe_duration_seconds',
      help: "Wall time of node probes seen by this process (every replica's), by outcome.",
      labelNames: ['chain', 'outcome'],
      buckets: PROBE_BUCKETS_S,
      registers,
    });
    const failures = new Counter({
      name: 'nodesentry_probe_failures_total',
      help: 'Failed node probes seen by this process, by error code.',
      labelNames: ['chain', 'code'],
      registers,
    });
    this.#unsubscribe = service.view.on((event: StoreEvent) => {
      if (event.type !== 'records') return;
      for (const r of event.records) {
        // Labels come from the config, never from what a record claims.
        const node = service.nodes.get(r.nodeId);
        if (!node || typeof r.sample.latencyMs !== 'number') continue;
        const chain = node.chain.name;
        durations.observe({ chain, outcome: r.sample.ok ? 'ok' : 'failed' }, Math.max(0, r.sample.latencyMs) / 1000);
        if (!r.sample.ok) {
          const code = r.sample.error?.code;
          failures.inc({ chain, code: code !== undefined && ERROR_CODES.has(code) ? code : 'other' });
        }
      }
    });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /**
   * The metrics text, computed from one snapshot of the fleet, handed to `emit` in parts as it
   * is made (the per-node families of a large fleet are tens of MB). The snapshot and the
   * per-node families are made in slices (TurnBudget), so a scrape never holds this process's
   * probes for more than a few ms at a time.
   */
  async scrape(emit: TextSink, budget: TurnBudget = new TurnBudget()): Promise<void> {
    if (this.#o.defaultMetrics !== false && !this.#defaultsOn) {
      // Started at the first scrape, not at construction: they run timers (event-loop delay).
      this.#defaultsOn = true;
      collectDefaultMetrics({ register: this.registry });
      for (const name of MISNAMED_DEFAULT_GAUGES) this.registry.removeSingleMetric(name);
    }
    const snapshot = await this.#take(budget);
    // The per-node families first, where their gauges were registered; then the registry's.
    await renderNodeSeries(snapshot.nodes, snapshot.now, emit, budget);
    // The registry's collectors read this snapshot (set only while they run: a scrape that
    // overlaps another must not lose its own).
    let text: string;
    this.#snapshot = snapshot;
    try {
      text = await this.registry.metrics();
    } finally {
      this.#snapshot = undefined;
    }
    await emit(text);
  }

  /** Stop listening to the fleet view. Safe twice. */
  close(): void {
    this.#unsubscribe();
  }

  #snap(): Snapshot {
    return this.#snapshot ?? this.#takeNow();
  }

  /** Every configured node at one `now`, chains by name, nodes in config order (ReadModel.nodes), in the budget's slices. */
  async #take(budget: TurnBudget): Promise<Snapshot> {
    const now = this.#o.now();
    const read = this.#o.read;
    const nodes: NodeSnapshot[] = [];
    for (const chain of read.chainNames()) {
      const policy = read.policy(chain);
      for (const node of read.chainNodes(chain) ?? []) {
        nodes.push(this.#nodeSnapshot(read.nodeView(node, now), now, policy));
        if (budget.due()) await budget.pause();
      }
    }
    return { nodes, counts: countByChain(nodes), now };
  }

  #takeNow(): Snapshot {
    const now = this.#o.now();
    const read = this.#o.read;
    const nodes = read.nodes(now).map((v) => this.#nodeSnapshot(v, now, read.policy(v.node.chain.name)));
    return { nodes, counts: countByChain(nodes), now };
  }

  #nodeSnapshot(view: NodeView, now: number, policy: HealthPolicy): NodeSnapshot {
    return {
      view,
      fresh: view.record !== undefined && isFresh(view.record.sample, view.node.intervalMs, now, policy),
      drained: this.#o.service.view.drain(view.node.id) !== undefined,
    };
  }
}

function countByChain(nodes: readonly NodeSnapshot[]): Map<string, Record<HealthState, number>> {
  const counts = new Map<string, Record<HealthState, number>>();
  for (const { view } of nodes) {
    const name = view.node.chain.name;
    let c = counts.get(name);
    if (!c) counts.set(name, (c = { healthy: 0, degraded: 0, unhealthy: 0, unknown: 0, maintenance: 0 }));
    c[view.health.state]++;
  }
  return counts;
}
