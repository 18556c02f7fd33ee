import { BenchChild } from './child-process.js';
import { haproxyVersion, startHaproxy } from './haproxy-forwarder.js';
import { closedLoop, measureLoad, openLoop, type LoadResult } from './load-generator.js';
import type { RpcServerOptions, RpcServerReady } from './rpc-server.js';
import type { SimProcessOptions, SimProcessReady } from './sim-process.js';

export interface RpcProxyOptions {
  readonly seed: number;
  readonly connections: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  /** The added-latency run's rate, req/s (the issue asks for 1,000). */
  readonly rate: number;
  readonly rateDurationMs: number;
  readonly profileDir?: string | undefined;
}

export interface ForwarderResult {
  readonly saturated: LoadResult;
  readonly atRate: LoadResult;
  /** The forwarder's own CPU per answered request of the fixed-rate run, µs. */
  readonly cpuUsPerRequest: number;
}

export interface RpcProxyResult {
  /** Straight to the node at the rate: the latency every forwarder adds to. */
  readonly direct: LoadResult;
  /** The bare Node forwarder, measured first and last (ratios use the mean rps). */
  readonly bare: ForwarderResult;
  readonly bareRuns: readonly number[];
  readonly nodesentry: ForwarderResult;
  /** undefined: haproxy is not installed (the note says so). */
  readonly haproxy: (ForwarderResult & { readonly version: string }) | undefined;
  readonly body: string;
}

/** What a backend asks most: the head. */
const BODY = '{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","params":[]}';
const HEADERS = { 'content-type': 'application/json' } as const;

/**
 * Section 4: the JSON-RPC proxy against a bare Node forwarder (node:http + undici pool) and
 * HAProxy, all forwarding the same body to the same simulated BSC node (its own process, its
 * own port), loaded alike by the same generator in this process.
 */
export async function runRpcProxy(o: RpcProxyOptions): Promise<RpcProxyResult> {
  const specs = [0, 1, 2].map((i) => ({ id: `rpc-bsc-${i}`, kind: 'bsc' as const }));
  const sim = await BenchChild.start<SimProcessReady>('sim-process', {
    nodes: 0,
    seed: o.seed,
    ownPortNodes: specs,
  } satisfies SimProcessOptions);
  const nodeUrls = specs.map((s) => sim.ready.urls[s.id]!);
  const profiled = o.profileDir ? { profileDir: o.profileDir } : {};
  const [bareStart, nsStart] = await Promise.all([
    BenchChild.start<RpcServerReady>('rpc-server', { kind: 'bare', nodeUrls, ...profiled } satisfies RpcServerOptions),
    BenchChild.start<RpcServerReady>('rpc-server', {
      kind: 'nodesentry',
      nodeUrls,
      ...profiled,
    } satisfies RpcServerOptions),
  ]);
  try {
    const req = { method: 'POST' as const, body: BODY, headers: HEADERS };
    const load = (origin: string, path: string, cpu: () => Promise<number> | number): Promise<ForwarderResult> =>
      measureLoad(
        {
          origin,
          path,
          connections: o.connections,
          warmupMs: o.warmupMs,
          durationMs: o.durationMs,
          rate: o.rate,
          rateDurationMs: o.rateDurationMs,
          ...req,
        },
        cpu,
      );
    const cpuOf = (c: BenchChild) => () => c.call('cpu') as Promise<number>;
    const node = new URL(nodeUrls[0]!);
    // Warm the node's keep-alive path and JIT before the direct floor is measured.
    await closedLoop({
      origin: node.origin,
      path: node.pathname,
      connections: o.connections,
      warmupMs: 0,
      durationMs: o.warmupMs,
      ...req,
    });
    const direct = await openLoop({
      origin: node.origin,
      path: node.pathname,
      connections: o.connections,
      rate: o.rate,
      durationMs: o.rateDurationMs,
      ...req,
    });
    const bareA = await load(bareStart.ready.origin, bareStart.ready.path, cpuOf(bareStart.child));
    const nodesentry = await load(nsStart.ready.origin, nsStart.ready.path, cpuOf(nsStart.child));
    let haproxy: RpcProxyResult['haproxy'];
    if (haproxyVersion() !== undefined) {
      const hp = await startHaproxy(node);
      try {
        haproxy = { ...(await load(hp.origin, '/', () => hp.cpuUs())), version: hp.version };
      } finally {
        await hp.close();
      }
    }
    const bareB = await load(bareStart.ready.origin, bareStart.ready.path, cpuOf(bareStart.child));
    return {
      direct,
      bare: bareA,
      bareRuns: [bareA.saturated.rps, bareB.saturated.rps],
      nodesentry,
      haproxy,
      body: BODY,
    };
  } finally {
    await Promise.all([bareStart.child.stop(), nsStart.child.stop(), sim.child.stop()]);
  }
}
