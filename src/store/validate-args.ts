/** Argument checks shared by both stores: a programming error is a TypeError/RangeError, not a store error. */

export function positiveInt(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer, got ${value}`);
  return value;
}

export function checkReplica(replica: string): void {
  if (typeof replica !== 'string' || replica === '') throw new TypeError('replica must be a non-empty string');
}
