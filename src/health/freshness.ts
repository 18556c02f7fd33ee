// How old a sample may be and still speak for its node.
import type { Sample } from '../chains/sample.js';
import type { HealthPolicy } from './policy.js';

/**
 * How old a sample may be and still speak for its node: a fixed floor (proxyd's 30 s) or a few
 * of the node's own intervals, whichever is longer, so a node polled every minute is not stale
 * between two polls. A stale sample never counts as healthy (dshackle#67: a frozen status).
 */
export function staleAfterMs(intervalMs: number, policy: HealthPolicy): number {
  return Math.max(policy.staleAfterMs, policy.staleAfterIntervals * intervalMs);
}

/** Age of a sample at `now`; a sample from the future (clock skew between replicas) is age 0. */
export function sampleAgeMs(sample: Sample, now: number): number {
  return Math.max(0, now - sample.observedAt);
}

export function isFresh(sample: Sample, intervalMs: number, now: number, policy: HealthPolicy): boolean {
  return sampleAgeMs(sample, now) <= staleAfterMs(intervalMs, policy);
}
