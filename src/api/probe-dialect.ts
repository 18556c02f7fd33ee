// The load-balancer dialects of the probe endpoints: their query options and how each renders up, down and drained.
import type { HealthState } from '../health/states.js';
import { type ParamIssue, QueryReader } from './query.js';

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

const DEGRADED: readonly DegradedStatus[] = [200, 429, 503];
const DRAINED: readonly DrainedStatus[] = [503, 404];
const FORMAT: readonly ProbeFormat[] = ['json', 'text'];
const CASELESS = { ignoreCase: true } as const;

const NODE_DEFAULTS: NodeProbeOptions = Object.freeze({ degraded: 200, drained: 503, format: 'json' });
const CHAIN_DEFAULTS: ChainProbeOptions = Object.freeze({ degraded: 200, format: 'json', min: undefined });

/** A query's parsed options, or what is wrong with it. */
export type QueryOutcome<O> =
  { readonly ok: true; readonly options: O } | { readonly ok: false; readonly errors: readonly ParamIssue[] };

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

function outcome<O>(q: QueryReader, options: O): QueryOutcome<O> {
  const errors = q.issues();
  return errors.length > 0 ? { ok: false, errors } : { ok: true, options: Object.freeze(options) };
}

export function nodeProbeQueryCache(): ProbeQueryCache<NodeProbeOptions> {
  return new ProbeQueryCache((raw) => {
    const q = new QueryReader(raw, ['degraded', 'drained', 'format']);
    const d = NODE_DEFAULTS;
    return outcome(q, {
      degraded: q.oneOf('degraded', DEGRADED, CASELESS) ?? d.degraded,
      drained: q.oneOf('drained', DRAINED, CASELESS) ?? d.drained,
      format: q.oneOf('format', FORMAT, CASELESS) ?? d.format,
    });
  });
}

export function chainProbeQueryCache(): ProbeQueryCache<ChainProbeOptions> {
  return new ProbeQueryCache((raw) => {
    const q = new QueryReader(raw, ['degraded', 'format', 'min']);
    const d = CHAIN_DEFAULTS;
    return outcome(q, {
      degraded: q.oneOf('degraded', DEGRADED, CASELESS) ?? d.degraded,
      format: q.oneOf('format', FORMAT, CASELESS) ?? d.format,
      min: q.int('min', 1, MAX_CHAIN_MIN),
    });
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
