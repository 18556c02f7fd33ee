/** Where a store reports what it skipped (garbage values, invalid events, throwing handlers). */
export type StoreWarningSink = (msg: string, data?: object) => void;

/**
 * Reports each distinct problem once, so a key full of another version's records or a
 * misbehaving publisher does not flood the log on every read. Bounded: after `maxKeys`
 * distinct problems it forgets and starts over (reporting again is better than growing).
 */
export class WarnOnce {
  private readonly seen = new Set<string>();

  constructor(
    private readonly sink: StoreWarningSink | undefined,
    private readonly maxKeys = 1000,
  ) {}

  warn(dedupeKey: string, msg: string, data?: object): void {
    if (this.seen.has(dedupeKey)) return;
    if (this.seen.size >= this.maxKeys) this.seen.clear();
    this.seen.add(dedupeKey);
    if (!this.sink) return;
    try {
      this.sink(msg, data);
    } catch {
      // A broken warning sink must not break the store.
    }
  }

  /** Forget what was reported (e.g. a new outage should be reported again). */
  reset(): void {
    this.seen.clear();
  }
}
