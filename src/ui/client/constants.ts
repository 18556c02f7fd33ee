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
export const STATES = ['healthy', 'degraded', 'unhealthy', 'unknown', 'maintenance'];
export const LABEL = { healthy: 'healthy', degraded: 'degraded', unhealthy: 'unhealthy', unknown: 'unknown', maintenance: 'drained' };
export const RANK = { healthy: 0, degraded: 1, maintenance: 2, unknown: 3, unhealthy: 4 };
export const SVG = 'http://www.w3.org/2000/svg';
// The page's ids (page.ts) name inputs, dialogs, details and plain boxes alike: untyped lookups
// until the client's data and elements are typed (strict mode is off in src/ui/client/tsconfig.json).
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const $ = (id: string): any => document.getElementById(id);
