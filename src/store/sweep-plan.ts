// Splits a sweep's writes into pipeline batches.
import type { PeerDetail } from '../chains/sample.js';
import type {
  ChainFacts,
  FleetTransition,
  HistoryPoint,
  NodeRecord,
  SweepWrite,
  TransitionEntry,
  TransitionWrite,
} from './store.js';
import { OutOfRangeError } from '../errors/argument-errors.js';

/** Nodes (plus chains) per pipeline: 1000 keeps one pipeline's reply and event near 1 MB. */
export const DEFAULT_SWEEP_BATCH_SIZE = 1000;

/** Everything one sweep writes for one node. */
export interface NodeWrite {
  readonly nodeId: string;
  readonly record?: NodeRecord;
  readonly peers?: readonly PeerDetail[];
  /** Oldest first, so pushing them in order leaves the newest at the head of the list. */
  readonly history: readonly HistoryPoint[];
  /** State changes, oldest first (absent when the sweep has none for this node). */
  readonly transitions?: readonly TransitionEntry[];
}

/** One pipeline (Redis) or one step (memory): at most `batchSize` nodes and chains, one `records` event. */
export interface SweepBatch {
  readonly nodes: readonly NodeWrite[];
  readonly chains: readonly ChainFacts[];
  /** The batch's nodes' state changes for the fleet-wide log, oldest first. */
  readonly fleetTransitions: readonly FleetTransition[];
}

/**
 * Group a sweep by node and cut it into batches of at most `batchSize` units (a node with its
 * record, peers and history, or one chain's facts), so a sweep of any size costs
 * ceil(units / batchSize) round trips. A node's peers and history travel in the same batch as
 * its record, so a replica that reacts to the batch's `records` event reads them consistent.
 * A record whose sample carries `peerList` and that has no entry in `write.peers` has its
 * peers taken from the sample (they are never stored inside the record).
 */
export function planSweep(write: SweepWrite, batchSize: number = DEFAULT_SWEEP_BATCH_SIZE): SweepBatch[] {
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new OutOfRangeError(`batchSize must be a positive integer, got ${batchSize}`);
  const byNode = new Map<
    string,
    {
      record?: NodeRecord;
      peers?: readonly PeerDetail[];
      history: HistoryPoint[];
      transitions?: readonly TransitionEntry[];
    }
  >();
  const entry = (nodeId: string) => {
    let e = byNode.get(nodeId);
    if (!e) {
      e = { history: [] };
      byNode.set(nodeId, e);
    }
    return e;
  };
  for (const record of write.records) {
    const e = entry(record.nodeId);
    e.record = record;
    if (record.sample.peerList !== undefined) e.peers = record.sample.peerList;
  }
  for (const [nodeId, peers] of write.peers ?? []) entry(nodeId).peers = peers;
  for (const { nodeId, point } of write.history ?? []) entry(nodeId).history.push(point);
  for (const [nodeId, transitions] of groupTransitions(write.transitions ?? []))
    entry(nodeId).transitions = transitions;
  const chainOf = new Map<string, string>();
  for (const t of write.transitions ?? []) if (t.chain !== undefined) chainOf.set(t.nodeId, t.chain);

  const units: Array<{ node: NodeWrite } | { chain: ChainFacts }> = [];
  for (const [nodeId, e] of byNode) {
    // Stable sort: points with equal t keep the caller's order.
    const history = e.history.length > 1 ? [...e.history].sort((a, b) => a.t - b.t) : e.history;
    units.push({
      node: {
        nodeId,
        history,
        ...(e.record ? { record: e.record } : {}),
        ...(e.peers ? { peers: e.peers } : {}),
        ...(e.transitions ? { transitions: e.transitions } : {}),
      },
    });
  }
  for (const chain of write.chains ?? []) units.push({ chain });

  return chunk(units, batchSize).map((part) => {
    const nodes = part.flatMap((u) => ('node' in u ? [u.node] : []));
    return {
      nodes,
      chains: part.flatMap((u) => ('chain' in u ? [u.chain] : [])),
      fleetTransitions: fleetTransitionsOf(nodes, chainOf),
    };
  });
}

/** The fleet-wide entries of these nodes' transitions (those written with a chain), oldest first. */
export function fleetTransitionsOf(
  nodes: ReadonlyArray<{ readonly nodeId: string; readonly transitions?: readonly TransitionEntry[] }>,
  chainOf: ReadonlyMap<string, string>,
): FleetTransition[] {
  const out: FleetTransition[] = [];
  for (const n of nodes) {
    const chain = chainOf.get(n.nodeId);
    if (chain === undefined || !n.transitions) continue;
    for (const t of n.transitions) out.push({ nodeId: n.nodeId, chain, ...t });
  }
  if (out.length > 1) out.sort((a, b) => a.at - b.at);
  return out;
}

/** Transitions by node id, each node's oldest first (stable: equal `at` keep the caller's order). */
export function groupTransitions(entries: readonly TransitionWrite[]): Map<string, TransitionEntry[]> {
  const byNode = new Map<string, TransitionEntry[]>();
  for (const { nodeId, transition } of entries) {
    const list = byNode.get(nodeId);
    if (list) list.push(transition);
    else byNode.set(nodeId, [transition]);
  }
  for (const list of byNode.values()) if (list.length > 1) list.sort((a, b) => a.at - b.at);
  return byNode;
}

export function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
