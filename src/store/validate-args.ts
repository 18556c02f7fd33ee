// Argument checks both stores share.
import { RETENTION_DEFAULTS } from '../defaults.js';
import { InvalidArgumentError, OutOfRangeError } from '../errors/argument-errors.js';
import type { StoreRetentionOptions } from './store.js';
import { DEFAULT_SWEEP_BATCH_SIZE } from './sweep-plan.js';
/** Argument checks shared by both stores: a programming error is a TypeError/RangeError, not a store error. */

export function positiveInt(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1)
    throw new OutOfRangeError(`${name} must be a positive integer, got ${value}`);
  return value;
}

export function checkReplica(replica: string): void {
  if (typeof replica !== 'string' || replica === '')
    throw new InvalidArgumentError('replica must be a non-empty string');
}

/** A store's retention options with their defaults, each checked: both stores keep the same. */
export function retentionOf(o: StoreRetentionOptions): Required<StoreRetentionOptions> {
  const R = RETENTION_DEFAULTS;
  return {
    historyLimit: positiveInt('historyLimit', o.historyLimit ?? R.historyLimit),
    auditLimit: positiveInt('auditLimit', o.auditLimit ?? R.auditLimit),
    historyTtlMs: positiveInt('historyTtlMs', o.historyTtlMs ?? R.historyTtlMs),
    transitionLimit: positiveInt('transitionLimit', o.transitionLimit ?? R.transitionLimit),
    transitionTtlMs: positiveInt('transitionTtlMs', o.transitionTtlMs ?? R.transitionTtlMs),
    fleetTransitionLimit: positiveInt('fleetTransitionLimit', o.fleetTransitionLimit ?? R.fleetTransitionLimit),
    sweepBatchSize: positiveInt('sweepBatchSize', o.sweepBatchSize ?? DEFAULT_SWEEP_BATCH_SIZE),
  };
}
