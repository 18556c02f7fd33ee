/**
 * The words nodesentry uses about a node's health.
 *
 * - A `Verdict` is what one sample says right now, before hysteresis.
 * - A `HealthState` is what nodesentry reports: a verdict confirmed by hysteresis, or
 *   `maintenance` when an operator has drained the node.
 */
export type Verdict = 'healthy' | 'degraded' | 'unhealthy' | 'unknown';
export type HealthState = Verdict | 'maintenance';

/** Every HealthState, best first: the order of counts, filters and metrics labels. */
export const HEALTH_STATES: readonly HealthState[] = Object.freeze([
  'healthy',
  'degraded',
  'unhealthy',
  'unknown',
  'maintenance',
]);

/** How much a reason matters: `degraded` = usable but worse; `unhealthy` = do not use. */
export type Severity = 'degraded' | 'unhealthy';

/** Healthy and degraded nodes may serve traffic; nothing else may (except fail-open). */
export function isUsable(state: HealthState): boolean {
  return state === 'healthy' || state === 'degraded';
}

/** 0 healthy, 1 degraded, 2 unhealthy: the ladder hysteresis moves along. */
export function severityOf(verdict: 'healthy' | Severity): number {
  return verdict === 'healthy' ? 0 : verdict === 'degraded' ? 1 : 2;
}

/**
 * Ranking class, lower is better. An unhealthy node ranks above an unknown one: a node that
 * answers with a known problem is a better last resort (fail-open) than one we have no fresh
 * word from. A drained node ranks last and is never chosen.
 */
export const STATE_CLASS: Readonly<Record<HealthState, number>> = Object.freeze({
  healthy: 0,
  degraded: 1,
  unhealthy: 2,
  unknown: 3,
  maintenance: 4,
});
