// The RPC error taxonomy: stable codes and classes of failures talking to a node.
import { BaseError, type BaseErrorOptions } from './base-error.js';

/**
 * Stable codes of everything that can go wrong talking to a node. The health core maps them to
 * reasons (`RPC_TIMEOUT` -> `rpc_timeout`); the API and logs show them as they are.
 */
export const RpcErrorCode = {
  Timeout: 'RPC_TIMEOUT',
  ConnectionRefused: 'RPC_CONNECTION_REFUSED',
  ConnectionReset: 'RPC_CONNECTION_RESET',
  Dns: 'RPC_DNS',
  Tls: 'RPC_TLS',
  Network: 'RPC_NETWORK',
  HttpStatus: 'RPC_HTTP_STATUS',
  AuthFailed: 'RPC_AUTH_FAILED',
  Forbidden: 'RPC_FORBIDDEN',
  RpcError: 'RPC_ERROR',
  WarmingUp: 'RPC_WARMING_UP',
  MethodUnavailable: 'RPC_METHOD_UNAVAILABLE',
  Malformed: 'RPC_MALFORMED_RESPONSE',
  TooLarge: 'RPC_RESPONSE_TOO_LARGE',
  WrongChain: 'RPC_WRONG_CHAIN',
  BatchUnsupported: 'RPC_BATCH_UNSUPPORTED',
  /** The node speaks the other family's dialect (an EVM node probed as Bitcoin family, or back). */
  WrongFamily: 'RPC_WRONG_FAMILY',
} as const;
export type RpcErrorCode = (typeof RpcErrorCode)[keyof typeof RpcErrorCode];

export interface RpcFailureOptions extends BaseErrorOptions {
  httpStatus?: number;
  rpcCode?: number;
  method?: string;
}

/** Base of every node-communication failure. `transient` says whether a retry may succeed. */
export class RpcFailure extends BaseError {
  override name = 'RpcFailure';
  declare readonly code: RpcErrorCode;
  readonly httpStatus: number | undefined;
  readonly rpcCode: number | undefined;
  readonly method: string | undefined;

  constructor(code: RpcErrorCode, shortMessage: string, options: RpcFailureOptions = {}) {
    super(code, shortMessage, options);
    this.httpStatus = options.httpStatus;
    this.rpcCode = options.rpcCode;
    this.method = options.method;
  }
}

export class RpcTimeoutError extends RpcFailure {
  override name = 'RpcTimeoutError';
  constructor(phase: 'connect' | 'headers' | 'body' | 'total', timeoutMs: number, options: BaseErrorOptions = {}) {
    super(RpcErrorCode.Timeout, `node did not answer within ${timeoutMs} ms (${phase})`, {
      ...options,
      transient: true,
    });
  }
}

export class RpcConnectionError extends RpcFailure {
  override name = 'RpcConnectionError';
  constructor(
    code:
      | typeof RpcErrorCode.ConnectionRefused
      | typeof RpcErrorCode.ConnectionReset
      | typeof RpcErrorCode.Dns
      | typeof RpcErrorCode.Tls
      | typeof RpcErrorCode.Network,
    shortMessage: string,
    options: BaseErrorOptions = {},
  ) {
    // A name that does not resolve or a certificate that does not verify will not fix itself
    // on the next try; a refused or reset connection often does (restart, deploy).
    super(code, shortMessage, { transient: code !== RpcErrorCode.Tls && code !== RpcErrorCode.Dns, ...options });
  }
}

export class RpcHttpError extends RpcFailure {
  override name = 'RpcHttpError';
  constructor(status: number, options: BaseErrorOptions = {}) {
    const code =
      status === 401 ? RpcErrorCode.AuthFailed : status === 403 ? RpcErrorCode.Forbidden : RpcErrorCode.HttpStatus;
    const msg =
      status === 401
        ? 'node rejected the credentials (HTTP 401)'
        : status === 403
          ? 'node refused access (HTTP 403: host or IP not allowed)'
          : `node answered HTTP ${status}`;
    super(code, msg, { transient: status >= 500 || status === 429 || status === 408, ...options, httpStatus: status });
  }
}

/** A JSON-RPC error object returned by the node, whatever the HTTP status. */
export class RpcResponseError extends RpcFailure {
  override name = 'RpcResponseError';
  constructor(rpcCode: number, message: string, options: RpcFailureOptions = {}) {
    const code =
      rpcCode === -28
        ? RpcErrorCode.WarmingUp
        : rpcCode === -32601
          ? RpcErrorCode.MethodUnavailable
          : RpcErrorCode.RpcError;
    // -28 warm-up, -32603 internal, -32000 server default, -32002 timeout, -32005 limit: retry may help.
    const transient =
      rpcCode === -28 || rpcCode === -32603 || rpcCode === -32000 || rpcCode === -32002 || rpcCode === -32005;
    super(code, `${options.method ? `${options.method}: ` : ''}RPC error ${rpcCode}: ${truncate(message, 200)}`, {
      transient,
      ...options,
      rpcCode,
    });
  }
}

export class RpcMalformedError extends RpcFailure {
  override name = 'RpcMalformedError';
  constructor(shortMessage: string, options: RpcFailureOptions = {}) {
    // Garbage from a proxy or a truncated body is usually a passing fault.
    super(RpcErrorCode.Malformed, shortMessage, { transient: true, ...options });
  }
}

export class RpcTooLargeError extends RpcFailure {
  override name = 'RpcTooLargeError';
  constructor(limitBytes: number, options: BaseErrorOptions = {}) {
    super(RpcErrorCode.TooLarge, `response exceeded ${limitBytes} bytes`, { transient: false, ...options });
  }
}

export class WrongChainError extends RpcFailure {
  override name = 'WrongChainError';
  readonly expected: string;
  readonly actual: string;
  constructor(expected: string, actual: string) {
    super(RpcErrorCode.WrongChain, `node is on chain ${actual}, expected ${expected}`, { transient: false });
    this.expected = expected;
    this.actual = actual;
  }
}

function truncate(s: string, max: number): string {
  return s.length > max ? `${s.slice(0, max)}...` : s;
}
