/**
 * Tolerant but strict readers for what nodes send: a missing field is `undefined` (kept
 * absent in the sample), a present field of the wrong shape throws `InvalidValue` so the
 * probe can classify the node as answering garbage instead of trusting a lie.
 */
export class InvalidValue extends Error {
  override name = 'InvalidValue';
}

const HEX_QUANTITY = /^0x[0-9a-fA-F]{1,14}$/; // <= 56 bits: always a safe integer

/** EVM hex quantity ("0x1a") to a safe non-negative integer. */
export function hexQuantity(value: unknown, what: string): number {
  if (typeof value !== 'string' || !HEX_QUANTITY.test(value)) throw new InvalidValue(`${what} is not a hex quantity`);
  return Number.parseInt(value.slice(2), 16);
}

/** A JSON number that is a non-negative safe integer. */
export function count(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw new InvalidValue(`${what} is not a non-negative integer`);
  return value;
}

export function optionalCount(value: unknown, what: string): number | undefined {
  return value === undefined || value === null ? undefined : count(value, what);
}

export function optionalNumber(value: unknown, what: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new InvalidValue(`${what} is not a number`);
  return value;
}

export function optionalBoolean(value: unknown, what: string): boolean | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') throw new InvalidValue(`${what} is not a boolean`);
  return value;
}

const MAX_TEXT = 256;

/** Strings from a node are shown to people: cap them and drop control characters. */
export function optionalText(value: unknown, what: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new InvalidValue(`${what} is not a string`);
  // eslint-disable-next-line no-control-regex
  const clean = value.replace(/[\u0000-\u001f\u007f]/g, '');
  return clean.length > MAX_TEXT ? `${clean.slice(0, MAX_TEXT)}...` : clean;
}

/** A JSON object (not array, not null), or throws. */
export function record(value: unknown, what: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new InvalidValue(`${what} is not an object`);
  return value as Record<string, unknown>;
}

/** Bitcoin `warnings`: a string before Core 28, an array of strings since. Empty means none. */
export function warningsList(value: unknown): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value.length > 0 ? [optionalText(value, 'warnings')!] : [];
  if (Array.isArray(value)) return value.slice(0, 16).map((w, i) => optionalText(w, `warnings[${i}]`) ?? '').filter((w) => w.length > 0);
  throw new InvalidValue('warnings is neither a string nor a list');
}

/**
 * `{ msgtype: bytes }` maps from getpeerinfo, keeping only sane entries. `__proto__` (an own
 * key after JSON.parse) is skipped before any assignment, so a plain object is safe to fill;
 * this runs for every peer of every Bitcoin-family node on every detailed probe.
 */
export function bytesPerMsg(value: unknown): Record<string, number> | undefined {
  if (value === undefined || value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const src = value as Record<string, unknown>;
  const out: Record<string, number> = {};
  let n = 0;
  for (const k in src) {
    if (n >= 64) break;
    if (!Object.hasOwn(src, k) || k === '__proto__' || k === 'constructor' || k === 'prototype' || k.length > 32) continue;
    const v = src[k];
    if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) {
      out[k] = v;
      n++;
    }
  }
  return out;
}
