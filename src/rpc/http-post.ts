// One bounded POST to a node, its failures mapped onto stable RPC error codes.
import { errors, type Dispatcher } from 'undici';
import {
  RpcConnectionError,
  RpcErrorCode,
  RpcFailure,
  RpcMalformedError,
  RpcTimeoutError,
  RpcTooLargeError,
} from '../errors/rpc-errors.js';

export interface HttpPostOptions {
  /** Where the POST goes: a credential-free URL split once (see `postTarget`). */
  readonly target: PostTarget;
  readonly body: string;
  readonly headers: Readonly<Record<string, string>>;
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

/** A URL split for undici's dispatcher: `origin` and `path` (pathname + search), as undici's `request(url)` splits it. */
export interface PostTarget {
  readonly origin: string;
  readonly path: string;
}

/** Split a credential-free URL once; throws what undici's `request(url)` throws for a bad or non-HTTP URL. */
export function postTarget(url: string): PostTarget {
  const u = new URL(url);
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new errors.InvalidArgumentError('Invalid URL protocol: the URL must start with `http:` or `https:`.');
  }
  return { origin: u.origin, path: u.search ? `${u.pathname}${u.search}` : u.pathname };
}

/**
 * One POST to a node, with the failure modes nodes really show mapped onto stable error
 * codes: refused, reset before the answer, timed out in each phase, truncated body, body over
 * the cap. Never includes the URL's userinfo (callers pass a credential-free URL) or the
 * request headers in any message.
 *
 * Every probe passes here, so it talks to undici's dispatcher directly with its own handler:
 * no URL parsing, AbortController, response stream or async iterator per request (together
 * ~10 % of a 10,000-node sweep's CPU). The whole-exchange deadline is still one timer per
 * request that aborts the exchange, so a hung or dripping node costs its timeout and no more.
 */
export function httpPost(opts: HttpPostOptions): Promise<HttpPostResult> {
  return new Promise<HttpPostResult>((resolve, reject) => {
    const handler = new PostHandler(opts.maxResponseBytes, opts.timeoutMs, resolve, reject);
    opts.dispatcher.dispatch(
      {
        origin: opts.target.origin,
        path: opts.target.path,
        method: 'POST',
        body: opts.body,
        headers: opts.headers,
        headersTimeout: opts.timeoutMs,
        bodyTimeout: opts.timeoutMs,
      },
      handler,
    );
  });
}

/**
 * undici's (legacy, and internal) dispatch handler: `onConnect` gives the abort function,
 * then `onHeaders`, `onData`*, `onComplete`, or `onError` at any point (also after our own
 * abort, with the error we aborted with). Settles its promise exactly once.
 */
class PostHandler implements Dispatcher.DispatchHandler {
  readonly #max: number;
  readonly #timeoutMs: number;
  readonly #resolve: (r: HttpPostResult) => void;
  readonly #reject: (e: unknown) => void;
  readonly #timer: NodeJS.Timeout;
  #abort: ((err?: Error) => void) | undefined;
  /** Set once the deadline passed: aborted at once, or at connect when still queued. */
  #timedOut = false;
  #settled = false;
  #phase: 'request' | 'body' = 'request';
  #status = 0;
  #contentType = '';
  #chunks: Buffer[] = [];
  #size = 0;

  constructor(max: number, timeoutMs: number, resolve: (r: HttpPostResult) => void, reject: (e: unknown) => void) {
    this.#max = max;
    this.#timeoutMs = timeoutMs;
    this.#resolve = resolve;
    this.#reject = reject;
    this.#timer = setTimeout(() => {
      this.#timedOut = true;
      this.#abort?.(new errors.RequestAbortedError());
    }, timeoutMs);
  }

  onConnect(abort: (err?: Error) => void): void {
    // The deadline passed while the request waited for a connection: abort it as it starts.
    if (this.#timedOut) abort(new errors.RequestAbortedError());
    else this.#abort = abort;
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[] | string[] | null, _resume: () => void): boolean {
    if (statusCode < 200) return true; // 1xx informational: the answer is still to come
    this.#phase = 'body';
    this.#status = statusCode;
    let declared = Number.NaN;
    let contentType: string | undefined;
    if (rawHeaders) {
      for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
        const name = rawHeaders[i]!;
        if (name.length !== 12 && name.length !== 14) continue;
        const key = name.toString('latin1').toLowerCase();
        // The first of repeated headers counts, as the response object undici builds gives it.
        if (key === 'content-type' && contentType === undefined) contentType = rawHeaders[i + 1]!.toString('latin1');
        else if (key === 'content-length' && Number.isNaN(declared))
          declared = Number(rawHeaders[i + 1]!.toString('latin1'));
      }
    }
    this.#contentType = contentType ?? '';
    if (Number.isFinite(declared) && declared > this.#max) {
      this.#fail(new RpcTooLargeError(this.#max));
      return false;
    }
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.#size += chunk.length;
    if (this.#size > this.#max) {
      this.#fail(new RpcTooLargeError(this.#max));
      return false;
    }
    this.#chunks.push(chunk);
    return true;
  }

  onComplete(): void {
    if (this.#settled) return;
    this.#settled = true;
    clearTimeout(this.#timer);
    const chunks = this.#chunks;
    this.#resolve({
      status: this.#status,
      contentType: this.#contentType,
      text:
        chunks.length === 0
          ? ''
          : chunks.length === 1
            ? chunks[0]!.toString('utf8')
            : Buffer.concat(chunks, this.#size).toString('utf8'),
    });
  }

  onError(err: Error): void {
    if (this.#settled) return;
    this.#settled = true;
    clearTimeout(this.#timer);
    this.#reject(
      err instanceof RpcFailure
        ? err
        : classifyTransportError(err, { timedOut: this.#timedOut, phase: this.#phase, timeoutMs: this.#timeoutMs }),
    );
  }

  /** Our own verdict on the answer (too large): settle with it, and close the exchange (its socket too). */
  #fail(err: RpcFailure): void {
    if (!this.#settled) {
      this.#settled = true;
      clearTimeout(this.#timer);
      this.#reject(err);
    }
    this.#abort?.(err);
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
