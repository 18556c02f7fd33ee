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
  /**
   * Bitcoin family: hash of the chain's block 0 (`getblockhash 0`). Where set, a node is on this
   * chain only if its genesis hash is this one: `chain: main` alone cannot tell DeFiChain from
   * PAI from Bitcoin.
   */
  readonly genesisHash?: string;
  /** Average block interval, to turn lag in blocks into lag in seconds. */
  readonly blockTimeMs: number;
  /** Peers at which a node counts as fully connected (graded score reaches 1). */
  readonly targetPeers: number;
  /** Fewer peers than this makes a node unhealthy. */
  readonly minPeers: number;
}

/**
 * Genesis block hashes, as each project's `chainparams.cpp` asserts them (`hashGenesisBlock`):
 * DeFiCh/ain (CMainParams, CTestNetParams), projectpai/paicoin (MAINNET_ / TESTNET_ /
 * REGTEST_CONSENSUS_HASH_GENESIS_BLOCK), bitcoin/bitcoin (main, testnet3, testnet4, signet,
 * regtest). DeFiChain's changi and devnet networks are not listed: their hashes were not
 * verified (docs/health.md), so a node configured for them is checked by `chain` only.
 */
export const GENESIS = Object.freeze({
  bitcoinMain: '000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f',
  bitcoinTest3: '000000000933ea01ad0ee984209779baaec3ced90fa3f408719526f8d77f4943',
  bitcoinTest4: '00000000da84f2bafbbc53dee25a72ae507ff4914b867c565be350b0da8bf043',
  bitcoinSignet: '00000008819873e925422c1ff0f99f7cc9bbb232af63a077a480a3633bee1ef6',
  bitcoinRegtest: '0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206',
  defichainMain: '279b1a87aedc7b9471d4ad4e5f12967ab6259926cd097ade188dfcf22ebfe72a',
  defichainTest: '034ac8c88a1a9b846750768c1ad6f295bc4d0dc4b9b418aee5c0ebd609be8f90',
  paiMain: '00000000018151b673df2356e5e25bfcfecbcd7cf888717f2458530461512343',
  paiTest: '0000000003976df1a1393912d10ea68fae1175ee2c7e6011a0dc4e05f18f8403',
  paiRegtest: '47b736c948f15d787327c84bb3ad30a064e67c79154c7608da4b062c1adfe7bb',
});

/** Which chain a genesis hash belongs to, for messages (`node is on pai main`). */
export const GENESIS_NAMES: Readonly<Record<string, string>> = Object.freeze({
  [GENESIS.bitcoinMain]: 'bitcoin main',
  [GENESIS.bitcoinTest3]: 'bitcoin testnet3',
  [GENESIS.bitcoinTest4]: 'bitcoin testnet4',
  [GENESIS.bitcoinSignet]: 'bitcoin signet',
  [GENESIS.bitcoinRegtest]: 'bitcoin regtest',
  [GENESIS.defichainMain]: 'defichain main',
  [GENESIS.defichainTest]: 'defichain test',
  [GENESIS.paiMain]: 'pai main',
  [GENESIS.paiTest]: 'pai test',
  [GENESIS.paiRegtest]: 'pai regtest',
});

/** A genesis hash for people: the chain's name when known, else the hash's first digits. */
export function genesisLabel(hash: string): string {
  return GENESIS_NAMES[hash] ?? `genesis ${hash.slice(0, 12)}...`;
}

export const BUILTIN_CHAINS: Readonly<Record<string, ChainSpec>> = Object.freeze({
  // BSC: block time 0.75 s since the 2025 Maxwell hard fork; geth's default maxpeers is 50.
  bsc: { name: 'bsc', family: 'evm', chainId: 56, blockTimeMs: 750, targetPeers: 25, minPeers: 3 },
  'bsc-testnet': { name: 'bsc-testnet', family: 'evm', chainId: 97, blockTimeMs: 750, targetPeers: 10, minPeers: 2 },
  // DeFiChain: 30 s blocks; its own API fails readiness at 0 connections.
  defichain: {
    name: 'defichain',
    family: 'bitcoin',
    networkName: 'main',
    genesisHash: GENESIS.defichainMain,
    blockTimeMs: 30_000,
    targetPeers: 8,
    minPeers: 2,
  },
  'defichain-testnet': {
    name: 'defichain-testnet',
    family: 'bitcoin',
    networkName: 'test',
    genesisHash: GENESIS.defichainTest,
    blockTimeMs: 30_000,
    targetPeers: 4,
    minPeers: 1,
  },
  // PAI: a Bitcoin fork with 10 min blocks and a small network.
  pai: {
    name: 'pai',
    family: 'bitcoin',
    networkName: 'main',
    genesisHash: GENESIS.paiMain,
    blockTimeMs: 600_000,
    targetPeers: 8,
    minPeers: 1,
  },
  'pai-testnet': {
    name: 'pai-testnet',
    family: 'bitcoin',
    networkName: 'test',
    genesisHash: GENESIS.paiTest,
    blockTimeMs: 600_000,
    targetPeers: 2,
    minPeers: 1,
  },
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
