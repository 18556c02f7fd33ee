import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { request } from 'undici';
import { createApp } from '../src/api/app.js';
import { loadSettings } from '../src/config/settings.js';
import { DEFAULT_HEALTH_POLICY } from '../src/health/policy.js';
import { Service } from '../src/service.js';
import type { SimNodeSpec } from '../src/simulator/sim-node-spec.js';
import { MemoryStore } from '../src/store/memory-store.js';
import { childOptions, failStart, serveParent } from './child-process.js';
import { remoteFleet } from './remote-fleet.js';

/** How a node of the timeline fails, for the whole run. */
export type FailureKind = 'refused' | 'hang' | 'peers0' | 'lag' | 'wrong-chain' | 'syncing';

export interface TimelineWorkerOptions {
  readonly simPort: number;
  readonly urls: Record<string, string>;
  readonly specs: readonly SimNodeSpec[];
  /** Nodes that fail one way from the start of the run to its end. */
  readonly failing: ReadonlyArray<{ readonly id: string; readonly kind: FailureKind }>;
  /** Nodes that go down (port closed) for `downMs`, up for `upMs`, again and again, from `offsetMs`. */
  readonly outages: ReadonlyArray<{
    readonly id: string;
    readonly downMs: number;
    readonly upMs: number;
    readonly offsetMs: number;
  }>;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly durationMs: number;
  /** How often the worker reads every watched node's state, ms. */
  readonly pollMs: number;
}

export interface FailingResult {
  readonly id: string;
  readonly kind: FailureKind;
  readonly observations: number;
  readonly unknown: number;
  /** Reason codes seen first in the node's reasons (e.g. connection_refused), with counts. */
  readonly reasons: Record<string, number>;
  readonly historyPoints: number;
  /** Largest gap between two history points during the run, ms. */
  readonly maxGapMs: number;
  /** What the gap may be: one interval (answering) or one back-off step plus timeout (silent), with jitter. */
  readonly allowedGapMs: number;
}

export interface OutageResult {
  readonly id: string;
  readonly downMs: number;
  /** Per outage: ms from the node answering again (its port open) to /probe/nodes/:id 200. */
  readonly recoveriesMs: readonly (number | null)[];
  /** Observations of the node while down, and how many of them said unknown. */
  readonly downObservations: number;
  readonly downUnknown: number;
}

export interface TimelineRun {
  readonly durationMs: number;
  readonly settleMs: number;
  readonly failing: readonly FailingResult[];
  readonly outages: readonly OutageResult[];
}

/**
 * Section 4: one service at its defaults (interval, timeout, fast re-check, back-off), a fleet
 * on a simulator in its own process where some nodes fail in each way for the whole run and
 * others go down and come back, over and over. The worker reads what a client would see.
 */
async function main(): Promise<void> {
  const o = childOptions<TimelineWorkerOptions>();
  const logger = pino({ level: 'error' }, pino.destination(2));
  const settings = loadSettings({ PORT: '0' });
  const nodes = remoteFleet(o.specs, (id) => o.urls[id]!, { intervalMs: o.intervalMs, timeoutMs: o.timeoutMs });
  const service = await Service.start({
    settings,
    nodes,
    policy: DEFAULT_HEALTH_POLICY,
    logger,
    store: new MemoryStore(),
  });
  const { app, close: closeApp } = createApp({ service, logger });
  const server: Server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const close = async () => {
    closeApp();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
    await service.close();
  };
  serveParent({ nodes: nodes.length }, { run: () => run(o, service, origin, settings.maxBackoffMs) }, close);
}

async function run(
  o: TimelineWorkerOptions,
  service: Service,
  origin: string,
  maxBackoffMs: number,
): Promise<TimelineRun> {
  const settleStarted = performance.now();
  const ids = o.specs.map((s) => s.id);
  await waitFor(
    async () =>
      (await Promise.all(ids.map(async (id) => (await nodeJson(origin, id)).state))).every((s) => s === 'healthy')
        ? true
        : undefined,
    60_000,
    100,
  );
  const settleMs = performance.now() - settleStarted;

  const start = Date.now();
  const end = start + o.durationMs;
  for (const f of o.failing) await breakNode(o.simPort, f.id, f.kind);

  const watched = new Map<string, { observations: number; unknown: number; reasons: Record<string, number> }>();
  for (const f of o.failing) watched.set(f.id, { observations: 0, unknown: 0, reasons: {} });
  const outageState = new Map<
    string,
    { down: boolean; downObservations: number; downUnknown: number; recoveries: (number | null)[] }
  >();
  for (const x of o.outages)
    outageState.set(x.id, { down: false, downObservations: 0, downUnknown: 0, recoveries: [] });

  const watcher = (async () => {
    while (Date.now() < end) {
      await Promise.all([
        ...o.failing.map(async (f) => {
          const n = await nodeJson(origin, f.id).catch(() => undefined);
          if (!n) return;
          const w = watched.get(f.id)!;
          w.observations++;
          if (n.state === 'unknown') w.unknown++;
          const code = n.reasons[0]?.code ?? '(none)';
          w.reasons[code] = (w.reasons[code] ?? 0) + 1;
        }),
        ...o.outages.map(async (x) => {
          const st = outageState.get(x.id)!;
          if (!st.down) return;
          const n = await nodeJson(origin, x.id).catch(() => undefined);
          if (!n || !st.down) return;
          st.downObservations++;
          if (n.state === 'unknown') st.downUnknown++;
        }),
      ]);
      await sleep(o.pollMs);
    }
  })();

  const cycles = o.outages.map(async (x) => {
    const st = outageState.get(x.id)!;
    await sleep(x.offsetMs);
    while (Date.now() + x.downMs < end) {
      await sim(o.simPort, 'POST', `${x.id}/stop`);
      st.down = true;
      await sleep(x.downMs);
      await sim(o.simPort, 'POST', `${x.id}/start`);
      const up = performance.now();
      st.down = false;
      // What a load balancer checking the node sees: the first 200 after it answers again.
      const took = await waitFor(
        async () => ((await probeStatus(origin, x.id)) === 200 ? performance.now() - up : undefined),
        60_000,
        25,
      ).catch(() => null);
      st.recoveries.push(took);
      await sleep(Math.max(0, x.upMs - (performance.now() - up)));
    }
  });
  await Promise.all([watcher, ...cycles]);

  const failing: FailingResult[] = [];
  for (const f of o.failing) {
    const w = watched.get(f.id)!;
    const points = (await service.store.getHistory(f.id, 10_000))
      .map((p) => p.t)
      .filter((t) => t >= start + 5_000 && t <= end)
      .sort((a, b) => a - b);
    const gaps = points.slice(1).map((t, i) => t - points[i]!);
    const silent = f.kind === 'refused' || f.kind === 'hang';
    const stepMs = silent
      ? Math.max(o.intervalMs, maxBackoffMs) + (f.kind === 'hang' ? o.timeoutMs : 0)
      : o.intervalMs * 1.1;
    failing.push({
      id: f.id,
      kind: f.kind,
      observations: w.observations,
      unknown: w.unknown,
      reasons: w.reasons,
      historyPoints: points.length,
      maxGapMs: gaps.length > 0 ? Math.max(...gaps) : Infinity,
      allowedGapMs: stepMs + 500,
    });
  }
  const outages: OutageResult[] = o.outages.map((x) => {
    const st = outageState.get(x.id)!;
    return {
      id: x.id,
      downMs: x.downMs,
      recoveriesMs: st.recoveries,
      downObservations: st.downObservations,
      downUnknown: st.downUnknown,
    };
  });
  return { durationMs: Date.now() - start, settleMs, failing, outages };
}

async function breakNode(simPort: number, id: string, kind: FailureKind): Promise<void> {
  switch (kind) {
    case 'refused':
      return sim(simPort, 'POST', `${id}/stop`);
    case 'hang':
      return sim(simPort, 'PUT', `${id}/fault`, { type: 'hang' });
    case 'peers0':
      return sim(simPort, 'PUT', `${id}/peers`, { inbound: 0, outbound: 0 });
    case 'wrong-chain':
      return sim(simPort, 'PUT', `${id}/fault`, { type: 'wrong-chain' });
    case 'syncing':
      return sim(simPort, 'PUT', `${id}/fault`, { type: 'syncing', behindBlocks: 500 });
    case 'lag': {
      const res = await request(`http://127.0.0.1:${simPort}/_sim/nodes/${encodeURIComponent(id)}`);
      const { height } = (await res.body.json()) as { height: number };
      // 200 BSC blocks (2.5 min) behind its peers, and it stays there.
      return sim(simPort, 'PUT', `${id}/height`, { height: height - 200 });
    }
  }
}

async function sim(simPort: number, method: 'POST' | 'PUT', path: string, body?: unknown): Promise<void> {
  const res = await request(`http://127.0.0.1:${simPort}/_sim/nodes/${path}`, {
    method,
    ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
  });
  await res.body.dump();
  if (res.statusCode !== 204) throw new Error(`simulator ${method} ${path}: HTTP ${res.statusCode}`);
}

async function nodeJson(origin: string, id: string): Promise<{ state: string; reasons: Array<{ code: string }> }> {
  const res = await request(`${origin}/v1/nodes/${id}`);
  return (await res.body.json()) as { state: string; reasons: Array<{ code: string }> };
}

async function probeStatus(origin: string, id: string): Promise<number> {
  const res = await request(`${origin}/probe/nodes/${id}`);
  await res.body.dump();
  return res.statusCode;
}

async function waitFor<T>(check: () => Promise<T | undefined>, timeoutMs: number, pollMs: number): Promise<T> {
  const until = performance.now() + timeoutMs;
  for (;;) {
    const v = await check().catch(() => undefined);
    if (v !== undefined) return v;
    if (performance.now() > until) throw new Error(`not within ${timeoutMs} ms`);
    await sleep(pollMs);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

main().catch(failStart);
