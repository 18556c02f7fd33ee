// What route modules get: the narrow ApiService they read, the read model, the logger, reloads.
import type { Logger } from 'pino';
import type { Settings } from '../config/settings.js';
import type { MetricsSource } from '../metrics/fleet-metrics.js';
import type { ProxyMetrics } from '../proxy/proxy-metrics.js';
import type { FleetSource } from '../read/read-model.js';
import type { Store } from '../store/store.js';
import type { ReadModel } from '../read/read-model.js';
import type { BestNodeResolver } from '../read/best-node.js';
import type { NodeAnswers } from '../read/node-answers.js';

/** Result of an admin-triggered reload of the nodes file. */
export type ReloadOutcome = (
  { ok: true; added: string[]; removed: string[]; changed: string[] } | { ok: false; errors: string[] }
) & {
  /** The fleet-wide request the other replicas act on (their outcomes are in the audit log under this id). */
  readonly request?: string;
};

/**
 * What the routes read and do of the running service (a Service has it; the API never imports
 * the Service class, main.ts hands one in).
 */
export interface ApiService extends FleetSource, MetricsSource {
  readonly replica: string;
  readonly settings: Settings;
  readonly logger: Logger;
  readonly store: Store;
  readonly startedAt: number;
  readonly ready: { ready: boolean; view: boolean; firstSweep: boolean; store: boolean };
  readonly storeStatus: {
    connected: boolean;
    writable: boolean;
    lastWriteOkAgoMs: number | null;
    lastError: string | null;
  };
}

/** What every route module gets: the service, its read model, and the process's surroundings. */
export interface ApiContext {
  readonly service: ApiService;
  readonly read: ReadModel;
  /** The app's one probe-answer cache (the agent check answers from it too). */
  readonly answers: NodeAnswers;
  /** The app's one best-node resolver (the chains routes, the proxy and the metrics share its memory). */
  readonly best: BestNodeResolver;
  /** The app's proxy counters: the /rpc route counts, /metrics scrapes. */
  readonly proxyMetrics: ProxyMetrics;
  readonly logger: Logger;
  readonly now: () => number;
  /** Re-read the nodes file (absent when the fleet did not come from a file). */
  readonly reload?: (by: string) => Promise<ReloadOutcome>;
  /** Registered by route modules that hold open streams (SSE), closed on shutdown. */
  readonly onClose: (fn: () => void) => void;
}
