// The fleet as a terminal table (`nodesentry demo`): one line per node, its state and why.
import type { NodeConfig } from '../config/node-config.js';
import { columnWidths } from './column-widths.js';
import { type HealthPolicy, policyForChain } from '../health/policy.js';
import { effectiveOf } from '../view/effective-node.js';
import type { FleetView } from '../view/fleet-view.js';

/** The fleet as an operator reads it in a terminal: one line per node, state and why. */
export function formatFleetTable(
  view: FleetView,
  nodes: ReadonlyMap<string, NodeConfig>,
  policy: HealthPolicy,
  now: number,
): string {
  const header = ['NODE', 'CHAIN', 'TIER', 'STATE', 'SCORE', 'PEERS', 'HEIGHT', 'LAG', 'LATENCY', 'REASONS'];
  const rows: string[][] = [];
  const sorted = [...nodes.values()].sort(
    (a, b) => a.chain.name.localeCompare(b.chain.name) || a.tier - b.tier || a.id.localeCompare(b.id),
  );
  for (const node of sorted) {
    const record = view.get(node.id);
    const verdict = record?.health;
    const health = effectiveOf(
      record,
      node,
      view.drain(node.id) !== undefined,
      now,
      policyForChain(policy, node.chain.name),
    );
    const s = record?.sample;
    const lag = health.latest?.lag;
    rows.push([
      node.id,
      node.chain.name,
      String(node.tier),
      health.state,
      verdict ? verdict.score.total.toFixed(2) : '-',
      s?.peers
        ? s.peers.inbound !== undefined
          ? `${s.peers.total} (${s.peers.inbound}/${s.peers.outbound})`
          : String(s.peers.total)
        : '-',
      s?.height !== undefined ? String(s.height) : '-',
      lag ? `${lag.blocks}b` : '-',
      s ? `${Math.round(s.latencyMs)}ms` : '-',
      health.reasons.map((r) => r.text).join(', ') || '-',
    ]);
  }
  const widths = columnWidths(header, rows);
  const lines = [header, ...rows].map((r) =>
    r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  '),
  );
  const chains = [...new Set(sorted.map((n) => n.chain.name))].map((c) => {
    const report = view.chainFacts(c)?.facts;
    const sel = report?.selection;
    const best = sel
      ? sel.nodeId
        ? `${sel.nodeId}${sel.degradedChoice ? ' (fail-open, degraded)' : ''}`
        : `none (${sel.mode})`
      : 'not ranked yet';
    return `${c}: best ${best}${report?.reference.height != null ? `, head ${report.reference.height}` : ''}`;
  });
  return `${lines.join('\n')}\n\n${chains.join('\n')}`;
}
