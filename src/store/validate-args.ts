// Argument checks both stores share.
import { InvalidArgumentError, OutOfRangeError } from '../errors/argument-errors.js';
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
