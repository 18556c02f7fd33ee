// Tells what chain an unknown node serves (`nodesentry probe` without `--chain`).
import type { Dispatcher } from 'undici';
import { RpcFailure } from '../errors/rpc-errors.js';
import type { Credentials } from '../rpc/credentials.js';
import { RpcClient } from '../rpc/rpc-client.js';
import { BUILTIN_CHAINS, GENERIC_DEFAULTS, type ChainSpec } from './chain-spec.js';
import { InvalidArgumentError } from '../errors/argument-errors.js';

export interface DetectOptions {
  readonly url: string;
  readonly credentials?: Credentials | undefined;
  readonly dispatcher: Dispatcher;
  readonly timeoutMs: number;
  readonly maxResponseBytes: number;
  /** Secrets in the URL, scrubbed from what the node says (see RpcClient). */
  readonly secrets?: readonly string[] | undefined;
}

/**
 * Find out what a node is when the operator did not say (`nodesentry probe <url>`): an EVM
 * node answers `eth_chainId`; a Bitcoin-family node answers `getblockchaininfo`, and its
 * subversion tells DeFiChain from PAI. Transport failures (refused, 401, timeout) are thrown
 * as they are: they are the answer the operator needs.
 */
export async function detectChain(opts: DetectOptions): Promise<ChainSpec> {
  const client = (dialect: 'evm' | 'bitcoin') =>
    new RpcClient({
      url: opts.url,
      dialect,
      dispatcher: opts.dispatcher,
      credentials: opts.credentials,
      timeoutMs: opts.timeoutMs,
      maxResponseBytes: opts.maxResponseBytes,
      secrets: opts.secrets,
    });

  let evmFailure: RpcFailure | undefined;
  try {
    const id = await client('evm').call('eth_chainId');
    if (
      typeof id === 'string' &&
      /^0x[0-9a-f]{1,13}$/i.test(id) &&
      Number.isSafeInteger(Number.parseInt(id.slice(2), 16))
    ) {
      const chainId = Number.parseInt(id.slice(2), 16);
      const known = Object.values(BUILTIN_CHAINS).find((c) => c.family === 'evm' && c.chainId === chainId);
      return known ?? { name: 'evm', family: 'evm', chainId, ...GENERIC_DEFAULTS.evm };
    }
  } catch (err) {
    if (!(err instanceof RpcFailure)) throw err;
    // The answer to a wrong-dialect call is an RPC error; anything at the transport level is final.
    if (err.rpcCode === undefined && err.httpStatus !== 404 && err.httpStatus !== 400) throw err;
    evmFailure = err;
  }

  const btc = client('bitcoin');
  const info = (await btc.call('getblockchaininfo')) as { chain?: unknown };
  const network = typeof info?.chain === 'string' ? info.chain : undefined;
  if (network === undefined)
    throw (
      evmFailure ?? new InvalidArgumentError('node answered neither as EVM nor as Bitcoin family', 'CHAIN_NOT_DETECTED')
    );
  let subversion = '';
  try {
    const ni = (await btc.call('getnetworkinfo')) as { subversion?: unknown };
    if (typeof ni?.subversion === 'string') subversion = ni.subversion;
  } catch {
    // Not every node offers getnetworkinfo; detection then falls back to the generic family.
  }
  const testnet = network !== 'main';
  if (/defichain/i.test(subversion))
    return withNetwork(BUILTIN_CHAINS[testnet ? 'defichain-testnet' : 'defichain']!, network);
  // paicoind calls itself "Turing" in its subversion (clientversion.cpp), older forks "PAI".
  if (/turing|pai/i.test(subversion)) return withNetwork(BUILTIN_CHAINS[testnet ? 'pai-testnet' : 'pai']!, network);
  return { name: 'bitcoin', family: 'bitcoin', networkName: network, ...GENERIC_DEFAULTS.bitcoin };
}

function withNetwork(spec: ChainSpec, network: string): ChainSpec {
  // e.g. DeFiChain's changi / devnet / regtest: keep the chain's defaults, expect what it said
  // (and not the built-in network's genesis block, which is not theirs).
  if (spec.networkName === network) return spec;
  const { genesisHash: _notTheirs, ...rest } = spec;
  return { ...rest, networkName: network };
}
