/**
 * Tolerant but strict readers for what nodes send: a missing field is `undefined` (kept
 * absent in the sample), a present field of the wrong shape throws `InvalidValue` so the
 * probe can classify the node as answering garbage instead of trusting a lie.
 */
export class InvalidValue extends Error {
  override name = 'InvalidValue';
}

// Up to 64 hex digits (a uint256) is still a hex quantity; whether it fits is checked after.
const HEX_QUANTITY = /^0x[0-9a-fA-F]{1,64}$/;

/**
 * EVM hex quantity ("0x1a") to a non-negative integer within Number.MAX_SAFE_INTEGER (and
 * within `max` when given). 14 hex digits are 56 bits, not 53: the length alone proves nothing,
 * so the value is compared as a BigInt before it becomes a Number.
 */
export function hexQuantity(value: unknown, what: string, max: number = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'string' || !HEX_QUANTITY.test(value)) throw new InvalidValue(`${what} is not a hex quantity`);
  const big = BigInt(value);
  if (big > BigInt(Math.min(max, Number.MAX_SAFE_INTEGER)))
    throw new InvalidValue(`${what} is out of range (${shortHex(value)} > ${max})`);
  return Number(big);
}

/** A JSON number that is a non-negative integer no larger than `max` (a plausibility bound). */
export function boundedCount(value: unknown, what: string, max: number): number {
  const n = count(value, what);
  if (n > max) throw new InvalidValue(`${what} is out of range (${n} > ${max})`);
  return n;
}

export function optionalBoundedCount(value: unknown, what: string, max: number): number | undefined {
  return value === undefined || value === null ? undefined : boundedCount(value, what, max);
}

/** A number, with -1 (and any negative) meaning "not measured yet": such values are absent. */
export function optionalMeasurement(value: unknown, what: string): number | undefined {
  const n = optionalNumber(value, what);
  return n === undefined || n < 0 ? undefined : n;
}

function shortHex(v: string): string {
  return v.length > 20 ? `${v.slice(0, 18)}...` : v;
}

/**
 * Plausibility bounds for what nodes report: no real node has more peers than this (Core's
 * -maxconnections and geth's --maxpeers are in the hundreds), and no chain has produced blocks
 * much faster than its block time since Bitcoin's genesis (2009-01-03).
 */
export const MAX_PLAUSIBLE_PEERS = 100_000;
const BITCOIN_GENESIS_MS = 1_231_006_505_000;

/** The highest block height a chain with `blockTimeMs` blocks can plausibly have reached at `nowMs`. */
export function maxPlausibleHeight(blockTimeMs: number, nowMs: number): number {
  const elapsed = Math.max(0, nowMs - BITCOIN_GENESIS_MS);
  // A 4x margin for chains that ran faster than their nominal block time for a while.
  return Math.min(Number.MAX_SAFE_INTEGER, Math.ceil((4 * elapsed) / Math.max(1, blockTimeMs)) + 1_000_000);
}

/** A block hash: 64 hex digits (Bitcoin family, no 0x). Lower-cased. */
export function blockHash(value: unknown, what: string): string {
  if (typeof value !== 'string' || !/^[0-9a-fA-F]{64}$/.test(value))
    throw new InvalidValue(`${what} is not a block hash`);
  return value.toLowerCase();
}

/** A JSON number that is a non-negative safe integer. */
export function count(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0)
    throw new InvalidValue(`${what} is not a non-negative integer`);
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
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new InvalidValue(`${what} is not an object`);
  return value as Record<string, unknown>;
}

/** Bitcoin `warnings`: a string before Core 28, an array of strings since. Empty means none. */
export function warningsList(value: unknown): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value.length > 0 ? [optionalText(value, 'warnings')!] : [];
  if (Array.isArray(value))
    return value
      .slice(0, 16)
      .map((w, i) => optionalText(w, `warnings[${i}]`) ?? '')
      .filter((w) => w.length > 0);
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
    if (!Object.hasOwn(src, k) || k === '__proto__' || k === 'constructor' || k === 'prototype' || k.length > 32)
      continue;
    const v = src[k];
    if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) {
      out[k] = v;
      n++;
    }
  }
  return out;
}
