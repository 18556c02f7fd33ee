// SimNodeSpec: what a simulated node is, and its parsing.
import { parseFault, type Fault } from './fault.js';
import { SimulatorError, SimulatorErrorCode } from './simulator-error.js';

export type SimKind = 'bsc' | 'defid' | 'paicoind' | 'bitcoind';
export const SIM_KINDS: readonly SimKind[] = ['bsc', 'defid', 'paicoind', 'bitcoind'];

/**
 * Ways real nodes of the Bitcoin dialect differ from Bitcoin Core, seen in the field:
 * - `no-chain-field`: getblockchaininfo without `chain`;
 * - `ping-unmeasured`: getpeerinfo `pingtime` / `minping` -1 (before the first pong);
 * - `conntime-duration`: getpeerinfo `conntime` as seconds since connecting, not an epoch time;
 * - `nettotals-connected-only`: getnettotals sums the connected peers only (drops when one leaves).
 */
export type SimQuirk = 'no-chain-field' | 'ping-unmeasured' | 'conntime-duration' | 'nettotals-connected-only';
export const SIM_QUIRKS: readonly SimQuirk[] = [
  'no-chain-field',
  'ping-unmeasured',
  'conntime-duration',
  'nettotals-connected-only',
];

export type SimAuth = { username: string; password: string } | { cookieFile: string };

/** One simulated node, as a test, the demo or a benchmark describes it. */
export interface SimNodeSpec {
  /** `[A-Za-z0-9._-]+`; also the URL path segment (`/n/<id>`). */
  id: string;
  kind: SimKind;
  /** EVM chain id; default 56 (BSC mainnet). */
  chainId?: number;
  /** Bitcoin-family `chain` (`main`, `test`, `changi`, `devnet`, `regtest`, ...); default `main`. */
  network?: string;
  /** Connected peers; default 8 inbound, 10 outbound. EVM `net_peerCount` is the sum. */
  peers?: { inbound: number; outbound: number };
  /** Height when the node is added; default per kind (see KIND_DEFAULTS). */
  startHeight?: number;
  /** One block per `blockTimeMs` of (simulated) time; default bsc 750, defid 30000, paicoind and bitcoind 600000. */
  blockTimeMs?: number;
  /** Added before every answer, ms; default 0. */
  latencyMs?: number;
  /** Absent: no credentials needed. `cookieFile`: the simulator writes `__cookie__:<64 hex>` there. */
  auth?: SimAuth;
  /** Methods answered as "method not found", in the node's dialect. */
  disabledMethods?: string[];
  /** Default true; false answers arrays like fault `no-batch`. */
  batch?: boolean;
  /** Listen on a dedicated port (needed for `down` / connection refused). */
  ownPort?: boolean;
  /** Client version, e.g. bitcoind '28.0' or '0.21.1'; default per kind. */
  version?: string;
  fault?: Fault;
  /** Bitcoin family: differences from Bitcoin Core (see `SimQuirk`). */
  quirks?: SimQuirk[];
}

export interface KindDefaults {
  readonly blockTimeMs: number;
  readonly startHeight: number;
  readonly version: string;
}

// Heights are roughly where each chain stood in late 2025; only their order of magnitude matters.
export const KIND_DEFAULTS: Readonly<Record<SimKind, KindDefaults>> = Object.freeze({
  bsc: { blockTimeMs: 750, startHeight: 68_000_000, version: '1.5.19' },
  defid: { blockTimeMs: 30_000, startHeight: 5_000_000, version: '4.2.5' },
  paicoind: { blockTimeMs: 600_000, startHeight: 395_000, version: '3.0.0' },
  bitcoind: { blockTimeMs: 600_000, startHeight: 920_000, version: '28.0' },
});

export const DEFAULT_PEERS: Readonly<{ inbound: number; outbound: number }> = Object.freeze({
  inbound: 8,
  outbound: 10,
});
export const DEFAULT_CHAIN_ID = 56;
export const DEFAULT_NETWORK = 'main';
/** More peers than any real client allows; keeps a typo from generating a million peers. */
export const MAX_PEERS_PER_DIRECTION = 10_000;

const ID_PATTERN = /^[A-Za-z0-9._-]{1,128}$/;
const NETWORK_PATTERN = /^[a-z0-9]{1,32}$/;
const VERSION_PATTERN = /^\d{1,4}(\.\d{1,4}){0,3}$/;
const SPEC_KEYS = new Set([
  'id',
  'kind',
  'chainId',
  'network',
  'peers',
  'startHeight',
  'blockTimeMs',
  'latencyMs',
  'auth',
  'disabledMethods',
  'batch',
  'ownPort',
  'version',
  'fault',
  'quirks',
]);

export function isValidNodeId(id: string): boolean {
  // "." and ".." would be collapsed by every URL parser before reaching us.
  return ID_PATTERN.test(id) && id !== '.' && id !== '..';
}

/** Validates an untrusted spec and returns a deep copy that later mutation of the input cannot reach. */
export function parseSpec(input: unknown): SimNodeSpec {
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    throw invalid('node spec', 'must be an object');
  const obj = input as Record<string, unknown>;
  const idRaw = obj.id;
  if (typeof idRaw !== 'string' || !isValidNodeId(idRaw))
    throw invalid('id', 'must match [A-Za-z0-9._-]{1,128} and not be "." or ".."');
  const where = `node "${idRaw}"`;
  for (const key of Object.keys(obj)) {
    if (!SPEC_KEYS.has(key)) throw invalid(`${where}: ${key}`, 'unknown key');
  }
  const kind = obj.kind;
  if (typeof kind !== 'string' || !(SIM_KINDS as readonly string[]).includes(kind))
    throw invalid(`${where}: kind`, `must be one of ${SIM_KINDS.join(', ')}`);
  const spec: SimNodeSpec = { id: idRaw, kind: kind as SimKind };

  const int = (key: string, min: number, max: number): number | undefined => {
    const v = obj[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max)
      throw invalid(`${where}: ${key}`, `must be an integer in [${min}, ${max}]`);
    return v;
  };
  const bool = (key: string): boolean | undefined => {
    const v = obj[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'boolean') throw invalid(`${where}: ${key}`, 'must be a boolean');
    return v;
  };

  const chainId = int('chainId', 1, Number.MAX_SAFE_INTEGER);
  if (chainId !== undefined) spec.chainId = chainId;
  if (obj.network !== undefined) {
    if (typeof obj.network !== 'string' || !NETWORK_PATTERN.test(obj.network))
      throw invalid(`${where}: network`, 'must be a lower-case name like main, test, regtest');
    spec.network = obj.network;
  }
  if (obj.peers !== undefined) spec.peers = parsePeers(obj.peers, `${where}: peers`);
  const startHeight = int('startHeight', 0, Number.MAX_SAFE_INTEGER);
  if (startHeight !== undefined) spec.startHeight = startHeight;
  const blockTimeMs = int('blockTimeMs', 1, 365 * 24 * 3_600_000);
  if (blockTimeMs !== undefined) spec.blockTimeMs = blockTimeMs;
  const latencyMs = int('latencyMs', 0, 3_600_000);
  if (latencyMs !== undefined) spec.latencyMs = latencyMs;
  if (obj.auth !== undefined) spec.auth = parseAuth(obj.auth, `${where}: auth`);
  if (obj.disabledMethods !== undefined) {
    const list = obj.disabledMethods;
    if (!Array.isArray(list) || !list.every((m): m is string => typeof m === 'string' && m.length > 0))
      throw invalid(`${where}: disabledMethods`, 'must be a list of method names');
    spec.disabledMethods = [...list];
  }
  const batch = bool('batch');
  if (batch !== undefined) spec.batch = batch;
  const ownPort = bool('ownPort');
  if (ownPort !== undefined) spec.ownPort = ownPort;
  if (obj.version !== undefined) {
    if (typeof obj.version !== 'string' || !VERSION_PATTERN.test(obj.version))
      throw invalid(`${where}: version`, 'must look like 28.0 or 0.21.1');
    spec.version = obj.version;
  }
  if (obj.quirks !== undefined) {
    const list = obj.quirks;
    if (
      !Array.isArray(list) ||
      !list.every((q): q is SimQuirk => typeof q === 'string' && (SIM_QUIRKS as readonly string[]).includes(q))
    ) {
      throw invalid(`${where}: quirks`, `must be a list of ${SIM_QUIRKS.join(', ')}`);
    }
    spec.quirks = [...list];
  }
  if (obj.fault !== undefined) {
    const fault = parseFault(obj.fault, `${where}: fault`);
    if (fault.type === 'down' && spec.ownPort !== true) throw invalid(`${where}: fault`, '`down` needs ownPort: true');
    spec.fault = fault;
  }
  return spec;
}

export function parsePeers(input: unknown, where = 'peers'): { inbound: number; outbound: number } {
  if (typeof input !== 'object' || input === null) throw invalid(where, 'must be { inbound, outbound }');
  const { inbound, outbound, ...rest } = input as Record<string, unknown>;
  const ok = (v: unknown): v is number =>
    typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= MAX_PEERS_PER_DIRECTION;
  if (!ok(inbound) || !ok(outbound) || Object.keys(rest).length > 0)
    throw invalid(where, `must be { inbound, outbound } with integers in [0, ${MAX_PEERS_PER_DIRECTION}]`);
  return { inbound, outbound };
}

function parseAuth(input: unknown, where: string): SimAuth {
  if (typeof input !== 'object' || input === null)
    throw invalid(where, 'must be { username, password } or { cookieFile }');
  const obj = input as Record<string, unknown>;
  const keys = Object.keys(obj).sort().join(',');
  if (keys === 'cookieFile') {
    if (typeof obj.cookieFile !== 'string' || obj.cookieFile === '') throw invalid(where, 'cookieFile must be a path');
    return { cookieFile: obj.cookieFile };
  }
  if (keys === 'password,username') {
    const { username, password } = obj;
    // HTTP Basic splits at the first colon: a colon in the user name cannot round-trip.
    if (typeof username !== 'string' || username === '' || username.includes(':'))
      throw invalid(where, 'username must be a non-empty string without ":"');
    if (typeof password !== 'string') throw invalid(where, 'password must be a string');
    return { username, password };
  }
  throw invalid(where, 'must be { username, password } or { cookieFile }');
}

function invalid(where: string, details: string): SimulatorError {
  return new SimulatorError(SimulatorErrorCode.InvalidSpec, `invalid ${where}`, { details });
}
