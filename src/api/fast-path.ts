// The probe fast path: a plain node:http request handler in front of express for the probe routes.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HttpMetrics } from '../metrics/http-metrics.js';
import { printable } from '../read/printable.js';
import { ProblemError, problems, writeProblem } from './problem.js';
import { type RouteRef, setRoute } from './request-observer.js';

/**
 * One route the fast path answers. Matching follows express's defaults, so a path answers here
 * exactly where express would have routed it: case-insensitive, one optional trailing slash,
 * parameters percent-decoded (a bad escape is a 400, as express's router makes it).
 */
export interface FastRoute {
  /** The template metrics and the access log name it by, as express did: `/probe/nodes/:id`. */
  readonly template: string;
  /** On the path (no query); capture groups are the parameters, in order. */
  readonly pattern: RegExp;
  /** Methods it answers (upper case). */
  readonly methods: readonly string[];
  /**
   * Other methods: `Allow` value of a 405 problem when set; when absent they are not this
   * route's, and the request goes on to express (which answers them as it always did).
   */
  readonly allow?: string;
  /**
   * Headers of every problem it answers (probes: `cache-control: no-store`). Its answers write
   * their own in one `writeHead`: a header set before would send them through `setHeader`.
   */
  readonly problemHeaders?: Readonly<Record<string, string>>;
  /**
   * Express served it behind its compression middleware: its problems say `vary:
   * accept-encoding` and are compressed when large, as they were. (Its answers do it themselves.)
   */
  readonly compress?: boolean;
  /** A problem to answer instead of the route (the API key), checked before `handle`. */
  readonly guard?: (req: IncomingMessage) => ProblemError | undefined;
  /**
   * Write the whole answer before returning (it is timed to the return), or return the problem
   * to answer with (headers it set on `res` stay). Or a promise of that (the JSON-RPC proxy):
   * timed to its settling.
   */
  handle(
    req: IncomingMessage,
    res: ServerResponse,
    params: readonly string[],
  ): ProblemError | undefined | Promise<ProblemError | undefined>;
  /** Every request gets its access-log line (the proxy's backends' calls); default: sampled, as probes. */
  readonly logEvery?: boolean;
}

export interface FastPathDeps {
  readonly metrics: HttpMetrics;
  /** The access log, when it is on; `sampled`: only a share of such requests get a line (probes). */
  readonly log?: ((req: IncomingMessage, res: ServerResponse, sampled: boolean) => void) | undefined;
  /** An unexpected error: logged by the caller; the client gets a bare 500 problem. */
  readonly onError: (err: unknown, method: string, path: string) => void;
}

/** Answers `req` if one of `routes` serves it and returns true; false: hand it to express. */
export type FastPath = (req: IncomingMessage, res: ServerResponse) => boolean;

/**
 * Load balancers probe every node every second or two, so the probes are most of the API's
 * traffic. Through express, a constant answer ran at 26-34 % of a bare node:http handler on a
 * 2-core machine (bench/RESULTS.md, issue #17): its router, request and response prototypes
 * and middleware cost more than the answer itself. Here a probe costs a regex test, the
 * request metrics, the access log's sampling draw and the answer from the read model.
 */
export function fastPath(routes: readonly FastRoute[], deps: FastPathDeps): FastPath {
  const refs: readonly RouteRef[] = routes.map((r) => Object.freeze({ path: r.template }));
  return (req, res) => {
    const url = req.url ?? '';
    // Origin-form only ("/..."): anything else is express's to answer or refuse.
    if (url.charCodeAt(0) !== 47) return false;
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    for (let i = 0; i < routes.length; i++) {
      const route = routes[i]!;
      const m = route.pattern.exec(path);
      if (m === null) continue;
      const method = req.method ?? '';
      const allowed = route.methods.includes(method);
      if (!allowed && route.allow === undefined) return false;
      const start = performance.now();
      setRoute(req, refs[i]!);
      deps.log?.(req, res, route.logEvery !== true);
      const finish = (problem: ProblemError | undefined): void => {
        if (problem !== undefined) {
          if (res.headersSent) res.end();
          else {
            if (route.problemHeaders)
              for (const name in route.problemHeaders) res.setHeader(name, route.problemHeaders[name]!);
            writeProblem(res, problem.problem, path, route.compress === true ? req : undefined);
          }
        }
        // Every answer here is written before this line, so it is timed here, without a 'close'
        // listener per request (express's routes are timed to 'close', see request-observer.ts).
        deps.metrics.observe(method, route.template, res.statusCode, (performance.now() - start) / 1000);
      };
      const failed = (err: unknown): ProblemError => {
        deps.onError(err, method, path);
        return new ProblemError({ status: 500, code: 'internal', title: 'internal error' });
      };
      let problem: ProblemError | Promise<ProblemError | undefined> | undefined;
      try {
        // In this order, as under express: the router decodes parameters when it matches.
        const params = decodeParams(m);
        if (params === undefined) problem = problems.badRequest('a path parameter is not valid percent-encoding');
        else if (!allowed) {
          res.setHeader('allow', route.allow!);
          problem = new ProblemError({
            status: 405,
            code: 'method_not_allowed',
            title: 'method not allowed',
            detail: `${printable(method, 16)} is not allowed here; use ${route.allow!}`,
          });
        } else problem = route.guard?.(req) ?? route.handle(req, res, params);
      } catch (err) {
        problem = failed(err);
      }
      if (problem instanceof Promise) problem.then(finish, (err: unknown) => finish(failed(err)));
      else finish(problem);
      return true;
    }
    return false;
  };
}

function decodeParams(m: RegExpExecArray): string[] | undefined {
  const out: string[] = [];
  for (let i = 1; i < m.length; i++) {
    const raw = m[i]!;
    if (!raw.includes('%')) {
      out.push(raw);
      continue;
    }
    try {
      out.push(decodeURIComponent(raw));
    } catch {
      return undefined;
    }
  }
  return out;
}

/** A path pattern as express matches it: case-insensitive, one optional trailing slash; `:name` is one segment. */
export function routePattern(template: string): RegExp {
  const source = template
    .split('/')
    .map((part) => (part.startsWith(':') ? '([^/]+)' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('\\/');
  return new RegExp(`^${source}\\/?$`, 'i');
}
