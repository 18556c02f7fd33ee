import type { ChainSpec } from '../chains/chain-spec.js';
import type { Sample } from '../chains/sample.js';
import { chainMismatch } from './chain-identity.js';
import { isFresh } from './freshness.js';
import type { HealthPolicy } from './policy.js';

/** One node's latest sample, offered as evidence of where the chain's head is (the caller groups by chain). */
export interface HeadCandidate {
  readonly sample: Sample;
  readonly intervalMs: number;
}

/**
 * The corroborated head of one chain at `atMs`: the highest height that a strict majority of
 * the contributing nodes has reached. One node ahead of the rest (a bad fork, a bug, a lucky
 * poll) can never raise it, so it can never make the majority look behind (erpc PR #998).
 *
 * - 1 node: its own head; lag is then always 0 and only the node's own signals (syncing,
 *   headers, tip age, stall) can find it behind.
 * - 2 nodes: the lower head (a majority of 2 is both): neither can condemn the other; a node
 *   stuck behind is caught by the stall rule (degraded) instead.
 * - 3+ nodes: the median for odd counts, the lower middle for even counts.
 *
 * Heights sampled at different moments are first projected to `atMs` with the chain's block
 * time (floor(height + elapsed / blockTime)), so on a 0.75 s chain a node polled 5 s earlier is
 * not 6 blocks "behind" a node polled just now.
 */
export interface ReferenceHead {
  readonly chain: string;
  /** Projected to `atMs`; null when no fresh node reports a head. */
  readonly height: number | null;
  readonly atMs: number;
  /** Fresh samples counted: with a height, not syncing, not on a wrong chain. */
  readonly contributors: number;
  /** How many of them must have reached `height`: floor(contributors / 2) + 1. */
  readonly quorum: number;
  /** The single highest projected head, shown for context; never used to judge lag. */
  readonly highest: number | null;
}

/** How far a node is behind the reference head. */
export interface Lag {
  readonly blocks: number;
  /** `blocks` x the chain's block time. */
  readonly ms: number;
  readonly referenceHeight: number;
}

export function projectedHeight(height: number, observedAt: number, atMs: number, blockTimeMs: number): number {
  return Math.floor(height + Math.max(0, atMs - observedAt) / blockTimeMs);
}

export function referenceHead(candidates: readonly HeadCandidate[], chain: ChainSpec, now: number, policy: HealthPolicy): ReferenceHead {
  const heights: number[] = [];
  for (const { sample, intervalMs } of candidates) {
    if (sample.height === undefined || !Number.isFinite(sample.height)) continue;
    if (sample.syncing === true || chainMismatch(sample, chain) !== null) continue;
    if (!isFresh(sample, intervalMs, now, policy)) continue;
    heights.push(projectedHeight(sample.height, sample.observedAt, now, chain.blockTimeMs));
  }
  heights.sort((a, b) => b - a);
  const quorum = Math.floor(heights.length / 2) + 1;
  return {
    chain: chain.name,
    height: heights[quorum - 1] ?? null,
    atMs: now,
    contributors: heights.length,
    quorum,
    highest: heights[0] ?? null,
  };
}

/** Lag of one sample behind the reference; null when either has no height. Never negative. */
export function lagBehind(reference: ReferenceHead, sample: Sample, chain: ChainSpec): Lag | null {
  if (reference.height === null || sample.height === undefined || !Number.isFinite(sample.height)) return null;
  const own = projectedHeight(sample.height, sample.observedAt, reference.atMs, chain.blockTimeMs);
  const blocks = Math.max(0, reference.height - own);
  return { blocks, ms: blocks * chain.blockTimeMs, referenceHeight: reference.height };
}
