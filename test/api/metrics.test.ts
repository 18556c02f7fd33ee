import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import request from 'supertest';
import { createApp } from '../../src/api/app.js';
import { startHarness, type Harness } from '../support/api-harness.js';

const KEY = 'metrics-key-0123456789';
const NODE_PASSWORD = 'n0de-Pa55word';

interface Series {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly value: number;
}

/** Prometheus text format 0.0.4, enough of it for these tests. */
function parseMetrics(text: string): Series[] {
  const out: Series[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`unparsable metrics line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

describe('/metrics', () => {
  let h: Harness;
  let skewMs = 0;
  beforeAll(async () => {
    h = await startHarness({
      store: 'redis',
      specs: [
        { id: 'bsc-ok', kind: 'bsc', auth: { username: 'rpc', password: NODE_PASSWORD } },
        { id: 'bsc-few-peers', kind: 'bsc', peers: { inbound: 2, outbound: 2 } },
        { id: 'bsc-bad-auth', kind: 'bsc', fault: { type: 'unauthorized' } },
        { id: 'dfi-ok', kind: 'defid' },
      ],
      env: { NODESENTRY_API_KEY: KEY },
      now: () => Date.now() + skewMs,
    });
    await h.sweep();
    const drain = { nodeId: 'dfi-ok', by: 'test', at: Date.now() };
    await h.service.store.setDrain('dfi-ok', drain);
    h.service.view.setDrain('dfi-ok', drain);
  });
  afterAll(() => h.close());
  afterEach(() => {
    skewMs = 0;
  });

  const scrape = async (): Promise<{ text: string; series: Series[] }> => {
    const r = await request(h.app).get('/metrics').set('authorization', `Bearer ${KEY}`).expect(200);
    expect(r.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    return { text: r.text, series: parseMetrics(r.text) };
  };
  const one = (series: Series[], name: string, labels: Record<string, string>): number | undefined => {
    const found = series.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
    expect(found.length).toBeLessThanOrEqual(1);
    return found[0]?.value;
  };

  it('when the API key is set, then /metrics needs it', async () => {
    await request(h.app).get('/metrics').expect(401);
  });

  it('when scraped, then each node has exactly one current state, matching its probe', async () => {
    const { series } = await scrape();
    for (const [node, state, up] of [
      ['bsc-ok', 'healthy', 1],
      ['bsc-few-peers', 'degraded', 1],
      ['bsc-bad-auth', 'unhealthy', 0],
      ['dfi-ok', 'maintenance', 0],
    ] as const) {
      const states = series.filter((s) => s.name === 'nodesentry_node_state' && s.labels.node === node);
      expect(states).toHaveLength(5);
      expect(states.filter((s) => s.value === 1).map((s) => s.labels.state)).toEqual([state]);
      expect(one(series, 'nodesentry_node_up', { node })).toBe(up);
      const probe = await request(h.app).get(`/probe/nodes/${node}`);
      expect(probe.headers['x-nodesentry-state']).toBe(state);
    }
    expect(one(series, 'nodesentry_node_drained', { node: 'dfi-ok' })).toBe(1);
    expect(one(series, 'nodesentry_node_drained', { node: 'bsc-ok' })).toBe(0);
  });

  it('when scraped, then sample values match the view', async () => {
    const { series } = await scrape();
    expect(one(series, 'nodesentry_node_peers', { node: 'bsc-few-peers' })).toBe(4);
    // net_peerCount has no direction; Bitcoin-family nodes say both (a drained node is still sampled).
    expect(
      one(series, 'nodesentry_node_peers_by_direction', { node: 'bsc-few-peers', direction: 'inbound' }),
    ).toBeUndefined();
    expect(one(series, 'nodesentry_node_peers_by_direction', { node: 'dfi-ok', direction: 'inbound' })).toBe(8);
    expect(one(series, 'nodesentry_node_peers_by_direction', { node: 'dfi-ok', direction: 'outbound' })).toBe(10);
    expect(one(series, 'nodesentry_node_peers', { node: 'dfi-ok' })).toBe(18);
    // No "total" direction beside the split: summing over directions counts each peer once.
    expect(
      series.filter((s) => s.labels.direction !== undefined && !['inbound', 'outbound'].includes(s.labels.direction)),
    ).toEqual([]);
    const split = series
      .filter((s) => s.name === 'nodesentry_node_peers_by_direction' && s.labels.node === 'dfi-ok')
      .reduce((a, s) => a + s.value, 0);
    expect(split).toBe(one(series, 'nodesentry_node_peers', { node: 'dfi-ok' }));
    // A failed probe reports no peers: nothing is made up.
    expect(one(series, 'nodesentry_node_peers', { node: 'bsc-bad-auth' })).toBeUndefined();
    const record = h.service.view.get('bsc-ok')!;
    const verdict = record.health!;
    expect(one(series, 'nodesentry_node_height', { node: 'bsc-ok' })).toBe(record.sample.height);
    expect(one(series, 'nodesentry_node_score', { node: 'bsc-ok', chain: 'bsc' })).toBe(verdict.score.total);
    expect(one(series, 'nodesentry_node_lag_blocks', { node: 'bsc-ok' })).toBe(verdict.stats.lagBlocks);
    expect(one(series, 'nodesentry_node_latency_seconds', { node: 'bsc-ok' })).toBe(record.sample.latencyMs / 1000);
    expect(one(series, 'nodesentry_node_sample_age_seconds', { node: 'bsc-ok' })).toBeGreaterThanOrEqual(0);

    expect(one(series, 'nodesentry_chain_usable_nodes', { chain: 'bsc' })).toBe(2);
    expect(one(series, 'nodesentry_chain_usable_nodes', { chain: 'defichain' })).toBe(0);
    expect(one(series, 'nodesentry_chain_nodes', { chain: 'bsc', state: 'unhealthy' })).toBe(1);
    const report = h.service.view.chainFacts('bsc')!.facts as {
      reference: { height: number };
      selection: { nodeId: string };
    };
    expect(one(series, 'nodesentry_chain_reference_height', { chain: 'bsc' })).toBe(report.reference.height);
    expect(one(series, 'nodesentry_chain_best', { chain: 'bsc', node: report.selection.nodeId, mode: 'normal' })).toBe(
      1,
    );
    expect(one(series, 'nodesentry_chain_best', { chain: 'defichain', node: '', mode: 'fail-closed' })).toBe(1);

    const stats = h.service.poller!.stats;
    expect(one(series, 'nodesentry_poller_probes_total', {})).toBe(stats.probes);
    expect(one(series, 'nodesentry_poller_flushes_total', {})).toBe(stats.flushes);
    expect(one(series, 'nodesentry_poller_owned_nodes', {})).toBe(stats.owned);
    expect(one(series, 'nodesentry_store_connected', { store: 'redis' })).toBe(1);
  });

  it('when scraped, then probe durations count each probe once, by outcome, and failures by code', async () => {
    const { series } = await scrape();
    // Two sweeps of three BSC nodes (one failing) and one DeFiChain node; Redis echoes our own
    // records back, and they must not be counted twice.
    expect(one(series, 'nodesentry_probe_duration_seconds_count', { chain: 'bsc', outcome: 'ok' })).toBe(4);
    expect(one(series, 'nodesentry_probe_duration_seconds_count', { chain: 'bsc', outcome: 'failed' })).toBe(2);
    expect(one(series, 'nodesentry_probe_duration_seconds_count', { chain: 'defichain', outcome: 'ok' })).toBe(2);
    expect(one(series, 'nodesentry_probe_failures_total', { chain: 'bsc', code: 'RPC_AUTH_FAILED' })).toBe(2);
  });

  it('when scraped, then labels are bounded: config ids, chain names, fixed words; never a URL or a secret', async () => {
    const { text, series } = await scrape();
    const allowed: Record<string, ReadonlySet<string> | null> = {
      node: new Set([...h.nodes.map((n) => n.id), '']),
      chain: new Set(['bsc', 'defichain']),
      state: new Set(['healthy', 'degraded', 'unhealthy', 'unknown', 'maintenance']),
      direction: new Set(['inbound', 'outbound']),
      method: new Set(['GET', 'HEAD', 'OPTIONS', 'POST', 'PUT', 'PATCH', 'DELETE', 'other']),
      route: null,
      status_class: new Set(['1xx', '2xx', '3xx', '4xx', '5xx']),
      version: null,
      commit: null,
      nodejs: null,
      role: new Set(['all', 'worker', 'api']),
      outcome: new Set(['ok', 'failed']),
      mode: new Set(['normal', 'fail-open', 'fail-closed']),
      store: new Set(['memory', 'redis']),
      code: null,
      le: null,
    };
    const ours = series.filter((s) => s.name.startsWith('nodesentry_'));
    expect(ours.length).toBeGreaterThan(40);
    for (const s of ours) {
      for (const [k, v] of Object.entries(s.labels)) {
        expect(Object.keys(allowed)).toContain(k);
        const set = allowed[k];
        if (set) expect(set.has(v)).toBe(true);
        if (k === 'code') expect(v).toMatch(/^(RPC_[A-Z_]+|other)$/);
        // Route templates as express matched them, never a concrete id or query.
        if (k === 'route') expect(v).toMatch(/^(unmatched|\/[a-z0-9/:._-]*)$/);
      }
    }
    expect(text).not.toContain(NODE_PASSWORD);
    expect(text).not.toContain(KEY);
    expect(text).not.toMatch(/https?:\/\//);
    // Process metrics live on this app's registry too.
    expect(text).toContain('process_cpu_user_seconds_total');
  });

  it('when scraped, then build info names this version and commit, once', async () => {
    const { series } = await scrape();
    const info = series.filter((s) => s.name === 'nodesentry_build_info');
    expect(info).toHaveLength(1);
    const pkg = JSON.parse(readFileSync(resolve('package.json'), 'utf8')) as { version: string };
    expect(info[0]).toMatchObject({ value: 1, labels: { version: pkg.version, nodejs: process.version, role: 'all' } });
    expect(info[0]!.labels.commit).toMatch(/^([0-9a-f]{7,40}|unknown)$/);
    const live = (await request(h.app).get('/livez').expect(200)).body;
    expect(live).toMatchObject({ version: pkg.version, commit: info[0]!.labels.commit });
  });

  it('when the API is used, then its requests are counted by route template and status class, with durations', async () => {
    const before = (await scrape()).series;
    const count = (s: Series[], labels: Record<string, string>) =>
      one(s, 'nodesentry_http_request_duration_seconds_count', labels) ?? 0;
    const okNode = { method: 'GET', route: '/v1/nodes/:id', status_class: '2xx' };
    const missing = { method: 'GET', route: '/v1/nodes/:id', status_class: '4xx' };
    const probe = { method: 'HEAD', route: '/probe/nodes/:id', status_class: '2xx' };
    const unmatched = { method: 'GET', route: 'unmatched', status_class: '4xx' };
    for (const id of ['bsc-ok', 'dfi-ok', 'bsc-few-peers'])
      await request(h.app).get(`/v1/nodes/${id}`).set('x-api-key', KEY).expect(200);
    await request(h.app).get('/v1/nodes/no-such-node').set('x-api-key', KEY).expect(404);
    await request(h.app).head('/probe/nodes/bsc-ok').expect(200);
    await request(h.app).get('/no/such/path/123').expect(404);
    const after = (await scrape()).series;
    expect(count(after, okNode) - count(before, okNode)).toBe(3);
    expect(count(after, missing) - count(before, missing)).toBe(1);
    expect(count(after, probe) - count(before, probe)).toBe(1);
    expect(count(after, unmatched) - count(before, unmatched)).toBe(1);
    // Never a concrete id as a route.
    expect(after.some((s) => s.labels.route?.includes('bsc-ok') || s.labels.route?.includes('no-such'))).toBe(false);
    const sum =
      one(after, 'nodesentry_http_request_duration_seconds_sum', okNode)! -
      (one(before, 'nodesentry_http_request_duration_seconds_sum', okNode) ?? 0);
    expect(sum).toBeGreaterThan(0);
    expect(sum).toBeLessThan(30);
  });

  it("when the exposition is checked by Debian's promtool, then it passes: conventional names, types, help", async () => {
    // Use the API first so the request histogram has series too.
    await request(h.app).get('/v1/chains').set('x-api-key', KEY).expect(200);
    const { text } = await scrape();
    const r = await new Promise<{ code: number | null; out: string }>((done, fail) => {
      const p = spawn('promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
      let out = '';
      p.stdout.on('data', (d: Buffer) => (out += d));
      p.stderr.on('data', (d: Buffer) => (out += d));
      p.on('error', fail);
      p.on('close', (code) => done({ code, out }));
      p.stdin.end(text);
    });
    expect(r).toEqual({ code: 0, out: '' });
    // The default collectors' gauges are there, under conventional names.
    expect(text).toContain('# TYPE nodejs_active_handles gauge');
    expect(text).not.toContain('nodejs_active_handles_total');
  });

  it('when every sample is stale, then nodes show unknown and no sample value is repeated as current', async () => {
    skewMs = 60_000;
    const { series } = await scrape();
    expect(one(series, 'nodesentry_node_state', { node: 'bsc-ok', state: 'unknown' })).toBe(1);
    expect(one(series, 'nodesentry_node_up', { node: 'bsc-ok' })).toBe(0);
    expect(one(series, 'nodesentry_node_peers', { node: 'bsc-few-peers' })).toBeUndefined();
    expect(one(series, 'nodesentry_node_score', { node: 'bsc-ok' })).toBeUndefined();
    expect(one(series, 'nodesentry_node_sample_age_seconds', { node: 'bsc-ok' })).toBeGreaterThanOrEqual(60);
    expect(one(series, 'nodesentry_chain_usable_nodes', { chain: 'bsc' })).toBe(0);
  });

  it('when two apps run in one process, then each has its own registry', async () => {
    const second = createApp({ service: h.service });
    try {
      const a = await request(second.app).get('/metrics').set('x-api-key', KEY).expect(200);
      const b = await scrape();
      expect(parseMetrics(a.text).filter((s) => s.name === 'nodesentry_node_up')).toHaveLength(4);
      expect(b.series.filter((s) => s.name === 'nodesentry_node_up')).toHaveLength(4);
    } finally {
      second.close();
    }
  });
});
