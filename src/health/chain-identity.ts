// Whether a sample shows its node on another chain than the one configured.
import { genesisLabel, type ChainSpec } from '../chains/chain-spec.js';
import type { Sample } from '../chains/sample.js';
import { RpcErrorCode } from '../errors/rpc-errors.js';

export interface ChainMismatch {
  /** What the node says, formatted for people: hex for EVM chain ids (`0x61`), names otherwise. */
  readonly actual: string;
  readonly expected: string;
}

/**
 * Whether a sample shows the node on another chain than configured: from the probe's
 * RPC_WRONG_CHAIN error, or from the reported chain id / network name themselves (so a probe
 * that forgot to check cannot let a testnet node serve mainnet traffic).
 */
export function chainMismatch(sample: Sample, chain: ChainSpec): ChainMismatch | null {
  const err = sample.error;
  if (err?.code === RpcErrorCode.WrongChain) {
    const actual = err.actual ?? reported(sample, chain) ?? '?';
    const expected = err.expected ?? configured(chain) ?? '?';
    return { actual: formatChainId(actual, chain), expected: formatChainId(expected, chain) };
  }
  if (
    chain.family === 'evm' &&
    chain.chainId !== undefined &&
    sample.chainId !== undefined &&
    sample.chainId !== chain.chainId
  ) {
    return { actual: toHex(sample.chainId), expected: toHex(chain.chainId) };
  }
  if (
    chain.family === 'bitcoin' &&
    chain.genesisHash !== undefined &&
    sample.genesisHash !== undefined &&
    sample.genesisHash !== chain.genesisHash
  ) {
    return { actual: genesisLabel(sample.genesisHash), expected: genesisLabel(chain.genesisHash) };
  }
  if (
    chain.family === 'bitcoin' &&
    chain.networkName !== undefined &&
    sample.networkName !== undefined &&
    sample.networkName !== chain.networkName
  ) {
    return { actual: sample.networkName, expected: chain.networkName };
  }
  return null;
}

/** How a sample stands on its chain: on it (and how that was shown), on another one, or unproven. */
export type ChainIdentity =
  | { readonly status: 'verified'; readonly by: 'chain-id' | 'genesis' | 'network' | 'nothing-configured' }
  | { readonly status: 'mismatch'; readonly mismatch: ChainMismatch }
  | { readonly status: 'unverified'; readonly why: string };

/**
 * Whether a successful sample proves the node is on the configured chain. Fails closed: a chain
 * the config names but the node does not confirm is `unverified`, never assumed. EVM: the chain
 * id (`eth_chainId`, else `net_version`). Bitcoin family with a known genesis block (the
 * built-in chains): `getblockhash 0` must match, since `chain: main` is said alike by Bitcoin,
 * DeFiChain and PAI; other Bitcoin-family chains: `getblockchaininfo.chain`.
 */
export function chainIdentity(sample: Sample, chain: ChainSpec): ChainIdentity {
  const mismatch = chainMismatch(sample, chain);
  if (mismatch !== null) return { status: 'mismatch', mismatch };
  if (chain.family === 'evm') {
    if (chain.chainId === undefined) return { status: 'verified', by: 'nothing-configured' };
    return sample.chainId !== undefined
      ? { status: 'verified', by: 'chain-id' }
      : { status: 'unverified', why: 'no chain id: eth_chainId and net_version gave no answer' };
  }
  if (chain.genesisHash !== undefined) {
    if (sample.genesisHash === undefined)
      return { status: 'unverified', why: 'no genesis hash: getblockhash 0 gave no answer' };
    return { status: 'verified', by: 'genesis' };
  }
  if (chain.networkName === undefined) return { status: 'verified', by: 'nothing-configured' };
  return sample.networkName !== undefined
    ? { status: 'verified', by: 'network' }
    : { status: 'unverified', why: 'no network: getblockchaininfo has no chain field' };
}

function reported(sample: Sample, chain: ChainSpec): string | undefined {
  return chain.family === 'evm' ? sample.chainId?.toString() : sample.networkName;
}

function configured(chain: ChainSpec): string | undefined {
  return chain.family === 'evm' ? chain.chainId?.toString() : chain.networkName;
}

/** EVM chain ids as `eth_chainId` shows them (`0x38`), whether given as `56` or `0x38`. */
export function formatChainId(id: string, chain: ChainSpec): string {
  if (chain.family !== 'evm') return id;
  const trimmed = id.trim();
  if (/^0x[0-9a-f]+$/i.test(trimmed)) return toHex(Number.parseInt(trimmed.slice(2), 16));
  if (/^\d+$/.test(trimmed)) return toHex(Number(trimmed));
  return id;
}

function toHex(n: number): string {
  return `0x${n.toString(16)}`;
}
