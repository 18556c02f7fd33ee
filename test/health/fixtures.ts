import { BUILTIN_CHAINS, type ChainSpec } from '../../src/chains/chain-spec.js';
import type { Sample } from '../../src/chains/sample.js';
import type { NodeConfig } from '../../src/config/node-config.js';
import type { Assessment } from '../../src/health/assess.js';
import type { NodeHealth } from '../../src/health/hysteresis.js';
import type { NodeInfo } from '../../src/health/node-info.js';
import { DEFAULT_HEALTH_POLICY, type HealthPolicy, policyForChain } from '../../src/health/policy.js';
import type { RankedNode } from '../../src/health/ranking.js';
import type { ReferenceHead } from '../../src/health/reference-head.js';
import { NO_SCORE, type ScoreBreakdown } from '../../src/health/score.js';
import type { Selection, SelectionChange } from '../../src/health/selection.js';
import { emptyStats, type NodeStats } from '../../src/health/stats.js';
import { HealthJudge } from '../../src/polling/health-judge.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { decodeChainFacts, decodeRecord, encodeChainFacts, encodeRecord } from '../../src/store/store-codec.js';
import { effectiveOf, rankEffective } from '../../src/view/effective-node.js';
import { FleetView } from '../../src/view/fleet-view.js';

export const BSC = BUILTIN_CHAINS.bsc as ChainSpec;
export const DEFICHAIN = BUILTIN_CHAINS.defichain as ChainSpec;
export const PAI = BUILTIN_CHAINS.pai as ChainSpec;

export const T0 = 1_750_000_000_000;

export function nodeInfo(id: string, overrides: Partial<NodeInfo> = {}): NodeInfo {
  return { id, tier: 0, tags: [], intervalMs: 5_000, ...overrides };
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
/** Fields to set; `undefined` removes the field (the node did not report it). */
export type SampleOverrides = { [K in keyof Sample]?: Sample[K] | undefined };

/** A sample of a node in good shape on `chain`, at its reference height, observed at `at`. */
export function goodSample(chain: ChainSpec, nodeId: string, at: number, overrides: SampleOverrides = {}): Sample {
  const base: Mutable<Sample> = {
    nodeId,
    chain: chain.name,
    family: chain.family,
    observedAt: at,
    latencyMs: 40,
    ok: true,
    peers: { total: chain.targetPeers, source: chain.family === 'evm' ? 'net_peerCount' : 'getnetworkinfo' },
    height: 1_000_000,
    missingMethods: [],
  };
  if (chain.family === 'evm') base.chainId = chain.chainId as number;
  else {
    base.networkName = chain.networkName as string;
    if (chain.genesisHash !== undefined) base.genesisHash = chain.genesisHash;
    base.headers = 1_000_000;
    base.networkActive = true;
    base.verificationProgress = 0.99999;
    // Median time past of a synced node: about six blocks behind the tip.
    base.tipMedianTime = Math.floor((at - 6 * chain.blockTimeMs) / 1000);
  }
  const merged: Record<string, unknown> = { ...base, ...overrides };
  for (const k of Object.keys(merged)) if (merged[k] === undefined) delete merged[k];
  return merged as unknown as Sample;
}

export function failedSample(
  chain: ChainSpec,
  nodeId: string,
  at: number,
  code: string,
  extra: Partial<Sample['error'] & object> = {},
): Sample {
  return {
    nodeId,
    chain: chain.name,
    family: chain.family,
    observedAt: at,
    latencyMs: 2_000,
    ok: false,
    error: { code, message: code, transient: true, ...extra },
    missingMethods: [],
  };
}

/** A chain's nodes judged as the service judges them: a HealthJudge over a FleetView of a store. */
export interface Fleet {
  readonly chain: ChainSpec;
  readonly policy: HealthPolicy;
  readonly nodes: ReadonlyMap<string, NodeConfig>;
  view: FleetView;
  judge: HealthJudge;
  readonly changes: SelectionChange[];
  last: RoundResult | null;
}

/** One node after a round: its effective health (what readers see), stats, score and latest assessment. */
export interface NodeResult {
  readonly nodeId: string;
  readonly health: NodeHealth;
  readonly stats: NodeStats;
  readonly score: ScoreBreakdown;
  readonly assessment: Assessment;
}

export interface RoundResult {
  readonly chain: string;
  readonly reference: ReferenceHead;
  readonly nodes: readonly NodeResult[];
  readonly ranking: readonly RankedNode[];
  readonly selection: Selection;
  readonly transitions: ReadonlyArray<{
    readonly nodeId: string;
    readonly from: string;
    readonly to: string;
    readonly reasons: readonly string[];
  }>;
  readonly selectionChange: SelectionChange | null;
}

export function nodeConfig(chain: ChainSpec, info: NodeInfo): NodeConfig {
  return {
    id: info.id,
    chain,
    url: `http://127.0.0.1:1/${info.id}`,
    tags: info.tags,
    tier: info.tier,
    intervalMs: info.intervalMs,
    timeoutMs: 2_000,
  };
}

export function fleet(
  chain: ChainSpec,
  infos: readonly NodeInfo[],
  policy: HealthPolicy = DEFAULT_HEALTH_POLICY,
): Fleet {
  const nodes = new Map(infos.map((i) => [i.id, nodeConfig(chain, i)]));
  const view = new FleetView({ store: new MemoryStore() });
  const changes: SelectionChange[] = [];
  return { chain, policy, nodes, view, judge: judgeOf(view, policy, nodes, changes), changes, last: null };
}

function judgeOf(
  view: FleetView,
  policy: HealthPolicy,
  nodes: ReadonlyMap<string, NodeConfig>,
  changes: SelectionChange[],
): HealthJudge {
  // Every round is a report: the service ranks a chain at most once a second unless a sample
  // may move its selection (HealthJudge's rerankEveryMs), which would leave a round of heights
  // alone reporting an earlier round's head. Selection, states and lag are judged the same.
  return new HealthJudge({
    view,
    policy,
    replica: 'r',
    nodes: () => nodes,
    onSelectionChange: (c) => changes.push(c),
    rerankEveryMs: 0,
  });
}

/**
 * A restart: a new judge over a new view loaded with what the store holds (records and chain
 * facts through the store's codec), as a replica that takes over would start.
 */
export function restart(f: Fleet): void {
  const view = new FleetView({ store: new MemoryStore() });
  const records = [...f.view.records()].map((r) => decodeRecord(encodeRecord(r)));
  view.ingest(records.flatMap((d) => (d.ok ? [d.value] : [])));
  const facts = f.view.chainFacts(f.chain.name);
  if (facts) {
    const d = decodeChainFacts(encodeChainFacts(facts));
    if (d.ok) view.setChainFacts(d.value);
  }
  for (const [id, drain] of f.view.drains()) view.setDrain(id, drain);
  f.view = view;
  f.judge = judgeOf(view, f.policy, f.nodes, f.changes);
}

/**
 * One round: each node given a sample is judged (in config order, ingested into the view as the
 * poller does), then the chain is ranked and its shared choice advanced (the judge's flush).
 * `drained` drains (true) or undrains (false) nodes first.
 */
export function round(
  f: Fleet,
  now: number,
  samples: Readonly<Record<string, Sample | null>>,
  drained: Readonly<Record<string, boolean>> = {},
): RoundResult {
  for (const [id, on] of Object.entries(drained)) f.view.setDrain(id, on ? { nodeId: id, by: 'test', at: now } : null);
  const transitions: Array<RoundResult['transitions'][number]> = [];
  for (const node of f.nodes.values()) {
    const sample = samples[node.id];
    if (sample === undefined || sample === null) continue;
    const v = f.judge.judge(node, sample, now);
    f.view.ingest([v.record]);
    if (v.transition) transitions.push({ nodeId: node.id, ...v.transition });
  }
  const before = f.changes.length;
  for (const facts of f.judge.chainFacts(now)) f.view.setChainFacts(facts);
  const report = f.view.chainFacts(f.chain.name)!.facts!;
  const policy = policyForChain(f.policy, f.chain.name);
  const views = [...f.nodes.values()].map((node) => {
    const record = f.view.get(node.id);
    return { node, record, health: effectiveOf(record, node, f.view.drain(node.id) !== undefined, now, policy) };
  });
  const nodes = views.map(({ node, record, health }) => ({
    nodeId: node.id,
    health,
    stats: record?.health?.stats ?? emptyStats(node.id),
    score: record?.health?.score ?? NO_SCORE,
    assessment: record?.health?.health.latest as Assessment,
  }));
  const result: RoundResult = {
    chain: f.chain.name,
    reference: report.reference,
    nodes,
    ranking: rankEffective(views),
    selection: report.selection,
    transitions,
    selectionChange: f.changes.length > before ? f.changes.at(-1)! : null,
  };
  f.last = result;
  return result;
}

export function stateOf(ev: RoundResult, nodeId: string): string | undefined {
  return ev.nodes.find((n) => n.nodeId === nodeId)?.health.state;
}

export function codesOf(ev: RoundResult, nodeId: string): string[] {
  return (ev.nodes.find((n) => n.nodeId === nodeId)?.assessment?.reasons ?? []).map((r) => r.code);
}
