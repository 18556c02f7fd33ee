import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import type { SimNodeSpec } from '../../src/simulator/sim-node-spec.js';
import { Simulator } from '../../src/simulator/simulator.js';
import { freePort, RedisServer } from '../support/redis-server.js';
import { until } from '../support/wait.js';

// Debian's prometheus scraping two real nodesentry processes (the built CLI) over the simulator
// and a real Redis, with deploy/prometheus/alerts.yml loaded: every Grafana panel query must
// evaluate and return data, every alert rule must evaluate without error and over metrics that
// exist, and the alerts the fleet's faults call for must go pending. Then Redis is stopped and
// the store alert's expression must see it.

const CLI = resolve('dist/cli.js');
const SPECS: SimNodeSpec[] = [
  { id: 'bsc-1', kind: 'bsc' },
  { id: 'bsc-2', kind: 'bsc' },
  // Down from the start: node-down, probe failures by code.
  { id: 'bsc-bad', kind: 'bsc', fault: { type: 'unauthorized' } },
  { id: 'dfi-1', kind: 'defid' },
  // The only PAI node, down: a chain with no usable node.
  { id: 'pai-1', kind: 'paicoind', fault: { type: 'unauthorized' } },
];
const CHAIN_OF: Record<SimNodeSpec['kind'], string> = { bsc: 'bsc', defid: 'defichain', paicoind: 'pai', bitcoind: 'bitcoin' };

interface Rule {
  alert: string;
  expr: string;
}
interface Target {
  expr: string;
}
interface Panel {
  title: string;
  type: string;
  targets?: Target[];
}

let sim: Simulator;
let redis: RedisServer;
let dir: string;
let promUrl = '';
const apis: string[] = [];
const children: ChildProcess[] = [];

function startChild(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): ChildProcess {
  const child = spawn(cmd, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => {
    if (err.length < 20_000) err += d;
  });
  child.once('exit', (code, signal) => {
    if (code !== 0 && code !== null && signal === null) process.stderr.write(`${cmd} exited ${code}: ${err.slice(-2000)}\n`);
  });
  children.push(child);
  return child;
}

async function query(expr: string): Promise<{ status: string; error?: string; data?: { resultType: string; result: Array<{ metric: Record<string, string>; value: [number, string] }> } }> {
  const r = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
  return (await r.json()) as never;
}

/** Grafana's variables as a dashboard with "All" chains sends them. */
const grafana = (expr: string) => expr.replaceAll('$__rate_interval', '15s').replaceAll('$chain', '.*');

beforeAll(async () => {
  sim = await Simulator.start({ nodes: SPECS, authDelayMs: 5 });
  redis = await RedisServer.start();
  dir = mkdtempSync(join(tmpdir(), 'nodesentry-prom-'));
  const config = join(dir, 'nodes.yaml');
  const lines = ['defaults:', '  intervalMs: 500', '  timeoutMs: 300', 'nodes:'];
  for (const s of SPECS) lines.push(`  - id: ${s.id}`, `    chain: ${CHAIN_OF[s.kind]}`, `    url: ${sim.url(s.id)}`);
  writeFileSync(config, `${lines.join('\n')}\n`);

  // Two replicas sharing one Redis: leases split between them, both serve /metrics.
  const ports = [await freePort(), await freePort()];
  for (const port of ports) {
    startChild(process.execPath, [CLI, 'serve', '--config', config], { ...process.env, REDIS_URL: redis.url, NODESENTRY_REDIS_PREFIX: 'prom', PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn' });
    apis.push(`http://127.0.0.1:${port}`);
  }

  const promPort = await freePort();
  promUrl = `http://127.0.0.1:${promPort}`;
  writeFileSync(
    join(dir, 'prometheus.yml'),
    [
      'global:',
      '  scrape_interval: 1s',
      '  evaluation_interval: 1s',
      'rule_files:',
      `  - ${resolve('deploy/prometheus/alerts.yml')}`,
      'scrape_configs:',
      '  - job_name: nodesentry',
      '    static_configs:',
      `      - targets: [${ports.map((p) => `'127.0.0.1:${p}'`).join(', ')}]`,
      '',
    ].join('\n'),
  );
  startChild('prometheus', [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${promPort}`, '--log.level=warn']);

  await until(async () => (await fetch(`${promUrl}/-/ready`).catch(() => undefined))?.ok === true, 20_000, 'prometheus ready');
  // Both replicas scraped, and the faults judged (bsc-bad unhealthy) somewhere in Prometheus.
  await until(async () => (await query('sum(up{job="nodesentry"})')).data?.result[0]?.value[1] === '2', 20_000, 'both targets up');
  // Some API traffic of our own, so the request panels have rates.
  for (let i = 0; i < 5; i++) for (const api of apis) await Promise.all(['/v1/chains', '/v1/nodes', '/probe/nodes/bsc-1', '/livez'].map((p) => fetch(api + p).then((r) => r.arrayBuffer())));
  await until(async () => ((await query('max(nodesentry_node_up{node="bsc-bad"}) == 0 and max(nodesentry_node_up{node="bsc-1"}) == 1')).data?.result.length ?? 0) > 0, 20_000, 'faults judged');
}, 90_000);

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await Promise.all(children.map((c) => (c.exitCode === null && c.signalCode === null ? new Promise((r) => c.once('exit', r)) : undefined)));
  await sim?.close();
  await redis?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('deploy/ against a real Prometheus', () => {
  it('when Grafana asks each dashboard panel query, then Prometheus evaluates it and returns data', async () => {
    const dash = JSON.parse(readFileSync(resolve('deploy/grafana/nodesentry-dashboard.json'), 'utf8')) as { panels: Panel[] };
    const exprs = dash.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: grafana(t.expr) })));
    expect(exprs.length).toBeGreaterThanOrEqual(20);
    // Rates need a few scrapes: retry the empty ones for a while, then report all that stay empty.
    let empty: string[] = [];
    await until(
      async () => {
        empty = [];
        for (const { panel, expr } of exprs) {
          const r = await query(expr);
          if (r.status !== 'success') throw new Error(`panel "${panel}": ${expr}: ${r.error}`);
          if ((r.data?.result.length ?? 0) === 0) empty.push(`${panel}: ${expr}`);
        }
        return empty.length === 0;
      },
      30_000,
      'every panel query returning data',
    ).catch(() => undefined);
    expect(empty).toEqual([]);
    // The chain variable's own query.
    const chains = (await query('group by (chain) (nodesentry_chain_usable_nodes)')).data!.result.map((r) => r.metric.chain).sort();
    expect(chains).toEqual(['bsc', 'defichain', 'pai']);
  });

  it('when the rules are loaded, then each alert evaluates without error over metrics that exist, and the fleet\'s faults are pending', async () => {
    const rules = (parse(readFileSync(resolve('deploy/prometheus/alerts.yml'), 'utf8')) as { groups: Array<{ rules: Rule[] }> }).groups.flatMap((g) => g.rules);
    // Every metric an alert reads exists in Prometheus (a misspelt metric would never fire).
    for (const rule of rules) {
      const names = [...new Set(rule.expr.match(/\bnodesentry_[a-z_]+/g) ?? [])];
      expect(names.length).toBeGreaterThan(0);
      for (const name of names) {
        const r = await query(`count(${name})`);
        expect({ alert: rule.alert, name, status: r.status, present: (r.data?.result.length ?? 0) > 0 }).toEqual({ alert: rule.alert, name, status: 'success', present: true });
      }
      expect({ alert: rule.alert, status: (await query(rule.expr)).status }).toEqual({ alert: rule.alert, status: 'success' });
    }
    // Prometheus' own rule evaluation: every rule evaluated, none failing.
    await until(
      async () => {
        const body = (await (await fetch(`${promUrl}/api/v1/rules`)).json()) as { data: { groups: Array<{ rules: Array<{ name: string; health: string; lastEvaluation: string }> }> } };
        const loaded = body.data.groups.flatMap((g) => g.rules);
        return loaded.length === rules.length && loaded.every((r) => r.health === 'ok' && !r.lastEvaluation.startsWith('0001'));
      },
      10_000,
      'every rule evaluated healthy',
    );
    // The faults in the fleet: bsc-bad down, pai without a usable node. Pending (their `for` has not passed yet), one alert each.
    await until(
      async () => {
        const body = (await (await fetch(`${promUrl}/api/v1/alerts`)).json()) as { data: { alerts: Array<{ labels: Record<string, string>; state: string }> } };
        const active = body.data.alerts.map((a) => `${a.labels.alertname} ${a.labels.node ?? a.labels.chain ?? ''}`).sort();
        return active.includes('NodesentryNodeDown bsc-bad') && active.includes('NodesentryNodeDown pai-1') && active.includes('NodesentryChainNoUsableNode pai') && !active.some((a) => /bsc-1|bsc-2|dfi-1|NoUsableNode (bsc|defichain)/.test(a));
      },
      15_000,
      'node-down and no-usable-node alerts pending for the faulty nodes only',
    );
  });

  it('when Redis stops, then the store alert\'s expression sees every replica disconnected', async () => {
    const rule = (parse(readFileSync(resolve('deploy/prometheus/alerts.yml'), 'utf8')) as { groups: Array<{ rules: Rule[] }> }).groups.flatMap((g) => g.rules).find((r) => r.alert === 'NodesentryStoreUnreachable')!;
    expect((await query(rule.expr)).data!.result).toEqual([]);
    await redis.stop();
    await until(async () => ((await query(rule.expr)).data?.result.length ?? 0) === 2, 20_000, 'both replicas seen disconnected');
  });
});
