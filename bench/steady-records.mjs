// Records for the codec and store micro benchmarks: the scale bench's steady bsc record
// (test/store/fixtures/steady-record.json) moved on by steady probes.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

const fixture = JSON.parse(readFileSync(new URL('../test/store/fixtures/steady-record.json', import.meta.url), 'utf8'));
/** The fixture as a NodeRecord (without the stored form's `v` and leading `observedAt`). */
export const { v: _v, observedAt: _at, ...firstRecord } = fixture;

function moveStamps(x, from, to) {
  if (typeof x === 'number') return x === from ? to : x;
  if (Array.isArray(x)) return x.map((v) => moveStamps(v, from, to));
  if (typeof x === 'object' && x !== null)
    return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, moveStamps(v, from, to)]));
  return x;
}

/** A steady probe after `prev`: new timings, one block higher, the outcome window slid, the counters up. */
export function steadyProbe(prev, i) {
  const at = prev.sample.observedAt + 5_000 + (i % 7) * 13;
  const r = moveStamps(prev, prev.sample.observedAt, at);
  const latency = Math.round((20 + ((i * 37) % 500) / 3) * 100) / 100;
  r.sample.latencyMs = latency;
  r.sample.height += 1;
  r.sample.tipTime += 5;
  const stats = r.health.stats;
  stats.samples += 1;
  stats.lastLatencyMs = latency;
  stats.latencyEwmaMs = stats.latencyEwmaMs * 0.8 + latency * 0.2;
  stats.outcomes = [...stats.outcomes, true].slice(-20);
  stats.head = { height: r.sample.height, since: at };
  r.health.probing = { mode: 'interval', delayMs: 5_000, nextProbeAt: at + 5_000 };
  r.writtenAt = at + 2;
  return r;
}

/**
 * A steady probe of node `id` after `prev`, as a record the judge would build for `replica`: a
 * JSON round trip gives plain objects of the shapes a decoded record has (Object.fromEntries'
 * objects cost diffCompact's for-in loops allocations a real record's do not).
 */
export function steadyRecordOf(prev, id, i, replica) {
  const r = JSON.parse(JSON.stringify(steadyProbe(prev, i)));
  r.nodeId = id;
  r.sample.nodeId = id;
  r.replica = replica;
  return r;
}

/** One lease-fenced sweep of `records` by `replica`, a history point each, as a worker's flush writes it. */
export function fencedSweepOf(records, replica) {
  return {
    records,
    history: records.map((r) => ({
      nodeId: r.nodeId,
      point: { t: r.sample.observedAt, ok: true, latencyMs: r.sample.latencyMs, height: r.sample.height, peers: 20 },
    })),
    fence: replica,
  };
}

/** A free loopback TCP port (for a redis-server of the bench's own). */
export function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

/** Takes every node's lease for `replica` in `store`, and returns a write of one fenced sweep that must be taken whole. */
export async function leasedWriter(store, ids, replica) {
  const held = await store.claimLeases(replica, ids, 600_000, ids.length);
  if (held.length !== ids.length) throw new Error(`claimed ${held.length} of ${ids.length} leases`);
  return async (sweep) => {
    const r = await store.writeSweep(sweep, 60_000);
    if (r.fenced.length > 0) throw new Error(`${r.fenced.length} writes fenced`);
  };
}
