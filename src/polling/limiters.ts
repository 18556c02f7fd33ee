// The poller's two concurrency limits: one for the process, one per node host.
import pLimit, { type LimitFunction } from 'p-limit';
import { OutOfRangeError } from '../errors/argument-errors.js';

/**
 * Two levels of concurrency: one global limit for the process, one per node host, so a fleet
 * behind one provider host is not hammered at once. Order matters: a task first waits for its
 * host's slot and only then takes a global one, so nodes queued behind a busy host never sit
 * on global slots that other hosts could use.
 */
export class ProbeLimiters {
  readonly #global: LimitFunction;
  readonly #perHost = new Map<string, LimitFunction>();
  readonly #perHostConcurrency: number;

  constructor(globalConcurrency: number, perHostConcurrency: number) {
    if (!(Number.isInteger(globalConcurrency) && globalConcurrency > 0))
      throw new OutOfRangeError('globalConcurrency must be a positive integer');
    if (!(Number.isInteger(perHostConcurrency) && perHostConcurrency > 0))
      throw new OutOfRangeError('perHostConcurrency must be a positive integer');
    this.#global = pLimit(globalConcurrency);
    this.#perHostConcurrency = perHostConcurrency;
  }

  run<T>(host: string, task: () => Promise<T>): Promise<T> {
    let hostLimit = this.#perHost.get(host);
    if (!hostLimit) {
      hostLimit = pLimit(this.#perHostConcurrency);
      this.#perHost.set(host, hostLimit);
    }
    const global = this.#global;
    return hostLimit(() => global(task));
  }

  /** Tasks running or queued, for metrics. */
  get pending(): { active: number; queued: number } {
    return { active: this.#global.activeCount, queued: this.#global.pendingCount };
  }

  /** Forget limiters of hosts no longer in the fleet (after a config reload). */
  retainHosts(hosts: ReadonlySet<string>): void {
    for (const [host, limit] of this.#perHost) {
      if (!hosts.has(host) && limit.activeCount === 0 && limit.pendingCount === 0) this.#perHost.delete(host);
    }
  }
}

/** host:port of a node URL: the unit the per-host limit applies to. */
export function hostKey(url: string): string {
  return new URL(url).host;
}
