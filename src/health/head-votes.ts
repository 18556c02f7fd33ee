// HeadVotes: each node's standing evidence for its chain's reference head, kept as numbers between computations so a head costs no object per node.
import type { ChainSpec } from '../chains/chain-spec.js';
import type { Sample } from '../chains/sample.js';
import { staleAfterMs } from './freshness.js';
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
  judgedUnhealthy,
  keptAnswer,
  progressInto,
  projectedHeight,
  stallWindowMs,
} from './reference-head.js';

// Per slot: what kind of evidence it holds, and which of the optional fields are present.
const EMPTY = 1;
const EXCLUDED = 2;
const HAS_TIP_TIME = 4;
const HAS_TIP_MEDIAN = 8;
const HAS_ADVANCED_AT = 16;
const HAS_HEAD = 32;

const PROGRESS_CODE: Readonly<Record<Progress, number>> = { advancing: 0, stalled: 1, unknown: 2 };

/**
 * The votes of one chain's nodes, one slot per node (the caller's index of the chain's nodes).
 * `offer` rebuilds a slot only when its evidence changed (a new sample, stats or assessment), so
 * the time-free part of the rules (failed, syncing, chain identity, judged unhealthy) runs once
 * per sample, not once per head; `head(now)` then takes one pass over plain numbers kept in
 * typed arrays (no object per node is read or made, so the pass does not wander the heap). The
 * result is exactly `referenceHead` of the same candidates at `now` (test/health/head-votes.test.ts
 * compares the two on random fleets): freshness, progress and projection depend on `now`, so
 * they are evaluated at each head, from the kept fields.
 */
export class HeadVotes {
  readonly #chain: ChainSpec;
  readonly #policy: HealthPolicy;
  readonly #window: number;
  #size = 0;
  #capacity = 0;
  // Evidence per slot: identities it was read from (to tell an unchanged offer), id, flags, numbers.
  #samples: (Sample | null)[] = [];
  #stats: (HeadStats | null | undefined)[] = [];
  #latest: (JudgedReasons | null | undefined)[] = [];
  #ids: string[] = [];
  #flags = new Uint8Array(0);
  #observedAt = new Float64Array(0);
  #heightOf = new Float64Array(0);
  #tipTime = new Float64Array(0);
  #tipMedian = new Float64Array(0);
  #advancedAt = new Float64Array(0);
  #headHeight = new Float64Array(0);
  #headSince = new Float64Array(0);
  #intervalMs = new Float64Array(0);
  #staleAfterMs = new Float64Array(0);
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

  /** Slots in use (the highest offered slot + 1, or what `truncate` left). */
  get size(): number {
    return this.#size;
  }

  /**
   * Node `slot`'s evidence: its latest sample (null: none), its stats before this round and its
   * latest assessment. The same three objects again (they are immutable) are a no-op, so the
   * caller may offer a node whenever it may have changed.
   */
  offer(
    slot: number,
    sample: Sample | null,
    intervalMs: number,
    stats: HeadStats | null | undefined,
    latest: JudgedReasons | null | undefined,
  ): void {
    if (slot >= this.#capacity) this.#grow(slot + 1);
    if (slot >= this.#size) {
      for (let i = this.#size; i < slot; i++) this.#clear(i);
      this.#size = slot + 1;
    } else if (
      sample !== null &&
      this.#samples[slot] === sample &&
      this.#stats[slot] === stats &&
      this.#latest[slot] === latest &&
      this.#intervalMs[slot] === intervalMs
    )
      return;
    this.#samples[slot] = sample;
    this.#stats[slot] = stats;
    this.#latest[slot] = latest;
    this.#intervalMs[slot] = intervalMs;
    if (sample === null) {
      this.#flags[slot] = EMPTY;
      return;
    }
    // A failed probe short of an outage votes with the node's last answer (keptAnswer).
    const kept = keptAnswer(sample, stats, this.#policy);
    let flags: number;
    let tipTime: number | undefined;
    let tipMedian: number | undefined;
    this.#ids[slot] = sample.nodeId;
    this.#staleAfterMs[slot] = staleAfterMs(intervalMs, this.#policy);
    if (kept !== null) {
      flags = judgedUnhealthy(latest) ? EXCLUDED : 0;
      this.#observedAt[slot] = kept.observedAt;
      this.#heightOf[slot] = kept.height;
      tipTime = kept.tipTime ?? undefined;
      tipMedian = kept.tipMedianTime ?? undefined;
    } else {
      flags = excludedFromHead(sample, this.#chain, latest) ? EXCLUDED : 0;
      this.#observedAt[slot] = sample.observedAt;
      // (An excluded sample may have no height: it never reaches the height's readers.)
      this.#heightOf[slot] = sample.height ?? Number.NaN;
      tipTime = sample.tipTime;
      tipMedian = sample.tipMedianTime;
    }
    if (tipTime !== undefined) {
      flags |= HAS_TIP_TIME;
      this.#tipTime[slot] = tipTime;
    }
    if (tipMedian !== undefined) {
      flags |= HAS_TIP_MEDIAN;
      this.#tipMedian[slot] = tipMedian;
    }
    const advancedAt = stats?.advancedAt ?? null;
    if (advancedAt !== null) {
      flags |= HAS_ADVANCED_AT;
      this.#advancedAt[slot] = advancedAt;
    }
    const head = stats?.head ?? null;
    if (head !== null) {
      flags |= HAS_HEAD;
      this.#headHeight[slot] = head.height;
      this.#headSince[slot] = head.since;
    }
    this.#flags[slot] = flags;
  }

  /** Forget slots from `size` on (the chain lost nodes). */
  truncate(size: number): void {
    for (let i = size; i < this.#size; i++) this.#clear(i);
    if (size < this.#size) this.#size = size;
  }

  /** The chain's reference head at `now` from the votes offered: `referenceHead` of the same candidates. */
  head(now: number): ReferenceHead {
    const chain = this.#chain;
    const blockTimeMs = chain.blockTimeMs;
    const window = this.#window;
    const n = this.#size;
    const flagsOf = this.#flags;
    const observedAt = this.#observedAt;
    const heightOf = this.#heightOf;
    const staleAfter = this.#staleAfterMs;
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
      const flags = flagsOf[i]!;
      if ((flags & EMPTY) !== 0) continue;
      const seenAt = observedAt[i]!;
      // isFresh, on the kept numbers (written so that a NaN time is stale, as there).
      if (!(Math.max(0, now - seenAt) <= staleAfter[i]!)) continue;
      if ((flags & EXCLUDED) !== 0) {
        excluded++;
        continue;
      }
      const own = heightOf[i]!;
      const hasHead = (flags & HAS_HEAD) !== 0;
      const p = progressInto(
        (flags & HAS_TIP_TIME) !== 0 ? this.#tipTime[i]! : undefined,
        (flags & HAS_TIP_MEDIAN) !== 0 ? this.#tipMedian[i]! : undefined,
        own,
        seenAt,
        (flags & HAS_ADVANCED_AT) !== 0 ? this.#advancedAt[i]! : null,
        hasHead ? this.#headHeight[i]! : null,
        hasHead ? this.#headSince[i]! : 0,
        window,
        blockTimeMs,
        now,
        out,
      );
      const code = PROGRESS_CODE[p];
      const height = code === 0 ? projectedHeight(own, seenAt, now, blockTimeMs, this.#intervalMs[i]!) : own;
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
        minAt = newest - blockTimeMs;
        haltedForMs = Math.max(0, now - newest);
      }
    }
    const voterHeights = this.#voterHeights;
    const ids = this.#ids;
    // The listed voters: highest head first, ties by id, at most MAX_LISTED_VOTERS, kept sorted by insertion.
    const listed: number[] = [];
    let m = 0;
    for (let k = 0; k < eligible; k++) {
      if (progress[k] !== want) continue;
      // (NaN >= x is false: a stalled vote with no known `at` is left out once some vote has one.)
      if (minAt !== Number.NEGATIVE_INFINITY && !(ats[k]! >= minAt)) continue;
      voterHeights[m++] = heights[k]!;
      insertListed(listed, k, heights, slots, ids);
    }
    const sorted = voterHeights.subarray(0, m).sort();
    // Voters highest first: the head is the quorum-th of them, floor(m / 2) + 1.
    const quorum = Math.floor(m / 2) + 1;
    const lowest = sorted[0]!;
    const voters: string[] = new Array<string>(listed.length);
    for (let j = 0; j < listed.length; j++) voters[j] = ids[slots[listed[j]!]!]!;
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
      voters,
      haltedForMs,
    };
  }

  #clear(slot: number): void {
    this.#samples[slot] = null;
    this.#stats[slot] = null;
    this.#latest[slot] = null;
    this.#flags[slot] = EMPTY;
  }

  #grow(n: number): void {
    const size = Math.max(n, 2 * this.#capacity, 16);
    const grow = <T extends Float64Array | Uint8Array | Int32Array>(old: T, make: (size: number) => T): T => {
      const next = make(size);
      next.set(old);
      return next;
    };
    this.#flags = grow(this.#flags, (k) => new Uint8Array(k));
    this.#observedAt = grow(this.#observedAt, (k) => new Float64Array(k));
    this.#heightOf = grow(this.#heightOf, (k) => new Float64Array(k));
    this.#tipTime = grow(this.#tipTime, (k) => new Float64Array(k));
    this.#tipMedian = grow(this.#tipMedian, (k) => new Float64Array(k));
    this.#advancedAt = grow(this.#advancedAt, (k) => new Float64Array(k));
    this.#headHeight = grow(this.#headHeight, (k) => new Float64Array(k));
    this.#headSince = grow(this.#headSince, (k) => new Float64Array(k));
    this.#intervalMs = grow(this.#intervalMs, (k) => new Float64Array(k));
    this.#staleAfterMs = grow(this.#staleAfterMs, (k) => new Float64Array(k));
    // Scratch: contents need not survive.
    this.#slot = new Int32Array(size);
    this.#height = new Float64Array(size);
    this.#progress = new Uint8Array(size);
    this.#at = new Float64Array(size);
    this.#voterHeights = new Float64Array(size);
    this.#capacity = size;
  }
}

/** Insert eligible vote `k` into `listed` (highest head first, then id), keeping at most MAX_LISTED_VOTERS. */
function insertListed(
  listed: number[],
  k: number,
  heights: Float64Array,
  slots: Int32Array,
  ids: readonly string[],
): void {
  const h = heights[k]!;
  const id = ids[slots[k]!]!;
  let j = listed.length;
  while (j > 0) {
    const other = listed[j - 1]!;
    const ho = heights[other]!;
    if (!(h > ho || (h === ho && id < ids[slots[other]!]!))) break;
    j--;
  }
  if (j >= MAX_LISTED_VOTERS) return;
  listed.splice(j, 0, k);
  if (listed.length > MAX_LISTED_VOTERS) listed.pop();
}
