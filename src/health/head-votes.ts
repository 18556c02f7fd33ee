// HeadVotes: each node's standing evidence for its chain's reference head, kept between computations so a head costs no object per node.
import type { ChainSpec } from '../chains/chain-spec.js';
import type { Sample } from '../chains/sample.js';
import { sampleAgeMs, staleAfterMs } from './freshness.js';
import type { HealthPolicy } from './policy.js';
import {
  type HeadBasis,
  type HeadStats,
  type JudgedReasons,
  MAX_LISTED_VOTERS,
  type Progress,
  type ReferenceHead,
  emptyReference,
  excludedFromHead,
  progressInto,
  projectedHeight,
  stallWindowMs,
} from './reference-head.js';

/** One node's evidence: what `referenceHead` reads of its candidate, with the time-free checks done once. */
class Vote {
  /** What the vote was built from (the caller's record); the vote is rebuilt when it changes. */
  source: object | undefined = undefined;
  /** No sample at all: the node is not a candidate. */
  empty = true;
  id = '';
  sample: Sample | null = null;
  intervalMs = 0;
  staleAfterMs = 0;
  /** Fresh but left out (failed, syncing, unproven chain, unhealthy for its own reasons): counted, no vote. */
  excluded = false;
  advancedAt: number | null = null;
  head: HeadStats['head'] = null;
}

const PROGRESS_CODE: Readonly<Record<Progress, number>> = { advancing: 0, stalled: 1, unknown: 2 };

/**
 * The votes of one chain's nodes, one slot per node (the caller's index of the chain's nodes).
 * `offer` rebuilds a slot only when its source changed (a new record), so the time-free part of
 * the rules (failed, syncing, chain identity, judged unhealthy) runs once per sample, not once
 * per head; `head(now)` then takes one pass over plain numbers in scratch arrays that live as
 * long as the chain. The result is exactly `referenceHead` of the same candidates at `now`
 * (test/health/head-votes.test.ts compares the two on random fleets): freshness, progress and
 * projection depend on `now`, so they are evaluated at each head, from the kept fields.
 */
export class HeadVotes {
  readonly #chain: ChainSpec;
  readonly #policy: HealthPolicy;
  readonly #window: number;
  readonly #votes: Vote[] = [];
  // Scratch for head(): per eligible vote its slot, height, progress code and `at` (NaN: null).
  #slot = new Int32Array(0);
  #height = new Float64Array(0);
  #progress = new Uint8Array(0);
  #at = new Float64Array(0);
  #voterHeights = new Float64Array(0);
  readonly #out: { at: number | null } = { at: null };

  constructor(chain: ChainSpec, policy: HealthPolicy) {
    this.#chain = chain;
    this.#policy = policy;
    this.#window = stallWindowMs(chain, policy);
  }

  /** Slots in use (the highest offered slot + 1). */
  get size(): number {
    return this.#votes.length;
  }

  /**
   * Node `slot`'s evidence: its latest sample (null: none), its stats before this round and its
   * latest assessment. `source` identifies what they were read from: the same source again is a
   * no-op, so the caller may offer every node before every head.
   */
  offer(
    slot: number,
    source: object | undefined,
    sample: Sample | null,
    intervalMs: number,
    stats: HeadStats | null | undefined,
    latest: JudgedReasons | null | undefined,
  ): void {
    let v = this.#votes[slot];
    if (v === undefined) {
      while (this.#votes.length <= slot) this.#votes.push(new Vote());
      v = this.#votes[slot]!;
    } else if (source !== undefined && v.source === source && v.intervalMs === intervalMs) return;
    v.source = source;
    v.intervalMs = intervalMs;
    v.empty = sample === null;
    v.sample = sample;
    if (sample === null) return;
    v.id = sample.nodeId;
    v.staleAfterMs = staleAfterMs(intervalMs, this.#policy);
    v.excluded = excludedFromHead(sample, this.#chain, latest);
    v.advancedAt = stats?.advancedAt ?? null;
    v.head = stats?.head ?? null;
  }

  /** Forget slots from `size` on (the chain lost nodes). */
  truncate(size: number): void {
    if (this.#votes.length > size) this.#votes.length = size;
  }

  /** The chain's reference head at `now` from the votes offered: `referenceHead` of the same candidates. */
  head(now: number): ReferenceHead {
    const chain = this.#chain;
    const votes = this.#votes;
    const n = votes.length;
    if (this.#slot.length < n) this.#grow(n);
    const slots = this.#slot;
    const heights = this.#height;
    const progress = this.#progress;
    const ats = this.#at;
    const out = this.#out;
    let eligible = 0;
    let excluded = 0;
    let advancing = 0;
    let stalled = 0;
    let highest = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < n; i++) {
      const v = votes[i]!;
      if (v.empty) continue;
      const sample = v.sample!;
      if (sampleAgeMs(sample, now) > v.staleAfterMs) continue;
      if (v.excluded) {
        excluded++;
        continue;
      }
      const p = progressInto(sample, v.advancedAt, v.head, this.#window, chain, now, out);
      const height =
        p === 'advancing'
          ? projectedHeight(sample.height!, sample.observedAt, now, chain.blockTimeMs, v.intervalMs)
          : sample.height!;
      const code = PROGRESS_CODE[p];
      if (code === 0) advancing++;
      else if (code === 1) stalled++;
      slots[eligible] = i;
      heights[eligible] = height;
      progress[eligible] = code;
      ats[eligible] = out.at === null ? Number.NaN : out.at;
      if (height > highest) highest = height;
      eligible++;
    }
    if (eligible === 0) return { ...emptyReference(chain.name, now), eligible: 0, excluded, highest: null };

    // Which votes count, as referenceHead chooses them: advancing ones; else the unproven ones
    // while some are not yet stalled; else (a halt) the stalled ones that moved last.
    let basis: HeadBasis;
    let want: number;
    let minAt = Number.NEGATIVE_INFINITY;
    let haltedForMs: number | null = null;
    if (advancing > 0) {
      basis = 'advancing';
      want = 0;
    } else if (stalled < eligible) {
      basis = 'unproven';
      want = 2;
    } else {
      basis = 'halted';
      want = 1;
      let newest = Number.NEGATIVE_INFINITY;
      for (let k = 0; k < eligible; k++) if (ats[k]! > newest) newest = ats[k]!;
      if (Number.isFinite(newest)) {
        minAt = newest - chain.blockTimeMs;
        haltedForMs = Math.max(0, now - newest);
      }
    }
    const voterHeights = this.#voterHeights;
    // The listed voters: highest head first, ties by id, at most MAX_LISTED_VOTERS, kept sorted by insertion.
    const listed: number[] = [];
    let m = 0;
    for (let k = 0; k < eligible; k++) {
      if (progress[k] !== want) continue;
      // (NaN >= x is false: a stalled vote with no known `at` is left out once some vote has one.)
      if (minAt !== Number.NEGATIVE_INFINITY && !(ats[k]! >= minAt)) continue;
      voterHeights[m++] = heights[k]!;
      insertListed(listed, k, heights, slots, votes);
    }
    const sorted = voterHeights.subarray(0, m).sort();
    // Voters highest first: the head is the quorum-th of them, floor(m / 2) + 1.
    const quorum = Math.floor(m / 2) + 1;
    const lowest = sorted[0]!;
    const ids: string[] = new Array<string>(listed.length);
    for (let j = 0; j < listed.length; j++) ids[j] = votes[slots[listed[j]!]!]!.id;
    // (Keys in referenceHead's order: the head is serialised in the chain's facts.)
    return {
      chain: chain.name,
      atMs: now,
      eligible,
      excluded,
      highest,
      height: sorted[m - quorum]!,
      contributors: m,
      quorum,
      basis,
      lowest,
      spread: sorted[m - 1]! - lowest,
      stalled,
      voters: ids,
      haltedForMs,
    };
  }

  #grow(n: number): void {
    const size = Math.max(n, 2 * this.#slot.length);
    this.#slot = new Int32Array(size);
    this.#height = new Float64Array(size);
    this.#progress = new Uint8Array(size);
    this.#at = new Float64Array(size);
    this.#voterHeights = new Float64Array(size);
  }
}

/** Insert eligible vote `k` into `listed` (highest head first, then id), keeping at most MAX_LISTED_VOTERS. */
function insertListed(
  listed: number[],
  k: number,
  heights: Float64Array,
  slots: Int32Array,
  votes: readonly Vote[],
): void {
  const h = heights[k]!;
  const id = votes[slots[k]!]!.id;
  let j = listed.length;
  while (j > 0) {
    const other = listed[j - 1]!;
    const ho = heights[other]!;
    if (!(h > ho || (h === ho && id < votes[slots[other]!]!.id))) break;
    j--;
  }
  if (j >= MAX_LISTED_VOTERS) return;
  listed.splice(j, 0, k);
  if (listed.length > MAX_LISTED_VOTERS) listed.pop();
}
