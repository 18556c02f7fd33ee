// A records feed sampled by the scale run (NODESENTRY_SCALE_FEED_SAMPLE), replayed through a
// build's store codec: for bench/feed-replay.mjs (time) and bench/feed-count.mjs (instructions).
import { readFileSync } from 'node:fs';

/** The sample's lines: the records as they stood when the window opened (`whole`), then its records events. */
export function loadFeedSample(path) {
  const lines = readFileSync(path, 'utf8').trim().split('\n');
  const whole = lines.filter((l) => !l.includes('"c":1') && l.length > 100000);
  return { whole, events: lines.filter((l) => !whole.includes(l)) };
}

/** The records a receiver holds when the window opens. */
export function heldAtStart(codec, sample) {
  const held = new Map();
  for (const l of sample.whole) for (const r of codec.decodeFeedEvent(l).value.event.records) held.set(r.nodeId, r);
  return held;
}

/** Every event decoded and every change applied onto `held`, as a receiver does. */
export function replayFeed(codec, sample, held) {
  let applied = 0;
  let missed = 0;
  let bad = 0;
  for (const l of sample.events) {
    const d = codec.decodeFeedEvent(l);
    if (!d.ok) {
      bad++;
      continue;
    }
    for (const r of d.value.event.records) held.set(r.nodeId, r);
    for (const ch of d.value.changes) {
      const base = held.get(ch.nodeId);
      if (!base || !codec.sameStamp(base, ch.base)) {
        missed++;
        continue;
      }
      const got = codec.applyRecordChange(base, ch);
      if (!got.ok) {
        bad++;
        continue;
      }
      held.set(ch.nodeId, got.value);
      applied++;
    }
  }
  return { applied, missed, bad };
}
