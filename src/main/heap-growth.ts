// How far V8 lets the old generation grow past the live heap before a full GC, for serve.
import { setFlagsFromString } from 'node:v8';

/**
 * Old-generation growth allowed between full GCs, in percent of the live heap after the last
 * one. V8's own factor rises to 4x on a machine with a large heap limit (4 GB on 24 GB of RAM),
 * and a sweep's garbage (records, samples, Redis commands promoted out of the young generation)
 * fills all of it: 10,000 nodes with ~55-110 MB live peaked at 300-400 MB of heap. 50 % keeps the
 * heap at about 1.5x live. It is not a cap (a larger fleet gets a larger heap, never an out-of-
 * memory crash); the cost is more full GCs, each one incremental and concurrent.
 */
export const HEAP_GROWTH_PERCENT = 50;

/**
 * The node flags the Docker image and the systemd unit give serve (NODE_OPTIONS), and the sweep
 * bench its worker: a 32 MB young generation holds a sweep flush's garbage, so it dies young
 * instead of being promoted; it pays back the extra full GCs of HEAP_GROWTH_PERCENT (measured once,
 * at load 10: the limit alone cost ~25 % more CPU per sweep, the two together none within noise;
 * later loaded runs measured up to ~0.6 s more CPU per 10,000-node sweep with both: bench/RESULTS.md
 * section 6, to be measured again on a quiet machine). V8 takes
 * it only at start (a runtime setFlagsFromString leaves the young generation as it is).
 */
export const SERVE_NODE_FLAGS = '--max-semi-space-size=32';

/**
 * Apply HEAP_GROWTH_PERCENT to this process, unless node was started with its own
 * `--heap-growing-percent` (an operator's choice wins). V8 reads this flag each time it sets the
 * next GC limit, so it takes effect when set after start; it cannot go in NODE_OPTIONS, which is
 * why serve sets it itself. Returns the percent in force, undefined when the operator's.
 */
export function limitHeapGrowth(
  percent: number = HEAP_GROWTH_PERCENT,
  execArgv: readonly string[] = process.execArgv,
): number | undefined {
  if (execArgv.some((a) => /^--heap[-_]growing[-_]percent(=|$)/.test(a))) return undefined;
  setFlagsFromString(`--heap-growing-percent=${percent}`);
  return percent;
}
