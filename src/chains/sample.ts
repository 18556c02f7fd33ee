// The Sample type: one normalized observation of one node.
import type { Family } from './chain-spec.js';

/**
 * One normalized observation of one node: what every chain family's probe produces and what
 * the store, the health core and the API consume. Fields the node did not report are absent,
 * never guessed. Plain data only (it is serialised to Redis as JSON).
 */
export interface Sample {
  readonly nodeId: string;
  readonly chain: string;
  readonly family: Family;
  /** Epoch ms when the probe's answer arrived (or the probe gave up). */
  readonly observedAt: number;
  /** Wall time of the probe's HTTP exchange(s), ms. */
  readonly latencyMs: number;
  /** True when the node answered the essential calls and is on the expected chain. */
  readonly ok: boolean;
  /** Why `ok` is false; the message is credential-free. */
  readonly error?: SampleError;

  readonly peers?: PeerCounts;
  /** Best block height the node has (EVM `eth_blockNumber`, Bitcoin `blocks`). */
  readonly height?: number;
  /** Bitcoin family: best header height (`headers`). */
  readonly headers?: number;
  /** True while the node reports or is inferred to be syncing / in initial block download. */
  readonly syncing?: boolean;
  /** EVM `eth_syncing` object: where the node is and where it is heading. */
  readonly syncTarget?: {
    readonly currentBlock: number;
    readonly highestBlock: number;
    /** geth 1.13+: blocks still to index; the object then says "at the head, indexing" exactly. */
    readonly txIndexRemainingBlocks?: number;
  };
  /** Bitcoin family `verificationprogress` (0..1). */
  readonly verificationProgress?: number;
  /** Bitcoin family `mediantime` of the tip, epoch seconds. */
  readonly tipMedianTime?: number;
  /**
   * Timestamp of the node's best block, epoch seconds: EVM `eth_getBlockByNumber("latest")`,
   * Bitcoin family `getblockchaininfo.time` (Core 23+). How old the tip is, exactly.
   */
  readonly tipTime?: number;
  /** Bitcoin family: hash of block 0 (`getblockhash 0`), which names the chain exactly. */
  readonly genesisHash?: string;
  /** Bitcoin family: seconds since the node started (`uptime`), to tell a restart from a counter drop. */
  readonly uptimeS?: number;
  /** EVM chain id as reported (`eth_chainId`). */
  readonly chainId?: number;
  /** Bitcoin family network as reported (`getblockchaininfo.chain`). */
  readonly networkName?: string;
  /** Bitcoin family P2P switch (`getnetworkinfo.networkactive`). */
  readonly networkActive?: boolean;
  /** `web3_clientVersion`, or `getnetworkinfo.subversion`. */
  readonly clientVersion?: string;
  readonly netTotals?: NetTotals;
  /** Node warnings, normalised to a list (Core 28+ sends an array, older ones a string). */
  readonly warnings?: readonly string[];
  /** Connected peers in detail, where the node offers `getpeerinfo`. */
  readonly peerList?: readonly PeerDetail[];
  /** Methods this node does not offer (learned from -32601 / 404); never a failure by itself. */
  readonly missingMethods: readonly string[];
}

export interface SampleError {
  /** A stable code from `RpcErrorCode`. */
  readonly code: string;
  readonly message: string;
  readonly transient: boolean;
  readonly httpStatus?: number;
  readonly rpcCode?: number;
  /** For RPC_WRONG_CHAIN: what the config expects and what the node said. */
  readonly expected?: string;
  readonly actual?: string;
}

export interface PeerCounts {
  readonly total: number;
  readonly inbound?: number;
  readonly outbound?: number;
  /** Which call the counts came from. */
  readonly source: 'net_peerCount' | 'getnetworkinfo' | 'getpeerinfo' | 'getconnectioncount';
}

export interface NetTotals {
  readonly totalBytesRecv: number;
  readonly totalBytesSent: number;
  /** Node clock when the totals were read, epoch ms. */
  readonly timeMillis: number;
}

/** One connected peer, the subset of `getpeerinfo` worth keeping (fields vary by version). */
export interface PeerDetail {
  readonly id: number;
  readonly addr: string;
  readonly inbound: boolean;
  readonly subver?: string;
  readonly version?: number;
  readonly pingTime?: number;
  readonly minPing?: number;
  readonly startingHeight?: number;
  readonly syncedHeaders?: number;
  readonly syncedBlocks?: number;
  readonly bytesSent?: number;
  readonly bytesRecv?: number;
  /** When the connection was made, epoch seconds (read as a duration when the node sends one). */
  readonly connTime?: number;
  /** `duration` when the node sent seconds since connecting instead of an epoch time. */
  readonly connTimeFrom?: 'epoch' | 'duration';
  readonly bytesSentPerMsg?: Readonly<Record<string, number>>;
  readonly bytesRecvPerMsg?: Readonly<Record<string, number>>;
}

/**
 * The sample without its `peerList`: records are stored, published and served without it (it
 * is large and rarely read; the store keeps it under its own key). The same object when it has none.
 */
export function withoutPeerList(sample: Sample): Sample {
  if (sample.peerList === undefined) return sample;
  const { peerList: _omit, ...rest } = sample;
  return rest;
}
