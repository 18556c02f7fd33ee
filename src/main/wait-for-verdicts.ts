// How `serve` waits (bounded) for every node to have a verdict before it opens its ports.
import { policyForChain } from '../health/policy.js';
import type { Service } from '../service.js';
import { effectiveOf } from '../view/effective-node.js';

/** How long `serve` waits at most for its verdicts before it opens its ports anyway. */
export const DEFAULT_READY_WAIT_MS = 15_000;
const POLL_MS = 50;

export interface VerdictWait {
  readonly waitedMs: number;
  /** Nodes still without a verdict when the wait ended (empty: all settled). */
  readonly pending: readonly string[];
}

/**
 * Wait until every configured node has a verdict the load balancers can act on, or `timeoutMs`.
 *
 * Why: a fresh process (or one whose Redis records went stale) knows nothing for its first
 * probes, and a probe that answered 503 `unknown` meanwhile would take a healthy backend down
 * (issue #13: a plain restart did, for 4 s). A port that is not open yet is better: HAProxy's
 * agent check ignores a refused connection, and an HTTP check counts it only towards `fall`.
 *
 * A node is settled when it is drained, or has a fresh record whose state is not `unknown`, or
 * whose latest sample is bad anyway (it will answer 503 whatever the wait: no reason to hold the
 * others back for it to be confirmed).
 */
export async function waitForVerdicts(
  service: Service,
  timeoutMs: number,
  now: () => number = Date.now,
  signal?: AbortSignal,
): Promise<VerdictWait> {
  const start = now();
  for (;;) {
    const pending = unsettled(service, now());
    const waitedMs = now() - start;
    // Aborted: the process is stopping (SIGTERM during the wait).
    if (pending.length === 0 || waitedMs >= timeoutMs || signal?.aborted === true) return { waitedMs, pending };
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

function unsettled(service: Service, at: number): string[] {
  const out: string[] = [];
  for (const node of service.nodes.values()) {
    const record = service.view.get(node.id);
    const drained = service.view.drain(node.id) !== undefined;
    // Judged exactly as the probes judge it (ReadModel): staleness and drains included.
    const health = effectiveOf(record, node, drained, at, policyForChain(service.policy, node.chain.name));
    if (health.state !== 'unknown') continue;
    if (record !== undefined && health.latest?.verdict === 'unhealthy') continue;
    out.push(node.id);
  }
  return out;
}
