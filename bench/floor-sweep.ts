import { performance } from 'node:perf_hooks';
import type { Redis } from 'ioredis';
import { request, type Dispatcher } from 'undici';
import { PROBE_HEADERS } from './remote-fleet.js';

export interface FloorTarget {
  readonly url: string;
  readonly body: string;
}

/**
 * The sweep floor: every node once, `concurrency` requests in flight, the same bodies and
 * headers nodesentry sends, and nothing done with the answer but JSON.parse. What is left
 * between this and a nodesentry sweep is nodesentry's own work.
 */
export class FloorSweeper {
  readonly #targets: readonly FloorTarget[];
  readonly #concurrency: number;
  readonly #dispatcher: Dispatcher;

  constructor(targets: readonly FloorTarget[], concurrency: number, dispatcher: Dispatcher) {
    if (!(Number.isInteger(concurrency) && concurrency > 0))
      throw new RangeError('concurrency must be a positive integer');
    this.#targets = targets;
    this.#concurrency = concurrency;
    this.#dispatcher = dispatcher;
  }

  /** One sweep; returns its wall time and how many answers parsed as a JSON array. */
  async sweep(): Promise<{ ms: number; ok: number }> {
    const started = performance.now();
    let next = 0;
    let ok = 0;
    const worker = async () => {
      while (next < this.#targets.length) {
        const parsed = await post(this.#targets[next++]!, this.#dispatcher);
        if (parsed !== undefined) ok++;
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.#concurrency, this.#targets.length) }, worker));
    return { ms: performance.now() - started, ok };
  }
}

/** POST a target's body; its answer parsed, when it is a 200 with a JSON array (a batch reply), else undefined. */
async function post(t: FloorTarget, dispatcher: Dispatcher): Promise<unknown[] | undefined> {
  const res = await request(t.url, { method: 'POST', body: t.body, headers: PROBE_HEADERS, dispatcher });
  const parsed: unknown = JSON.parse(await res.body.text());
  return res.statusCode === 200 && Array.isArray(parsed) ? parsed : undefined;
}

/** What the storing floor needs of a node: its probe target, id and chain. */
export interface StoringFloorTarget extends FloorTarget {
  readonly nodeId: string;
  readonly chain: string;
}

/** The pieces of a stored record the storing floor fills in; the rest is `template` as it is. */
export interface RecordTemplate {
  readonly sample: Readonly<Record<string, unknown>>;
  readonly health: unknown;
}

/**
 * The storing floor: the sweep floor plus the least any design pays that keeps every sample in
 * Redis and tells other replicas of it, as nodesentry must (shared view, restarts, many API
 * replicas). Each answer becomes a record of the size nodesentry stores (`template`: a real
 * steady record, its sample's height, latency and times set from this probe), JSON-encoded and
 * `SET` with a TTL, a history point `LPUSH`ed, and the sample published; one pipeline and one
 * `PUBLISH` per `batchSize` answers, as nodesentry's write batches. No lease, no fence script,
 * no judging, no change against the last record: what is left between this and a nodesentry
 * sweep is nodesentry's own logic, not the storage its job requires.
 */
export class StoringFloorSweeper {
  readonly #targets: readonly StoringFloorTarget[];
  readonly #concurrency: number;
  readonly #dispatcher: Dispatcher;
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #template: RecordTemplate;
  readonly #batchSize: number;

  constructor(
    targets: readonly StoringFloorTarget[],
    concurrency: number,
    dispatcher: Dispatcher,
    store: {
      readonly redis: Redis;
      readonly prefix: string;
      readonly template: RecordTemplate;
      readonly batchSize: number;
    },
  ) {
    if (!(Number.isInteger(concurrency) && concurrency > 0))
      throw new RangeError('concurrency must be a positive integer');
    this.#targets = targets;
    this.#concurrency = concurrency;
    this.#dispatcher = dispatcher;
    this.#redis = store.redis;
    this.#prefix = store.prefix;
    this.#template = store.template;
    this.#batchSize = store.batchSize;
  }

  /** One sweep, its writes included; returns its wall time, answers parsed, and bytes sent to Redis. */
  async sweep(): Promise<{ ms: number; ok: number; bytes: number }> {
    const started = performance.now();
    let next = 0;
    let ok = 0;
    let bytes = 0;
    let pipeline = this.#redis.pipeline();
    let inBatch = 0;
    let published: string[] = [];
    const writes: Array<Promise<unknown>> = [];
    const flush = () => {
      if (inBatch === 0) return;
      const event = `{"v":1,"type":"records","records":[${published.join(',')}]}`;
      bytes += event.length;
      pipeline.publish(`{${this.#prefix}}:events`, event);
      writes.push(pipeline.exec());
      pipeline = this.#redis.pipeline();
      inBatch = 0;
      published = [];
    };
    const worker = async () => {
      while (next < this.#targets.length) {
        const t = this.#targets[next++]!;
        const sent = performance.now();
        const parsed = await post(t, this.#dispatcher);
        if (parsed === undefined) continue;
        ok++;
        const at = Date.now();
        const latencyMs = Math.round((performance.now() - sent) * 100) / 100;
        const height = heightOf(parsed);
        const sample = {
          ...this.#template.sample,
          nodeId: t.nodeId,
          chain: t.chain,
          observedAt: at,
          latencyMs,
          height,
        };
        const sampleJson = JSON.stringify(sample);
        const record = `{"v":1,"observedAt":${at},"nodeId":${JSON.stringify(t.nodeId)},"chain":${JSON.stringify(t.chain)},"sample":${sampleJson},"health":${JSON.stringify(this.#template.health)},"replica":"floor","writtenAt":${at}}`;
        const point = `{"v":1,"t":${at},"ok":true,"latencyMs":${latencyMs},"height":${height}}`;
        bytes += record.length + point.length;
        pipeline.set(`{${this.#prefix}}:node:${t.nodeId}`, record, 'PX', 60_000);
        pipeline.lpush(`{${this.#prefix}}:history:${t.nodeId}`, point);
        published.push(sampleJson);
        if (++inBatch >= this.#batchSize) flush();
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.#concurrency, this.#targets.length) }, worker));
    flush();
    await Promise.all(writes);
    return { ms: performance.now() - started, ok, bytes };
  }
}

/** The height a batch answer names (eth_blockNumber's hex, getblockchaininfo's blocks), else 0. */
function heightOf(replies: readonly unknown[]): number {
  for (const r of replies) {
    const result = (r as { result?: unknown } | null)?.result;
    if (typeof result === 'string' && result.startsWith('0x')) return Number.parseInt(result, 16);
    const blocks = (result as { blocks?: unknown } | null)?.blocks;
    if (typeof blocks === 'number') return blocks;
  }
  return 0;
}
