import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse } from 'yaml';

// deploy/prometheus/alerts.yml checked and unit-tested by Debian's promtool, and the Grafana
// dashboard's shape (its queries are evaluated by a real Prometheus in prometheus-live.test.ts).

const DIR = resolve('deploy/prometheus');

function promtool(...args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((done) => {
    execFile('promtool', args, { cwd: DIR, timeout: 30_000 }, (error, stdout, stderr) => {
      done({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, out: `${stdout}${stderr}` });
    });
  });
}

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}
const rules = (parse(readFileSync(resolve(DIR, 'alerts.yml'), 'utf8')) as { groups: Array<{ rules: Rule[] }> }).groups.flatMap((g) => g.rules);

describe('deploy/prometheus alert rules', () => {
  it('when checked by promtool, then they are valid rules', async () => {
    const r = await promtool('check', 'rules', 'alerts.yml');
    expect(r.out).toContain(`SUCCESS: ${rules.length} rules found`);
    expect(r.code).toBe(0);
  });

  it('when unit-tested by promtool, then every case passes', async () => {
    const r = await promtool('test', 'rules', 'alerts.test.yml');
    expect(r.out).toContain('SUCCESS');
    expect(r.code).toBe(0);
  });

  it('covers what the issue asks for, each alert with a severity and a summary, and each tested firing', () => {
    const names = rules.map((r) => r.alert).sort();
    expect(names).toEqual(['NodesentryBestNodeFlapping', 'NodesentryChainNoUsableNode', 'NodesentryLeaseChurn', 'NodesentryNodeDown', 'NodesentryStaleData', 'NodesentryStoreUnreachable']);
    for (const r of rules) {
      expect(['warning', 'critical']).toContain(r.labels.severity);
      expect(r.annotations.summary).toBeTruthy();
    }
    const tests = parse(readFileSync(resolve(DIR, 'alerts.test.yml'), 'utf8')) as { tests: Array<{ alert_rule_test: Array<{ alertname: string; exp_alerts: unknown[] }> }> };
    const cases = tests.tests.flatMap((t) => t.alert_rule_test);
    for (const name of names) {
      // Each alert fires in some case and stays quiet in another: a rule that never or always fires is not tested.
      expect({ name, fires: cases.some((c) => c.alertname === name && c.exp_alerts.length > 0) }).toEqual({ name, fires: true });
      expect({ name, quiet: cases.some((c) => c.alertname === name && c.exp_alerts.length === 0) }).toEqual({ name, quiet: true });
    }
  });
});

describe('deploy/grafana dashboard', () => {
  const dash = JSON.parse(readFileSync(resolve('deploy/grafana/nodesentry-dashboard.json'), 'utf8')) as {
    uid: string;
    panels: Array<{ id: number; type: string; title: string; gridPos: { x: number; y: number; w: number; h: number }; targets?: Array<{ expr: string; datasource: { uid: string } }> }>;
    templating: { list: Array<{ name: string }> };
  };

  it('has unique panel ids on the 24-column grid, each non-row panel with a query on the chosen data source', () => {
    expect(dash.uid).toBe('nodesentry');
    expect(new Set(dash.panels.map((p) => p.id)).size).toBe(dash.panels.length);
    expect(dash.templating.list.map((v) => v.name)).toEqual(['datasource', 'chain']);
    const panels = dash.panels.filter((p) => p.type !== 'row');
    expect(panels.length).toBeGreaterThanOrEqual(15);
    for (const p of panels) {
      expect(p.gridPos.x + p.gridPos.w).toBeLessThanOrEqual(24);
      expect(p.targets?.length).toBeGreaterThan(0);
      for (const t of p.targets!) {
        expect(t.datasource.uid).toBe('${datasource}');
        expect(t.expr).toMatch(/nodesentry_|nodejs_|process_/);
      }
    }
    // The chart: a chain's reference head and each node's lag.
    const exprs = panels.flatMap((p) => p.targets!.map((t) => t.expr)).join('\n');
    expect(exprs).toContain('nodesentry_chain_reference_height');
    expect(exprs).toContain('nodesentry_node_lag_blocks');
    expect(exprs).toContain('nodesentry_http_request_duration_seconds');
  });

  it('has no two panels overlapping', () => {
    const boxes = dash.panels.map((p) => p.gridPos);
    for (let i = 0; i < boxes.length; i++) {
      for (let j = i + 1; j < boxes.length; j++) {
        const a = boxes[i]!;
        const b = boxes[j]!;
        const overlap = a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
        expect({ a: dash.panels[i]!.title, b: dash.panels[j]!.title, overlap }).toEqual({ a: dash.panels[i]!.title, b: dash.panels[j]!.title, overlap: false });
      }
    }
  });
});
