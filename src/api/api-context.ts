import type { Logger } from 'pino';
import type { Service } from '../service.js';
import type { ReadModel } from './read-model.js';

/** Result of an admin-triggered reload of the nodes file. */
export type ReloadOutcome = ({ ok: true; added: string[]; removed: string[]; changed: string[] } | { ok: false; errors: string[] }) & {
  /** The fleet-wide request the other replicas act on (their outcomes are in the audit log under this id). */
  readonly request?: string;
};

/** What every route module gets: the service, its read model, and the process's surroundings. */
export interface ApiContext {
  readonly service: Service;
  readonly read: ReadModel;
  readonly logger: Logger;
  readonly now: () => number;
  /** Re-read the nodes file (absent when the fleet did not come from a file). */
  readonly reload?: (by: string) => Promise<ReloadOutcome>;
  /** Registered by route modules that hold open streams (SSE), closed on shutdown. */
  readonly onClose: (fn: () => void) => void;
}
