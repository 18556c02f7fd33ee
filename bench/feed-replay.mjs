// The records feed's receiver on a real feed: CPU per change to decode and apply, for each built
// store-codec.js given (e.g. a build of main and this tree), in one process, alternating.
//   NODESENTRY_SCALE_FEED_SAMPLE=/tmp/feed.txt npm run bench -- --only scale --scale-nodes 2000 --no-write
//   node bench/feed-replay.mjs /tmp/feed.txt <dist dir> [<dist dir> ...]
// The sample holds the records as they stood when the window opened, then its records events.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
const [samplePath, ...dirs] = process.argv.slice(2);
const lines = readFileSync(samplePath, 'utf8').trim().split('\n');
const whole = lines.filter((l) => !l.includes('"c":1') && l.length > 100000);
const events = lines.filter((l) => !whole.includes(l));
for (const dir of [...dirs, ...dirs]) {
  const c = await import(resolve(dir, 'store/store-codec.js'));
  const results = [];
  for (let rep = 0; rep < 9; rep++) {
    const held = new Map();
    for (const l of whole) for (const r of c.decodeFeedEvent(l).value.event.records) held.set(r.nodeId, r);
    let applied = 0,
      missed = 0,
      bad = 0;
    const t = process.cpuUsage();
    for (const l of events) {
      const d = c.decodeFeedEvent(l);
      if (!d.ok) {
        bad++;
        continue;
      }
      for (const r of d.value.event.records) held.set(r.nodeId, r);
      for (const ch of d.value.changes) {
        const base = held.get(ch.nodeId);
        if (!base || !c.sameStamp(base, ch.base)) {
          missed++;
          continue;
        }
        const got = c.applyRecordChange(base, ch);
        if (!got.ok) {
          bad++;
          continue;
        }
        held.set(ch.nodeId, got.value);
        applied++;
      }
    }
    const u = process.cpuUsage(t);
    results.push({ us: (u.user + u.system) / applied, applied, missed, bad });
  }
  results.sort((a, b) => a.us - b.us);
  const m = results[4];
  console.log(
    `${dir}: ${m.us.toFixed(1)} µs per applied change (decode share included; min ${results[0].us.toFixed(1)}), applied ${m.applied}, missed ${m.missed}, bad ${m.bad}`,
  );
}
