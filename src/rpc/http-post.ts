// One bounded POST to a node, its failures mapped onto stable RPC error codes.
import { request, type Dispatcher } from 'undici';
import {
  RpcConnectionError,
  RpcErrorCode,
  RpcFailure,
  RpcMalformedError,
  RpcTimeoutError,
  RpcTooLargeError,
} from '../errors/rpc-errors.js';

export interface HttpPostOptions {
  /** Credential-free URL. */
  readonly url: string;
  readonly body: string;
  readonly headers: Record<string, string>;
  readonly dispatcher: Dispatcher;
  /** Deadline for the whole exchange, connect to last byte; a slow drip cannot outlive it. */
  readonly timeoutMs: number;
  readonly maxResponseBytes: number;
}

export interface HttpPostResult {
  readonly status: number;
  readonly contentType: string;
  readonly text: string;
}

/**
 * One POST to a node, with the failure modes nodes really show mapped onto stable error
 * codes: refused, reset before the answer, timed out in each phase, truncated body, body over
 * the cap. Never includes the URL's userinfo (callers pass a credential-free URL) or the
 * request headers in any message.
 */
export async function httpPost(opts: HttpPostOptions): Promise<HttpPostResult> {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, opts.timeoutMs);
  let phase: 'request' | 'body' = 'request';
  try {
    const res = await request(opts.url, {
      method: 'POST',
      body: opts.body,
      headers: opts.headers,
      dispatcher: opts.dispatcher,
      signal: controller.signal,
      headersTimeout: opts.timeoutMs,
      bodyTimeout: opts.timeoutMs,
    });
    phase = 'body';
    const declared = Number(res.headers['content-length']);
    if (Number.isFinite(declared) && declared > opts.maxResponseBytes) {
      // undici's body emits RequestAbortedError when destroyed unread: nobody listens any more.
      res.body.on('error', () => {});
      res.body.destroy();
      throw new RpcTooLargeError(opts.maxResponseBytes);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > opts.maxResponseBytes) {
        res.body.on('error', () => {});
        res.body.destroy();
        throw new RpcTooLargeError(opts.maxResponseBytes);
      }
      chunks.push(chunk);
    }
    const ct = res.headers['content-type'];
    return {
      status: res.statusCode,
      contentType: (Array.isArray(ct) ? ct[0] : ct) ?? '',
      text: chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks, size).toString('utf8'),
    };
  } catch (err) {
    if (err instanceof RpcFailure) throw err;
    throw classifyTransportError(err, { timedOut, phase, timeoutMs: opts.timeoutMs });
  } finally {
    clearTimeout(timer);
  }
}

interface ErrorContext {
  readonly timedOut: boolean;
  readonly phase: 'request' | 'body';
  readonly timeoutMs: number;
}

const TLS_CODES = /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|HOSTNAME_MISMATCH)/;

/** Map undici / libuv errors to our taxonomy. Exported for tests of rare codes. */
export function classifyTransportError(err: unknown, ctx: ErrorContext): RpcFailure {
  // The error's own message may come from libuv and name the address; that is not secret
  // (URLs are credential-free here) but we keep our own short message and the cause.
  if (ctx.timedOut) return new RpcTimeoutError('total', ctx.timeoutMs, { cause: err });
  const codes = errorCodes(err);
  const has = (c: string) => codes.includes(c);
  if (has('UND_ERR_CONNECT_TIMEOUT')) return new RpcTimeoutError('connect', ctx.timeoutMs, { cause: err });
  if (has('UND_ERR_HEADERS_TIMEOUT')) return new RpcTimeoutError('headers', ctx.timeoutMs, { cause: err });
  if (has('UND_ERR_BODY_TIMEOUT')) return new RpcTimeoutError('body', ctx.timeoutMs, { cause: err });
  if (has('ECONNREFUSED'))
    return new RpcConnectionError(RpcErrorCode.ConnectionRefused, 'connection refused', { cause: err });
  if (has('ENOTFOUND') || has('EAI_AGAIN') || has('EAI_NONAME')) {
    return new RpcConnectionError(RpcErrorCode.Dns, 'host name did not resolve', {
      cause: err,
      transient: has('EAI_AGAIN'),
    });
  }
  if (codes.some((c) => TLS_CODES.test(c)))
    return new RpcConnectionError(RpcErrorCode.Tls, 'TLS handshake failed', { cause: err });
  if (
    ctx.phase === 'body' &&
    (has('UND_ERR_SOCKET') ||
      has('ECONNRESET') ||
      has('UND_ERR_RES_CONTENT_LENGTH_MISMATCH') ||
      has('ERR_STREAM_PREMATURE_CLOSE'))
  ) {
    // Headers arrived, then the connection closed early: the node (or a proxy) cut the body.
    return new RpcMalformedError('response body was truncated', { cause: err });
  }
  if (has('ECONNRESET') || has('UND_ERR_SOCKET') || has('EPIPE')) {
    return new RpcConnectionError(RpcErrorCode.ConnectionReset, 'connection reset before an answer', { cause: err });
  }
  if (has('EHOSTUNREACH') || has('ENETUNREACH') || has('EADDRNOTAVAIL')) {
    return new RpcConnectionError(RpcErrorCode.Network, 'network unreachable', { cause: err });
  }
  if (has('ERR_INVALID_URL') || has('UND_ERR_INVALID_ARG')) {
    return new RpcConnectionError(RpcErrorCode.Network, 'invalid request', { cause: err, transient: false });
  }
  return new RpcConnectionError(RpcErrorCode.Network, 'network error', { cause: err });
}

function errorCodes(err: unknown): string[] {
  const out: string[] = [];
  let e: unknown = err;
  for (let depth = 0; e && typeof e === 'object' && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') out.push(code);
    const name = (e as { name?: unknown }).name;
    if (name === 'AbortError') out.push('ABORT');
    // AggregateError from happy-eyeballs connects carries the real codes in `errors`.
    const errors = (e as { errors?: unknown }).errors;
    if (Array.isArray(errors)) for (const inner of errors) out.push(...errorCodes(inner));
    e = (e as { cause?: unknown }).cause;
  }
  return out;
}
