import type { ChainSpec } from './chain-spec.js';
import { hexQuantity, InvalidValue, optionalText, record } from './parse-values.js';
import type { FamilyProbe, ProbeFields } from './family-probe.js';

/**
 * EVM (BSC = geth fork). One batch: peers, head, sync state, chain id, client version.
 * `net_listening` is deliberately not asked: geth hard-codes it to true, so it says nothing.
 */
export const evmProbe: FamilyProbe = {
  family: 'evm',

  plan(missing) {
    const methods = ['eth_blockNumber', 'net_peerCount', 'eth_syncing', 'eth_chainId', 'web3_clientVersion'];
    const plan = methods.filter((m) => !missing.has(m));
    // Very old or stripped nodes lack eth_chainId; net_version carries the same id in decimal.
    if (missing.has('eth_chainId') && !missing.has('net_version')) plan.push('net_version');
    return plan;
  },

  essential: ['eth_blockNumber'],

  interpret(results) {
    const fields: ProbeFields = {};
    const peers = results.get('net_peerCount');
    if (peers !== undefined) fields.peers = { total: hexQuantity(peers, 'net_peerCount'), source: 'net_peerCount' };

    const head = results.get('eth_blockNumber');
    if (head !== undefined) fields.height = hexQuantity(head, 'eth_blockNumber');

    const syncing = results.get('eth_syncing');
    if (syncing !== undefined) {
      if (syncing === false) {
        fields.syncing = false;
      } else {
        const s = record(syncing, 'eth_syncing');
        const currentBlock = hexQuantity(s.currentBlock, 'eth_syncing.currentBlock');
        const highestBlock = hexQuantity(s.highestBlock, 'eth_syncing.highestBlock');
        fields.syncTarget = { currentBlock, highestBlock };
        // geth keeps answering an object after reaching head while it still indexes
        // transactions: that node serves the head, so it is not "syncing" for our purposes.
        fields.syncing = highestBlock > currentBlock;
        if (!fields.syncing) fields.warnings = ['transaction indexing in progress'];
      }
    }

    const chainId = results.get('eth_chainId');
    if (chainId !== undefined) {
      fields.chainId = hexQuantity(chainId, 'eth_chainId');
    } else {
      const netVersion = results.get('net_version');
      if (netVersion !== undefined) {
        if (typeof netVersion !== 'string' || !/^\d{1,15}$/.test(netVersion)) throw new InvalidValue('net_version is not a decimal string');
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
