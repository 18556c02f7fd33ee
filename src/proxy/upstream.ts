// Sends a client's body to one node, with its credentials, bounded.
import { performance } from 'node:perf_hooks';
import type { Dispatcher } from 'undici';
import type { NodeConfig } from '../config/node-config.js';
import { RpcFailure, RpcHttpError, RpcTimeoutError, RpcTooLargeError } from '../errors/rpc-errors.js';
import { classifyTransportError, type HttpPostResult } from '../rpc/http-post.js';
import { OutOfRangeError } from '../errors/argument-errors.js';

export interface UpstreamOptions {
  readonly dispatcher: Dispatcher;
  readonly maxResponseBytes: number;
}

/** Where a node's URL points, split once for undici's dispatcher (no URL parsing per call). */
interface Target {
  readonly origin: string;
  readonly path: string;
}

/** The headers of a call to a node without credentials: one object for every call. */
const PLAIN_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-type': 'application/json',
  accept: 'application/json',
});
/** URLs split so far; bounded by the fleet (one per node URL), a safety cap against churn. */
const MAX_TARGETS = 100_000;

/**
 * Sends a client's body to one node as it is, with the node's credentials and its secret URL
 * (`${VAR}` tokens filled in) added here and nowhere else, and returns the node's answer
 * whatever its status. Only the node's status, content type and body come back: none of the
 * node's headers reach the client. Failures before an answer reject with an RpcFailure.
 *
 * Every backend call passes here, so it is lean: the node's URL is split once, the dispatcher
 * is called directly (no AbortController per attempt), and the attempt's bound is undici's own
 * header timeout plus one timer for the body: a node dripping its answer is cut at the bound.
 */
export class Upstream {
  readonly #o: UpstreamOptions;
  readonly #targets = new Map<string, Target>();

  constructor(o: UpstreamOptions) {
    if (!(o.maxResponseBytes > 0)) throw new OutOfRangeError('maxResponseBytes must be > 0');
    this.#o = o;
  }

  async send(node: NodeConfig, body: string, timeoutMs: number): Promise<HttpPostResult> {
    const target = this.#target(node.requestUrl?.reveal() ?? node.url);
    const creds = node.credentials;
    if (!creds) return this.#checked(await this.#post(target, body, PLAIN_HEADERS, timeoutMs));
    const headers = { ...PLAIN_HEADERS, authorization: await creds.authorizationHeader() };
    let res = await this.#post(target, body, headers, timeoutMs);
    if (res.status === 401 && creds.invalidate()) {
      // The node restarted and wrote a new .cookie; a 401 is answered before the body is read,
      // so the call did not run and sending it again is safe, writes included.
      headers.authorization = await creds.authorizationHeader();
      res = await this.#post(target, body, headers, timeoutMs);
    }
    return this.#checked(res);
  }

  /** Our credentials or address are refused: the node never ran the call. Nothing of its (empty) answer is for the client. */
  #checked(res: HttpPostResult): HttpPostResult {
    if (res.status === 401 || res.status === 403) throw new RpcHttpError(res.status);
    return res;
  }

  #target(url: string): Target {
    let t = this.#targets.get(url);
    if (t === undefined) {
      const u = new URL(url);
      t = { origin: u.origin, path: `${u.pathname}${u.search}` };
      if (this.#targets.size >= MAX_TARGETS) this.#targets.clear();
      this.#targets.set(url, t);
    }
    return t;
  }

  async #post(
    target: Target,
    body: string,
    headers: Readonly<Record<string, string>>,
    timeoutMs: number,
  ): Promise<HttpPostResult> {
    const deadline = performance.now() + timeoutMs;
    const max = this.#o.maxResponseBytes;
    let phase: 'request' | 'body' = 'request';
    try {
      const res = await this.#o.dispatcher.request({
        origin: target.origin,
        path: target.path,
        method: 'POST',
        body,
        headers,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
      phase = 'body';
      const declared = Number(res.headers['content-length']);
      if (Number.isFinite(declared) && declared > max) {
        // undici's body emits RequestAbortedError when destroyed unread: nobody listens any more.
        res.body.on('error', () => {});
        res.body.destroy();
        throw new RpcTooLargeError(max);
      }
      const text = await readBounded(res.body, max, deadline, timeoutMs);
      const ct = res.headers['content-type'];
      return { status: res.statusCode, contentType: (Array.isArray(ct) ? ct[0] : ct) ?? '', text };
    } catch (err) {
      if (err instanceof RpcFailure) throw err;
      throw classifyTransportError(err, { timedOut: false, phase, timeoutMs });
    }
  }
}

/**
 * The body as text, at most `max` bytes, all of it before `deadline` (performance.now() ms). One
 * timer for the body phase: undici's body timeout is an idle bound, so a node sending a chunk just
 * inside it each time would otherwise hold the client until the first chunk after the deadline,
 * up to twice its timeout.
 */
function readBounded(body: Dispatcher.ResponseData['body'], max: number, deadline: number, timeoutMs: number) {
  return new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const timer = setTimeout(
      () => stop(new RpcTimeoutError('total', timeoutMs)),
      Math.max(0, deadline - performance.now()),
    );
    const stop = (err: RpcFailure) => {
      clearTimeout(timer);
      body.on('error', () => {});
      body.destroy();
      reject(err);
    };
    body.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) stop(new RpcTooLargeError(max));
      else chunks.push(chunk);
    });
    body.once('end', () => {
      clearTimeout(timer);
      resolve(chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks, size).toString('utf8'));
    });
    body.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}
