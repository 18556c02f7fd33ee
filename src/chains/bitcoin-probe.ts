// The Bitcoin-family probe (defid, paicoind): its calls and how their answers become a sample.
import { genesisLabel, type ChainSpec } from './chain-spec.js';
import type { FamilyProbe, ProbeFields } from './family-probe.js';
import {
  blockHash,
  boundedCount,
  bytesPerMsg,
  count,
  InvalidValue,
  MAX_PLAUSIBLE_PEERS,
  maxPlausibleHeight,
  optionalBoolean,
  optionalBoundedCount,
  optionalCount,
  optionalMeasurement,
  optionalNumber,
  optionalText,
  record,
  warningsList,
} from './parse-values.js';
import type { PeerDetail } from './sample.js';

/** Headers ahead of blocks by more than this means the node is still downloading blocks. */
export const SYNC_GAP_BLOCKS = 2;
/** Bitcoin Core's nMaxTipAge: a tip older than this means initial block download. */
export const MAX_TIP_AGE_S = 24 * 3600;
/** getpeerinfo can list hundreds of peers; keep a bounded number per sample. */
export const MAX_PEER_DETAILS = 256;

/**
 * Bitcoin family: Bitcoin Core, DeFiChain defid, PAI paicoind. Every field may be missing on
 * some version, so each is read only if present. Peer counts come from getnetworkinfo, else
 * getpeerinfo, else getconnectioncount; initial sync is read from `initialblockdownload` or,
 * where the node lacks it (paicoind), inferred from headers - blocks and the tip's age.
 */
export const bitcoinProbe: FamilyProbe = {
  family: 'bitcoin',

  plan(missing, opts = {}) {
    const plan: string[] = [];
    plan.push(missing.has('getblockchaininfo') ? 'getblockcount' : 'getblockchaininfo');
    // Without getnetworkinfo, getpeerinfo is where the peer count comes from: always ask it.
    const peerDetails =
      opts.peerDetails !== false || (missing.has('getnetworkinfo') && missing.has('getconnectioncount'));
    plan.push(missing.has('getnetworkinfo') ? 'getconnectioncount' : 'getnetworkinfo');
    if (peerDetails) plan.push('getpeerinfo');
    plan.push('getnettotals');
    // Seconds since start: a byte-total drop with uptime still growing is not a restart.
    plan.push('uptime');
    // Block 0 names the chain exactly; it never changes, so it is asked once per connection.
    if (opts.genesisKnown !== true) plan.push('getblockhash');
    return plan.filter((m) => !missing.has(m));
  },

  essential: ['getblockchaininfo', 'getblockcount'],
  params: { getblockhash: [0] },

  interpret(results, chain, nowMs, opts = {}) {
    const fields: ProbeFields = {};
    const warnings: string[] = [];
    const maxHeight = maxPlausibleHeight(chain.blockTimeMs, nowMs);

    const bciRaw = results.get('getblockchaininfo');
    if (bciRaw !== undefined) {
      const bci = record(bciRaw, 'getblockchaininfo');
      const blocks = boundedCount(bci.blocks, 'getblockchaininfo.blocks', maxHeight);
      fields.height = blocks;
      const headers = optionalBoundedCount(bci.headers, 'getblockchaininfo.headers', maxHeight);
      if (headers !== undefined) fields.headers = headers;
      const network = optionalText(bci.chain, 'getblockchaininfo.chain');
      if (network !== undefined) fields.networkName = network;
      const progress = optionalNumber(bci.verificationprogress, 'getblockchaininfo.verificationprogress');
      if (progress !== undefined) {
        // Core's estimate is a fraction; a node far outside 0..1 is not reporting progress.
        if (progress < 0 || progress > 1.01)
          throw new InvalidValue(`getblockchaininfo.verificationprogress is out of range (${progress})`);
        fields.verificationProgress = Math.min(1, progress);
      }
      const median = optionalCount(bci.mediantime, 'getblockchaininfo.mediantime');
      if (median !== undefined) fields.tipMedianTime = median;
      const time = optionalCount(bci.time, 'getblockchaininfo.time');
      if (time !== undefined) fields.tipTime = time;
      const ibd = optionalBoolean(bci.initialblockdownload, 'getblockchaininfo.initialblockdownload');
      const gap = headers !== undefined && headers - blocks > SYNC_GAP_BLOCKS;
      const tipTooOld = median !== undefined && nowMs / 1000 - median > MAX_TIP_AGE_S;
      fields.syncing = ibd === true || gap || (ibd === undefined && tipTooOld);
      const w = warningsList(bci.warnings);
      if (w) warnings.push(...w);
    } else {
      const blocks = results.get('getblockcount');
      if (blocks !== undefined) fields.height = boundedCount(blocks, 'getblockcount', maxHeight);
    }

    const genesis = results.get('getblockhash');
    if (genesis !== undefined) fields.genesisHash = blockHash(genesis, 'getblockhash(0)');
    const uptime = results.get('uptime');
    if (uptime !== undefined) fields.uptimeS = count(uptime, 'uptime');

    let total: number | undefined;
    let inbound: number | undefined;
    let outbound: number | undefined;
    let source: NonNullable<ProbeFields['peers']>['source'] | undefined;

    const niRaw = results.get('getnetworkinfo');
    if (niRaw !== undefined) {
      const ni = record(niRaw, 'getnetworkinfo');
      total = optionalBoundedCount(ni.connections, 'getnetworkinfo.connections', MAX_PLAUSIBLE_PEERS);
      inbound = optionalBoundedCount(ni.connections_in, 'getnetworkinfo.connections_in', MAX_PLAUSIBLE_PEERS);
      outbound = optionalBoundedCount(ni.connections_out, 'getnetworkinfo.connections_out', MAX_PLAUSIBLE_PEERS);
      if (total !== undefined) source = 'getnetworkinfo';
      const active = optionalBoolean(ni.networkactive, 'getnetworkinfo.networkactive');
      if (active !== undefined) fields.networkActive = active;
      const sub = optionalText(ni.subversion, 'getnetworkinfo.subversion');
      if (sub !== undefined) fields.clientVersion = sub;
      const w = warningsList(ni.warnings);
      if (w) warnings.push(...w);
    }

    const piRaw = results.get('getpeerinfo');
    if (piRaw !== undefined) {
      if (!Array.isArray(piRaw)) throw new InvalidValue('getpeerinfo is not a list');
      if (piRaw.length > MAX_PLAUSIBLE_PEERS)
        throw new InvalidValue(`getpeerinfo lists ${piRaw.length} peers (> ${MAX_PLAUSIBLE_PEERS})`);
      const splitWanted = piRaw.length <= MAX_PEER_DETAILS && (inbound === undefined || outbound === undefined);
      if (opts.peerList !== false) {
        const list = piRaw.slice(0, MAX_PEER_DETAILS).map((p, i) => peerDetail(p, i, nowMs));
        fields.peerList = list;
        if (splitWanted) {
          inbound = list.filter((p) => p.inbound).length;
          outbound = list.length - inbound;
        }
      } else if (splitWanted) {
        // Counts only: read what the split needs, with the same checks, and build nothing.
        inbound = inboundCount(piRaw);
        outbound = piRaw.length - inbound;
      }
      if (total === undefined) {
        total = piRaw.length;
        source = 'getpeerinfo';
      }
    }

    const cc = results.get('getconnectioncount');
    if (total === undefined && cc !== undefined) {
      total = boundedCount(cc, 'getconnectioncount', MAX_PLAUSIBLE_PEERS);
      source = 'getconnectioncount';
    }
    if (total !== undefined && source !== undefined) {
      fields.peers = {
        total,
        source,
        ...(inbound !== undefined ? { inbound } : {}),
        ...(outbound !== undefined ? { outbound } : {}),
      };
    }

    const ntRaw = results.get('getnettotals');
    if (ntRaw !== undefined) {
      const nt = record(ntRaw, 'getnettotals');
      fields.netTotals = {
        totalBytesRecv: count(nt.totalbytesrecv, 'getnettotals.totalbytesrecv'),
        totalBytesSent: count(nt.totalbytessent, 'getnettotals.totalbytessent'),
        timeMillis: count(nt.timemillis, 'getnettotals.timemillis'),
      };
    }

    if (warnings.length > 0) fields.warnings = [...new Set(warnings)];
    else if (niRaw !== undefined || bciRaw !== undefined) fields.warnings = [];
    return fields;
  },

  checkChain(fields, chain: ChainSpec) {
    // The genesis hash is the chain's identity; the network name only tells main from test.
    if (
      chain.genesisHash !== undefined &&
      fields.genesisHash !== undefined &&
      fields.genesisHash !== chain.genesisHash
    ) {
      return { expected: genesisLabel(chain.genesisHash), actual: genesisLabel(fields.genesisHash) };
    }
    if (chain.networkName === undefined || fields.networkName === undefined) return undefined;
    if (fields.networkName === chain.networkName) return undefined;
    return { expected: chain.networkName, actual: fields.networkName };
  },
};

/** Epoch seconds no real connection can predate: Bitcoin's genesis block (2009-01-03). */
const MIN_EPOCH_S = 1_231_006_505;

/**
 * `conntime` is an epoch time in Core; some nodes that speak its dialect send seconds since the
 * connection was made. A value that cannot be an epoch time (before 2009) but can be a duration
 * is read as one, so a peer connected 20 s ago is not shown as connected 56 years ago.
 */
function connTime(value: unknown, what: string, nowMs: number): { at: number; from: 'epoch' | 'duration' } | undefined {
  const v = optionalCount(value, what);
  if (v === undefined) return undefined;
  const nowS = Math.floor(nowMs / 1000);
  if (v >= MIN_EPOCH_S) return { at: v, from: 'epoch' };
  if (v <= nowS - MIN_EPOCH_S) return { at: nowS - v, from: 'duration' };
  return undefined;
}

/** How many getpeerinfo entries are inbound, read as `peerDetail` reads `inbound`. */
function inboundCount(raw: readonly unknown[]): number {
  let n = 0;
  for (let i = 0; i < raw.length; i++) {
    const p = raw[i];
    // The checks' names are built only when one fails (this runs for every peer of every node).
    if (p === null || typeof p !== 'object' || Array.isArray(p)) record(p, `getpeerinfo[${i}]`);
    const inbound = (p as Record<string, unknown>).inbound;
    if (inbound === true) n++;
    else if (inbound !== false) optionalBoolean(inbound, `getpeerinfo[${i}].inbound`);
  }
  return n;
}

function peerDetail(raw: unknown, i: number, nowMs: number): PeerDetail {
  const p = record(raw, `getpeerinfo[${i}]`);
  const out: { -readonly [K in keyof PeerDetail]?: PeerDetail[K] } = {
    id: count(p.id, `getpeerinfo[${i}].id`),
    addr: optionalText(p.addr, `getpeerinfo[${i}].addr`) ?? '',
    inbound: optionalBoolean(p.inbound, `getpeerinfo[${i}].inbound`) ?? false,
  };
  const set = <K extends keyof PeerDetail>(k: K, v: PeerDetail[K] | undefined) => {
    if (v !== undefined) out[k] = v;
  };
  set('subver', optionalText(p.subver, 'subver'));
  set('version', optionalNumber(p.version, 'version'));
  // -1 (some nodes, before the first pong) means "not measured", not a negative round trip.
  set('pingTime', optionalMeasurement(p.pingtime, 'pingtime'));
  set('minPing', optionalMeasurement(p.minping, 'minping'));
  // synced_* are -1 until the peer has told us anything: keep them as the node reports.
  set('startingHeight', optionalNumber(p.startingheight, 'startingheight'));
  set('syncedHeaders', optionalNumber(p.synced_headers, 'synced_headers'));
  set('syncedBlocks', optionalNumber(p.synced_blocks, 'synced_blocks'));
  set('bytesSent', optionalCount(p.bytessent, 'bytessent'));
  set('bytesRecv', optionalCount(p.bytesrecv, 'bytesrecv'));
  const conn = connTime(p.conntime, 'conntime', nowMs);
  if (conn !== undefined) {
    out.connTime = conn.at;
    out.connTimeFrom = conn.from;
  }
  set('bytesSentPerMsg', bytesPerMsg(p.bytessent_per_msg));
  set('bytesRecvPerMsg', bytesPerMsg(p.bytesrecv_per_msg));
  return out as PeerDetail;
}
