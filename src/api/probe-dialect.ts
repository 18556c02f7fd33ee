import { closestName } from '../config/closest-name.js';
import type { HealthState } from '../health/states.js';
import { problems, type ProblemError } from './problem.js';
import { printable } from '../read/printable.js';

/**
 * The load-balancer dialects of the probe endpoints: which query options exist, what they
 * accept, and which HTTP status each state maps to. Pure; the routes only write the answer.
 *
 * Load balancers read the status and little else: HAProxy and Kubernetes take 2xx/3xx as up,
 * Consul takes 429 as "warning", Envoy wants 200 plus `x-envoy-degraded`, HAProxy's
 * `http-check disable-on-404` drains a server on 404.
 */

/** How a degraded node (or a chain up only thanks to degraded nodes) answers. */
export type DegradedStatus = 200 | 429 | 503;
/** How a drained node answers: 503 (down) or 404 (HAProxy `disable-on-404`: drain, keep sessions). */
export type DrainedStatus = 503 | 404;
export type ProbeFormat = 'json' | 'text';

export interface NodeProbeOptions {
  readonly degraded: DegradedStatus;
  readonly drained: DrainedStatus;
  readonly format: ProbeFormat;
}

export interface ChainProbeOptions {
  readonly degraded: DegradedStatus;
  readonly format: ProbeFormat;
  /** Usable nodes needed; undefined = the setting NODESENTRY_CHAIN_MIN_HEALTHY. */
  readonly min: number | undefined;
}

/** A chain as its probe reports it, in the nodes' own words. */
export type ChainProbeState = 'healthy' | 'degraded' | 'unhealthy';

export const MAX_CHAIN_MIN = 10_000;

/** One query parameter: parse its text or say what it accepts. */
type ParamParser<T> = (text: string) => T | undefined;

export interface QueryParam<T> {
  readonly parse: ParamParser<T>;
  /** Shown in the 400 answer: `must be one of 200, 429, 503`. */
  readonly accepts: string;
}

export type QuerySpec = Readonly<Record<string, QueryParam<unknown>>>;
/** The parameters a query gave, typed by its spec. */
export type ParsedQuery<S extends QuerySpec> = { [K in keyof S]?: S[K] extends QueryParam<infer T> ? T : never };

export function oneOfParam<T extends string | number>(values: readonly T[]): QueryParam<T> {
  const byText = new Map(values.map((v) => [String(v), v]));
  return { parse: (text) => byText.get(text.toLowerCase()), accepts: `must be one of ${values.join(', ')}` };
}

export function intParam(min: number, max: number): QueryParam<number> {
  return {
    parse: (text) => {
      if (!/^\d{1,6}$/.test(text)) return undefined;
      const n = Number(text);
      return n >= min && n <= max ? n : undefined;
    },
    accepts: `must be a whole number from ${min} to ${max}`,
  };
}

export function patternParam(pattern: RegExp, accepts: string): QueryParam<string> {
  return { parse: (text) => (pattern.test(text) ? text : undefined), accepts };
}

/** One bad parameter, as listed in a 400 problem's `errors`. */
export interface ParamError {
  readonly parameter: string;
  readonly message: string;
}

/**
 * Parse a raw query string (without `?`) against a spec. Unknown and repeated parameters are
 * errors too: a misspelt `?degrade=429` silently ignored would leave the load balancer acting
 * on a status its operator did not choose.
 */
export function parseQuery<S extends QuerySpec>(raw: string, spec: S): { ok: true; value: ParsedQuery<S> } | { ok: false; errors: ParamError[] } {
  const value: Record<string, unknown> = {};
  const errors: ParamError[] = [];
  if (raw === '') return { ok: true, value: value as ParsedQuery<S> };
  const seen = new Set<string>();
  for (const [name, text] of new URLSearchParams(raw)) {
    const shownName = printable(name, 40);
    const param = Object.hasOwn(spec, name) ? spec[name] : undefined;
    if (!param) {
      const meant = closestName(name, Object.keys(spec));
      errors.push({ parameter: shownName, message: `unknown query parameter${meant ? `; did you mean ${meant}?` : ''} (allowed: ${Object.keys(spec).join(', ') || 'none'})` });
      continue;
    }
    if (seen.has(name)) {
      errors.push({ parameter: shownName, message: 'given more than once' });
      continue;
    }
    seen.add(name);
    const v = param.parse(text);
    if (v === undefined) errors.push({ parameter: shownName, message: param.accepts });
    else value[name] = v;
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, value: value as ParsedQuery<S> };
}

/** A 400 problem listing every bad parameter. */
export function badQuery(errors: readonly ParamError[]): ProblemError {
  return problems.badQuery(`bad query parameter: ${errors.map((e) => e.parameter).join(', ')}`, errors);
}

const DEGRADED = oneOfParam<DegradedStatus>([200, 429, 503]);
const FORMAT = oneOfParam<ProbeFormat>(['json', 'text']);

export const NODE_PROBE_QUERY = {
  degraded: DEGRADED,
  drained: oneOfParam<DrainedStatus>([503, 404]),
  format: FORMAT,
} satisfies QuerySpec;

export const CHAIN_PROBE_QUERY = {
  degraded: DEGRADED,
  format: FORMAT,
  min: intParam(1, MAX_CHAIN_MIN),
} satisfies QuerySpec;

const NODE_DEFAULTS: NodeProbeOptions = Object.freeze({ degraded: 200, drained: 503, format: 'json' });
const CHAIN_DEFAULTS: ChainProbeOptions = Object.freeze({ degraded: 200, format: 'json', min: undefined });

/** A query's parsed options, or what is wrong with it. */
export type QueryOutcome<O> = { readonly ok: true; readonly options: O } | { readonly ok: false; readonly errors: readonly ParamError[] };

/**
 * Parsed probe options by raw query string. A load balancer sends the same query on every
 * check, so the hot path parses it once; the bound keeps random queries from growing memory.
 */
export class ProbeQueryCache<O> {
  readonly #entries = new Map<string, QueryOutcome<O>>();
  readonly #parse: (raw: string) => QueryOutcome<O>;
  readonly #max: number;

  constructor(parse: (raw: string) => QueryOutcome<O>, max = 64) {
    this.#parse = parse;
    this.#max = max;
  }

  /** Options for a request URL (path and query), or the errors of its query. */
  get(url: string): QueryOutcome<O> {
    const q = url.indexOf('?');
    const raw = q < 0 ? '' : url.slice(q + 1);
    let hit = this.#entries.get(raw);
    if (hit === undefined) {
      hit = this.#parse(raw);
      if (this.#entries.size < this.#max) this.#entries.set(raw, hit);
    }
    return hit;
  }
}

export function nodeProbeQueryCache(): ProbeQueryCache<NodeProbeOptions> {
  return new ProbeQueryCache((raw) => {
    const r = parseQuery(raw, NODE_PROBE_QUERY);
    return r.ok ? { ok: true, options: Object.freeze({ ...NODE_DEFAULTS, ...r.value }) } : r;
  });
}

export function chainProbeQueryCache(): ProbeQueryCache<ChainProbeOptions> {
  return new ProbeQueryCache((raw) => {
    const r = parseQuery(raw, CHAIN_PROBE_QUERY);
    return r.ok ? { ok: true, options: Object.freeze({ ...CHAIN_DEFAULTS, ...r.value }) } : r;
  });
}

/** The status a node's probe answers with. */
export function nodeProbeStatus(state: HealthState, o: NodeProbeOptions): number {
  switch (state) {
    case 'healthy':
      return 200;
    case 'degraded':
      return o.degraded;
    case 'maintenance':
      return o.drained;
    case 'unhealthy':
    case 'unknown':
      return 503;
  }
}

/**
 * A chain is `healthy` while at least `min` of its nodes are healthy, `degraded` while at least
 * `min` are usable (healthy or degraded) but fewer are healthy, `unhealthy` otherwise.
 */
export function chainProbeState(healthy: number, usable: number, min: number): ChainProbeState {
  if (healthy >= min) return 'healthy';
  if (usable >= min) return 'degraded';
  return 'unhealthy';
}

export function chainProbeStatus(state: ChainProbeState, o: ChainProbeOptions): number {
  return state === 'healthy' ? 200 : state === 'degraded' ? o.degraded : 503;
}
