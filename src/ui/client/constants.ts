/** Timings, sizes and state names the dashboard works with. */
export const REFRESH_MS = 5000;
export const STALE_MS = 15000;
export const REQUEST_TIMEOUT_MS = 10000;
export const HISTORY_EVERY_MS = 30000;
export const HISTORY_POINTS = 60;
export const DETAIL_POINTS = 120;
export const DETAIL_TRANSITIONS = 50;
export const FLEET_CHANGES = 100;
export const HEAD_NODES = 12;
export const HEAD_STEPS = 60;
export const STREAM_IDLE_MS = 25000;
/**
 * The node states, best first: src/health/states.ts HEALTH_STATES spelled out, as the joiner
 * bundles only this folder's modules. test/ui/client-contract.test.ts checks they are the same
 * states (at compile time) in the same order.
 */
export const STATES = ['healthy', 'degraded', 'unhealthy', 'unknown', 'maintenance'] as const;
export type ClientState = (typeof STATES)[number];
export const LABEL: Readonly<Record<ClientState, string>> = {
  healthy: 'healthy',
  degraded: 'degraded',
  unhealthy: 'unhealthy',
  unknown: 'unknown',
  maintenance: 'drained',
};
/** The node table's order by state: a drained node before those nodesentry has no word from. */
export const RANK: Readonly<Record<ClientState, number>> = {
  healthy: 0,
  degraded: 1,
  maintenance: 2,
  unknown: 3,
  unhealthy: 4,
};
/** The API reports states as strings: this says which are ours. */
export const isState = (s: string | null | undefined): s is ClientState =>
  typeof s === 'string' && (STATES as readonly string[]).includes(s);
/** A state's label; what the server sent, for a state this page does not know. */
export const stateLabel = (s: string): string => (isState(s) ? LABEL[s] : s);
export const SVG = 'http://www.w3.org/2000/svg';
