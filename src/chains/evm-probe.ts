// The EVM probe (BSC and other geth forks): its batch and how its answers become a sample.
import type { ChainSpec } from './chain-spec.js';
import {
  hexQuantity,
  InvalidValue,
  MAX_PLAUSIBLE_PEERS,
  maxPlausibleHeight,
  optionalText,
  record,
} from './parse-values.js';
import type { FamilyProbe, ProbeFields } from './family-probe.js';

/**
 * EVM (BSC = geth fork). One batch: peers, head, sync state, chain id, client version and the
 * head block's header (for its timestamp: how old the tip is, exactly). `net_listening` is
 * deliberately not asked: geth hard-codes it to true, so it says nothing.
 */
export const evmProbe: FamilyProbe = {
  family: 'evm',

  plan(missing) {
    const methods = [
      'eth_blockNumber',
      'net_peerCount',
      'eth_syncing',
      'eth_chainId',
      'web3_clientVersion',
      'eth_getBlockByNumber',
    ];
    const plan = methods.filter((m) => !missing.has(m));
    // Very old or stripped nodes lack eth_chainId; net_version carries the same id in decimal.
    if (missing.has('eth_chainId') && !missing.has('net_version')) plan.push('net_version');
    return plan;
  },

  essential: ['eth_blockNumber'],
  // The latest header without its transactions: a few hundred bytes.
  params: { eth_getBlockByNumber: ['latest', false] },
  // A chain id that errors (not "method not found") is asked again the other way.
  fallbacks: { eth_chainId: 'net_version' },

  interpret(results, chain, nowMs) {
    const fields: ProbeFields = {};
    const maxHeight = maxPlausibleHeight(chain.blockTimeMs, nowMs);
    const peers = results.get('net_peerCount');
    if (peers !== undefined)
      fields.peers = { total: hexQuantity(peers, 'net_peerCount', MAX_PLAUSIBLE_PEERS), source: 'net_peerCount' };

    const head = results.get('eth_blockNumber');
    if (head !== undefined) fields.height = hexQuantity(head, 'eth_blockNumber', maxHeight);

    const block = results.get('eth_getBlockByNumber');
    // null: the node has no such block yet (a node answering before its first block).
    if (block !== undefined && block !== null) {
      const b = record(block, 'eth_getBlockByNumber');
      fields.tipTime = hexQuantity(b.timestamp, 'eth_getBlockByNumber.timestamp');
      const number = hexQuantity(b.number, 'eth_getBlockByNumber.number', maxHeight);
      // The header is of the block the node calls latest; eth_blockNumber may have moved on by one
      // within the batch, never back.
      if (fields.height === undefined) fields.height = number;
    }

    const syncing = results.get('eth_syncing');
    if (syncing !== undefined) {
      if (syncing === false) {
        fields.syncing = false;
      } else {
        const s = record(syncing, 'eth_syncing');
        const currentBlock = hexQuantity(s.currentBlock, 'eth_syncing.currentBlock', maxHeight);
        const highestBlock = hexQuantity(s.highestBlock, 'eth_syncing.highestBlock', maxHeight);
        const txIndexLeft =
          s.txIndexRemainingBlocks === undefined || s.txIndexRemainingBlocks === null
            ? undefined
            : hexQuantity(s.txIndexRemainingBlocks, 'eth_syncing.txIndexRemainingBlocks', maxHeight);
        fields.syncTarget = {
          currentBlock,
          highestBlock,
          ...(txIndexLeft !== undefined ? { txIndexRemainingBlocks: txIndexLeft } : {}),
        };
        // geth keeps answering an object after reaching head while it still indexes
        // transactions: that node serves the head, so it is not "syncing" for our purposes.
        fields.syncing = highestBlock > currentBlock;
        if (!fields.syncing)
          fields.warnings = [
            txIndexLeft === undefined
              ? 'transaction indexing in progress'
              : `transaction indexing in progress (${txIndexLeft} blocks left)`,
          ];
      }
    }

    const chainId = results.get('eth_chainId');
    if (chainId !== undefined) {
      fields.chainId = hexQuantity(chainId, 'eth_chainId');
    } else {
      const netVersion = results.get('net_version');
      if (netVersion !== undefined) {
        if (typeof netVersion !== 'string' || !/^\d{1,15}$/.test(netVersion))
          throw new InvalidValue('net_version is not a decimal string');
        fields.chainId = Number(netVersion);
      }
    }

    const client = optionalText(results.get('web3_clientVersion'), 'web3_clientVersion');
    if (client !== undefined) fields.clientVersion = client;
    return fields;
  },

  checkChain(fields, chain: ChainSpec) {
    if (chain.chainId === undefined || fields.chainId === undefined) return undefined;
    if (fields.chainId === chain.chainId) return undefined;
    return { expected: hex(chain.chainId), actual: hex(fields.chainId) };
  },
};

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}
