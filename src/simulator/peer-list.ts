// Generated `getpeerinfo` answers for Bitcoin-family simulated nodes.
import { p2pPort } from './client-profile.js';
import { mix32, SeededRandom } from './seeded-random.js';
import type { SimNode } from './sim-node.js';

// RFC 5737 documentation ranges: plausible-looking addresses that belong to nobody.
const TEST_NETS = ['192.0.2', '198.51.100', '203.0.113'] as const;

// Share of each message type in a peer's traffic, sorted by name as Core prints them; `inv`
// (share 0) takes the remainder so the parts add up to the total.
const SENT_SHARES: readonly (readonly [string, number])[] = [
  ['addr', 0.01],
  ['getdata', 0.04],
  ['headers', 0.06],
  ['inv', 0],
  ['ping', 0.02],
  ['pong', 0.02],
  ['tx', 0.35],
  ['verack', 0],
  ['version', 0],
];
const RECV_SHARES: readonly (readonly [string, number])[] = [
  ['addr', 0.02],
  ['block', 0.3],
  ['cmpctblock', 0.1],
  ['getdata', 0.02],
  ['headers', 0.05],
  ['inv', 0],
  ['ping', 0.02],
  ['pong', 0.02],
  ['tx', 0.3],
  ['verack', 0],
  ['version', 0],
];
const HANDSHAKE_BYTES: Readonly<Record<string, number>> = Object.freeze({ verack: 24, version: 126 });

/**
 * `getpeerinfo` for a Bitcoin-family node, generated on each call from the node's seed: the
 * same node shows the same peers every time (peer k keeps its address when others join),
 * traffic counters grow with time, and fields follow the client's version.
 * Outbound peer k has id 2k, inbound peer k id 2k+1, so ids stay put when counts change.
 */
export function buildPeerInfo(node: SimNode, now: number): Record<string, unknown>[] {
  const inbound = node.connectedInbound();
  const outbound = node.connectedOutbound();
  const peers: Record<string, unknown>[] = [];
  const limit = 2 * Math.max(inbound, outbound);
  for (let id = 0; id < limit; id++) {
    const isInbound = id % 2 === 1;
    const k = id >> 1;
    if (isInbound ? k >= inbound : k >= outbound) continue;
    peers.push(buildPeer(node, id, isInbound, now));
  }
  return peers;
}

function buildPeer(node: SimNode, id: number, inbound: boolean, now: number): Record<string, unknown> {
  const r = new SeededRandom(mix32(node.seed, id));
  const profile = node.profile;
  const has = profile.has;
  const port = p2pPort(node.kind, node.network);
  const nowS = Math.floor(now / 1000);
  const conntime = Math.floor(node.addedAt / 1000) - r.int(60, 6 * 3600);
  const age = Math.max(1, nowS - conntime);
  const bytessent = 2_000 + r.int(200, 3_000) * age;
  const bytesrecv = 3_000 + r.int(200, 5_000) * age;
  const pingtime = round6(0.005 + r.next() * 0.3);
  const minping = round6(pingtime * (0.5 + r.next() * 0.5));
  const ip = `${r.pick(TEST_NETS)}.${r.int(1, 254)}`;
  const ephemeral = r.int(32_768, 60_999);
  const localIp = `10.0.${(node.seed >>> 8) & 0xff}.${(node.seed & 0x7f) + 2}`;
  const height = node.bestHeight(now);
  const startingheight = Math.max(0, node.headHeight(now) - Math.floor((now - conntime * 1000) / node.blockTimeMs));
  const lastsend = nowS - r.int(0, 20);
  const lastrecv = nowS - r.int(0, 20);

  const peer: Record<string, unknown> = {
    id,
    addr: inbound ? `${ip}:${ephemeral}` : `${ip}:${port}`,
    addrbind: inbound ? `${localIp}:${port}` : `${localIp}:${ephemeral}`,
    addrlocal: `203.0.113.${(node.seed % 254) + 1}:${port}`,
  };
  if (has.peerConnectionType) peer.network = 'ipv4';
  peer.services = profile.peerServices;
  if (has.peerConnectionType) peer.servicesnames = ['NETWORK', 'WITNESS', 'NETWORK_LIMITED'];
  peer.relaytxes = true;
  peer.lastsend = lastsend;
  peer.lastrecv = lastrecv;
  if (has.peerConnectionType) {
    peer.last_transaction = nowS - r.int(0, 60);
    peer.last_block = nowS - r.int(0, Math.max(1, Math.floor(node.blockTimeMs / 1000)));
  }
  peer.bytessent = bytessent;
  peer.bytesrecv = bytesrecv;
  peer.conntime = node.quirks.has('conntime-duration') ? age : conntime;
  peer.timeoffset = r.int(-1, 1);
  // Some nodes send -1 until the first pong instead of leaving the fields out as Core does.
  peer.pingtime = node.quirks.has('ping-unmeasured') ? -1 : pingtime;
  peer.minping = node.quirks.has('ping-unmeasured') ? -1 : minping;
  peer.version = profile.protocolVersion;
  peer.subver = r.pick(profile.peerSubversions);
  peer.inbound = inbound;
  if (has.peerLegacyFields) peer.addnode = false;
  if (has.peerConnectionType) {
    peer.bip152_hb_to = false;
    peer.bip152_hb_from = false;
  }
  peer.startingheight = startingheight;
  if (has.peerLegacyFields) peer.banscore = 0;
  if (has.peerTransport) peer.presynced_headers = -1;
  peer.synced_headers = height;
  peer.synced_blocks = height;
  peer.inflight = [];
  if (has.peerLegacyFields) peer.whitelisted = false;
  if (has.peerConnectionType) {
    peer.addr_relay_enabled = true;
    peer.addr_processed = r.int(0, 5_000);
    peer.addr_rate_limited = 0;
  }
  if (has.peerPermissions) peer.permissions = [];
  peer.minfeefilter = 0.00001;
  peer.bytessent_per_msg = split(bytessent, SENT_SHARES);
  peer.bytesrecv_per_msg = split(bytesrecv, RECV_SHARES);
  if (has.peerConnectionType) peer.connection_type = inbound ? 'inbound' : 'outbound-full-relay';
  if (has.peerTransport) {
    peer.transport_protocol_type = 'v1';
    peer.session_id = '';
  }
  return peer;
}

/** Splits a byte total over message types; the parts add up to `total`. */
function split(total: number, shares: readonly (readonly [string, number])[]): Record<string, number> {
  const out: Record<string, number> = {};
  let used = 0;
  for (const [name, share] of shares) {
    const n = HANDSHAKE_BYTES[name] ?? Math.floor(total * share);
    out[name] = n;
    used += n;
  }
  out.inv = Math.max(0, total - used);
  return out;
}

function round6(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}
