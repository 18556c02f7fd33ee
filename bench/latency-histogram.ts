/**
 * Latencies in 10 µs buckets up to 10 s (plus one overflow bucket): recording costs nothing
 * and allocates nothing, so the load generator does not disturb what it measures.
 */
export class LatencyHistogram {
  static readonly BUCKET_MS = 0.01;
  readonly #counts = new Uint32Array(1_000_001);
  #n = 0;

  record(ms: number): void {
    const i = Math.min(this.#counts.length - 1, Math.max(0, Math.floor(ms / LatencyHistogram.BUCKET_MS)));
    this.#counts[i]!++;
    this.#n++;
  }

  get count(): number {
    return this.#n;
  }

  /** Upper edge of the bucket holding the q-quantile (0..1), ms; NaN without samples. */
  quantile(q: number): number {
    if (this.#n === 0) return Number.NaN;
    const rank = Math.max(1, Math.ceil(q * this.#n));
    let seen = 0;
    for (let i = 0; i < this.#counts.length; i++) {
      seen += this.#counts[i]!;
      if (seen >= rank) return (i + 1) * LatencyHistogram.BUCKET_MS;
    }
    return Number.POSITIVE_INFINITY;
  }
}
