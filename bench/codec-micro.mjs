// Micro benchmark of the records feed's compact change: µs per encode and per apply, bytes per
// change, for each built store-codec.js given (e.g. a build of main and this tree), in one run.
//   node bench/codec-micro.mjs <dist dir> [<dist dir> ...]
// Records: the scale bench's steady bsc record (test/store/fixtures) moved by steady probes.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

const fixture = JSON.parse(readFileSync(new URL('../test/store/fixtures/steady-record.json', import.meta.url), 'utf8'));
const { v: _v, observedAt: _at, ...first } = fixture;

function moveStamps(x, from, to) {
  if (typeof x === 'number') return x === from ? to : x;
  if (Array.isArray(x)) return x.map((v) => moveStamps(v, from, to));
  if (typeof x === 'object' && x !== null)
    return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, moveStamps(v, from, to)]));
  return x;
}

/** A steady probe: new timings, one block higher, the outcome window slid, the counters up. */
function steady(prev, i) {
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

const N = 2_000;
const records = [first];
for (let i = 1; i <= N; i++) records.push(steady(records[i - 1], i));

const cpuUs = (f) => {
  const t = process.cpuUsage();
  f();
  const d = process.cpuUsage(t);
  return d.user + d.system;
};
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const codecs = [];
for (const dir of process.argv.slice(2)) codecs.push([dir, await import(resolve(dir, 'store/store-codec.js'))]);
const rows = new Map(codecs.map(([dir]) => [dir, { enc: [], app: [], bytes: 0, same: true }]));
const entriesOf = new Map();
for (let rep = 0; rep < 7; rep++) {
  for (const [dir, c] of codecs) {
    const row = rows.get(dir);
    const entries = [];
    row.enc.push(
      cpuUs(() => {
        for (let i = 1; i <= N; i++) {
          entries.push(c.encodeRecordEntry(records[i], c.encodeRecord(records[i]), records[i - 1], 'w1'));
        }
      }) / N,
    );
    row.bytes = entries.reduce((n, e) => n + Buffer.byteLength(e), 0) / N;
    entriesOf.set(dir, entries);
    const events = entries.map((e) => c.encodeRecordsEvent([e], 'w1'));
    const held = records.map((r) => JSON.parse(JSON.stringify(r)));
    row.app.push(
      cpuUs(() => {
        for (let i = 1; i <= N; i++) {
          const d = c.decodeFeedEvent(events[i - 1]);
          const ch = d.value.changes[0];
          const got = c.applyRecordChange(held[i - 1], ch);
          if (!got.ok) throw new Error(got.reason);
          held[i] = got.value;
        }
      }) / N,
    );
    if (JSON.stringify(held[N]) !== JSON.stringify(records[N])) row.same = false;
  }
}
const [firstDir] = codecs[0];
for (const [dir] of codecs) {
  const row = rows.get(dir);
  const identical = entriesOf.get(dir).every((e, i) => e === entriesOf.get(firstDir)[i]);
  console.log(
    `${dir}: encode (encodeRecord + encodeRecordEntry) ${median(row.enc).toFixed(1)} µs, decode + apply ${median(row.app).toFixed(1)} µs, ${row.bytes.toFixed(0)} B per change; rebuilt exactly: ${row.same}; entries identical to ${firstDir}: ${identical}`,
  );
}
