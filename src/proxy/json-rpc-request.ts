// Parses a client's JSON-RPC request (single or batch) for the proxy.
import type { Family } from '../chains/chain-spec.js';
import { ProxyError, ProxyErrorCode } from './proxy-error.js';

export type WireVersion = '1.0' | '2.0';

/** One element of a request, as the proxy needs to know it. */
export type RpcItem =
  | {
      readonly valid: true;
      readonly method: string;
      readonly id: unknown;
      readonly version: WireVersion;
      readonly notification: boolean;
      readonly raw: unknown;
    }
  | { readonly valid: false; readonly id: unknown; readonly version: WireVersion; readonly error: ProxyError };

export interface RpcRequest {
  readonly batch: boolean;
  readonly items: readonly RpcItem[];
  /** The dialect the proxy's own answers use: the first call's, else the family's. */
  readonly version: WireVersion;
}

/**
 * A client's JSON-RPC body, checked the way the chain family's nodes check it: EVM nodes
 * (geth) require `"jsonrpc":"2.0"`; Bitcoin-family nodes speak legacy 1.0 (`jsonrpc` absent
 * or "1.0") and, on Core 28+, 2.0. A bad element of a batch fails alone, as on geth.
 * @throws ProxyError for a body that is not JSON-RPC at all, an empty or oversized batch.
 */
export function parseRpcRequest(body: string, family: Family, maxBatch: number): RpcRequest {
  const fallback: WireVersion = family === 'evm' ? '2.0' : '1.0';
  let payload: unknown;
  try {
    payload = JSON.parse(body);
  } catch {
    throw new ProxyError(ProxyErrorCode.Parse, 'parse error: the body is not valid JSON');
  }
  if (Array.isArray(payload)) {
    if (payload.length === 0) throw new ProxyError(ProxyErrorCode.InvalidRequest, 'empty batch');
    if (payload.length > maxBatch)
      throw new ProxyError(
        ProxyErrorCode.BatchTooLarge,
        `batch too large: ${payload.length} calls, at most ${maxBatch}`,
        { data: { calls: payload.length, max: maxBatch } },
      );
    const items = payload.map((m) => item(m, family, fallback));
    return { batch: true, items, version: items[0]!.version };
  }
  if (payload === null || typeof payload !== 'object')
    throw new ProxyError(ProxyErrorCode.InvalidRequest, 'invalid request: expected a JSON-RPC object or array');
  const one = item(payload, family, fallback);
  if (!one.valid) throw one.error;
  return { batch: false, items: [one], version: one.version };
}

function item(m: unknown, family: Family, fallback: WireVersion): RpcItem {
  if (m === null || typeof m !== 'object' || Array.isArray(m)) {
    return {
      valid: false,
      id: null,
      version: fallback,
      error: new ProxyError(ProxyErrorCode.InvalidRequest, 'invalid request: a batch element is not an object'),
    };
  }
  const msg = m as Record<string, unknown>;
  const hasId = Object.hasOwn(msg, 'id');
  const id = hasId && (msg.id === null || typeof msg.id !== 'object') ? msg.id : null;
  const v = msg.jsonrpc;
  const version: WireVersion =
    v === '2.0' ? '2.0' : v === undefined || v === '1.0' ? (family === 'evm' ? fallback : '1.0') : fallback;
  const bad = (why: string): RpcItem => ({
    valid: false,
    id,
    version,
    error: new ProxyError(ProxyErrorCode.InvalidRequest, `invalid request: ${why}`),
  });
  if (family === 'evm' && v !== '2.0') return bad('"jsonrpc" must be "2.0"');
  if (family === 'bitcoin' && v !== undefined && v !== '1.0' && v !== '2.0')
    return bad('"jsonrpc" must be "1.0" or "2.0"');
  if (typeof msg.method !== 'string' || msg.method === '' || msg.method.length > 200)
    return bad('"method" must be a non-empty string');
  if (hasId && msg.id !== null && typeof msg.id === 'object') return bad('"id" must be a string, a number or null');
  if (msg.params !== undefined && msg.params !== null && typeof msg.params !== 'object')
    return bad('"params" must be an array or an object');
  // A 2.0 call without an id is a notification (no reply); legacy 1.0 always replies.
  return { valid: true, method: msg.method, id, version, notification: version === '2.0' && !hasId, raw: m };
}
