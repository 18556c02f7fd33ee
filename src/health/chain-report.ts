// ChainReport: what the workers persist per chain (reference head, counts, the shared endpoint choice), and its check on the way in.
import type { ReferenceHead } from './reference-head.js';
import type { Selection } from './selection.js';
import type { HealthState } from './states.js';

/**
 * What a chain's facts hold: reference head, counts by state and the shared endpoint choice.
 * Not the ranking: at 5,000 nodes it would be megabytes per write, published to every replica,
 * and readers rank live from their own view anyway (with the effective state at read time).
 */
export interface ChainReport {
  readonly chain: string;
  readonly evaluatedAt: number;
  readonly reference: ReferenceHead;
  readonly selection: Selection;
  readonly counts: Readonly<Record<HealthState, number>>;
}

/** A ChainReport read back from the store, checked enough to serve; null for anything else (the codec calls it once). */
export function asChainReport(value: unknown): ChainReport | null {
  if (!value || typeof value !== 'object') return null;
  const v = value as Partial<ChainReport>;
  if (typeof v.chain !== 'string' || !v.selection || typeof v.evaluatedAt !== 'number' || !v.reference) return null;
  return v as ChainReport;
}
