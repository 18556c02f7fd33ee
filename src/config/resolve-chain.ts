// A node's ChainSpec from its config: a built-in chain or a generic family.
import { BUILTIN_CHAINS, GENERIC_DEFAULTS, type ChainSpec } from '../chains/chain-spec.js';
import type { ReportIssue } from './config-error.js';
import type { RawNode } from './nodes-file-schema.js';

/**
 * A node's `ChainSpec`: a built-in chain, or a generic family (`evm` needs `chainId`, `bitcoin`
 * needs `network`). Any chain, built-in or generic, may override `blockTimeMs`, `targetPeers` and
 * `minPeers` for that node (a small private network, a node with few allowed peers); the
 * expected chain id / network of a built-in chain is fixed, and may be repeated but not changed.
 */
export function resolveChain(node: RawNode, at: readonly PropertyKey[], report: ReportIssue): ChainSpec | undefined {
  let base: ChainSpec;
  let ok = true;
  if (node.chain === 'evm') {
    if (node.chainId === undefined) {
      report([...at, 'chainId'], 'required for chain evm: the eth_chainId the node must report, e.g. 56 or "0x38"');
      ok = false;
    }
    if (node.network !== undefined) {
      report([...at, 'network'], 'only for chain bitcoin (an evm node is checked by chainId)');
      ok = false;
    }
    base = { name: 'evm', family: 'evm', ...GENERIC_DEFAULTS.evm, ...(node.chainId === undefined ? {} : { chainId: node.chainId }) };
  } else if (node.chain === 'bitcoin') {
    if (node.network === undefined) {
      report([...at, 'network'], 'required for chain bitcoin: the getblockchaininfo.chain the node must report, e.g. main, test, regtest or changi');
      ok = false;
    }
    if (node.chainId !== undefined) {
      report([...at, 'chainId'], 'only for chain evm (a bitcoin-family node is checked by network)');
      ok = false;
    }
    base = { name: 'bitcoin', family: 'bitcoin', ...GENERIC_DEFAULTS.bitcoin, ...(node.network === undefined ? {} : { networkName: node.network }) };
  } else {
    const builtin = BUILTIN_CHAINS[node.chain];
    if (builtin === undefined) return undefined; // the schema has reported it
    base = builtin;
    if (node.chainId !== undefined && node.chainId !== builtin.chainId) {
      report([...at, 'chainId'], builtin.chainId === undefined
        ? `chain ${builtin.name} is not an EVM chain; chainId is only for evm chains`
        : `chain ${builtin.name} has chain id ${builtin.chainId}; use chain evm for another network`);
      ok = false;
    }
    if (node.network !== undefined && node.network !== builtin.networkName) {
      report([...at, 'network'], builtin.networkName === undefined
        ? `chain ${builtin.name} is not a bitcoin-family chain; network is only for those`
        : `chain ${builtin.name} has network ${builtin.networkName}; use chain bitcoin for another network`);
      ok = false;
    }
  }

  const spec: ChainSpec = {
    ...base,
    blockTimeMs: node.blockTimeMs ?? base.blockTimeMs,
    targetPeers: node.targetPeers ?? base.targetPeers,
    minPeers: node.minPeers ?? base.minPeers,
  };
  if (spec.minPeers > spec.targetPeers) {
    const source = (key: 'minPeers' | 'targetPeers') => (node[key] === undefined ? `, the ${base.name} default` : '');
    report([...at, node.minPeers !== undefined ? 'minPeers' : 'targetPeers'], `minPeers (${spec.minPeers}${source('minPeers')}) must not exceed targetPeers (${spec.targetPeers}${source('targetPeers')})`);
    ok = false;
  }
  return ok ? Object.freeze(spec) : undefined;
}
