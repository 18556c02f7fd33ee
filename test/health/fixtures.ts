import { BUILTIN_CHAINS, type ChainSpec } from '../../src/chains/chain-spec.js';
import type { Sample } from '../../src/chains/sample.js';
import { type ChainEvaluation, type ChainNodeInput, evaluateChain } from '../../src/health/evaluate-chain.js';
import type { NodeInfo } from '../../src/health/node-info.js';
import { DEFAULT_HEALTH_POLICY, type HealthPolicy } from '../../src/health/policy.js';
import type { Selection } from '../../src/health/selection.js';

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

export function failedSample(chain: ChainSpec, nodeId: string, at: number, code: string, extra: Partial<Sample['error'] & object> = {}): Sample {
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

/** A fleet whose persisted state is carried from round to round, as the poller would. */
export interface Fleet {
  readonly chain: ChainSpec;
  readonly policy: HealthPolicy;
  nodes: ChainNodeInput[];
  selection: Selection | null;
  last: ChainEvaluation | null;
}

export function fleet(chain: ChainSpec, infos: readonly NodeInfo[], policy: HealthPolicy = DEFAULT_HEALTH_POLICY): Fleet {
  return { chain, policy, nodes: infos.map((node) => ({ node, drained: false, sample: null, health: null, stats: null })), selection: null, last: null };
}

/** One round: give each node its new sample (or keep the old one when absent), evaluate, carry state. */
export function round(f: Fleet, now: number, samples: Readonly<Record<string, Sample | null>>, drained: Readonly<Record<string, boolean>> = {}): ChainEvaluation {
  const nodes = f.nodes.map((n) => ({
    ...n,
    sample: n.node.id in samples ? (samples[n.node.id] ?? null) : n.sample,
    drained: drained[n.node.id] ?? n.drained,
  }));
  const ev = evaluateChain({ chain: f.chain, nodes, selection: f.selection, now, policy: f.policy });
  f.nodes = nodes.map((n, i) => ({ ...n, health: ev.nodes[i]?.health ?? null, stats: ev.nodes[i]?.stats ?? null }));
  f.selection = ev.selection;
  f.last = ev;
  return ev;
}

export function stateOf(ev: ChainEvaluation, nodeId: string): string | undefined {
  return ev.nodes.find((n) => n.nodeId === nodeId)?.health.state;
}

export function codesOf(ev: ChainEvaluation, nodeId: string): string[] {
  return (ev.nodes.find((n) => n.nodeId === nodeId)?.assessment.reasons ?? []).map((r) => r.code);
}
