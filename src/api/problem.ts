// Errors as problem+json (RFC 9457), and the one central error handler.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ErrorRequestHandler, RequestHandler, Response } from 'express';
import { writeAnswer } from './compressed-answer.js';

/**
 * Errors as RFC 9457 problem details (application/problem+json). `type` is a stable URN per
 * kind of problem so clients branch on it, never on `detail` text.
 */
export interface Problem {
  readonly status: number;
  /** Stable short code, also the last part of `type`: `node_not_found`, `bad_query`, ... */
  readonly code: string;
  readonly title: string;
  readonly detail?: string;
  /** Extra members (e.g. `errors` for a bad query). */
  readonly extra?: Record<string, unknown>;
}

export class ProblemError extends Error {
  override name = 'ProblemError';
  readonly problem: Problem;
  constructor(problem: Problem) {
    super(problem.detail ?? problem.title);
    this.problem = problem;
  }
}

export const problems = {
  notFound: (what: string, detail?: string) =>
    new ProblemError({
      status: 404,
      code: `${what}_not_found`,
      title: `${what.replace(/_/g, ' ')} not found`,
      ...(detail ? { detail } : {}),
    }),
  badRequest: (detail: string, extra?: Record<string, unknown>) =>
    new ProblemError({ status: 400, code: 'bad_request', title: 'bad request', detail, ...(extra ? { extra } : {}) }),
  unauthorized: (detail: string) =>
    new ProblemError({ status: 401, code: 'unauthorized', title: 'authentication required', detail }),
  forbidden: (detail: string) => new ProblemError({ status: 403, code: 'forbidden', title: 'not allowed', detail }),
  conflict: (detail: string) => new ProblemError({ status: 409, code: 'conflict', title: 'conflict', detail }),
  unavailable: (detail: string) =>
    new ProblemError({ status: 503, code: 'unavailable', title: 'service unavailable', detail }),
  /** A bounded resource is full (e.g. event streams); the client may retry later. */
  tooMany: (detail: string, extra?: Record<string, unknown>) =>
    new ProblemError({
      status: 429,
      code: 'too_many',
      title: 'too many requests',
      detail,
      ...(extra ? { extra } : {}),
    }),
  /** A query parameter is unknown or invalid; `errors` lists `{ parameter, message }` for each. */
  badQuery: (detail: string, errors: ReadonlyArray<{ parameter: string; message: string }>) =>
    new ProblemError({ status: 400, code: 'bad_query', title: 'invalid query parameters', detail, extra: { errors } }),
  unsupportedMediaType: (detail: string) =>
    new ProblemError({ status: 415, code: 'unsupported_media_type', title: 'unsupported media type', detail }),
  unprocessable: (detail: string, extra?: Record<string, unknown>) =>
    new ProblemError({
      status: 422,
      code: 'unprocessable',
      title: 'unprocessable request',
      detail,
      ...(extra ? { extra } : {}),
    }),
  /** The node behind an admin action failed or answered with an error. */
  badGateway: (detail: string, extra?: Record<string, unknown>) =>
    new ProblemError({
      status: 502,
      code: 'node_error',
      title: 'the node failed',
      detail,
      ...(extra ? { extra } : {}),
    }),
  gatewayTimeout: (detail: string, extra?: Record<string, unknown>) =>
    new ProblemError({
      status: 504,
      code: 'node_timeout',
      title: 'the node did not answer in time',
      detail,
      ...(extra ? { extra } : {}),
    }),
};

export function sendProblem(res: Response, p: Problem, instance?: string): void {
  if (res.headersSent) return;
  res.status(p.status).type('application/problem+json').send(problemJson(p, instance));
}

const PROBLEM_TYPE = 'application/problem+json; charset=utf-8';

/**
 * The same answer without express (the probe fast path): status, `application/problem+json;
 * charset=utf-8` and the length, as `sendProblem` writes them. Node drops the body of a HEAD.
 * `compressFor`: a route express served behind its compression middleware (`vary`, and a
 * large problem compressed as that client asks); probes never were.
 */
export function writeProblem(res: ServerResponse, p: Problem, instance?: string, compressFor?: IncomingMessage): void {
  if (res.headersSent) return;
  const body = problemJson(p, instance);
  if (compressFor !== undefined) {
    const length = Buffer.byteLength(body);
    writeAnswer(compressFor, res, {
      status: p.status,
      headers: { 'content-type': PROBLEM_TYPE, 'content-length': length, vary: 'Accept-Encoding' },
      body,
      length,
    });
    return;
  }
  res.statusCode = p.status;
  res.setHeader('content-type', PROBLEM_TYPE);
  res.setHeader('content-length', Buffer.byteLength(body));
  res.end(body);
}

function problemJson(p: Problem, instance: string | undefined): string {
  return JSON.stringify({
    type: `urn:nodesentry:problem:${p.code}`,
    title: p.title,
    status: p.status,
    ...(p.detail ? { detail: p.detail } : {}),
    ...(instance ? { instance } : {}),
    ...(p.extra ?? {}),
  });
}

/** Unknown routes: 404 problem, never express's HTML page. */
export const notFoundHandler: RequestHandler = (req, res) => {
  sendProblem(res, {
    status: 404,
    code: 'route_not_found',
    title: 'route not found',
    detail: `no route for ${req.method} ${req.path.slice(0, 200)}`,
  });
};

/**
 * The one error handler. Bad input gets a 4xx problem; anything unexpected is logged by the
 * caller-supplied `onError` and answered with a bare 500 problem: never a stack trace, never
 * the error's message (it could carry internals).
 */
export function errorHandler(onError: (err: unknown, method: string, path: string) => void): ErrorRequestHandler {
  return (err, req, res, _next) => {
    if (err instanceof ProblemError) return sendProblem(res, err.problem, req.path);
    const e = err as { status?: number; statusCode?: number; type?: string; expose?: boolean };
    const status = e.status ?? e.statusCode;
    // body-parser and friends: 400 malformed JSON, 413 too large, 415 wrong type.
    if (typeof status === 'number' && status >= 400 && status < 500) {
      const code =
        e.type === 'entity.too.large'
          ? 'payload_too_large'
          : e.type === 'entity.parse.failed'
            ? 'malformed_body'
            : status === 415
              ? 'unsupported_media_type'
              : 'bad_request';
      return sendProblem(
        res,
        {
          status,
          code,
          title: code.replace(/_/g, ' '),
          ...(e.type === 'entity.parse.failed' ? { detail: 'request body is not valid JSON' } : {}),
        },
        req.path,
      );
    }
    onError(err, req.method, req.path);
    return sendProblem(res, { status: 500, code: 'internal', title: 'internal error' }, req.path);
  };
}
