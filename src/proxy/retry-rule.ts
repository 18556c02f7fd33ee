// What one proxied attempt's result means: answer, retry on another node, or fail.
import { RpcErrorCode, RpcFailure } from '../errors/rpc-errors.js';
import type { HttpPostResult } from '../rpc/http-post.js';

/**
 * What one attempt's result means for the request:
 * - `answer`: the node answered (a result, or a JSON-RPC error it chose to give): pass it on.
 * - `retry`: the node failed before answering; `unsent` says it provably never ran the call.
 */
export type AttemptVerdict =
  { readonly kind: 'answer' } | { readonly kind: 'retry'; readonly code: string; readonly unsent: boolean };

/**
 * Failures that prove the call never ran: no connection was made, the node refused our
 * credentials or address (checked before the body is read), it was warming up (bitcoind
 * answers -28 before dispatching any call), or a gateway said "too many requests" (refused
 * at the door). A reset, a timeout, a 502 or a truncated answer may come after the node ran
 * the call: a write is then never sent again (see README, "Writes").
 */
const UNSENT_CODES: ReadonlySet<string> = new Set([
  RpcErrorCode.ConnectionRefused,
  RpcErrorCode.Dns,
  RpcErrorCode.AuthFailed,
  RpcErrorCode.Forbidden,
  RpcErrorCode.WarmingUp,
]);

/** A transport failure: whether another node may help, and whether the call provably never ran. */
export function verdictOfFailure(err: unknown): AttemptVerdict {
  if (err instanceof RpcFailure) {
    if (err.code === RpcErrorCode.HttpStatus) return { kind: 'retry', code: err.code, unsent: err.httpStatus === 429 };
    return { kind: 'retry', code: err.code, unsent: UNSENT_CODES.has(err.code) };
  }
  return { kind: 'retry', code: 'other', unsent: false };
}

/**
 * A node's HTTP answer. 2xx is an answer. 429 and 5xx are transport failures (a gateway, a
 * full work queue) unless the body is the node's own JSON-RPC error: Bitcoin-family nodes
 * answer a single call's error with 404/500 and a body that must be read, and only -28
 * (warming up) of those means "ask someone else". Other 4xx with a JSON-RPC body are the
 * node's verdict on the request (400 invalid request, 404 method not found): passed on.
 */
export function verdictOfAnswer(res: HttpPostResult, expectsReply: boolean): AttemptVerdict {
  const s = res.status;
  if (s >= 200 && s < 300) {
    // A 200 that is not framed as JSON (a proxy's HTML, garbage) is of no use to a client. Only
    // the ends are looked at: parsing every answer would cost what forwarding costs.
    if (!expectsReply || looksLikeJson(res.text)) return { kind: 'answer' };
    return { kind: 'retry', code: RpcErrorCode.Malformed, unsent: false };
  }
  const rpcCode = jsonRpcErrorCode(res.text);
  if (rpcCode === -28) return { kind: 'retry', code: RpcErrorCode.WarmingUp, unsent: true };
  if (rpcCode !== undefined && s !== 429 && s !== 502 && s !== 503 && s !== 504) return { kind: 'answer' };
  if (s === 429 || s >= 500) return { kind: 'retry', code: RpcErrorCode.HttpStatus, unsent: s === 429 };
  // A 4xx page that is not JSON-RPC (a proxy's 404, a 405, a 413): this node cannot take it.
  return rpcCode !== undefined ? { kind: 'answer' } : { kind: 'retry', code: RpcErrorCode.HttpStatus, unsent: true };
}

function looksLikeJson(text: string): boolean {
  let i = 0;
  let j = text.length - 1;
  while (i <= j && text.charCodeAt(i) <= 32) i++;
  while (j >= i && text.charCodeAt(j) <= 32) j--;
  if (i >= j) return false;
  const a = text[i];
  const b = text[j];
  return (a === '{' && b === '}') || (a === '[' && b === ']');
}

/** The error code of a single JSON-RPC error reply, if `text` is one. */
function jsonRpcErrorCode(text: string): number | undefined {
  if (text.length === 0 || text.length > 65_536) return undefined;
  try {
    const v = JSON.parse(text) as { error?: { code?: unknown } } | null;
    const code = v !== null && typeof v === 'object' && !Array.isArray(v) ? v.error?.code : undefined;
    return typeof code === 'number' ? code : undefined;
  } catch {
    return undefined;
  }
}
