import { closestName } from '../config/closest-name.js';
import { problems } from './problem.js';

/** One thing wrong with a query parameter, as listed in a 400 problem's `errors`. */
export interface ParamIssue {
  readonly parameter: string;
  readonly message: string;
}

/** A parameter name we may echo back: anything else is described, not repeated. */
const SHOWABLE = /^[A-Za-z0-9_.-]{1,40}$/;

/**
 * Reads and validates a request's query string (express's `simple` parser: values are strings,
 * or arrays when repeated). Every parameter a route does not declare is an error, so a typo
 * (`?stat=unhealthy`) is refused instead of silently returning everything. Collects every
 * problem and `done()` throws one 400 problem naming each parameter.
 */
export class QueryReader {
  readonly #query: Readonly<Record<string, unknown>>;
  readonly #issues: ParamIssue[] = [];

  constructor(query: unknown, known: readonly string[]) {
    this.#query = query && typeof query === 'object' ? (query as Record<string, unknown>) : {};
    for (const name of Object.keys(this.#query)) {
      if (known.includes(name)) continue;
      if (!SHOWABLE.test(name)) {
        this.#issues.push({ parameter: '(unknown)', message: `unknown query parameter (allowed: ${known.join(', ') || 'none'})` });
        continue;
      }
      const meant = closestName(name, known);
      this.#issues.push({ parameter: name, message: `unknown query parameter${meant ? `; did you mean ${meant}?` : ''} (allowed: ${known.join(', ') || 'none'})` });
    }
  }

  /** A single-valued parameter as text; undefined when absent. */
  string(name: string, opts: { maxLength?: number; pattern?: RegExp; describe?: string } = {}): string | undefined {
    const raw = this.#single(name);
    if (raw === undefined) return undefined;
    const maxLength = opts.maxLength ?? 200;
    if (raw.length === 0) return this.#bad(name, 'must not be empty');
    if (raw.length > maxLength) return this.#bad(name, `must be at most ${maxLength} characters`);
    if (opts.pattern && !opts.pattern.test(raw)) return this.#bad(name, opts.describe ?? 'has an invalid format');
    return raw;
  }

  /** A parameter that may be repeated (`?tag=a&tag=b`). */
  strings(name: string, opts: { maxLength?: number; maxCount?: number; pattern?: RegExp; describe?: string } = {}): string[] {
    const raw = this.#query[name];
    if (raw === undefined) return [];
    const list = Array.isArray(raw) ? raw : [raw];
    const maxCount = opts.maxCount ?? 10;
    if (list.length > maxCount) {
      this.#bad(name, `may be given at most ${maxCount} times`);
      return [];
    }
    const out: string[] = [];
    for (const item of list) {
      if (typeof item !== 'string' || item.length === 0) {
        this.#bad(name, 'must not be empty');
        continue;
      }
      if (item.length > (opts.maxLength ?? 200)) {
        this.#bad(name, `must be at most ${opts.maxLength ?? 200} characters`);
        continue;
      }
      if (opts.pattern && !opts.pattern.test(item)) {
        this.#bad(name, opts.describe ?? 'has an invalid format');
        continue;
      }
      out.push(item);
    }
    return out;
  }

  /** A whole number in [min, max]; `fallback` when absent. */
  int(name: string, min: number, max: number, fallback: number): number;
  int(name: string, min: number, max: number): number | undefined;
  int(name: string, min: number, max: number, fallback?: number): number | undefined {
    const raw = this.#single(name);
    if (raw === undefined) return fallback;
    if (!/^\d{1,15}$/.test(raw)) return this.#bad(name, `must be a whole number from ${min} to ${max}`) ?? fallback;
    const value = Number(raw);
    if (value < min || value > max) return this.#bad(name, `must be from ${min} to ${max}`) ?? fallback;
    return value;
  }

  /** One of a fixed set of words. */
  oneOf<T extends string>(name: string, allowed: readonly T[]): T | undefined {
    const raw = this.#single(name);
    if (raw === undefined) return undefined;
    if ((allowed as readonly string[]).includes(raw)) return raw as T;
    return this.#bad(name, `must be one of ${allowed.join(', ')}`);
  }

  /** Record a problem found by the caller (e.g. a cursor that does not decode). */
  reject(name: string, message: string): void {
    this.#bad(name, message);
  }

  has(name: string): boolean {
    return this.#query[name] !== undefined;
  }

  /** Throws a 400 problem listing every issue, if there was any. */
  done(): void {
    if (this.#issues.length === 0) return;
    const first = this.#issues[0]!;
    const more = this.#issues.length > 1 ? ` (and ${this.#issues.length - 1} more)` : '';
    throw problems.badQuery(`query parameter ${first.parameter}: ${first.message}${more}`, this.#issues);
  }

  #single(name: string): string | undefined {
    const raw = this.#query[name];
    if (raw === undefined) return undefined;
    if (Array.isArray(raw)) return this.#bad(name, 'must be given once');
    if (typeof raw !== 'string') return this.#bad(name, 'must be text');
    return raw;
  }

  #bad(parameter: string, message: string): undefined {
    this.#issues.push({ parameter, message });
    return undefined;
  }
}
