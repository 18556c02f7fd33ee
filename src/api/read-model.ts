import type { NodeConfig } from '../config/node-config.js';
import { effectiveHealth } from '../health/effective-health.js';
import type { NodeHealth } from '../health/hysteresis.js';
import { type HealthPolicy, policyForChain } from '../health/policy.js';
import { asChainReport, asNodeVerdict, nodeInfo, type ChainReport, type NodeVerdict } from '../polling/health-judge.js';
import type { Service } from '../service.js';
import type { NodeRecord } from '../store/store.js';

/** One node as every reader sees it at `now`: config, latest record, and its effective health. */
export interface NodeView {
  readonly node: NodeConfig;
  readonly record: NodeRecord | undefined;
  readonly verdict: NodeVerdict | undefined;
  /** Effective at `now`: stale -> unknown, drained -> maintenance (see effectiveHealth). */
  readonly health: NodeHealth;
}

/**
 * The API's window on the service's in-memory fleet view. Every answer is computed from memory
 * (no store or node I/O), with staleness applied at read time, so a record nobody refreshes is
 * never served as fresh. Per-chain indexes are rebuilt only when the fleet changes.
 */
export class ReadModel {
  readonly #service: Service;
  #indexedFor: ReadonlyMap<string, NodeConfig> | undefined;
  #byChain = new Map<string, NodeConfig[]>();
  #policyFor: HealthPolicy | undefined;
  readonly #policies = new Map<string, HealthPolicy>();

  constructor(service: Service) {
    this.#service = service;
  }

  get service(): Service {
    return this.#service;
  }

  config(id: string): NodeConfig | undefined {
    return this.#service.nodes.get(id);
  }

  node(id: string, now: number): NodeView | undefined {
    const node = this.#service.nodes.get(id);
    return node ? this.#viewOf(node, now) : undefined;
  }

  /** Every node, sorted by chain then id. */
  nodes(now: number): NodeView[] {
    this.#index();
    const out: NodeView[] = [];
    for (const name of [...this.#byChain.keys()].sort()) for (const n of this.#byChain.get(name)!) out.push(this.#viewOf(n, now));
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

  chainViews(chain: string, now: number): NodeView[] | undefined {
    return this.chainNodes(chain)?.map((n) => this.#viewOf(n, now));
  }

  /** The workers' latest ranking and shared selection for a chain, if any. */
  chainReport(chain: string): ChainReport | undefined {
    return asChainReport(this.#service.view.chainFacts(chain)?.facts);
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

  #viewOf(node: NodeConfig, now: number): NodeView {
    const record = this.#service.view.get(node.id);
    const verdict = record ? asNodeVerdict(record.health) : undefined;
    const drained = this.#service.view.drain(node.id) !== undefined;
    const health = effectiveHealth(verdict?.health ?? null, record?.sample ?? null, nodeInfo(node), node.chain.name, drained, now, this.policy(node.chain.name));
    return { node, record, verdict, health };
  }

  #index(): void {
    const nodes = this.#service.nodes;
    if (this.#indexedFor === nodes) return;
    const byChain = new Map<string, NodeConfig[]>();
    for (const n of nodes.values()) {
      const list = byChain.get(n.chain.name);
      if (list) list.push(n);
      else byChain.set(n.chain.name, [n]);
    }
    for (const list of byChain.values()) list.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    this.#byChain = byChain;
    this.#indexedFor = nodes;
  }
}
