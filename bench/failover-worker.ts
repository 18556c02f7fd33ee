import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { request } from 'undici';
import { createApp } from '../src/api/app.js';
import { ReadModel } from '../src/read/read-model.js';
import { loadSettings } from '../src/config/settings.js';
import { DEFAULT_HEALTH_POLICY } from '../src/health/policy.js';
import { Service } from '../src/service.js';
import type { SimNodeSpec } from '../src/simulator/sim-node-spec.js';
import { MemoryStore } from '../src/store/memory-store.js';
import { childOptions, failStart, serveParent } from './child-process.js';
import { remoteFleet } from './remote-fleet.js';

export interface FailoverWorkerOptions {
  readonly simPort: number;
  readonly urls: Record<string, string>;
  /** One fleet per trial, every node of it on one chain. */
  readonly fleets: ReadonlyArray<readonly SimNodeSpec[]>;
  /** How each trial's chosen node fails: `kill` closes its port (refused), `hang` reads requests and never answers (timeout). */
  readonly failures: ReadonlyArray<'kill' | 'hang'>;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  /** How often the worker looks at the answers, ms. */
  readonly pollMs: number;
}

export interface TrialResult {
  readonly failure: 'kill' | 'hang';
  readonly killed: string;
  /** ms from the kill until the chain's selection named another node (undefined: never, within the deadline). */
  readonly selectionMs?: number;
  /** ms until the killed node's probe said down. */
  readonly downMs?: number;
  /** ms until both held: the failover time. */
  readonly failoverMs?: number;
  readonly newNode?: string;
}

export interface FailoverRun {
  readonly trials: TrialResult[];
  /** How long a trial is watched before it counts as "never", ms. */
  readonly boundMs: number;
  /** `http`: read through the probe routes; `in-process`: the routes were missing, read from the read model. */
  readonly via: 'http' | 'in-process';
  readonly settleMs: number;
}

interface Trial {
  readonly chain: string;
  readonly service: Service;
  readonly read: ReadModel;
  readonly server: Server;
  readonly origin: string;
  readonly close: () => Promise<void>;
}

/**
 * Section 3: independent services, each with its own small fleet and store, all polling at
 * once with the node timing under test. Once each has chosen a healthy node, that node is
 * killed (its port closed) at a random moment within one poll interval, and the worker
 * watches what a client would see: the chain's best node and the killed node's probe.
 */
async function main(): Promise<void> {
  const o = childOptions<FailoverWorkerOptions>();
  const logger = pino({ level: 'error' }, pino.destination(2));
  const settings = loadSettings({ PORT: '0' });
  const trials: Trial[] = [];
  const closeAll = async () => {
    await Promise.all(trials.map((t) => t.close()));
  };
  try {
    for (const fleet of o.fleets) {
      const nodes = remoteFleet(fleet, (id) => o.urls[id]!, { intervalMs: o.intervalMs, timeoutMs: o.timeoutMs });
      const service = await Service.start({
        settings,
        nodes,
        policy: DEFAULT_HEALTH_POLICY,
        logger,
        store: new MemoryStore(),
      });
      const { app, close: closeApp } = createApp({ service, logger });
      const server = createServer(app);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
      const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      trials.push({
        chain: nodes[0]!.chain.name,
        service,
        read: new ReadModel(service),
        server,
        origin,
        close: async () => {
          closeApp();
          await new Promise<void>((resolve) => {
            server.close(() => resolve());
            server.closeAllConnections();
          });
          await service.close();
        },
      });
    }
  } catch (err) {
    await closeAll();
    throw err;
  }
  serveParent({ trials: trials.length }, { run: () => run(o, trials) }, closeAll);
}

async function run(o: FailoverWorkerOptions, trials: readonly Trial[]): Promise<FailoverRun> {
  // Watched for far longer than the targets (2 s / 4 s killed, 8 s / 12 s hung) so a slow
  // failover is measured, not cut off.
  const boundMs = 3 * (o.intervalMs + DEFAULT_HEALTH_POLICY.failAfter * o.timeoutMs);
  const settleStarted = performance.now();
  // Every fleet must have a healthy choice before anything is killed.
  const chosen = await Promise.all(trials.map((t) => waitFor(() => settled(t), 20 * o.intervalMs, o.pollMs)));
  const settleMs = performance.now() - settleStarted;
  const via = (await routesPresent(trials[0]!)) ? 'http' : 'in-process';
  const results = await Promise.all(
    trials.map(async (t, i) => {
      const killed = chosen[i]!;
      // A random phase against the node's poll schedule, so trials sample the whole interval.
      await sleep(Math.random() * o.intervalMs);
      const failure = o.failures[i] ?? 'kill';
      const t0 = performance.now();
      await breakNode(o.simPort, killed, failure);
      let selectionMs: number | undefined;
      let downMs: number | undefined;
      let newNode: string | undefined;
      await waitFor(
        async () => {
          const now = performance.now() - t0;
          // Both asked at once: asked one after the other, a slow answer on a loaded machine
          // would be counted against whichever is asked second.
          const [best, down] = await Promise.all([
            via === 'http' ? bestOverHttp(t) : bestInProcess(t),
            downMs !== undefined || (via === 'http' ? downOverHttp(t, killed) : downInProcess(t, killed)),
          ]);
          if (best !== undefined && best !== killed) {
            selectionMs ??= now;
            newNode = best;
          }
          if (downMs === undefined && down) downMs = now;
          return selectionMs !== undefined && downMs !== undefined ? true : undefined;
        },
        boundMs,
        o.pollMs,
      ).catch(() => undefined);
      const failoverMs = selectionMs !== undefined && downMs !== undefined ? Math.max(selectionMs, downMs) : undefined;
      return {
        failure,
        killed,
        ...(selectionMs !== undefined ? { selectionMs } : {}),
        ...(downMs !== undefined ? { downMs } : {}),
        ...(failoverMs !== undefined ? { failoverMs } : {}),
        ...(newNode ? { newNode } : {}),
      } satisfies TrialResult;
    }),
  );
  return { trials: results, boundMs, via, settleMs };
}

/** The chosen node once every node of the fleet is healthy and a choice is made. */
function settled(t: Trial): string | undefined {
  const now = Date.now();
  const views = t.read.chainViews(t.chain, now) ?? [];
  if (views.length === 0 || views.some((v) => v.health.state !== 'healthy')) return undefined;
  return bestInProcess(t);
}

function bestInProcess(t: Trial): string | undefined {
  return t.read.chainReport(t.chain)?.selection.nodeId ?? undefined;
}

function downInProcess(t: Trial, nodeId: string): boolean {
  return t.read.node(nodeId, Date.now())?.health.state === 'unhealthy';
}

async function routesPresent(t: Trial): Promise<boolean> {
  const [best, probe] = await Promise.all([
    get(`${t.origin}/v1/chains/${t.chain}/best`),
    get(`${t.origin}/probe/nodes/${t.service.nodes.keys().next().value as string}`),
  ]);
  return best.status !== 404 && probe.status !== 404 && bestNodeId(best.body, t) !== undefined;
}

async function bestOverHttp(t: Trial): Promise<string | undefined> {
  const res = await get(`${t.origin}/v1/chains/${t.chain}/best`);
  return res.status >= 200 && res.status < 300 ? bestNodeId(res.body, t) : undefined;
}

/** A node probe says down when it does not answer 2xx (what HAProxy's httpchk and an ALB act on). */
async function downOverHttp(t: Trial, nodeId: string): Promise<boolean> {
  const res = await get(`${t.origin}/probe/nodes/${nodeId}`);
  return res.status < 200 || res.status >= 300;
}

/**
 * The node a best-endpoint answer names: `nodeId`, `id`, `node.id` or `selection.nodeId` in
 * JSON, or a body that is exactly a node's id or URL.
 */
function bestNodeId(body: string, t: Trial): string | undefined {
  const known = (x: unknown) => (typeof x === 'string' && t.service.nodes.has(x) ? x : undefined);
  try {
    const j = JSON.parse(body) as Record<string, unknown>;
    if (j && typeof j === 'object') {
      const node = j['node'] as Record<string, unknown> | undefined;
      const selection = j['selection'] as Record<string, unknown> | undefined;
      const id = known(j['nodeId']) ?? known(j['id']) ?? known(node?.['id']) ?? known(selection?.['nodeId']);
      if (id) return id;
    }
  } catch {
    // not JSON: try the plain forms below
  }
  const text = body.trim();
  for (const n of t.service.nodes.values()) if (text === n.id || text === n.url) return n.id;
  return undefined;
}

async function get(url: string): Promise<{ status: number; body: string }> {
  const res = await request(url);
  return { status: res.statusCode, body: await res.body.text() };
}

/** Through the simulator's control API, as an operator's script would. */
async function breakNode(simPort: number, id: string, failure: 'kill' | 'hang'): Promise<void> {
  const base = `http://127.0.0.1:${simPort}/_sim/nodes/${encodeURIComponent(id)}`;
  const res =
    failure === 'kill'
      ? await request(`${base}/stop`, { method: 'POST' })
      : await request(`${base}/fault`, {
          method: 'PUT',
          body: JSON.stringify({ type: 'hang' }),
          headers: { 'content-type': 'application/json' },
        });
  await res.body.dump();
  if (res.statusCode !== 204) throw new Error(`simulator refused to ${failure} ${id}: HTTP ${res.statusCode}`);
}

async function waitFor<T>(
  check: () => T | undefined | Promise<T | undefined>,
  timeoutMs: number,
  pollMs: number,
): Promise<T> {
  const until = performance.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (performance.now() > until) throw new Error(`not within ${timeoutMs} ms`);
    await sleep(pollMs);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

main().catch(failStart);
