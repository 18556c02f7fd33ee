// A node's health as it stands now: the stored verdict aged by staleness and overridden by drains.
import type { Sample } from '../chains/sample.js';
import { initialHealth, type NodeHealth } from './hysteresis.js';
import type { NodeInfo } from './node-info.js';
import type { HealthPolicy } from './policy.js';
import { reasons } from './reasons.js';
import { isFresh, sampleAgeMs } from './freshness.js';

/**
 * A node's health as it stands at `now`, not as it was when last written: a node whose latest
 * sample has gone stale is `unknown` (stale_sample), a drained node is `maintenance`, a node
 * never sampled is `unknown` (no_sample). Every reader (ranking, API, load-balancer probes)
 * goes through this, so a record nobody refreshes is never served as fresh (dshackle#67).
 */
export function effectiveHealth(
  health: NodeHealth | null,
  sample: Sample | null,
  node: NodeInfo,
  chain: string,
  drained: boolean,
  now: number,
  policy: HealthPolicy,
): NodeHealth {
  const base: NodeHealth = health ?? initialHealth(node.id, chain, now);
  if (drained) {
    return base.state === 'maintenance'
      ? base
      : { ...base, state: 'maintenance', since: now, usableSince: null, reasons: [reasons.drained()] };
  }
  if (sample && !isFresh(sample, node.intervalMs, now, policy)) {
    return { ...base, state: 'unknown', usableSince: null, reasons: [reasons.staleSample(sampleAgeMs(sample, now))] };
  }
  if (base.state === 'maintenance') {
    // Undrained since the last sample: until the next one is judged, say what that one said.
    return { ...base, state: base.tracked, reasons: base.latest?.reasons ?? [] };
  }
  return base;
}
