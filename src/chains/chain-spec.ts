/**
 * What nodesentry knows about each chain it can watch. Built-in chains have fixed expectations;
 * the generic `evm` / `bitcoin` families take theirs from the node's config.
 */
export type Family = 'evm' | 'bitcoin';

export interface ChainSpec {
  /** Config name: `bsc`, `defichain-testnet`, ... or a generic family name. */
  readonly name: string;
  readonly family: Family;
  /** EVM: the `eth_chainId` the node must report. */
  readonly chainId?: number;
  /** Bitcoin family: the `getblockchaininfo.chain` the node must report (`main`, `test`, ...). */
  readonly networkName?: string;
  /** Average block interval, to turn lag in blocks into lag in seconds. */
  readonly blockTimeMs: number;
  /** Peers at which a node counts as fully connected (graded score reaches 1). */
  readonly targetPeers: number;
  /** Fewer peers than this makes a node unhealthy. */
  readonly minPeers: number;
}

export const BUILTIN_CHAINS: Readonly<Record<string, ChainSpec>> = Object.freeze({
  // BSC: block time 0.75 s since the 2025 Maxwell hard fork; geth's default maxpeers is 50.
  bsc: { name: 'bsc', family: 'evm', chainId: 56, blockTimeMs: 750, targetPeers: 25, minPeers: 3 },
  'bsc-testnet': { name: 'bsc-testnet', family: 'evm', chainId: 97, blockTimeMs: 750, targetPeers: 10, minPeers: 2 },
  // DeFiChain: 30 s blocks; its own API fails readiness at 0 connections.
  defichain: { name: 'defichain', family: 'bitcoin', networkName: 'main', blockTimeMs: 30_000, targetPeers: 8, minPeers: 2 },
  'defichain-testnet': { name: 'defichain-testnet', family: 'bitcoin', networkName: 'test', blockTimeMs: 30_000, targetPeers: 4, minPeers: 1 },
  // PAI: a Bitcoin fork with 10 min blocks and a small network.
  pai: { name: 'pai', family: 'bitcoin', networkName: 'main', blockTimeMs: 600_000, targetPeers: 8, minPeers: 1 },
  'pai-testnet': { name: 'pai-testnet', family: 'bitcoin', networkName: 'test', blockTimeMs: 600_000, targetPeers: 2, minPeers: 1 },
});

export const GENERIC_FAMILIES: readonly Family[] = ['evm', 'bitcoin'];

/** Defaults for a generic family when the config does not say. */
export const GENERIC_DEFAULTS: Readonly<Record<Family, Omit<ChainSpec, 'name' | 'family'>>> = {
  evm: { blockTimeMs: 12_000, targetPeers: 10, minPeers: 1 },
  bitcoin: { blockTimeMs: 600_000, targetPeers: 8, minPeers: 1 },
};

export function isKnownChainName(name: string): boolean {
  return Object.hasOwn(BUILTIN_CHAINS, name) || (GENERIC_FAMILIES as readonly string[]).includes(name);
}
