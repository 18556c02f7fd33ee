// The one query-string reader of every route: typed parameters, and 400 problems that list what is wrong.
import { closestName } from '../config/closest-name.js';
import { problems, type ProblemError } from './problem.js';

/** One thing wrong with a query parameter, as listed in a 400 problem's `errors`. */
export interface ParamIssue {
  readonly parameter: string;
  readonly message: string;
}

/** A parameter name we may echo back: anything else is described, not repeated. */
const SHOWABLE = /^[A-Za-z0-9_.-]{1,40}$/;

/**
 * The one reader of a request's query string, for every route (probes included). It reads the
 * raw query of the request URL (URLSearchParams: values are strings, repeated names collect).
 * Every parameter a route does not declare is an error, so a typo (`?stat=unhealthy`,
 * `?degrade=429`) is refused instead of silently returning everything or leaving a load
 * balancer acting on a status its operator did not choose. Collects every problem: `done()`
 * throws one 400 problem naming each parameter, `issues()` hands them to a caller that caches.
 */
export class QueryReader {
  readonly #query = new Map<string, string[]>();
  /** Issues with the name they are about: listed in the order the query gives the names. */
  readonly #issues: Array<{ readonly name: string; readonly issue: ParamIssue }> = [];

  /** `url`: the request URL (`req.url`, path and query) or a bare query string without `?`. */
  constructor(url: string, known: readonly string[]) {
    const q = url.indexOf('?');
    const raw = q >= 0 ? url.slice(q + 1) : url.startsWith('/') ? '' : url;
    if (raw !== '') {
      for (const [name, value] of new URLSearchParams(raw)) {
        const list = this.#query.get(name);
        if (list) list.push(value);
        else this.#query.set(name, [value]);
      }
    }
    for (const name of this.#query.keys()) {
      if (known.includes(name)) continue;
      if (!SHOWABLE.test(name)) {
        this.#issues.push({
          name,
          issue: {
            parameter: '(unknown)',
            message: `unknown query parameter (allowed: ${known.join(', ') || 'none'})`,
          },
        });
        continue;
      }
      const meant = closestName(name, known);
      this.#issues.push({
        name,
        issue: {
          parameter: name,
          message: `unknown query parameter${meant ? `; did you mean ${meant}?` : ''} (allowed: ${known.join(', ') || 'none'})`,
        },
      });
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
  strings(
    name: string,
    opts: { maxLength?: number; maxCount?: number; pattern?: RegExp; describe?: string } = {},
  ): string[] {
    const list = this.#query.get(name);
    if (list === undefined) return [];
    const maxCount = opts.maxCount ?? 10;
    if (list.length > maxCount) {
      this.#bad(name, `may be given at most ${maxCount} times`);
      return [];
    }
    const out: string[] = [];
    for (const item of list) {
      if (item.length === 0) {
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

  /**
   * One of a fixed set of words or numbers. `ignoreCase`: load balancers' configs are typed by
   * hand (`format=TEXT`), so the probe options accept any case.
   */
  oneOf<T extends string | number>(
    name: string,
    allowed: readonly T[],
    opts: { ignoreCase?: boolean } = {},
  ): T | undefined {
    const raw = this.#single(name);
    if (raw === undefined) return undefined;
    const text = opts.ignoreCase ? raw.toLowerCase() : raw;
    const hit = allowed.find((v) => String(v) === text);
    if (hit !== undefined) return hit;
    return this.#bad(name, `must be one of ${allowed.join(', ')}`);
  }

  /** Record a problem found by the caller (e.g. a cursor that does not decode). */
  reject(name: string, message: string): void {
    this.#bad(name, message);
  }

  has(name: string): boolean {
    return this.#query.has(name);
  }

  /** Every problem found so far, for a caller that answers (or caches) them itself. */
  issues(): readonly ParamIssue[] {
    // The Map keeps the names in query order; a name the query lacks (none so far) goes last.
    const order = [...this.#query.keys()];
    const at = (name: string) => (order.includes(name) ? order.indexOf(name) : order.length);
    return [...this.#issues].sort((a, b) => at(a.name) - at(b.name)).map((x) => x.issue);
  }

  /** Throws a 400 problem listing every issue, if there was any. */
  done(): void {
    if (this.#issues.length > 0) throw badQuery(this.issues());
  }

  #single(name: string): string | undefined {
    const list = this.#query.get(name);
    if (list === undefined) return undefined;
    if (list.length > 1) return this.#bad(name, 'must be given once');
    return list[0];
  }

  #bad(parameter: string, message: string): undefined {
    this.#issues.push({ name: parameter, issue: { parameter, message } });
    return undefined;
  }
}

/** The 400 problem listing every bad parameter. */
export function badQuery(issues: readonly ParamIssue[]): ProblemError {
  const first = issues[0]!;
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : '';
  return problems.badQuery(`query parameter ${first.parameter}: ${first.message}${more}`, issues);
}
