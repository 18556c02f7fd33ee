// The records feed's receiver on a real feed: CPU per change to decode and apply, for each built
// store-codec.js given (e.g. a build of main and this tree), in one process, alternating.
//   NODESENTRY_SCALE_FEED_SAMPLE=/tmp/feed.txt npm run bench -- --only scale --scale-nodes 2000 --no-write
//   node bench/feed-replay.mjs /tmp/feed.txt <dist dir> [<dist dir> ...]
// The sample holds the records as they stood when the window opened, then its records events.
import { resolve } from 'node:path';
import { heldAtStart, loadFeedSample, replayFeed } from './feed-sample.mjs';

const [samplePath, ...dirs] = process.argv.slice(2);
const sample = loadFeedSample(samplePath);
for (const dir of [...dirs, ...dirs]) {
  const c = await import(resolve(dir, 'store/store-codec.js'));
  const results = [];
  for (let rep = 0; rep < 9; rep++) {
    const held = heldAtStart(c, sample);
    const t = process.cpuUsage();
    const r = replayFeed(c, sample, held);
    const u = process.cpuUsage(t);
    results.push({ us: (u.user + u.system) / r.applied, ...r });
  }
  results.sort((a, b) => a.us - b.us);
  const m = results[4];
  console.log(
    `${dir}: ${m.us.toFixed(1)} µs per applied change (decode share included; min ${results[0].us.toFixed(1)}), applied ${m.applied}, missed ${m.missed}, bad ${m.bad}`,
  );
}
