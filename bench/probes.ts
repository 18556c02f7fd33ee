import { request } from 'undici';
import type { ApiServerOptions, ApiServerReady } from './api-server.js';
import { BenchChild } from './child-process.js';
import { measureLoad, type LoadResult } from './load-generator.js';

export interface ProbeTarget {
  /** What the row is called, e.g. `GET /probe/nodes/:id`. */
  readonly name: string;
  readonly path: string;
}

export interface ProbeTargetResult extends ProbeTarget {
  /** false: the route answered 404 (not there yet), nothing measured. */
  readonly present: boolean;
  readonly saturated?: LoadResult;
  readonly atRate?: LoadResult;
  /** The server's own CPU per answered request of the fixed-rate run, µs (steadier than rps on a shared machine). */
  readonly cpuUsPerRequest?: number;
  /** The same while saturated (warm-up included, scaled by its share of the run), µs. */
  readonly cpuUsSaturated?: number;
  /** saturated rps / the express floor's (mean of the floor before and after). */
  readonly ratio?: number;
  /** saturated rps / the node:http floor's (mean of the floor before and after). */
  readonly ratioHttp?: number;
}

export interface ProbeFloor {
  readonly rps: number;
  readonly runs: readonly number[];
  readonly saturated: LoadResult;
  readonly atRate: LoadResult;
  readonly cpuUsPerRequest: number;
  readonly cpuUsSaturated: number;
}

export interface ProbesResult {
  /** The express floor's saturated rps (mean of both runs), each run's, and the first run's details. */
  readonly floor: ProbeFloor;
  /** The same for the bare node:http floor: the physical limit of Node here. */
  readonly httpFloor: ProbeFloor;
  readonly targets: ProbeTargetResult[];
  readonly loadMs: number;
  readonly nodes: number;
}

export interface ProbesOptions {
  readonly simPort: number;
  readonly nodes: number;
  readonly seed: number;
  readonly connections: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  /** Fixed rate of the latency run, req/s. */
  readonly rate: number;
  readonly rateDurationMs: number;
  readonly profileDir?: string | undefined;
}

/**
 * Section 2: the probe endpoints against a bare express app and a bare node:http server, loaded
 * alike by the same generator in this process. Each floor is measured first and last (express,
 * node:http, endpoints, node:http, express); ratios use the mean of its two runs.
 */
export async function runProbes(o: ProbesOptions): Promise<ProbesResult> {
  const profiled = o.profileDir ? { profileDir: o.profileDir } : {};
  const [floorStart, httpStart, nsStart] = await Promise.all([
    BenchChild.start<ApiServerReady>('api-server', { kind: 'express', ...profiled } satisfies ApiServerOptions),
    BenchChild.start<ApiServerReady>('api-server', { kind: 'node-http', ...profiled } satisfies ApiServerOptions),
    BenchChild.start<ApiServerReady>('api-server', {
      kind: 'nodesentry',
      simPort: o.simPort,
      nodes: o.nodes,
      seed: o.seed,
      ...profiled,
    } satisfies ApiServerOptions),
  ]);
  try {
    const ns = nsStart.ready;
    const nodeId = ns.nodeId ?? 'bsc-00000';
    const chain = ns.chain ?? 'bsc';
    const targets: ProbeTarget[] = [
      { name: 'GET /probe/nodes/:id', path: `/probe/nodes/${nodeId}` },
      { name: 'GET /probe/chains/:chain', path: `/probe/chains/${chain}` },
      { name: 'GET /v1/chains/:chain/best', path: `/v1/chains/${chain}/best` },
      { name: 'GET /livez (stand-in)', path: '/livez' },
    ];
    const load = (child: BenchChild, origin: string, path: string) =>
      measureLoad(
        {
          origin,
          path,
          connections: o.connections,
          warmupMs: o.warmupMs,
          durationMs: o.durationMs,
          rate: o.rate,
          rateDurationMs: o.rateDurationMs,
        },
        () => child.call('cpu') as Promise<number>,
      );
    const floorOrigin = floorStart.ready.origin;
    const httpOrigin = httpStart.ready.origin;
    const floorA = await load(floorStart.child, floorOrigin, '/ok');
    const httpA = await load(httpStart.child, httpOrigin, '/ok');
    const results: ProbeTargetResult[] = [];
    for (const t of targets) {
      const status = await statusOf(ns.origin + t.path);
      if (status === 404) {
        results.push({ ...t, present: false });
        continue;
      }
      results.push({ ...t, present: true, ...(await load(nsStart.child, ns.origin, t.path)) });
    }
    const httpB = await load(httpStart.child, httpOrigin, '/ok');
    const floorB = await load(floorStart.child, floorOrigin, '/ok');
    const floorRps = (floorA.saturated.rps + floorB.saturated.rps) / 2;
    const httpRps = (httpA.saturated.rps + httpB.saturated.rps) / 2;
    return {
      floor: { rps: floorRps, runs: [floorA.saturated.rps, floorB.saturated.rps], ...floorA },
      httpFloor: { rps: httpRps, runs: [httpA.saturated.rps, httpB.saturated.rps], ...httpA },
      targets: results.map((r) =>
        r.saturated ? { ...r, ratio: r.saturated.rps / floorRps, ratioHttp: r.saturated.rps / httpRps } : r,
      ),
      loadMs: ns.loadMs ?? 0,
      nodes: o.nodes,
    };
  } finally {
    await Promise.all([floorStart.child.stop(), httpStart.child.stop(), nsStart.child.stop()]);
  }
}

async function statusOf(url: string): Promise<number> {
  const res = await request(url);
  await res.body.dump();
  return res.statusCode;
}
