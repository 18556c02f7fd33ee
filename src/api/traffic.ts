// Traffic rates (bytes per second) from a node's history points, and their spread across nodes.
import type { PeerDetail } from '../chains/sample.js';
import type { HistoryPoint } from '../store/store.js';

/** Bytes per second between two history points. */
export interface RatePoint {
  /** End of the interval (epoch ms). */
  readonly t: number;
  readonly intervalMs: number;
  readonly recvBytesPerSec: number;
  readonly sentBytesPerSec: number;
  /** A counter went down within the interval: the node restarted (its totals start at 0). */
  readonly reset: boolean;
  /**
   * A counter went down while the node's uptime kept growing: not a restart (some nodes sum
   * only their connected peers, and a peer left). The interval's rate is unknown: 0, not counted.
   */
  readonly drop: boolean;
}

export interface TrafficRates {
  /** Mean over the window: bytes counted / time covered. */
  readonly recvBytesPerSec: number;
  readonly sentBytesPerSec: number;
  readonly from: number;
  readonly to: number;
  readonly windowMs: number;
  /** Points that carried network totals. */
  readonly points: number;
  /** Counter resets seen (node restarts). */
  readonly resets: number;
  /** Counter drops without a restart (uptime kept growing): intervals left out of the rates. */
  readonly drops: number;
  /** Per interval, newest first. */
  readonly series: readonly RatePoint[];
}

/**
 * Traffic rates from the cumulative `getnettotals` counters in a node's history, in any order.
 * Counter resets are handled as Prometheus' `rate()` does: when a counter goes down the node
 * restarted, and the new value is what it counted since, so it is added as the increase. But
 * where both points carry the node's `uptime` and it did not go back, the node did not restart:
 * its totals dropped for another reason (a node that sums only connected peers, when one
 * leaves), the interval says nothing about the rate and is left out rather than drawn as a spike.
 * Returns null with fewer than two points carrying totals (EVM nodes never have them).
 */
export function trafficRates(history: readonly HistoryPoint[]): TrafficRates | null {
  const points = history
    .filter(
      (p): p is HistoryPoint & { bytesRecv: number; bytesSent: number } =>
        isCount(p.bytesRecv) && isCount(p.bytesSent) && Number.isFinite(p.t),
    )
    .sort((a, b) => a.t - b.t);
  const series: RatePoint[] = [];
  let recv = 0;
  let sent = 0;
  let covered = 0;
  let resets = 0;
  let drops = 0;
  for (let i = 1; i < points.length; i++) {
    const a = points[i - 1]!;
    const b = points[i]!;
    const dt = b.t - a.t;
    // Two points with the same timestamp (a replayed backlog) say nothing about a rate.
    if (dt <= 0) continue;
    const recvReset = b.bytesRecv < a.bytesRecv;
    const sentReset = b.bytesSent < a.bytesSent;
    if ((recvReset || sentReset) && isCount(a.uptimeS) && isCount(b.uptimeS) && b.uptimeS >= a.uptimeS) {
      drops++;
      series.push({ t: b.t, intervalMs: dt, recvBytesPerSec: 0, sentBytesPerSec: 0, reset: false, drop: true });
      continue;
    }
    const dRecv = recvReset ? b.bytesRecv : b.bytesRecv - a.bytesRecv;
    const dSent = sentReset ? b.bytesSent : b.bytesSent - a.bytesSent;
    if (recvReset || sentReset) resets++;
    recv += dRecv;
    sent += dSent;
    covered += dt;
    series.push({
      t: b.t,
      intervalMs: dt,
      recvBytesPerSec: perSec(dRecv, dt),
      sentBytesPerSec: perSec(dSent, dt),
      reset: recvReset || sentReset,
      drop: false,
    });
  }
  if (covered === 0) return null;
  return {
    recvBytesPerSec: perSec(recv, covered),
    sentBytesPerSec: perSec(sent, covered),
    from: points[0]!.t,
    to: points[points.length - 1]!.t,
    windowMs: covered,
    points: points.length,
    resets,
    drops,
    series: series.reverse(),
  };
}

function isCount(v: number | undefined): v is number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0;
}

function perSec(bytes: number, ms: number): number {
  return Math.round((bytes * 1000) / ms);
}

/** Summary statistics of a list of numbers. */
export interface Spread {
  readonly count: number;
  readonly min: number;
  readonly median: number;
  readonly p90: number;
  readonly max: number;
  readonly mean: number;
}

export function spread(values: readonly number[]): Spread | null {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const at = (q: number) => v[Math.min(v.length - 1, Math.floor(q * v.length))]!;
  const mean = v.reduce((s, x) => s + x, 0) / v.length;
  return {
    count: v.length,
    min: v[0]!,
    median: at(0.5),
    p90: at(0.9),
    max: v[v.length - 1]!,
    mean: Math.round(mean * 1000) / 1000,
  };
}

/** What a Bitcoin-family node's `getpeerinfo` says about its connections, summed up. */
export interface PeerSummary {
  readonly total: number;
  readonly inbound: number;
  readonly outbound: number;
  /** Peers by `subver` (client version), most common first. */
  readonly versions: ReadonlyArray<{ readonly subver: string; readonly count: number }>;
  /** `pingtime` in ms over the peers that report one. */
  readonly pingMs: Spread | null;
  readonly heights: {
    /** Highest `synced_blocks` / `synced_headers` among peers (-1 = not yet known, ignored). */
    readonly maxSyncedBlocks: number | null;
    readonly maxSyncedHeaders: number | null;
    /** Peers whose headers are ahead of this node's height: who it can still learn from. */
    readonly peersAhead: number | null;
  };
  /** Bytes by P2P message type, summed over peers. */
  readonly bytesPerMessage: {
    readonly sent: Readonly<Record<string, number>>;
    readonly recv: Readonly<Record<string, number>>;
  };
  readonly bytes: { readonly sent: number; readonly recv: number };
}

export function summarizePeers(peers: readonly PeerDetail[], ownHeight: number | undefined): PeerSummary {
  const versions = new Map<string, number>();
  const pings: number[] = [];
  const sentPerMsg: Record<string, number> = Object.create(null) as Record<string, number>;
  const recvPerMsg: Record<string, number> = Object.create(null) as Record<string, number>;
  let inbound = 0;
  let maxBlocks: number | null = null;
  let maxHeaders: number | null = null;
  let ahead = 0;
  let sent = 0;
  let recv = 0;
  for (const p of peers) {
    if (p.inbound) inbound++;
    const subver = typeof p.subver === 'string' && p.subver !== '' ? p.subver.slice(0, 100) : '(unknown)';
    versions.set(subver, (versions.get(subver) ?? 0) + 1);
    if (typeof p.pingTime === 'number' && p.pingTime >= 0) pings.push(Math.round(p.pingTime * 1_000_000) / 1000);
    if (typeof p.syncedBlocks === 'number' && p.syncedBlocks >= 0) maxBlocks = Math.max(maxBlocks ?? 0, p.syncedBlocks);
    if (typeof p.syncedHeaders === 'number' && p.syncedHeaders >= 0) {
      maxHeaders = Math.max(maxHeaders ?? 0, p.syncedHeaders);
      if (ownHeight !== undefined && p.syncedHeaders > ownHeight) ahead++;
    }
    sent += isCount(p.bytesSent) ? p.bytesSent : 0;
    recv += isCount(p.bytesRecv) ? p.bytesRecv : 0;
    addAll(sentPerMsg, p.bytesSentPerMsg);
    addAll(recvPerMsg, p.bytesRecvPerMsg);
  }
  return {
    total: peers.length,
    inbound,
    outbound: peers.length - inbound,
    versions: [...versions]
      .map(([subver, count]) => ({ subver, count }))
      .sort((a, b) => b.count - a.count || (a.subver < b.subver ? -1 : 1)),
    pingMs: spread(pings),
    heights: {
      maxSyncedBlocks: maxBlocks,
      maxSyncedHeaders: maxHeaders,
      peersAhead: ownHeight === undefined ? null : ahead,
    },
    bytesPerMessage: { sent: sortedByValue(sentPerMsg), recv: sortedByValue(recvPerMsg) },
    bytes: { sent, recv },
  };
}

function addAll(into: Record<string, number>, from: Readonly<Record<string, number>> | undefined): void {
  if (!from || typeof from !== 'object') return;
  for (const [k, v] of Object.entries(from)) if (isCount(v)) into[k] = (into[k] ?? 0) + v;
}

/** Largest first, as a plain object (insertion order is kept by JSON). */
function sortedByValue(rec: Record<string, number>): Record<string, number> {
  // Null prototype: message type names come from the node (`__proto__` must stay a plain key).
  const out = Object.create(null) as Record<string, number>;
  for (const [k, v] of Object.entries(rec).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))) out[k] = v;
  return out;
}
