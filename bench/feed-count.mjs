// The records feed's receiver on a real feed, for counting instructions: decode and apply every
// change of the sample `passes` times, once per build. Wall-clock micro benchmarks of this path
// vary ±15 % between sittings on a shared machine; instruction counts under callgrind repeat to
// ~0.2 % when V8 runs single-threaded and predictable, so two builds can be compared exactly:
//   NODESENTRY_SCALE_FEED_SAMPLE=/tmp/feed.txt npm run bench -- --only scale --scale-nodes 2000 --no-write
//   for d in <before dist> <after dist>; do
//     valgrind --tool=callgrind --callgrind-out-file=/dev/null \
//       node --single-threaded --predictable bench/feed-count.mjs /tmp/feed.txt $d 3 2>&1 | grep 'I *refs'
//   done
// (Compare totals at the same `passes`; the difference of two `passes` values gives one pass's
// count, start-up and the sample's first records aside.)
import { resolve } from 'node:path';
import { heldAtStart, loadFeedSample, replayFeed } from './feed-sample.mjs';

const [samplePath, dir, passesArg] = process.argv.slice(2);
const passes = Number(passesArg ?? 1);
const sample = loadFeedSample(samplePath);
const c = await import(resolve(dir, 'store/store-codec.js'));
let applied = 0;
let bad = 0;
for (let pass = 0; pass < passes; pass++) {
  const r = replayFeed(c, sample, heldAtStart(c, sample));
  applied += r.applied;
  bad += r.bad;
}
console.log(`${dir}: applied ${applied} changes in ${passes} passes, ${bad} bad`);
