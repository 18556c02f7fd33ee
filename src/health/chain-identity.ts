import type { ChainSpec } from '../chains/chain-spec.js';
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
  if (chain.family === 'evm' && chain.chainId !== undefined && sample.chainId !== undefined && sample.chainId !== chain.chainId) {
    return { actual: toHex(sample.chainId), expected: toHex(chain.chainId) };
  }
  if (chain.family === 'bitcoin' && chain.networkName !== undefined && sample.networkName !== undefined && sample.networkName !== chain.networkName) {
    return { actual: sample.networkName, expected: chain.networkName };
  }
  return null;
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
