import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import { LatencyHistogram } from './latency-histogram.js';

export interface LoadResult {
  readonly requests: number;
  readonly rps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Responses by status code. */
  readonly statuses: Record<number, number>;
  /** Requests that got no HTTP answer. */
  readonly errors: number;
  /**
   * Open loop: requests still unanswered at the deadline (the server cannot keep up with the
   * rate); counted in the percentiles with the time they had waited, so these are lower bounds.
   */
  readonly unfinished: number;
}

/** A request other than the default `GET path` (the JSON-RPC benches POST a body). */
export interface LoadRequest {
  readonly method?: 'GET' | 'POST';
  readonly body?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface ClosedLoopOptions extends LoadRequest {
  readonly origin: string;
  readonly path: string;
  readonly connections: number;
  readonly warmupMs: number;
  readonly durationMs: number;
}

export interface OpenLoopOptions extends LoadRequest {
  readonly origin: string;
  readonly path: string;
  readonly connections: number;
  /** Requests per second, sent on schedule whether or not earlier ones have returned. */
  readonly rate: number;
  readonly durationMs: number;
  /** How long after the last request is due answers are still waited for, ms. Default 2000. */
  readonly graceMs?: number;
}

/**
 * Closed loop (wrk's model): `connections` keep-alive connections, each sending its next
 * request as soon as the last answer is read. Measures the server's capacity; latency at
 * saturation is connections / throughput by Little's law.
 */
export async function closedLoop(o: ClosedLoopOptions): Promise<LoadResult> {
  const pool = new Pool(o.origin, { connections: o.connections, pipelining: 1, keepAliveTimeout: 60_000 });
  const hist = new LatencyHistogram();
  const statuses: Record<number, number> = {};
  let errors = 0;
  try {
    const start = performance.now();
    const measureFrom = start + o.warmupMs;
    const end = measureFrom + o.durationMs;
    const worker = async () => {
      for (;;) {
        const t0 = performance.now();
        if (t0 >= end) return;
        try {
          const res = await pool.request(requestOf(o));
          await res.body.dump();
          const t1 = performance.now();
          if (t0 >= measureFrom && t1 <= end) {
            hist.record(t1 - t0);
            statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
          }
        } catch {
          if (t0 >= measureFrom) errors++;
        }
      }
    };
    await Promise.all(Array.from({ length: o.connections }, worker));
    return {
      requests: hist.count,
      rps: hist.count / (o.durationMs / 1000),
      p50Ms: hist.quantile(0.5),
      p99Ms: hist.quantile(0.99),
      statuses,
      errors,
      unfinished: 0,
    };
  } finally {
    await pool.close();
  }
}

/**
 * Open loop at a fixed rate over `connections` connections: latency counts from when a
 * request was due, not when it was sent, so a stalled server is not hidden by the generator
 * politely waiting for it (no coordinated omission).
 */
export async function openLoop(o: OpenLoopOptions): Promise<LoadResult> {
  const pool = new Pool(o.origin, { connections: o.connections, pipelining: 1, keepAliveTimeout: 60_000 });
  const hist = new LatencyHistogram();
  const statuses: Record<number, number> = {};
  let errors = 0;
  const inFlight = new Map<Promise<void>, number>();
  let destroyed = false;
  try {
    const gapMs = 1000 / o.rate;
    const start = performance.now();
    const total = Math.floor((o.durationMs / 1000) * o.rate);
    let sent = 0;
    const send = (due: number) => {
      const p = pool
        .request(requestOf(o))
        .then(async (res) => {
          await res.body.dump();
          hist.record(performance.now() - due);
          statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
        })
        .catch(() => {
          if (!destroyed) errors++;
        })
        .finally(() => inFlight.delete(p));
      inFlight.set(p, due);
    };
    while (sent < total) {
      const now = performance.now();
      while (sent < total && start + sent * gapMs <= now) {
        send(start + sent * gapMs);
        sent++;
      }
      await new Promise((r) => setTimeout(r, 1));
    }
    const deadline = new Promise<void>((r) => setTimeout(r, o.graceMs ?? 2_000).unref());
    await Promise.race([Promise.all(inFlight.keys()), deadline]);
    const unfinished = inFlight.size;
    const at = performance.now();
    for (const due of inFlight.values()) hist.record(at - due);
    destroyed = true;
    return {
      requests: hist.count,
      rps: (hist.count - unfinished) / (o.durationMs / 1000),
      p50Ms: hist.quantile(0.5),
      p99Ms: hist.quantile(0.99),
      statuses,
      errors,
      unfinished,
    };
  } finally {
    if (destroyed) await pool.destroy();
    else await pool.close();
  }
}

function requestOf(o: LoadRequest & { readonly path: string }) {
  return {
    path: o.path,
    method: o.method ?? 'GET',
    ...(o.body === undefined ? {} : { body: o.body }),
    ...(o.headers === undefined ? {} : { headers: o.headers }),
  } as const;
}

/** A server under both loops, with its own CPU per request (`cpu`: the server process's CPU time, µs). */
export interface MeasuredLoad {
  readonly saturated: LoadResult;
  readonly atRate: LoadResult;
  /** Own CPU per request while saturated, µs (the warm-up's requests scaled in). */
  readonly cpuUsSaturated: number;
  /** Own CPU per answered request of the fixed-rate run, µs. */
  readonly cpuUsPerRequest: number;
}

/**
 * The closed loop (capacity) then the open loop at `rate` (latency), each bracketed by readings
 * of the server's CPU: what the probe and proxy benchmarks measure of every server they load.
 */
export async function measureLoad(
  o: Omit<ClosedLoopOptions, 'durationMs'> & { durationMs: number; rate: number; rateDurationMs: number },
  cpu: () => Promise<number> | number,
): Promise<MeasuredLoad> {
  const { rate, rateDurationMs, warmupMs, ...common } = o;
  const cpuStart = await cpu();
  const saturated = await closedLoop({ ...common, warmupMs });
  const cpu0 = await cpu();
  // The warm-up's requests are not counted: scale the measured ones to the whole closed loop.
  const satRequests = (saturated.requests * (warmupMs + o.durationMs)) / o.durationMs;
  const atRate = await openLoop({ ...common, rate, durationMs: rateDurationMs });
  const cpu1 = await cpu();
  return {
    saturated,
    atRate,
    cpuUsSaturated: (cpu0 - cpuStart) / Math.max(1, satRequests),
    cpuUsPerRequest: (cpu1 - cpu0) / Math.max(1, atRate.requests - atRate.unfinished),
  };
}
