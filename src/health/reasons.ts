// Reasons: why a node is in its state, as stable codes with readable text.
import type { Severity } from './states.js';

/**
 * Why a node is in the state it is in. `code` is stable snake_case for machines; `text` is the
 * code with its numbers, for people and logs (`lagging(12 blocks, 9s)`); `data` holds the same
 * numbers as fields. Codes are never renamed: dashboards and alerts branch on them.
 */
export const ReasonCode = {
  // Freshness and operator action (the state is `unknown` / `maintenance`).
  NoSample: 'no_sample',
  StaleSample: 'stale_sample',
  Confirming: 'confirming',
  Drained: 'drained',
  // Between two confirmed states (hysteresis under way): a usable node whose probes fail, a
  // down node whose probes succeed again. Shown first, before what the node said.
  Failing: 'failing',
  Recovering: 'recovering',
  // The probe failed (from `sample.error.code`).
  RpcTimeout: 'rpc_timeout',
  ConnectionRefused: 'connection_refused',
  ConnectionReset: 'connection_reset',
  DnsFailed: 'dns_failed',
  TlsFailed: 'tls_failed',
  NetworkError: 'network_error',
  HttpStatus: 'http_status',
  AuthFailed: 'auth_failed',
  Forbidden: 'forbidden',
  RpcError: 'rpc_error',
  WarmingUp: 'warming_up',
  MalformedResponse: 'malformed_response',
  ResponseTooLarge: 'response_too_large',
  BatchUnsupported: 'batch_unsupported',
  ProbeFailed: 'probe_failed',
  WrongChain: 'wrong_chain',
  /** The node speaks the other family's dialect (RPC_WRONG_FAMILY). */
  WrongFamily: 'wrong_family',
  /** The node did not prove which chain it is on (no chain id, no genesis hash): fail closed. */
  ChainUnverified: 'chain_unverified',
  // What the node reported.
  HeightUnknown: 'height_unknown',
  Syncing: 'syncing',
  SyncingAtHead: 'syncing_at_head',
  /** geth at the head but still indexing transactions (`txIndexRemainingBlocks`). */
  TxIndexing: 'tx_indexing',
  Lagging: 'lagging',
  Stalled: 'stalled',
  /** No node of the chain has advanced for the stall window: the chain itself halted. */
  ChainHalted: 'chain_halted',
  NetworkInactive: 'network_inactive',
  PeersBelowMin: 'peers_below_min',
  PeersLow: 'peers_low',
  NoOutboundPeers: 'no_outbound_peers',
  // History kept in `NodeStats`.
  Slow: 'slow',
  ErrorRate: 'error_rate',
} as const;
export type ReasonCode = (typeof ReasonCode)[keyof typeof ReasonCode];

export type ReasonData = Readonly<Record<string, string | number | boolean>>;

export interface Reason {
  readonly code: ReasonCode;
  readonly text: string;
  readonly severity: Severity;
  readonly data: ReasonData;
}

function reason(code: ReasonCode, severity: Severity, detail: string | null, data: ReasonData = {}): Reason {
  return { code, text: detail === null ? code : `${code}(${detail})`, severity, data };
}

/** `850ms`, `5.3s`, `41s`, `20m`, `5h`, `3d`: short enough for a reason's text. */
export function formatDuration(ms: number): string {
  const s = ms / 1000;
  if (s < 1) return `${Math.round(ms)}ms`;
  if (s < 10) return `${Number(s.toFixed(1))}s`;
  if (s < 120) return `${Math.round(s)}s`;
  if (s < 120 * 60) return `${Math.round(s / 60)}m`;
  if (s < 48 * 3600) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86_400)}d`;
}

/** `30%`, `45.2%`. */
export function formatPercent(fraction: number): string {
  return `${Number((fraction * 100).toFixed(1))}%`;
}

/** Builders, one per code, so every text has one format. */
export const reasons = {
  noSample: (): Reason => reason(ReasonCode.NoSample, 'unhealthy', null),
  staleSample: (ageMs: number): Reason => reason(ReasonCode.StaleSample, 'unhealthy', formatDuration(ageMs), { ageMs }),
  confirming: (good: number, needed: number): Reason =>
    reason(ReasonCode.Confirming, 'unhealthy', `${good}/${needed}`, { good, needed }),
  drained: (): Reason => reason(ReasonCode.Drained, 'unhealthy', null),
  /** `failing(1/3): connection_refused`: a usable node, `count` of the `needed` bad samples seen, and why. */
  failing: (count: number, needed: number, toward: Severity, causes: readonly Reason[]): Reason => ({
    code: ReasonCode.Failing,
    text: `failing(${count}/${needed})${causes.length > 0 ? `: ${causes.map((c) => c.text).join(', ')}` : ''}`,
    severity: toward,
    data: { count, needed, toward, causes: causes.map((c) => c.code).join(',') },
  }),
  /** `recovering(1/2)`: a node not yet usable again, `count` of the `needed` good samples seen. */
  recovering: (count: number, needed: number): Reason =>
    reason(ReasonCode.Recovering, 'unhealthy', `${count}/${needed}`, { count, needed }),

  probeError: (code: ReasonCode, detail: string | null = null, data: ReasonData = {}): Reason =>
    reason(code, 'unhealthy', detail, data),
  wrongChain: (actual: string, expected: string): Reason =>
    reason(ReasonCode.WrongChain, 'unhealthy', `${actual}!=${expected}`, { actual, expected }),

  chainUnverified: (why: string): Reason => reason(ReasonCode.ChainUnverified, 'unhealthy', why, { why }),

  heightUnknown: (): Reason => reason(ReasonCode.HeightUnknown, 'unhealthy', null),
  /** One syncing reason, whatever evidence there is: `syncing(1200 headers ahead, tip 3d old)`. */
  syncing: (details: readonly string[], data: ReasonData): Reason =>
    reason(ReasonCode.Syncing, 'unhealthy', details.length === 0 ? null : details.join(', '), data),
  syncingAtHead: (blocksLeft: number): Reason =>
    reason(ReasonCode.SyncingAtHead, 'degraded', `${blocksLeft} blocks left`, { blocksLeft }),
  lagging: (blocks: number, ms: number, severity: Severity): Reason =>
    reason(ReasonCode.Lagging, severity, `${blocks} blocks, ${formatDuration(ms)}`, { blocks, ms }),
  stalled: (height: number, forMs: number, tipAgeMs: number | null = null): Reason =>
    reason(
      ReasonCode.Stalled,
      'degraded',
      tipAgeMs === null ? `no new block in ${formatDuration(forMs)}` : `tip ${formatDuration(tipAgeMs)} old`,
      tipAgeMs === null ? { height, forMs } : { height, forMs, tipAgeMs },
    ),
  /**
   * Degraded, not unhealthy: every node shows the same frozen head, and serving it is the truth
   * of the chain; what nodesentry must not do is call it healthy.
   */
  chainHalted: (height: number, forMs: number): Reason =>
    reason(ReasonCode.ChainHalted, 'degraded', `no node advanced in ${formatDuration(forMs)}, head ${height}`, {
      height,
      forMs,
    }),
  txIndexing: (blocksLeft: number): Reason =>
    reason(ReasonCode.TxIndexing, 'degraded', `${blocksLeft} blocks left`, { blocksLeft }),
  networkInactive: (): Reason => reason(ReasonCode.NetworkInactive, 'unhealthy', null),
  peersBelowMin: (peers: number, minPeers: number): Reason =>
    reason(ReasonCode.PeersBelowMin, 'unhealthy', `${peers}<${minPeers}`, { peers, minPeers }),
  peersLow: (peers: number, lowPeers: number): Reason =>
    reason(ReasonCode.PeersLow, 'degraded', `${peers}<${lowPeers}`, { peers, lowPeers }),
  noOutboundPeers: (inbound: number): Reason =>
    reason(ReasonCode.NoOutboundPeers, 'degraded', `${inbound} inbound`, { inbound }),

  slow: (latencyEwmaMs: number): Reason =>
    reason(ReasonCode.Slow, 'degraded', `${Math.round(latencyEwmaMs)}ms`, { latencyEwmaMs: Math.round(latencyEwmaMs) }),
  errorRate: (rate: number, samples: number, severity: Severity): Reason =>
    reason(ReasonCode.ErrorRate, severity, `${formatPercent(rate)} of ${samples}`, { rate, samples }),
};

/** The worst severity among reasons, or `healthy` when there is none. */
export function worstSeverity(list: readonly Reason[]): 'healthy' | Severity {
  if (list.some((r) => r.severity === 'unhealthy')) return 'unhealthy';
  if (list.length > 0) return 'degraded';
  return 'healthy';
}
