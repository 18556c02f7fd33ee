// Reloads of the nodes file that reach every replica, through a store event (used by main.ts).
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { ReloadOutcome } from '../api/api-context.js';
import type { Store } from '../store/store.js';

/**
 * Reloads that reach the whole fleet (issue #14, case 11). A reload started on one replica
 * (SIGHUP, `POST /v1/admin/reload`) runs there, then asks every other replica through the
 * store's events to re-read *its own* nodes file: an operator who edited the files on every
 * host signals one process, not each. Every replica audits its own outcome with the request's
 * id, so `GET /v1/admin/audit` shows, per replica, what the request did (or why it was refused).
 *
 * Reloads on one replica never overlap: requests queue behind the one in progress.
 */
export class FleetReload {
  readonly #o: FleetReloadOptions;
  #queue: Promise<unknown> = Promise.resolve();
  readonly #unsubscribe: () => void;
  #closed = false;

  constructor(opts: FleetReloadOptions) {
    this.#o = opts;
    this.#unsubscribe = opts.store.subscribe((event) => {
      if (event.type !== 'reload-request' || event.origin === opts.replica || this.#closed) return;
      void this.#serially(() => this.#asked(event.id, event.by, event.origin));
    });
  }

  /** Reload here, audited as `by`, then ask the other replicas; resolves with this replica's outcome. */
  start(by: string, audit: boolean): Promise<ReloadOutcome> {
    return this.#serially(async () => {
      const at = Date.now();
      const request = randomUUID();
      const outcome = await this.#o.reload();
      if (audit) await this.#audit({ action: 'reload', by, at, request, ...summary(outcome) });
      try {
        await this.#o.store.publish({ type: 'reload-request', id: request, origin: this.#o.replica, by, at });
      } catch (err) {
        // The local reload stands; the others keep their lists until asked again.
        this.#o.logger.warn(
          { err: (err as Error).message, request },
          'could not ask the other replicas to reload (store unavailable)',
        );
        return outcome;
      }
      return { ...outcome, request };
    });
  }

  close(): void {
    this.#closed = true;
    this.#unsubscribe();
  }

  async #asked(request: string, by: string, origin: string): Promise<void> {
    const at = Date.now();
    const outcome = await this.#o.reload();
    if (outcome.ok) {
      this.#o.logger.info(
        {
          request,
          by,
          origin,
          added: outcome.added.length,
          removed: outcome.removed.length,
          changed: outcome.changed.length,
        },
        `reloaded the nodes file: asked by ${by} on replica ${origin}`,
      );
    } else {
      this.#o.logger.warn(
        { request, by, origin, errors: outcome.errors.length },
        `reload asked by ${by} on replica ${origin} refused; the running configuration stays`,
      );
    }
    await this.#audit({ action: 'reload', by, via: origin, at, request, ...summary(outcome) });
  }

  #audit(entry: Record<string, unknown>): Promise<void> {
    return this.#o.store
      .appendAudit({ ...entry, replica: this.#o.replica })
      .catch(() => this.#o.logger.warn({ action: 'reload' }, 'could not write the audit log entry'));
  }

  #serially<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => undefined);
    return run;
  }
}

export interface FleetReloadOptions {
  readonly replica: string;
  readonly store: Store;
  readonly logger: Logger;
  /** Re-read this replica's own nodes file and apply it. */
  readonly reload: () => Promise<ReloadOutcome>;
}

function summary(o: ReloadOutcome): Record<string, unknown> {
  return o.ok
    ? { ok: true, added: o.added, removed: o.removed, changed: o.changed }
    : { ok: false, errors: o.errors.length };
}
