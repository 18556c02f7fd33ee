// Zod schemas of the node answers: a node in brief and in full, its peers, history and state changes.
import { z } from 'zod';
import { Drain, epochMs, Freshness, HealthState, nullableInt, Reason, ShortReason, strings } from './common.js';

/** The answers of `/v1/nodes` and below: a node in brief and in full, its peers, history and state changes. */

export const NodeSummary = z.strictObject({
  id: z.string(),
  chain: z.string(),
  family: z.enum(['evm', 'bitcoin']),
  url: z.string().describe('The node URL without credentials or query string.'),
  tags: strings(),
  tier: z.int().describe('0 = primary; higher tiers are backups.'),
  state: HealthState,
  since: epochMs('When the state began'),
  reasons: z.array(ShortReason),
  score: z.number().min(0).max(1).nullable(),
  peers: z.strictObject({ total: z.int(), in: nullableInt(), out: nullableInt() }).nullable(),
  height: nullableInt(),
  lag: z.strictObject({ blocks: z.int(), ms: z.int() }).nullable(),
  latencyMs: z.number().nullable(),
  clientVersion: z.string().nullable(),
  observedAt: nullableInt(),
  ageMs: nullableInt(),
  stale: z.boolean(),
  drained: z.boolean(),
});

export const NodeList = z.strictObject({
  items: z.array(NodeSummary),
  total: z.int().describe('Nodes matching the filters (all pages).'),
  limit: z.int(),
  offset: z.int().describe('Echoed when `offset` was given.').optional(),
  nextCursor: z.string().nullable().describe('Pass as `cursor` for the next page; null on the last page.'),
  generatedAt: epochMs('When the answer was computed'),
});

export const ScoreBreakdown = z.strictObject({
  total: z.number(),
  parts: z.record(
    z.string(),
    z.strictObject({
      grade: z.number(),
      weight: z.number(),
      contribution: z.number(),
      value: z.number().nullable(),
      detail: z.string(),
    }),
  ),
});

export const Sample = z
  .looseObject({
    observedAt: z.int(),
    latencyMs: z.number().describe('ms, fractional'),
    ok: z.boolean(),
    error: z.strictObject({ code: z.string(), message: z.string(), transient: z.boolean().optional() }).optional(),
    peers: z
      .strictObject({ total: z.int(), inbound: z.int().optional(), outbound: z.int().optional(), source: z.string() })
      .optional(),
    height: z.int().optional(),
    headers: z.int().optional(),
    syncing: z.boolean().optional(),
    chainId: z.int().optional(),
    networkName: z.string().optional(),
    networkActive: z.boolean().optional(),
    clientVersion: z.string().optional(),
    netTotals: z.strictObject({ totalBytesRecv: z.int(), totalBytesSent: z.int(), timeMillis: z.int() }).optional(),
    tipTime: z
      .int()
      .describe('Timestamp of the best block, epoch s (EVM latest header, Bitcoin getblockchaininfo.time).')
      .optional(),
    tipMedianTime: z.int().describe('Bitcoin family: median time past of the tip, epoch s.').optional(),
    genesisHash: z
      .string()
      .describe('Bitcoin family: hash of block 0 (getblockhash 0), which names the chain exactly.')
      .optional(),
    uptimeS: z.int().describe('Bitcoin family: seconds since the node started (uptime).').optional(),
    syncTarget: z
      .strictObject({
        currentBlock: z.int(),
        highestBlock: z.int(),
        txIndexRemainingBlocks: z.int().describe('geth 1.13+: blocks still to index.').optional(),
      })
      .optional(),
    warnings: strings().optional(),
    missingMethods: strings().optional(),
  })
  .describe(
    'The latest normalized observation (src/chains/sample.ts), without the peer list. Fields a node did not report are absent.',
  );

const Probing = z
  .strictObject({
    mode: z.enum(['interval', 'fast', 'backoff']),
    delayMs: z.int(),
    nextProbeAt: z.int(),
    backoffStep: z.int().describe('Set in back-off: how many unanswered probes in a row.').optional(),
  })
  .nullable()
  .describe(
    'The polling plan after the latest sample: its interval, a fast re-check while a failure or a recovery is confirmed, or back-off for a node that gives no answer.',
  );

export const NodeDetail = z.strictObject({
  id: z.string(),
  chain: z.string(),
  family: z.string(),
  url: z.string(),
  tags: strings(),
  tier: z.int(),
  intervalMs: z.int(),
  timeoutMs: z.int(),
  auth: z.enum(['none', 'basic', 'cookie']).describe('How nodesentry authenticates to the node; never the secret.'),
  state: HealthState,
  since: z.int(),
  reasons: z.array(Reason),
  hysteresis: z.strictObject({
    tracked: z.string().describe('State underneath maintenance.'),
    pending: z
      .strictObject({ toward: z.string(), count: z.int(), needed: z.int() })
      .nullable()
      .describe('A change being confirmed: `count` of `needed` samples seen.'),
    consecutive: z.strictObject({ healthy: z.int(), usable: z.int(), notHealthy: z.int(), unhealthy: z.int() }),
    usableSince: nullableInt(),
    evaluatedAt: z.int(),
    latestVerdict: z.string().nullable(),
  }),
  score: ScoreBreakdown.nullable(),
  stats: z
    .strictObject({
      samples: z.int(),
      errorRate: z.number().nullable(),
      latencyEwmaMs: nullableInt(),
      lastLatencyMs: z.number().nullable(),
      lagBlocks: nullableInt(),
    })
    .nullable(),
  lag: z.strictObject({ blocks: z.int(), ms: z.int(), referenceHeight: z.int() }).nullable(),
  sample: Sample.nullable(),
  capabilities: z.strictObject({
    missingMethods: strings(),
    batch: z.enum(['unknown']).describe('Batch support is learned by the polling replica and not shared.'),
  }),
  freshness: Freshness,
  probing: Probing,
  writer: z.strictObject({ replica: z.string(), writtenAt: z.int(), thisReplica: z.boolean() }).nullable(),
  drained: z.boolean(),
  drain: Drain.nullable(),
});

export const Spread = z.strictObject({
  count: z.int(),
  min: z.number(),
  median: z.number(),
  p90: z.number(),
  max: z.number(),
  mean: z.number(),
});

export const PeerReport = z.strictObject({
  nodeId: z.string(),
  chain: z.string(),
  family: z.string(),
  observedAt: nullableInt().optional(),
  reported: z
    .strictObject({ total: z.int(), inbound: nullableInt(), outbound: nullableInt(), source: z.string() })
    .nullable()
    .describe('Counts from the latest sample (net_peerCount / getnetworkinfo).')
    .optional(),
  source: z.enum(['net_peerCount', 'getpeerinfo']),
  total: nullableInt(),
  detail: z
    .string()
    .describe('Why there is no per-peer detail (EVM: "not offered"), or why the list shown is stale.')
    .optional(),
  list: z
    .enum(['collected', 'stale', 'not_collected_yet', 'not_offered', 'unavailable'])
    .describe(
      "`collected`: `peers` is the list from getpeerinfo (refreshed once a minute, and when the count changes). `stale`: `peers` is the last list, but it was not refreshed when due (older than a minute plus two intervals: the node's getpeerinfo has failed since, or the node stopped answering); `collectedAt` says when it was collected, `reported` has the current counts. `not_collected_yet`: the node answers but its first list is not built yet (within a minute of its first probe); `reported` has the counts. `not_offered`: EVM, or a node without getpeerinfo. `unavailable`: no list stored: no recent successful probe, or the node answers but none of its getpeerinfo calls has given a list past its first minute (the call fails or its answer is invalid).",
    ),
  collectedAt: nullableInt()
    .describe(
      'When the list in `peers` was collected, epoch ms (with `collected` and `stale`); null for a list written by a replica of an older release, whose age is unknown.',
    )
    .optional(),
  summary: z
    .strictObject({
      total: z.int(),
      inbound: z.int(),
      outbound: z.int(),
      versions: z.array(z.strictObject({ subver: z.string(), count: z.int() })),
      pingMs: Spread.nullable(),
      heights: z.strictObject({
        maxSyncedBlocks: nullableInt(),
        maxSyncedHeaders: nullableInt(),
        peersAhead: nullableInt(),
      }),
      bytesPerMessage: z.strictObject({ sent: z.record(z.string(), z.int()), recv: z.record(z.string(), z.int()) }),
      bytes: z.strictObject({ sent: z.int(), recv: z.int() }),
    })
    .nullable(),
  peers: z.array(z.record(z.string(), z.unknown())).nullable(),
});

export const TrafficRates = z.strictObject({
  recvBytesPerSec: z.int(),
  sentBytesPerSec: z.int(),
  from: z.int(),
  to: z.int(),
  windowMs: z.int(),
  points: z.int(),
  resets: z.int().describe('Counter resets (node restarts) in the window.'),
  drops: z.int().describe('Counter drops while uptime kept growing (not restarts): intervals left out of the rates.'),
  series: z.array(
    z.strictObject({
      t: z.int(),
      intervalMs: z.int(),
      recvBytesPerSec: z.int(),
      sentBytesPerSec: z.int(),
      reset: z.boolean(),
      drop: z.boolean(),
    }),
  ),
});

export const History = z.strictObject({
  nodeId: z.string(),
  chain: z.string(),
  limit: z.int(),
  points: z
    .array(
      z.strictObject({
        t: z.int(),
        ok: z.boolean(),
        latencyMs: z.number(),
        peers: nullableInt(),
        height: nullableInt(),
        bytesRecv: nullableInt(),
        bytesSent: nullableInt(),
        uptimeS: nullableInt(),
      }),
    )
    .describe('Newest first.'),
  rates: TrafficRates.nullable(),
  ratesDetail: z.string().describe('Why `rates` is null.').optional(),
});

const change = {
  from: z.string().describe('State before (`new` for a node never judged before).'),
  to: z.string().describe('State after.'),
  reasons: strings().describe('Why, as reason texts (`unauthorized(401)`).'),
  at: epochMs('When the polling replica saw the change'),
  replica: z.string().describe('The replica that saw it.'),
};

export const FleetTransitions = z.strictObject({
  items: z
    .array(z.strictObject({ nodeId: z.string(), chain: z.string(), ...change }))
    .describe('Newest first (ties: node id, then the state entered).'),
  limit: z.int(),
  nextCursor: z.string().nullable().describe('Pass as `cursor` for the next (older) page; null on the last page.'),
  generatedAt: epochMs('When the answer was made'),
});

export const Transitions = z.strictObject({
  nodeId: z.string(),
  chain: z.string(),
  limit: z.int(),
  transitions: z.array(z.strictObject(change)).describe('Newest first.'),
});
