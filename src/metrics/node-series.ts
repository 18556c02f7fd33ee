// The per-node Prometheus families, written as exposition text by hand, a slice at a time.
import type { NodeConfig } from '../config/node-config.js';
import type { NodeView } from '../read/read-model.js';
import { HEALTH_STATES, isUsable } from '../health/states.js';

/** One node as a scrape sees it: its view, whether its sample is fresh, whether it is drained. */
export interface NodeSnapshot {
  readonly view: NodeView;
  readonly fresh: boolean;
  readonly drained: boolean;
}

/**
 * One per-node family: `series` appends the node's lines (its label pair already escaped, `node`
 * then `chain`, as prom-client wrote them) to `out`.
 */
interface NodeFamily {
  readonly name: string;
  readonly help: string;
  readonly series: (n: NodeSnapshot, labels: string, now: number, out: string[]) => void;
}

/** One series `name{labels} value`, for a finite value only (a missing or non-finite one is no series). */
function line(out: string[], name: string, labels: string, value: number | null | undefined): void {
  if (value !== null && value !== undefined && Number.isFinite(value)) out.push(`${name}{${labels}} ${value}`);
}

const simple = (
  name: string,
  help: string,
  value: (n: NodeSnapshot, now: number) => number | null | undefined,
): NodeFamily => ({ name, help, series: (n, labels, now, out) => line(out, name, labels, value(n, now)) });

/** In the order (and with the names, help and labels) the gauges had when prom-client made them. */
export const NODE_FAMILIES: readonly NodeFamily[] = [
  simple('nodesentry_node_up', 'Node usable now (healthy or degraded) by effective health: 1, else 0.', (n) =>
    isUsable(n.view.health.state) ? 1 : 0,
  ),
  {
    name: 'nodesentry_node_state',
    help: 'Node effective health state: 1 for the current state, 0 for the others.',
    series: (n, labels, _now, out) => {
      for (const state of HEALTH_STATES)
        out.push(`nodesentry_node_state{${labels},state="${state}"} ${n.view.health.state === state ? 1 : 0}`);
    },
  },
  // The total and the split are two metrics, not one with direction="total": a sum() over
  // directions must not count every peer twice. EVM nodes (net_peerCount) have no split.
  simple('nodesentry_node_peers', 'Connected peers of the node, from its latest fresh sample.', (n) =>
    n.fresh ? n.view.record?.sample.peers?.total : null,
  ),
  {
    name: 'nodesentry_node_peers_by_direction',
    help: 'Connected peers of the node by direction (inbound, outbound), from its latest fresh sample; absent where the node does not say (EVM).',
    series: (n, labels, _now, out) => {
      const peers = n.fresh ? n.view.record?.sample.peers : undefined;
      if (!peers) return;
      line(out, 'nodesentry_node_peers_by_direction', `${labels},direction="inbound"`, peers.inbound);
      line(out, 'nodesentry_node_peers_by_direction', `${labels},direction="outbound"`, peers.outbound);
    },
  },
  simple('nodesentry_node_height', 'Best block height the node reported in its latest fresh sample.', (n) =>
    n.fresh ? n.view.record?.sample.height : null,
  ),
  simple('nodesentry_node_lag_blocks', "Blocks the node is behind the chain's corroborated reference head.", (n) =>
    n.fresh ? n.view.verdict?.stats.lagBlocks : null,
  ),
  simple('nodesentry_node_latency_seconds', "Wall time of the node's latest fresh probe, seconds.", (n) =>
    n.fresh && n.view.record ? n.view.record.sample.latencyMs / 1000 : null,
  ),
  simple('nodesentry_node_score', 'Node score, 0..1 (see docs/health.md).', (n) =>
    n.fresh ? n.view.verdict?.score.total : null,
  ),
  simple(
    'nodesentry_node_sample_age_seconds',
    "Age of the node's latest sample, seconds (absent: never sampled).",
    (n, now) => (n.view.record ? Math.max(0, now - n.view.record.sample.observedAt) / 1000 : null),
  ),
  simple('nodesentry_node_drained', 'Node drained by an operator: 1, else 0.', (n) => (n.drained ? 1 : 0)),
];

/** A label value as the exposition format wants it (prom-client's escaping: backslash, newline, quote). */
function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

/**
 * `node="<id>",chain="<chain>"` of each configured node, made once per NodeConfig object (a
 * reload makes new ones): at 100,000 nodes a scrape writes ~1.3 million series.
 */
const labelCache = new WeakMap<NodeConfig, string>();
function labelsOf(node: NodeConfig): string {
  let labels = labelCache.get(node);
  if (labels === undefined) {
    labels = `node="${escapeLabel(node.id)}",chain="${escapeLabel(node.chain.name)}"`;
    labelCache.set(node, labels);
  }
  return labels;
}

/** How long one slice of a scrape may hold the event loop before the next waits its turn, ms. */
export const SLICE_MS = 4;

/**
 * Work done in slices of about SLICE_MS with the event loop let go in between: a scrape of a
 * large fleet must not hold the load balancers' probes of this process (10,000 nodes took
 * 0.6-0.9 s in one piece through prom-client's gauges and held every probe that long; 100,000
 * nodes ~6-9 s). Call `due()` once per unit of work (it reads the clock every 256th call) and
 * `await pause()` when it says so; not an `await` per unit, which would cost a microtask each.
 */
export class TurnBudget {
  #start: number;
  #calls = 0;
  constructor(
    private readonly clock: () => number = () => performance.now(),
    private readonly yieldTurn: () => Promise<void> = () => new Promise((resolve) => setImmediate(resolve)),
    private readonly sliceMs: number = SLICE_MS,
  ) {
    this.#start = clock();
  }

  due(): boolean {
    return (++this.#calls & 255) === 0 && this.clock() - this.#start >= this.sliceMs;
  }

  async pause(): Promise<void> {
    await this.yieldTurn();
    this.#start = this.clock();
  }
}

/** Lines per part of the text: ~0.3 MB, encoded and written in a few ms (a family of 100,000 nodes is 8-40 MB). */
const LINES_PER_PART = 4096;

/** Where a scrape's text goes, part by part, in order; a promise holds the next part back until it settles (backpressure). */
export type TextSink = (part: string) => void | Promise<void>;

/**
 * The per-node families as exposition text, in parts of ~LINES_PER_PART lines handed to `emit`
 * as they are made (never the whole text at once: at 100,000 nodes it is ~80 MB, and holding it
 * cost the scrape's process GC pauses of ~100 ms): each family's HELP, TYPE and series, every
 * line ended, and a blank line after each family (prom-client's registry separates families by
 * one, so its text can follow). Written in the budget's slices.
 */
export async function renderNodeSeries(
  nodes: readonly NodeSnapshot[],
  now: number,
  emit: TextSink,
  budget: TurnBudget = new TurnBudget(),
): Promise<void> {
  for (const family of NODE_FAMILIES) {
    let out: string[] = [`# HELP ${family.name} ${family.help}`, `# TYPE ${family.name} gauge`];
    for (let i = 0; i < nodes.length; i++) {
      const n = nodes[i]!;
      family.series(n, labelsOf(n.view.node), now, out);
      if (out.length >= LINES_PER_PART) {
        out.push('');
        await emit(out.join('\n'));
        out = [];
      }
      if (budget.due()) await budget.pause();
    }
    out.push('', '');
    await emit(out.join('\n'));
  }
}
