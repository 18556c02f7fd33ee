// ProxyError: why the proxy answers a request itself, with a stable code.
import { BaseError } from '../errors/base-error.js';

/**
 * Why the proxy answers a request itself instead of with a node's answer. Each has a stable
 * `code` (metrics, logs, tests), the JSON-RPC error code clients see, and the HTTP status.
 * JSON-RPC codes follow geth (-32700 parse, -32600 invalid request, -32601 not found,
 * -32003 response too large) and, for what geth has no word for, proxyd's server range.
 */
export const ProxyErrorCode = {
  Parse: 'RPC_PROXY_PARSE',
  InvalidRequest: 'RPC_PROXY_INVALID_REQUEST',
  MethodRefused: 'RPC_PROXY_METHOD_REFUSED',
  BodyTooLarge: 'RPC_PROXY_BODY_TOO_LARGE',
  BatchTooLarge: 'RPC_PROXY_BATCH_TOO_LARGE',
  ResponseTooLarge: 'RPC_PROXY_RESPONSE_TOO_LARGE',
  Unauthorized: 'RPC_PROXY_UNAUTHORIZED',
  Forbidden: 'RPC_PROXY_FORBIDDEN',
  RateLimited: 'RPC_PROXY_RATE_LIMITED',
  ChainNotFound: 'RPC_PROXY_CHAIN_NOT_FOUND',
  NodeNotFound: 'RPC_PROXY_NODE_NOT_FOUND',
  NoNode: 'RPC_PROXY_NO_NODE',
  BehindClient: 'RPC_PROXY_BEHIND_CLIENT',
  Upstream: 'RPC_PROXY_UPSTREAM_FAILED',
  WriteUncertain: 'RPC_PROXY_WRITE_UNCERTAIN',
  Deadline: 'RPC_PROXY_DEADLINE',
  UnsupportedMediaType: 'RPC_PROXY_UNSUPPORTED_MEDIA_TYPE',
} as const;
export type ProxyErrorCode = (typeof ProxyErrorCode)[keyof typeof ProxyErrorCode];

interface Spec {
  readonly rpcCode: number;
  readonly httpStatus: number;
}

const SPECS: Readonly<Record<ProxyErrorCode, Spec>> = {
  RPC_PROXY_PARSE: { rpcCode: -32700, httpStatus: 400 },
  RPC_PROXY_INVALID_REQUEST: { rpcCode: -32600, httpStatus: 400 },
  RPC_PROXY_METHOD_REFUSED: { rpcCode: -32601, httpStatus: 403 },
  RPC_PROXY_BODY_TOO_LARGE: { rpcCode: -32600, httpStatus: 413 },
  RPC_PROXY_BATCH_TOO_LARGE: { rpcCode: -32600, httpStatus: 400 },
  RPC_PROXY_RESPONSE_TOO_LARGE: { rpcCode: -32003, httpStatus: 502 },
  RPC_PROXY_UNAUTHORIZED: { rpcCode: -32001, httpStatus: 401 },
  RPC_PROXY_FORBIDDEN: { rpcCode: -32001, httpStatus: 403 },
  RPC_PROXY_RATE_LIMITED: { rpcCode: -32005, httpStatus: 429 },
  RPC_PROXY_CHAIN_NOT_FOUND: { rpcCode: -32601, httpStatus: 404 },
  RPC_PROXY_NODE_NOT_FOUND: { rpcCode: -32601, httpStatus: 404 },
  RPC_PROXY_NO_NODE: { rpcCode: -32011, httpStatus: 503 },
  RPC_PROXY_BEHIND_CLIENT: { rpcCode: -32012, httpStatus: 503 },
  RPC_PROXY_UPSTREAM_FAILED: { rpcCode: -32011, httpStatus: 502 },
  RPC_PROXY_WRITE_UNCERTAIN: { rpcCode: -32013, httpStatus: 502 },
  RPC_PROXY_DEADLINE: { rpcCode: -32002, httpStatus: 504 },
  RPC_PROXY_UNSUPPORTED_MEDIA_TYPE: { rpcCode: -32600, httpStatus: 415 },
};

export interface ProxyErrorOptions {
  readonly cause?: unknown;
  /** Seconds, for 429 and 503. */
  readonly retryAfterS?: number;
  /** Safe extra facts for the client (`data` member): codes and numbers, never node text. */
  readonly data?: Record<string, string | number | boolean | null>;
}

export class ProxyError extends BaseError {
  override name = 'ProxyError';
  declare readonly code: ProxyErrorCode;
  readonly rpcCode: number;
  readonly httpStatus: number;
  readonly retryAfterS: number | undefined;
  readonly data: Record<string, string | number | boolean | null> | undefined;

  constructor(code: ProxyErrorCode, message: string, options: ProxyErrorOptions = {}) {
    super(code, message, options.cause === undefined ? {} : { cause: options.cause });
    const spec = SPECS[code];
    this.rpcCode = spec.rpcCode;
    this.httpStatus = spec.httpStatus;
    this.retryAfterS = options.retryAfterS;
    this.data = options.data;
  }
}

/** The JSON-RPC error object for a client, in the dialect it spoke. */
export function errorReply(err: ProxyError, id: unknown, version: '1.0' | '2.0'): Record<string, unknown> {
  const error = { code: err.rpcCode, message: err.shortMessage, data: { reason: err.code, ...err.data } };
  return version === '2.0' ? { jsonrpc: '2.0', id: id ?? null, error } : { result: null, error, id: id ?? null };
}
