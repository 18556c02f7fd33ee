// A node as the API shows it: the brief and full JSON shapes built from the read model (schemas in schemas/nodes.ts).
import type { z } from 'zod';
import { withoutPeerList } from '../chains/sample.js';
import { isFresh, sampleAgeMs, staleAfterMs } from '../health/freshness.js';
import type { HealthPolicy } from '../health/policy.js';
import type { Reason } from '../health/reasons.js';
import type { Drain } from '../store/store.js';
import type { NodeView } from '../read/read-model.js';
import type { Freshness } from './schemas/common.js';
import type { NodeSummary } from './schemas/nodes.js';

/** How fresh a node's latest sample is at `now` (its shape: schemas/common.ts). */
export type FreshnessJson = z.infer<typeof Freshness>;

/** One node in `GET /v1/nodes`: enough to scan a fleet, small enough to page through (schemas/nodes.ts). */
export type NodeSummaryJson = z.infer<typeof NodeSummary>;

export function freshnessOf(v: NodeView, now: number, policy: HealthPolicy): FreshnessJson {
  const sample = v.record?.sample;
  const limit = staleAfterMs(v.node.intervalMs, policy);
  if (!sample) return { observedAt: null, ageMs: null, stale: true, staleAfterMs: limit };
  return {
    observedAt: sample.observedAt,
    ageMs: sampleAgeMs(sample, now),
    stale: !isFresh(sample, v.node.intervalMs, now, policy),
    staleAfterMs: limit,
  };
}

export function nodeSummary(v: NodeView, drained: boolean, now: number, policy: HealthPolicy): NodeSummaryJson {
  const s = v.record?.sample;
  const f = freshnessOf(v, now, policy);
  const lag = v.health.latest?.lag ?? null;
  return {
    id: v.node.id,
    chain: v.node.chain.name,
    family: v.node.chain.family,
    // NodeConfig.url: credentials were split off when the config was loaded (as on /v1/chains).
    url: v.node.url,
    tags: [...v.node.tags],
    tier: v.node.tier,
    state: v.health.state,
    since: v.health.since,
    reasons: v.health.reasons.map((r) => ({ code: r.code, text: r.text })),
    score: v.verdict?.score.total ?? null,
    peers: s?.peers ? { total: s.peers.total, in: s.peers.inbound ?? null, out: s.peers.outbound ?? null } : null,
    height: s?.height ?? null,
    lag: lag ? { blocks: lag.blocks, ms: lag.ms } : null,
    latencyMs: s ? s.latencyMs : null,
    clientVersion: s?.clientVersion ?? null,
    observedAt: f.observedAt,
    ageMs: f.ageMs,
    stale: f.stale,
    drained,
  };
}

/** Everything nodesentry knows about one node (`GET /v1/nodes/{id}`). */
export function nodeDetail(v: NodeView, drain: Drain | undefined, now: number, policy: HealthPolicy, replica: string) {
  const h = v.health;
  const stats = v.verdict?.stats;
  const lag = h.latest?.lag ?? null;
  const sample = v.record ? withoutPeerList(v.record.sample) : null;
  return {
    id: v.node.id,
    chain: v.node.chain.name,
    family: v.node.chain.family,
    url: v.node.url,
    tags: v.node.tags,
    tier: v.node.tier,
    intervalMs: v.node.intervalMs,
    timeoutMs: v.node.timeoutMs,
    /** How nodesentry authenticates to the node (never the secret). */
    auth: v.node.credentials?.kind ?? 'none',
    state: h.state,
    since: h.since,
    reasons: h.reasons.map(reasonJson),
    hysteresis: {
      tracked: h.tracked,
      pending: h.pending,
      consecutive: h.consecutive,
      usableSince: h.usableSince,
      evaluatedAt: h.evaluatedAt,
      latestVerdict: h.latest?.verdict ?? null,
    },
    score: v.verdict?.score ?? null,
    stats: stats
      ? {
          samples: stats.samples,
          errorRate: stats.errorRate,
          latencyEwmaMs: stats.latencyEwmaMs === null ? null : Math.round(stats.latencyEwmaMs),
          lastLatencyMs: stats.lastLatencyMs,
          lagBlocks: stats.lagBlocks,
        }
      : null,
    lag: lag ? { blocks: lag.blocks, ms: lag.ms, referenceHeight: lag.referenceHeight } : null,
    sample,
    capabilities: {
      missingMethods: sample?.missingMethods ?? [],
      // Whether the node takes JSON-RPC batches is learned by the prober of the replica that
      // polls it and is not shared through the store.
      batch: 'unknown' as const,
    },
    freshness: freshnessOf(v, now, policy),
    /** The poller's plan after the latest sample: interval, fast re-check, or back-off (and its step). */
    probing: v.verdict?.probing ?? null,
    writer: v.record
      ? { replica: v.record.replica, writtenAt: v.record.writtenAt, thisReplica: v.record.replica === replica }
      : null,
    drained: drain !== undefined,
    drain: drain ? drainJson(drain) : null,
  };
}

export function drainJson(d: Drain): { by: string; at: number; reason: string | null } {
  return { by: d.by, at: d.at, reason: d.reason ?? null };
}

function reasonJson(r: Reason) {
  return { code: r.code, text: r.text, severity: r.severity, data: r.data };
}
