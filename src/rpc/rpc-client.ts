// JSON-RPC calls and batches to one node, in the EVM or the Bitcoin-family dialect.
import type { Dispatcher } from 'undici';
import { RpcErrorCode, RpcFailure, RpcHttpError, RpcMalformedError, RpcResponseError } from '../errors/rpc-errors.js';
import type { Credentials } from './credentials.js';
import { classifyTransportError, httpPost, postTarget, type PostTarget } from './http-post.js';
import { SecretRedactor } from './secret-redactor.js';
import { InvalidArgumentError, OutOfRangeError } from '../errors/argument-errors.js';

/**
 * `evm`: JSON-RPC 2.0, errors in 200 bodies (geth and its forks).
 * `bitcoin`: legacy JSON-RPC 1.0 (defid, paicoind, bitcoind): single-call errors come as HTTP
 * 400/404/500 with a JSON body that must be read; batches always get 200.
 */
export type RpcDialect = 'evm' | 'bitcoin';

export interface RpcClientOptions {
  /** Credential-free URL. */
  readonly url: string;
  readonly dialect: RpcDialect;
  readonly dispatcher: Dispatcher;
  readonly credentials?: Credentials | undefined;
  /** Deadline of one HTTP exchange, ms. */
  readonly timeoutMs: number;
  /** Cap on a response body, bytes. */
  readonly maxResponseBytes: number;
  /** Secrets in the URL (placeholder values, key-like query values), scrubbed from node text with the credentials'. */
  readonly secrets?: readonly string[] | undefined;
}

export interface RpcCall {
  readonly method: string;
  readonly params?: readonly unknown[];
}

export type RpcOutcome =
  { readonly ok: true; readonly result: unknown } | { readonly ok: false; readonly error: RpcFailure };

/** The headers of a call without credentials: one object for every call. */
const PLAIN_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-type': 'application/json',
  accept: 'application/json',
});

/**
 * The params of a call without any: one frozen constant, which the batch body cache compares by
 * identity. Callers that build calls every probe (NodeProber) pass this one.
 */
export const NO_PARAMS: readonly unknown[] = Object.freeze([]);

interface JsonRpcReply {
  id?: unknown;
  result?: unknown;
  error?: unknown;
}

/**
 * JSON-RPC over one keep-alive undici dispatcher. Knows the dialects' wire formats and how each
 * reports errors; knows nothing about chains or health.
 */
export class RpcClient {
  readonly url: string;
  readonly dialect: RpcDialect;
  readonly #opts: RpcClientOptions;
  readonly #version: string;
  #redactor: SecretRedactor | undefined;
  #redactorKey = '';
  #postTarget: PostTarget | undefined;
  #lastBatch: { readonly calls: readonly RpcCall[]; readonly body: string } | undefined;

  constructor(opts: RpcClientOptions) {
    if (!(opts.timeoutMs > 0)) throw new OutOfRangeError('timeoutMs must be > 0');
    if (!(opts.maxResponseBytes > 0)) throw new OutOfRangeError('maxResponseBytes must be > 0');
    if (/^[a-z][a-z0-9+.-]*:\/\/[^/]*@/i.test(opts.url)) {
      // Userinfo must have been moved into Credentials by config; never send or log it.
      throw new InvalidArgumentError('RpcClient needs a credential-free URL');
    }
    this.#opts = opts;
    this.url = opts.url;
    this.dialect = opts.dialect;
    this.#version = opts.dialect === 'evm' ? '2.0' : '1.0';
  }

  /**
   * Text the node sent back, with every secret this client sends it blanked out (a node or
   * proxy may quote the request: URL, Authorization header). Rebuilt when a cookie changes.
   */
  redact(text: string): string {
    return this.redactor().redact(text);
  }

  /** The redactor `redact` uses (`empty` when this client sends no secret). */
  redactor(): SecretRedactor {
    // Without credentials the secrets are fixed at construction: asked for on every probe, the
    // redactor is built once, with no key to rebuild and compare.
    if (this.#redactor !== undefined && this.#opts.credentials === undefined) return this.#redactor;
    const values = [...(this.#opts.secrets ?? []), ...(this.#opts.credentials?.secretValues() ?? [])];
    const key = values.join('\u0000');
    if (this.#redactor === undefined || key !== this.#redactorKey) {
      this.#redactor = new SecretRedactor(values);
      this.#redactorKey = key;
    }
    return this.#redactor;
  }

  /** One call. Resolves with the result or rejects with an `RpcFailure`. */
  async call(method: string, params: readonly unknown[] = []): Promise<unknown> {
    const body = JSON.stringify({ jsonrpc: this.#version, id: 1, method, params });
    const res = await this.#post(body);
    const reply = this.#parse(res.text, res.status, method);
    if (Array.isArray(reply) || reply === null || typeof reply !== 'object') {
      throw this.#statusOr(
        res.status,
        new RpcMalformedError('reply is not a JSON-RPC object', { method, httpStatus: res.status }),
      );
    }
    const outcome = this.#outcome(reply as JsonRpcReply, method, res.status);
    if (outcome.ok) {
      if (res.status !== 200) throw new RpcHttpError(res.status);
      return outcome.result;
    }
    throw outcome.error;
  }

  /**
   * Several calls in one HTTP request. Resolves with one outcome per call, in order; rejects
   * only when the exchange as a whole failed. A node or proxy that does not take batches
   * rejects with code `RPC_BATCH_UNSUPPORTED` so the caller can fall back to single calls.
   */
  async batch(calls: readonly RpcCall[]): Promise<RpcOutcome[]> {
    if (calls.length === 0) return [];
    const res = await this.#post(this.#batchBody(calls));
    const parsed = this.#parse(res.text, res.status, undefined);
    if (!Array.isArray(parsed)) {
      // A single error object in answer to an array: the batch itself was refused
      // (geth: empty or too large batch; proxies that forbid batches: -32600 / 400).
      if (
        parsed &&
        typeof parsed === 'object' &&
        (parsed as JsonRpcReply).error &&
        (res.status === 200 || res.status === 400)
      ) {
        const err = this.#outcome(parsed as JsonRpcReply, undefined, res.status);
        throw new RpcFailure(RpcErrorCode.BatchUnsupported, 'node refused a batch request', {
          cause: err.ok ? undefined : err.error,
          httpStatus: res.status,
        });
      }
      throw this.#statusOr(
        res.status,
        new RpcMalformedError('batch reply is not an array', { httpStatus: res.status }),
      );
    }
    if (res.status !== 200) throw new RpcHttpError(res.status);
    // One reply per call, each id exactly once: a short, padded or renumbered batch is a node
    // (or a proxy) that lost track of what was asked, and none of its answers can be trusted to
    // belong to the call they claim (a chain id dropped from a batch must not go unnoticed).
    if (parsed.length !== calls.length) {
      throw new RpcMalformedError(`batch reply has ${parsed.length} elements for ${calls.length} calls`, {
        httpStatus: res.status,
      });
    }
    const byId = new Map<number, JsonRpcReply>();
    for (const item of parsed) {
      const id = item && typeof item === 'object' ? (item as JsonRpcReply).id : undefined;
      if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= calls.length || byId.has(id)) {
        throw new RpcMalformedError('batch reply ids do not match the calls (missing, duplicate or unknown id)', {
          httpStatus: res.status,
        });
      }
      byId.set(id, item as JsonRpcReply);
    }
    return calls.map((c, i) => this.#outcome(byId.get(i)!, c.method, 200));
  }

  /**
   * The JSON of a batch. A prober sends the same calls every interval, so the last body is kept
   * and reused while the methods and their params (compared by identity: callers pass constant
   * params arrays) are the same.
   */
  #batchBody(calls: readonly RpcCall[]): string {
    const last = this.#lastBatch;
    if (last !== undefined && last.calls.length === calls.length) {
      let same = true;
      for (let i = 0; i < calls.length && same; i++) {
        const a = calls[i]!;
        const b = last.calls[i]!;
        same = a.method === b.method && (a.params ?? NO_PARAMS) === (b.params ?? NO_PARAMS);
      }
      if (same) return last.body;
    }
    const payload = calls.map((c, i) => ({ jsonrpc: this.#version, id: i, method: c.method, params: c.params ?? [] }));
    const body = JSON.stringify(payload);
    this.#lastBatch = { calls: calls.map((c) => ({ method: c.method, params: c.params ?? NO_PARAMS })), body };
    return body;
  }

  async #post(body: string) {
    const creds = this.#opts.credentials;
    const target = this.#target();
    if (!creds) {
      const res = await this.#send(target, body, PLAIN_HEADERS);
      // 401/403 come with empty bodies from every node family: nothing to read.
      if (res.status === 401 || res.status === 403) throw new RpcHttpError(res.status);
      return res;
    }
    const headers = { ...PLAIN_HEADERS, authorization: await creds.authorizationHeader() };
    let res = await this.#send(target, body, headers);
    if (res.status === 401 && creds.invalidate()) {
      // The node restarted and wrote a new .cookie: read it again and retry once.
      headers.authorization = await creds.authorizationHeader();
      res = await this.#send(target, body, headers);
    }
    if (res.status === 401 || res.status === 403) throw new RpcHttpError(res.status);
    return res;
  }

  #send(target: PostTarget, body: string, headers: Readonly<Record<string, string>>) {
    return httpPost({
      target,
      body,
      headers,
      dispatcher: this.#opts.dispatcher,
      timeoutMs: this.#opts.timeoutMs,
      maxResponseBytes: this.#opts.maxResponseBytes,
    });
  }

  /** The URL split once for the dispatcher; a bad URL fails each exchange the way undici would. */
  #target(): PostTarget {
    if (this.#postTarget !== undefined) return this.#postTarget;
    try {
      this.#postTarget = postTarget(this.url);
    } catch (err) {
      throw classifyTransportError(err, { timedOut: false, phase: 'request', timeoutMs: this.#opts.timeoutMs });
    }
    return this.#postTarget;
  }

  #parse(text: string, status: number, method: string | undefined): unknown {
    if (text.length === 0) {
      throw this.#statusOr(
        status,
        new RpcMalformedError('empty response body', { httpStatus: status, ...(method ? { method } : {}) }),
      );
    }
    try {
      return JSON.parse(text);
    } catch (err) {
      // Deeply nested or invalid JSON both land here (JSON.parse throws RangeError / SyntaxError).
      throw this.#statusOr(
        status,
        new RpcMalformedError('response is not valid JSON', {
          cause: err,
          httpStatus: status,
          ...(method ? { method } : {}),
        }),
      );
    }
  }

  /** A non-2xx status explains a garbage body better than "malformed" does (e.g. a proxy's 502 page). */
  #statusOr(status: number, err: RpcFailure): RpcFailure {
    return status >= 200 && status < 300 ? err : new RpcHttpError(status, { cause: err });
  }

  #outcome(reply: JsonRpcReply, method: string | undefined, status: number): RpcOutcome {
    const error = reply.error;
    if (error !== undefined && error !== null) {
      if (typeof error === 'object' && typeof (error as { code?: unknown }).code === 'number') {
        const e = error as { code: number; message?: unknown };
        return {
          ok: false,
          error: new RpcResponseError(e.code, typeof e.message === 'string' ? this.redact(e.message) : '', {
            httpStatus: status,
            ...(method ? { method } : {}),
          }),
        };
      }
      return {
        ok: false,
        error: new RpcMalformedError('error member is not a JSON-RPC error object', {
          httpStatus: status,
          ...(method ? { method } : {}),
        }),
      };
    }
    if (!('result' in reply)) {
      return {
        ok: false,
        error: new RpcMalformedError('reply has neither result nor error', {
          httpStatus: status,
          ...(method ? { method } : {}),
        }),
      };
    }
    return { ok: true, result: reply.result };
  }
}
