// What one simulated client release says about itself and which fields it sends.
import { hashString } from './seeded-random.js';
import type { SimKind } from './sim-node-spec.js';

export interface NetworkEntry {
  readonly name: string;
  readonly limited: boolean;
  readonly reachable: boolean;
  readonly proxy: string;
  readonly proxy_randomize_credentials: boolean;
}

/**
 * What one client release says about itself and which fields its RPCs carry. Built once per
 * (kind, version) and shared by every node running that release, so a node costs no more
 * memory for being a Bitcoin Core 28 than for being a geth.
 */
export interface ClientProfile {
  readonly kind: SimKind;
  readonly family: 'evm' | 'bitcoin';
  readonly version: string;
  /** Bitcoin Core release line (0.21 -> 21, 28.0 -> 28); 0 for other clients. */
  readonly coreMajor: number;
  /** EVM `web3_clientVersion`; Bitcoin family `subversion`. */
  readonly clientVersion: string;
  /** Bitcoin family `getnetworkinfo.version`. */
  readonly versionNumber: number;
  readonly protocolVersion: number;
  readonly localServices: string;
  readonly localServicesNames: readonly string[] | undefined;
  readonly networks: readonly NetworkEntry[];
  readonly warmupMessage: string;
  /** User agents of the peers this client meets. */
  readonly peerSubversions: readonly string[];
  readonly peerServices: string;
  /** Leading zero hex digits of a block hash (proof-of-work chains). */
  readonly hashZeros: number;
  readonly difficulty: number;
  readonly has: ClientFeatures;
}

export interface ClientFeatures {
  /** getnetworkinfo `connections_in` / `connections_out` (Core 0.21+). */
  readonly connectionsInOut: boolean;
  /** getnetworkinfo / getblockchaininfo `warnings` is an array (Core 28+), else a string. */
  readonly warningsArray: boolean;
  /** `"jsonrpc":"2.0"` opts into JSON-RPC 2.0 replies (Core 28+). */
  readonly jsonRpc2: boolean;
  /** getblockchaininfo `initialblockdownload` (absent on paicoind). */
  readonly initialBlockDownload: boolean;
  readonly sizeOnDisk: boolean;
  /** getblockchaininfo `time` (Core 23+). */
  readonly blockchainTime: boolean;
  /** `getnodestatusinfo` (defid only). */
  readonly nodeStatusInfo: boolean;
  /** getpeerinfo `banscore`, `addnode`, `whitelisted` (removed in Core 22). */
  readonly peerLegacyFields: boolean;
  /** getpeerinfo `permissions` (absent on paicoind). */
  readonly peerPermissions: boolean;
  /** getpeerinfo `network`, `connection_type`, `servicesnames` (Core 0.21+). */
  readonly peerConnectionType: boolean;
  /** getpeerinfo `transport_protocol_type`, `session_id` (Core 26+). */
  readonly peerTransport: boolean;
}

const NET = (name: string, reachable: boolean): NetworkEntry =>
  Object.freeze({ name, limited: !reachable, reachable, proxy: '', proxy_randomize_credentials: false });
const NETWORKS_CLASSIC = Object.freeze([NET('ipv4', true), NET('ipv6', true), NET('onion', false)]);
const NETWORKS_CORE_22 = Object.freeze([...NETWORKS_CLASSIC, NET('i2p', false)]);
const NETWORKS_CORE_23 = Object.freeze([...NETWORKS_CORE_22, NET('cjdns', false)]);

/** Splits '0.21.1' / '28.0' / '4.2.5' into numbers, padding to three parts. */
function versionParts(version: string): [number, number, number] {
  const [a = 0, b = 0, c = 0] = version.split('.').map((p) => Number.parseInt(p, 10));
  return [a, b, c];
}

export function buildClientProfile(kind: SimKind, version: string): ClientProfile {
  const [a, b, c] = versionParts(version);
  if (kind === 'bsc') {
    const commit = hashString(version, 0xb5c).toString(16).padStart(8, '0');
    return freeze({
      kind,
      family: 'evm',
      version,
      coreMajor: 0,
      clientVersion: `Geth/v${a}.${b}.${c}-${commit}-20250818/linux-amd64/go1.23.10`,
      versionNumber: 0,
      protocolVersion: 68,
      localServices: '',
      localServicesNames: undefined,
      networks: [],
      warmupMessage: 'loading',
      peerSubversions: [],
      peerServices: '',
      hashZeros: 0,
      difficulty: 2,
      has: features({}),
    });
  }
  if (kind === 'defid') {
    const dotted = `${a}.${b}.${c}`;
    return freeze({
      kind,
      family: 'bitcoin',
      version,
      coreMajor: 0,
      clientVersion: `/DeFiChain:${dotted}/`,
      versionNumber: a * 1_000_000 + b * 10_000 + c * 100,
      protocolVersion: 70038,
      localServices: '0000000000000409',
      localServicesNames: undefined,
      networks: NETWORKS_CLASSIC,
      warmupMessage: 'Loading block index...',
      peerSubversions: [`/DeFiChain:${dotted}/`, `/DeFiChain:${dotted}/`, '/DeFiChain:4.1.7/', '/DeFiChain:4.2.4/'],
      peerServices: '0000000000000409',
      hashZeros: 0,
      difficulty: 4_472_368_589.7,
      has: features({
        initialBlockDownload: true,
        sizeOnDisk: true,
        nodeStatusInfo: true,
        peerLegacyFields: true,
        peerPermissions: true,
      }),
    });
  }
  if (kind === 'paicoind') {
    const dotted = `${a}.${b}.${c}`;
    return freeze({
      kind,
      family: 'bitcoin',
      version,
      coreMajor: 0,
      // paicoin's clientversion.cpp names the client "Turing" in the P2P user agent.
      clientVersion: `/Turing:${dotted}/`,
      versionNumber: a * 1_000_000 + b * 10_000 + c * 100,
      protocolVersion: 70015,
      localServices: '000000000000000d',
      localServicesNames: undefined,
      networks: NETWORKS_CLASSIC,
      warmupMessage: 'Loading block index...',
      peerSubversions: [`/Turing:${dotted}/`, `/Turing:${dotted}/`, '/Turing:2.1.0/'],
      peerServices: '000000000000000d',
      hashZeros: 12,
      difficulty: 187_623_990.4,
      has: features({ peerLegacyFields: true }),
    });
  }
  // Bitcoin Core numbered 0.x until 0.21, then 22, 23, ...
  const major = a === 0 ? b : a;
  const minor = a === 0 ? c : b;
  const patch = a === 0 ? 0 : c;
  const modern = a !== 0;
  return freeze({
    kind,
    family: 'bitcoin',
    version,
    coreMajor: major,
    clientVersion: modern ? `/Satoshi:${major}.${minor}.${patch}/` : `/Satoshi:0.${major}.${minor}/`,
    versionNumber: major * 10_000 + minor * 100 + patch,
    protocolVersion: major >= 21 ? 70016 : 70015,
    localServices: major >= 27 ? '0000000000000c09' : '0000000000000409',
    localServicesNames:
      major >= 19
        ? major >= 27
          ? ['NETWORK', 'WITNESS', 'NETWORK_LIMITED', 'P2P_V2']
          : ['NETWORK', 'WITNESS', 'NETWORK_LIMITED']
        : undefined,
    networks: major >= 23 ? NETWORKS_CORE_23 : major >= 22 ? NETWORKS_CORE_22 : NETWORKS_CLASSIC,
    // 0.21 switched the warm-up texts to a real ellipsis.
    warmupMessage: major >= 21 ? 'Loading block index…' : 'Loading block index...',
    peerSubversions: [
      '/Satoshi:28.0.0/',
      '/Satoshi:27.1.0/',
      '/Satoshi:28.1.0/',
      '/Satoshi:26.0.0/',
      '/Satoshi:25.0.0/',
      '/Satoshi:29.0.0/',
    ],
    peerServices: '0000000000000c09',
    hashZeros: 19,
    difficulty: 149_301_205_959_699.9,
    has: features({
      connectionsInOut: major >= 21,
      warningsArray: major >= 28,
      jsonRpc2: major >= 28,
      initialBlockDownload: major >= 16,
      sizeOnDisk: major >= 16,
      blockchainTime: major >= 23,
      peerLegacyFields: major < 22,
      peerPermissions: major >= 19,
      peerConnectionType: major >= 21,
      peerTransport: major >= 26,
    }),
  });
}

function features(on: Partial<ClientFeatures>): ClientFeatures {
  return Object.freeze({
    connectionsInOut: false,
    warningsArray: false,
    jsonRpc2: false,
    initialBlockDownload: false,
    sizeOnDisk: false,
    blockchainTime: false,
    nodeStatusInfo: false,
    peerLegacyFields: false,
    peerPermissions: false,
    peerConnectionType: false,
    peerTransport: false,
    ...on,
  });
}

function freeze(p: ClientProfile): ClientProfile {
  return Object.freeze(p);
}

const P2P_PORTS: Readonly<Record<SimKind, Readonly<Record<string, number>>>> = Object.freeze({
  bsc: { main: 30311 },
  defid: { main: 8555, test: 18555, regtest: 19555, changi: 20555, devnet: 21555 },
  paicoind: { main: 8567, test: 18567, regtest: 19567 },
  bitcoind: { main: 8333, test: 18333, testnet4: 48333, signet: 38333, regtest: 18444 },
});

/** Default P2P port of each chain and network, for peer addresses. */
export function p2pPort(kind: SimKind, network: string): number {
  return P2P_PORTS[kind][network] ?? P2P_PORTS[kind].main ?? 8333;
}
