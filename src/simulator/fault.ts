// Faults a simulated node can show, and their parsing.
import { SimulatorError, SimulatorErrorCode } from './simulator-error.js';

/**
 * What a simulated node does wrong. One fault per node at a time; `none` is a healthy node.
 * Faults that model something in front of the node (a proxy's 502, a firewall's reset, a
 * provider that refuses batches) act before the node reads the request.
 */
export type Fault =
  | { type: 'none' }
  /** Reads the request and never answers (until the node is removed or the simulator closes). */
  | { type: 'hang' }
  /** Answers correctly after `delayMs` (on top of the node's `latencyMs`). */
  | { type: 'slow'; delayMs: number }
  /** Correct body, sent a few bytes every `chunkIntervalMs`. */
  | { type: 'drip'; chunkIntervalMs: number }
  /** A proxy's answer: `status` with `body` (default: nginx's error page) and `contentType` (default text/html). */
  | { type: 'http'; status: number; body?: string; contentType?: string }
  /** 401 even with the right credentials, after the simulator's `authDelayMs`, as a node rejecting a password. */
  | { type: 'unauthorized' }
  /** 403: Bitcoin-family `rpcallowip` mismatch (empty body) or geth's "invalid host specified". */
  | { type: 'forbidden' }
  /** 200, `application/json`, a body that does not parse. */
  | { type: 'malformed' }
  /** 200 with a Content-Length larger than what is sent, then the socket is closed. */
  | { type: 'truncated' }
  /** 200, a syntactically valid JSON response of about `bytes` bytes. */
  | { type: 'oversized'; bytes: number }
  /** Every call fails as during start-up: -28 on Bitcoin-family nodes, -32000 on EVM nodes. */
  | { type: 'warmup'; message?: string }
  /** EVM: another chain id; Bitcoin family: another `chain`. */
  | { type: 'wrong-chain' }
  /**
   * Behind the head by `behindBlocks` (default 1000, or 0 when `txIndexRemainingBlocks` is
   * given) and saying so; EVM: geth 1.13+'s `txIndexRemainingBlocks` still to index.
   */
  | { type: 'syncing'; behindBlocks?: number; txIndexRemainingBlocks?: number }
  /** The socket is destroyed as soon as the request arrives. */
  | { type: 'reset' }
  /** Like a provider proxy that rejects JSON arrays: 400 with a -32600 body; single calls pass. */
  | { type: 'no-batch' }
  /** P2P switched off: `networkactive` false, 0 connections, empty `getpeerinfo` (EVM: 0 peers). */
  | { type: 'network-inactive' }
  /** Connection refused. Only for nodes with `ownPort`: their listener is closed. */
  | { type: 'down' }
  /**
   * The head stops (a node that lost its peers, a dev chain nobody mines): it stopped
   * `tipAgeMs` before the fault was set (default 0), so its head is the block it had then and
   * its tip is at least that old, ageing from there. Cleared, the node is back at the chain's
   * head at once.
   */
  | { type: 'stuck'; tipAgeMs?: number }
  /** These methods answer an RPC error (`code`, default -32000 EVM / -1 Bitcoin family); the rest answer normally. */
  | { type: 'method-error'; methods: string[]; code?: number; message?: string }
  /** Batch replies keep only their first `keep` elements (default 2): a proxy losing track. */
  | { type: 'short-batch'; keep?: number }
  /** Absurd figures in well-formed replies: a height of 0xfffffffffffff and a peer count of 0xffffffffffffff (Bitcoin family: the same as JSON numbers). */
  | { type: 'huge-values' };

export type FaultType = Fault['type'];

export const FAULT_TYPES: readonly FaultType[] = [
  'none',
  'hang',
  'slow',
  'drip',
  'http',
  'unauthorized',
  'forbidden',
  'malformed',
  'truncated',
  'oversized',
  'warmup',
  'wrong-chain',
  'syncing',
  'reset',
  'no-batch',
  'network-inactive',
  'down',
  'stuck',
  'method-error',
  'short-batch',
  'huge-values',
];

export const NO_FAULT: Fault = Object.freeze({ type: 'none' });

/** Upper bound for `oversized.bytes`: enough to trip any sane body cap, small enough to stream. */
export const MAX_OVERSIZED_BYTES = 512 * 1024 * 1024;

const FIELDS: Readonly<Record<FaultType, readonly string[]>> = {
  none: [],
  hang: [],
  slow: ['delayMs'],
  drip: ['chunkIntervalMs'],
  http: ['status', 'body', 'contentType'],
  unauthorized: [],
  forbidden: [],
  malformed: [],
  truncated: [],
  oversized: ['bytes'],
  warmup: ['message'],
  'wrong-chain': [],
  syncing: ['behindBlocks', 'txIndexRemainingBlocks'],
  reset: [],
  'no-batch': [],
  'network-inactive': [],
  down: [],
  stuck: ['tipAgeMs'],
  'method-error': ['methods', 'code', 'message'],
  'short-batch': ['keep'],
  'huge-values': [],
};

/** Checks an untrusted value (control API body, test input) and returns a fresh, frozen Fault. */
export function parseFault(input: unknown, where = 'fault'): Fault {
  const bad = (details: string): SimulatorError =>
    new SimulatorError(SimulatorErrorCode.InvalidFault, `invalid ${where}`, { details });
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw bad('must be an object with a `type`');
  const obj = input as Record<string, unknown>;
  const type = obj.type;
  if (typeof type !== 'string' || !(FAULT_TYPES as readonly string[]).includes(type)) {
    throw bad(`type must be one of ${FAULT_TYPES.join(', ')}`);
  }
  const t = type as FaultType;
  for (const key of Object.keys(obj)) {
    if (key !== 'type' && !FIELDS[t].includes(key)) throw bad(`unknown key "${key}" for type ${t}`);
  }
  const int = (key: string, min: number, max: number, required: boolean): number | undefined => {
    const v = obj[key];
    if (v === undefined && !required) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
      throw bad(`${key} must be an integer in [${min}, ${max}]`);
    return v;
  };
  const str = (key: string): string | undefined => {
    const v = obj[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'string') throw bad(`${key} must be a string`);
    return v;
  };
  let fault: Fault;
  switch (t) {
    case 'slow':
      fault = { type: t, delayMs: int('delayMs', 0, 3_600_000, true) as number };
      break;
    case 'drip':
      fault = { type: t, chunkIntervalMs: int('chunkIntervalMs', 0, 60_000, true) as number };
      break;
    case 'http': {
      fault = { type: t, status: int('status', 100, 599, true) as number };
      const body = str('body');
      const contentType = str('contentType');
      if (body !== undefined) fault.body = body;
      if (contentType !== undefined) fault.contentType = contentType;
      break;
    }
    case 'oversized':
      fault = { type: t, bytes: int('bytes', 1, MAX_OVERSIZED_BYTES, true) as number };
      break;
    case 'warmup': {
      fault = { type: t };
      const message = str('message');
      if (message !== undefined) fault.message = message;
      break;
    }
    case 'syncing': {
      fault = { type: t };
      const txIndex = int('txIndexRemainingBlocks', 0, 1_000_000_000, false);
      const behind = int('behindBlocks', txIndex === undefined ? 1 : 0, 1_000_000_000, false);
      if (behind !== undefined) fault.behindBlocks = behind;
      if (txIndex !== undefined) fault.txIndexRemainingBlocks = txIndex;
      break;
    }
    case 'stuck': {
      fault = { type: t };
      const age = int('tipAgeMs', 0, 100 * 365 * 24 * 3_600_000, false);
      if (age !== undefined) fault.tipAgeMs = age;
      break;
    }
    case 'method-error': {
      const methods = obj.methods;
      if (
        !Array.isArray(methods) ||
        methods.length === 0 ||
        !methods.every((m): m is string => typeof m === 'string' && m.length > 0 && m.length <= 64)
      ) {
        throw bad('methods must be a non-empty list of method names');
      }
      fault = { type: t, methods: [...methods] };
      const code = int('code', -2_147_483_648, 2_147_483_647, false);
      const message = str('message');
      if (code !== undefined) fault.code = code;
      if (message !== undefined) fault.message = message;
      break;
    }
    case 'short-batch': {
      fault = { type: t };
      const keep = int('keep', 0, 10_000, false);
      if (keep !== undefined) fault.keep = keep;
      break;
    }
    default:
      fault = { type: t } as Fault;
  }
  return Object.freeze(fault);
}
