// The simulator's EVM answers (geth-like).
import { createHash } from 'node:crypto';
import { emptyJsonAnswer, jsonAnswer, type HttpAnswer } from './http-answer.js';
import type { SimNode } from './sim-node.js';

/** geth's default `--rpc.batch-request-limit`. */
export const EVM_BATCH_LIMIT = 1000;

type Outcome = { result: unknown } | { error: { code: number; message: string } };
type Message = Record<string, unknown>;

const TAGS = new Set(['latest', 'pending', 'safe', 'finalized']);
const METHODS = new Set([
  'web3_clientVersion',
  'net_version',
  'net_listening',
  'net_peerCount',
  'eth_chainId',
  'eth_blockNumber',
  'eth_syncing',
  'eth_getBlockByNumber',
  'eth_getBalance',
  'eth_gasPrice',
  'eth_sendRawTransaction',
]);

/**
 * geth's JSON-RPC 2.0 server (BSC is a geth fork), from the request body on: every error in a
 * 200, batches as arrays, `"jsonrpc":"2.0"` required, unknown namespaces as -32601.
 * Calls are counted on the node as they are dispatched.
 */
export function answerEvm(node: SimNode, raw: string, now: number): HttpAnswer {
  // geth reads nothing from an empty body and writes nothing back.
  if (raw.trim() === '') return emptyJsonAnswer(200);
  let payload: unknown;
  try {
    payload = JSON.parse(raw);
  } catch {
    return jsonAnswer(200, errorReply(null, -32700, 'parse error'));
  }
  if (Array.isArray(payload)) {
    if (payload.length === 0) return jsonAnswer(200, errorReply(null, -32600, 'empty batch'));
    // geth decodes the whole array into messages: one non-object element fails the lot.
    if (!payload.every(isMessage)) return jsonAnswer(200, errorReply(null, -32700, 'parse error'));
    if (payload.length > EVM_BATCH_LIMIT) {
      const firstCall = payload.find((m) => isCall(m));
      return jsonAnswer(200, [errorReply(firstCall ? firstCall.id : null, -32600, 'batch too large')]);
    }
    let replies: unknown[] = [];
    for (const msg of payload) {
      const reply = handleMessage(node, msg, now);
      if (reply !== undefined) replies.push(reply);
    }
    if (node.fault.type === 'short-batch') replies = replies.slice(0, node.fault.keep ?? 2);
    return replies.length > 0 ? jsonAnswer(200, replies) : emptyJsonAnswer(200);
  }
  if (!isMessage(payload)) return jsonAnswer(200, errorReply(null, -32700, 'parse error'));
  const reply = handleMessage(node, payload, now);
  return reply === undefined ? emptyJsonAnswer(200) : jsonAnswer(200, reply);
}

function isMessage(v: unknown): v is Message {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** geth accepts any scalar id, null included; objects and arrays are not ids. */
function hasValidId(msg: Message): boolean {
  return Object.hasOwn(msg, 'id') && (msg.id === null || typeof msg.id !== 'object');
}

function isCall(msg: Message): boolean {
  return msg.jsonrpc === '2.0' && hasValidId(msg) && typeof msg.method === 'string' && msg.method !== '';
}

function isNotification(msg: Message): boolean {
  return msg.jsonrpc === '2.0' && !Object.hasOwn(msg, 'id') && typeof msg.method === 'string' && msg.method !== '';
}

function handleMessage(node: SimNode, msg: Message, now: number): unknown {
  if (isNotification(msg)) {
    node.countCall(msg.method as string);
    return undefined;
  }
  if (!isCall(msg)) return errorReply(hasValidId(msg) ? msg.id : null, -32600, 'invalid request');
  const method = msg.method as string;
  node.countCall(method);
  const outcome = call(node, method, msg.params, now);
  return 'error' in outcome
    ? { jsonrpc: '2.0', id: msg.id, error: outcome.error }
    : { jsonrpc: '2.0', id: msg.id, result: outcome.result };
}

function errorReply(id: unknown, code: number, message: string): unknown {
  return { jsonrpc: '2.0', id, error: { code, message } };
}

function notFound(method: string): Outcome {
  return { error: { code: -32601, message: `the method ${method} does not exist/is not available` } };
}

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

function call(node: SimNode, method: string, params: unknown, now: number): Outcome {
  // geth looks the method up before it decodes the arguments.
  if (!METHODS.has(method) || node.isDisabled(method)) return notFound(method);
  if (params !== undefined && params !== null && !Array.isArray(params))
    return { error: { code: -32602, message: 'non-array args' } };
  const args: readonly unknown[] = Array.isArray(params) ? params : [];
  if (node.fault.type === 'warmup')
    return { error: { code: -32000, message: node.fault.message ?? node.profile.warmupMessage } };
  if (node.fault.type === 'method-error' && node.fault.methods.includes(method))
    return { error: { code: node.fault.code ?? -32000, message: node.fault.message ?? 'internal error' } };
  const huge = node.fault.type === 'huge-values';
  const maxArgs = (n: number): Outcome | undefined =>
    args.length > n ? { error: { code: -32602, message: `too many arguments, want at most ${n}` } } : undefined;
  switch (method) {
    case 'web3_clientVersion':
      return maxArgs(0) ?? { result: node.profile.clientVersion };
    case 'net_version':
      return maxArgs(0) ?? { result: String(node.reportedChainId()) };
    case 'net_listening':
      // Hard-coded true in geth: it says nothing about health.
      return maxArgs(0) ?? { result: true };
    case 'net_peerCount':
      return (
        maxArgs(0) ?? { result: huge ? '0xffffffffffffff' : hex(node.connectedInbound() + node.connectedOutbound()) }
      );
    case 'eth_chainId':
      return maxArgs(0) ?? { result: hex(node.reportedChainId()) };
    case 'eth_blockNumber':
      return maxArgs(0) ?? { result: huge ? '0xfffffffffffff' : hex(node.bestHeight(now)) };
    case 'eth_syncing':
      return maxArgs(0) ?? { result: syncing(node, now) };
    case 'eth_getBlockByNumber':
      return maxArgs(2) ?? blockByNumber(node, args, now);
    case 'eth_getBalance':
      // Every simulated account holds 1 BNB: enough for clients to parse a quantity.
      return (
        maxArgs(2) ??
        (typeof args[0] === 'string' && /^0x[0-9a-fA-F]{40}$/.test(args[0])
          ? { result: '0xde0b6b3a7640000' }
          : { error: { code: -32602, message: 'invalid argument 0: hex string has length != 40' } })
      );
    case 'eth_gasPrice':
      return maxArgs(0) ?? { result: '0x3b9aca00' };
    case 'eth_sendRawTransaction':
      // Accepted and forgotten; the hash stands in for keccak256 of the bytes (counted per node).
      if (typeof args[0] !== 'string' || !/^0x([0-9a-fA-F]{2})+$/.test(args[0]))
        return {
          error: {
            code: -32602,
            message:
              'invalid argument 0: json: cannot unmarshal invalid hex string into Go value of type hexutil.Bytes',
          },
        };
      return maxArgs(1) ?? { result: `0x${createHash('sha256').update(args[0]).digest('hex')}` };
    default:
      return notFound(method);
  }
}

function syncing(node: SimNode, now: number): unknown {
  const behind = node.syncBehind();
  const txIndexLeft = node.fault.type === 'syncing' ? node.fault.txIndexRemainingBlocks : undefined;
  // geth answers an object until both block sync and transaction indexing are done.
  if (behind === 0 && !(txIndexLeft !== undefined && txIndexLeft > 0)) return false;
  const head = node.headHeight(now);
  const current = Math.max(0, head - behind);
  // Field set of geth 1.13+ (snap sync counters and tx indexing progress), all hex quantities.
  return {
    startingBlock: hex(Math.max(0, current - 5_000)),
    currentBlock: hex(current),
    highestBlock: hex(head),
    syncedAccounts: '0x0',
    syncedAccountBytes: '0x0',
    syncedBytecodes: '0x0',
    syncedBytecodeBytes: '0x0',
    syncedStorage: '0x0',
    syncedStorageBytes: '0x0',
    healedTrienodes: '0x0',
    healedTrienodeBytes: '0x0',
    healedBytecodes: '0x0',
    healedBytecodeBytes: '0x0',
    healingTrienodes: '0x0',
    healingBytecode: '0x0',
    txIndexFinishedBlocks: hex(Math.max(0, current - (txIndexLeft ?? 0))),
    txIndexRemainingBlocks: hex(txIndexLeft ?? 0),
  };
}

function blockByNumber(node: SimNode, args: readonly unknown[], now: number): Outcome {
  const tag = args[0];
  if (tag === undefined) return { error: { code: -32602, message: 'missing value for required argument 0' } };
  const best = node.bestHeight(now);
  let height: number;
  if (typeof tag === 'string' && TAGS.has(tag)) height = best;
  else if (tag === 'earliest') height = 0;
  else if (typeof tag === 'string' && /^0x(0|[1-9a-f][0-9a-f]*)$/i.test(tag))
    height = Number.parseInt(tag.slice(2), 16);
  else return { error: { code: -32602, message: 'invalid argument 0: hex string without 0x prefix' } };
  if (height > best) return { result: null };
  const hash = (h: number): string =>
    `0x${createHash('sha256').update(`evm:${node.reportedChainId()}:${h}`).digest('hex')}`;
  return {
    result: {
      number: hex(height),
      hash: hash(height),
      parentHash: hash(Math.max(0, height - 1)),
      timestamp: hex(Math.floor(node.blockTimeAt(height) / 1000)),
      miner: '0x0000000000000000000000000000000000000000',
      // The rest of geth's header fields, so real clients (ethers, viem) parse the block.
      extraData: '0xd883010513846765746888676f312e32322e35856c696e7578',
      nonce: '0x0000000000000000',
      mixHash: `0x${'00'.repeat(32)}`,
      sha3Uncles: '0x1dcc4de8dec75d7aab85b567b6ccd41ad312451b948a7413f0a142fd40d49347',
      logsBloom: `0x${'00'.repeat(256)}`,
      stateRoot: hash(height).replace(/^0x../, '0x5a'),
      transactionsRoot: '0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421',
      receiptsRoot: '0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421',
      difficulty: '0x2',
      totalDifficulty: hex(2 * height + 1),
      gasLimit: hex(140_000_000),
      gasUsed: hex(height % 20_000_000),
      baseFeePerGas: '0x0',
      size: hex(1_024),
      transactions: [],
      uncles: [],
    },
  };
}
