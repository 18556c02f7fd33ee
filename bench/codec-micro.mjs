// Micro benchmark of the records feed's compact change: µs per encode and per apply, bytes per
// change, for each built store-codec.js given (e.g. a build of main and this tree), in one run.
//   node bench/codec-micro.mjs <dist dir> [<dist dir> ...]
// Records: the scale bench's steady bsc record (test/store/fixtures) moved by steady probes.
import { resolve } from 'node:path';
import { firstRecord as first, steadyProbe as steady } from './steady-records.mjs';

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
