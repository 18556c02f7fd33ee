// The simulator's Bitcoin-family answers (defid, paicoind dialects).
import { createHash } from 'node:crypto';
import { emptyAnswer, jsonAnswer, type HttpAnswer } from './http-answer.js';
import { GENESIS } from '../chains/chain-spec.js';
import { buildPeerInfo } from './peer-list.js';
import type { SimNode } from './sim-node.js';

type RpcError = { code: number; message: string };
type Outcome = { result: unknown } | { error: RpcError };
type Handled = { reply: unknown; errorCode: number | undefined; v2: boolean };

const COMMON_METHODS = [
  'getconnectioncount',
  'getnetworkinfo',
  'getpeerinfo',
  'getnettotals',
  'getblockchaininfo',
  'getblockcount',
  'getbestblockhash',
  'getblockhash',
  'setnetworkactive',
  'uptime',
  'sendrawtransaction',
];
const METHODS: Readonly<Record<'defid' | 'paicoind' | 'bitcoind', ReadonlySet<string>>> = Object.freeze({
  defid: new Set([...COMMON_METHODS, 'getnodestatusinfo']),
  paicoind: new Set(COMMON_METHODS),
  bitcoind: new Set(COMMON_METHODS),
});
/** Named-parameter order, for the methods that take any. */
const PARAM_NAMES: Readonly<Record<string, readonly string[]>> = Object.freeze({
  setnetworkactive: ['state'],
  getblockhash: ['height'],
  sendrawtransaction: ['hexstring', 'maxfeerate'],
});
const BYTES_PER_BLOCK: Readonly<Record<string, number>> = Object.freeze({
  bitcoind: 700_000,
  defid: 4_000,
  paicoind: 30_000,
});
/** What a synced Core reports: its estimate never quite reaches 1. */
const SYNCED_PROGRESS = 0.99999987;

/**
 * The Bitcoin Core family's JSON-RPC server (bitcoind, defid, paicoind), from the request body
 * on: legacy 1.0 replies with both `result` and `error`; a single request's error sets the HTTP
 * status (-32600 -> 400, -32601 -> 404, anything else -> 500) and still carries the JSON body;
 * a batch is always 200. Core 28+ answers `"jsonrpc":"2.0"` requests the 2.0 way.
 */
export function answerBitcoin(node: SimNode, raw: string, now: number): HttpAnswer {
  let payload: unknown;
  try {
    payload = JSON.parse(raw);
  } catch {
    return jsonAnswer(500, legacyReply(null, { error: { code: -32700, message: 'Parse error' } }));
  }
  if (Array.isArray(payload)) {
    let replies: unknown[] = [];
    for (const request of payload) {
      const handled = handleRequest(node, request, now);
      if (handled.reply !== undefined) replies.push(handled.reply);
    }
    if (node.fault.type === 'short-batch') replies = replies.slice(0, node.fault.keep ?? 2);
    return jsonAnswer(200, replies);
  }
  if (typeof payload === 'object' && payload !== null) {
    const handled = handleRequest(node, payload, now);
    if (handled.reply === undefined) return emptyAnswer(204);
    if (handled.errorCode === undefined || handled.v2) return jsonAnswer(200, handled.reply);
    return jsonAnswer(httpStatusFor(handled.errorCode), handled.reply);
  }
  return jsonAnswer(500, legacyReply(null, { error: { code: -32700, message: 'Top-level object parse error' } }));
}

function httpStatusFor(code: number): number {
  return code === -32600 ? 400 : code === -32601 ? 404 : 500;
}

function legacyReply(id: unknown, outcome: Outcome): unknown {
  return 'error' in outcome ? { result: null, error: outcome.error, id } : { result: outcome.result, error: null, id };
}

function v2Reply(id: unknown, outcome: Outcome): unknown {
  return 'error' in outcome
    ? { jsonrpc: '2.0', error: outcome.error, id }
    : { jsonrpc: '2.0', result: outcome.result, id };
}

function invalid(id: unknown, message: string): Handled {
  return { reply: legacyReply(id, { error: { code: -32600, message } }), errorCode: -32600, v2: false };
}

function handleRequest(node: SimNode, request: unknown, now: number): Handled {
  if (typeof request !== 'object' || request === null || Array.isArray(request))
    return invalid(null, 'Invalid Request object');
  const msg = request as Record<string, unknown>;
  const hasId = Object.hasOwn(msg, 'id');
  const id = hasId ? msg.id : null;
  let v2 = false;
  // Before Core 28 the "jsonrpc" member is ignored altogether.
  if (node.profile.has.jsonRpc2 && msg.jsonrpc !== undefined && msg.jsonrpc !== null) {
    if (typeof msg.jsonrpc !== 'string') return invalid(id, 'jsonrpc field must be a string');
    if (msg.jsonrpc === '2.0') v2 = true;
    else if (msg.jsonrpc !== '1.0') return invalid(id, 'JSON-RPC version not supported');
  }
  if (typeof msg.method !== 'string') return invalid(id, 'Method must be a string');
  const params = msg.params;
  if (params !== undefined && params !== null && typeof params !== 'object')
    return invalid(id, 'Params must be an array or object');
  node.countCall(msg.method);
  const outcome = call(node, msg.method, params as object | null | undefined, now);
  // A 2.0 request without an id is a notification: executed, never answered.
  if (v2 && !hasId) return { reply: undefined, errorCode: undefined, v2 };
  const errorCode = 'error' in outcome ? outcome.error.code : undefined;
  return { reply: v2 ? v2Reply(id, outcome) : legacyReply(id, outcome), errorCode, v2 };
}

function fail(code: number, message: string): Outcome {
  return { error: { code, message } };
}

/** Positional arguments, from an array or from named parameters. */
function positional(method: string, params: object | null | undefined): unknown[] | Outcome {
  if (params === undefined || params === null) return [];
  if (Array.isArray(params)) return params;
  const names = PARAM_NAMES[method] ?? [];
  const named = params as Record<string, unknown>;
  for (const key of Object.keys(named)) {
    if (!names.includes(key)) return fail(-8, `Unknown named parameter ${key}`);
  }
  const args = names.map((n) => named[n]);
  while (args.length > 0 && args[args.length - 1] === undefined) args.pop();
  return args;
}

function uniType(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v === 'object' ? 'object' : typeof v;
}

function call(node: SimNode, method: string, params: object | null | undefined, now: number): Outcome {
  const profile = node.profile;
  // Core refuses every call during warm-up, unknown methods included.
  if (node.fault.type === 'warmup') return fail(-28, node.fault.message ?? profile.warmupMessage);
  const known = node.kind !== 'bsc' && METHODS[node.kind].has(method);
  if (!known || node.isDisabled(method)) return fail(-32601, 'Method not found');
  const args = positional(method, params);
  if (!Array.isArray(args)) return args;
  if (node.fault.type === 'method-error' && node.fault.methods.includes(method))
    return fail(node.fault.code ?? -1, node.fault.message ?? 'internal error');
  // Core's RPCs print their help as a -1 error when given more arguments than they take.
  const usage = (max: number): Outcome | undefined =>
    args.length > max ? fail(-1, `${method}\n\nWrong number of parameters (at most ${max}).`) : undefined;
  switch (method) {
    case 'getconnectioncount':
      return (
        usage(0) ?? {
          result: node.fault.type === 'huge-values' ? HUGE_PEERS : node.connectedInbound() + node.connectedOutbound(),
        }
      );
    case 'getnetworkinfo':
      return usage(0) ?? { result: networkInfo(node) };
    case 'getpeerinfo':
      return usage(0) ?? { result: buildPeerInfo(node, now) };
    case 'getnettotals':
      return usage(0) ?? { result: netTotals(node, now) };
    case 'getblockchaininfo':
      return usage(0) ?? { result: blockchainInfo(node, now) };
    case 'getblockcount':
      return usage(0) ?? { result: node.fault.type === 'huge-values' ? HUGE_HEIGHT : node.bestHeight(now) };
    case 'getbestblockhash':
      return usage(0) ?? { result: blockHash(node, node.bestHeight(now)) };
    case 'uptime':
      return usage(0) ?? { result: Math.max(0, Math.floor((now - node.addedAt) / 1000)) };
    case 'getnodestatusinfo':
      return usage(0) ?? { result: nodeStatusInfo(node) };
    case 'getblockhash': {
      const tooMany = usage(1);
      if (tooMany) return tooMany;
      const height = args[0];
      if (height === undefined) return fail(-1, `${method} height\n\nMissing required parameter.`);
      if (typeof height !== 'number' || !Number.isInteger(height))
        return fail(-3, `JSON value of type ${uniType(height)} is not of expected type number`);
      if (height < 0 || height > node.bestHeight(now)) return fail(-8, 'Block height out of range');
      return { result: blockHash(node, height) };
    }
    case 'sendrawtransaction': {
      // Accepted and forgotten: the txid stands in for the double SHA-256 of the bytes.
      const tooMany = usage(2);
      if (tooMany) return tooMany;
      const hex = args[0];
      if (typeof hex !== 'string' || !/^([0-9a-fA-F]{2})+$/.test(hex))
        return fail(-22, 'TX decode failed. Make sure the tx has at least one input.');
      return {
        result: createHash('sha256')
          .update(createHash('sha256').update(Buffer.from(hex, 'hex')).digest())
          .digest('hex'),
      };
    }
    case 'setnetworkactive': {
      const tooMany = usage(1);
      if (tooMany) return tooMany;
      const state = args[0];
      if (state === undefined) return fail(-1, `${method} state\n\nMissing required parameter.`);
      if (typeof state !== 'boolean')
        return fail(-3, `JSON value of type ${uniType(state)} is not of expected type bool`);
      node.p2pEnabled = state;
      return { result: node.networkActive() };
    }
    default:
      return fail(-32601, 'Method not found');
  }
}

function networkInfo(node: SimNode): unknown {
  const p = node.profile;
  const inbound = node.connectedInbound();
  const outbound = node.connectedOutbound();
  const info: Record<string, unknown> = {
    version: p.versionNumber,
    subversion: p.clientVersion,
    protocolversion: p.protocolVersion,
    localservices: p.localServices,
  };
  if (p.localServicesNames) info.localservicesnames = p.localServicesNames;
  info.localrelay = true;
  info.timeoffset = 0;
  info.networkactive = node.networkActive();
  info.connections = node.fault.type === 'huge-values' ? HUGE_PEERS : inbound + outbound;
  if (p.has.connectionsInOut) {
    info.connections_in = inbound;
    info.connections_out = outbound;
  }
  info.networks = p.networks;
  info.relayfee = 0.00001;
  info.incrementalfee = 0.00001;
  info.localaddresses = [];
  info.warnings = p.has.warningsArray ? [] : '';
  return info;
}

function blockchainInfo(node: SimNode, now: number): unknown {
  const p = node.profile;
  const blocks = node.bestHeight(now);
  const headers = node.headHeight(now);
  const syncing = node.syncBehind() > 0;
  const tipTime = node.blockTimeAt(blocks);
  const huge = node.fault.type === 'huge-values';
  const info: Record<string, unknown> = {
    chain: node.reportedNetwork(),
    blocks: huge ? HUGE_HEIGHT : blocks,
    headers: huge ? HUGE_HEIGHT : headers,
    bestblockhash: blockHash(node, blocks),
    difficulty: p.difficulty,
  };
  if (node.quirks.has('no-chain-field')) delete info.chain;
  if (p.has.blockchainTime) info.time = Math.floor(tipTime / 1000);
  // Median of the last 11 blocks: about five block intervals before the tip.
  info.mediantime = Math.floor((tipTime - 5 * node.blockTimeMs) / 1000);
  info.verificationprogress = syncing
    ? Math.min(0.999, Math.floor((blocks / Math.max(1, headers)) * 1e8) / 1e8)
    : SYNCED_PROGRESS;
  if (p.has.initialBlockDownload) info.initialblockdownload = syncing;
  info.chainwork = (BigInt(blocks) * 0x1_0000_0000_0000n).toString(16).padStart(64, '0');
  if (p.has.sizeOnDisk) info.size_on_disk = blocks * (BYTES_PER_BLOCK[node.kind] ?? 1_000);
  info.pruned = false;
  info.warnings = p.has.warningsArray ? [] : '';
  return info;
}

function netTotals(node: SimNode, now: number): unknown {
  if (node.quirks.has('nettotals-connected-only')) {
    // Sums what the connected peers exchanged: goes down when a peer leaves, with no restart.
    let recv = 0;
    let sent = 0;
    for (const peer of buildPeerInfo(node, now)) {
      recv += peer.bytesrecv as number;
      sent += peer.bytessent as number;
    }
    return { totalbytesrecv: recv, totalbytessent: sent, timemillis: Math.floor(now) };
  }
  const elapsedS = Math.max(0, (now - node.addedAt) / 1000);
  const recvRate = 20_000 + (node.seed % 60_000);
  const sentRate = 15_000 + ((node.seed >>> 12) % 50_000);
  return {
    totalbytesrecv: 50_000_000 + (node.seed % 1_000_000) + Math.floor(recvRate * elapsedS),
    totalbytessent: 40_000_000 + ((node.seed >>> 8) % 1_000_000) + Math.floor(sentRate * elapsedS),
    timemillis: Math.floor(now),
    uploadtarget: {
      timeframe: 86_400,
      target: 0,
      target_reached: false,
      serve_historical_blocks: true,
      bytes_left_in_cycle: 0,
      time_left_in_cycle: 0,
    },
  };
}

/** defid: healthy = synced to the tip and at least 5 peers heard from recently. */
function nodeStatusInfo(node: SimNode): unknown {
  const syncToTip = node.syncBehind() === 0;
  const active = node.connectedInbound() + node.connectedOutbound() >= 5;
  return { health_status: syncToTip && active, sync_to_tip: syncToTip, active_peer_nodes: active };
}

/**
 * Block 0 of each real network, as the node software asserts it (src/chains/chain-spec.ts
 * GENESIS): a simulated node names its chain the way a real one does.
 */
const GENESIS_BY_KIND: Readonly<Record<string, Readonly<Record<string, string>>>> = Object.freeze({
  bitcoind: {
    main: GENESIS.bitcoinMain,
    test: GENESIS.bitcoinTest3,
    testnet4: GENESIS.bitcoinTest4,
    signet: GENESIS.bitcoinSignet,
    regtest: GENESIS.bitcoinRegtest,
  },
  defid: { main: GENESIS.defichainMain, test: GENESIS.defichainTest },
  paicoind: { main: GENESIS.paiMain, test: GENESIS.paiTest, regtest: GENESIS.paiRegtest },
});
/** `huge-values`: 2^52 - 1 blocks (a safe integer, but no chain is that long) and 2^56 - 1 peers (not even safe). */
const HUGE_HEIGHT = 0xfffffffffffff;
const HUGE_PEERS = 2 ** 56; // 0xffffffffffffff as a double rounds to this: past 2^53, no longer an exact integer

/** Same chain, same height, same hash: nodes of one network agree on their blocks. */
function blockHash(node: SimNode, height: number): string {
  const genesis = height === 0 ? GENESIS_BY_KIND[node.kind]?.[node.reportedNetwork()] : undefined;
  if (genesis !== undefined) return genesis;
  const digest = createHash('sha256').update(`${node.kind}:${node.reportedNetwork()}:${height}`).digest('hex');
  const zeros = node.profile.hashZeros;
  return zeros > 0 ? '0'.repeat(zeros) + digest.slice(zeros) : digest;
}
