// One probe sample as text for the terminal (`nodesentry probe`).
import { genesisLabel } from '../chains/chain-spec.js';
import type { Sample } from '../chains/sample.js';
import { columnWidths } from './column-widths.js';

/** Human-readable rendering of samples for the terminal (the CLI's `--json` prints them raw). */
export function describeSample(s: Sample): Array<[string, string]> {
  const rows: Array<[string, string]> = [
    ['node', s.nodeId],
    ['chain', `${s.chain} (${s.family})`],
    ['status', s.ok ? 'ok' : `${s.error?.code ?? 'error'}: ${s.error?.message ?? ''}`],
    ['latency', `${s.latencyMs.toFixed(1)} ms`],
  ];
  if (s.peers) rows.push(['peers', peersText(s)]);
  if (s.height !== undefined)
    rows.push([
      'height',
      s.headers !== undefined && s.headers !== s.height ? `${s.height} (headers ${s.headers})` : String(s.height),
    ]);
  if (s.syncing !== undefined) rows.push(['syncing', s.syncing ? syncText(s) : 'no']);
  if (s.chainId !== undefined) rows.push(['chain id', `${s.chainId} (0x${s.chainId.toString(16)})`]);
  if (s.networkName !== undefined) rows.push(['network', s.networkName]);
  if (s.genesisHash !== undefined)
    rows.push([
      'genesis',
      genesisLabel(s.genesisHash) === `genesis ${s.genesisHash.slice(0, 12)}...`
        ? s.genesisHash
        : `${s.genesisHash} (${genesisLabel(s.genesisHash)})`,
    ]);
  if (s.tipTime !== undefined)
    rows.push([
      'tip',
      `${new Date(s.tipTime * 1000).toISOString()} (${Math.max(0, Math.round(s.observedAt / 1000 - s.tipTime))} s before the probe)`,
    ]);
  if (s.networkActive !== undefined) rows.push(['p2p active', s.networkActive ? 'yes' : 'NO']);
  if (s.clientVersion !== undefined) rows.push(['client', s.clientVersion]);
  if (s.netTotals)
    rows.push(['traffic', `${fmtBytes(s.netTotals.totalBytesRecv)} in, ${fmtBytes(s.netTotals.totalBytesSent)} out`]);
  if (s.warnings && s.warnings.length > 0) rows.push(['warnings', s.warnings.join('; ')]);
  if (s.missingMethods.length > 0) rows.push(['not offered', s.missingMethods.join(', ')]);
  return rows;
}

/** `lead` rows (e.g. the URL probed) go first, aligned with the sample's. */
export function formatSample(s: Sample, lead: ReadonlyArray<[string, string]> = []): string {
  const rows = [...lead, ...describeSample(s)];
  const w = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n');
}

/** One line per sample, aligned, for fleet views. */
export function formatSampleTable(samples: readonly Sample[]): string {
  const header = ['NODE', 'CHAIN', 'STATUS', 'PEERS', 'HEIGHT', 'SYNC', 'LATENCY', 'CLIENT'];
  const rows = samples.map((s) => [
    s.nodeId,
    s.chain,
    s.ok ? 'ok' : (s.error?.code ?? 'error').replace(/^RPC_/, '').toLowerCase(),
    s.peers ? peersText(s) : '-',
    s.height !== undefined ? String(s.height) : '-',
    s.syncing === undefined ? '-' : s.syncing ? 'syncing' : 'synced',
    `${s.latencyMs.toFixed(1)}ms`,
    (s.clientVersion ?? '-').slice(0, 40),
  ]);
  const widths = columnWidths(header, rows);
  return [header, ...rows]
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

function peersText(s: Sample): string {
  const p = s.peers!;
  return p.inbound !== undefined && p.outbound !== undefined
    ? `${p.total} (${p.inbound} in / ${p.outbound} out)`
    : String(p.total);
}

function syncText(s: Sample): string {
  if (s.syncTarget) return `yes (${s.syncTarget.currentBlock} of ${s.syncTarget.highestBlock})`;
  if (s.verificationProgress !== undefined) return `yes (${(s.verificationProgress * 100).toFixed(2)} % verified)`;
  return 'yes';
}

function fmtBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}
