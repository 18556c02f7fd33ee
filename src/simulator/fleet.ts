// The demo fleet and generated fleets of simulated nodes.
import { mix32, SeededRandom } from './seeded-random.js';
import { KIND_DEFAULTS, type SimKind, type SimNodeSpec } from './sim-node-spec.js';
import { OutOfRangeError } from '../errors/argument-errors.js';

/** Credentials of the demo's one password-protected node; demo only, never a real secret. */
export const DEMO_BASIC_AUTH = Object.freeze({ username: 'nodesentry', password: 'demo-only-password' });

/**
 * A small fleet that shows every state nodesentry distinguishes: healthy nodes on BSC mainnet
 * and testnet, DeFiChain mainnet and testnet and PAI; one lagging, one with a single peer, one
 * syncing, one warming up, one behind a password, one without the `net` namespace, one on the
 * wrong chain.
 */
export function demoFleet(): SimNodeSpec[] {
  const bscHead = KIND_DEFAULTS.bsc.startHeight;
  return [
    { id: 'bsc-fra-1', kind: 'bsc', chainId: 56, peers: { inbound: 14, outbound: 24 } },
    { id: 'bsc-fra-2', kind: 'bsc', chainId: 56, peers: { inbound: 11, outbound: 22 }, latencyMs: 12 },
    // 120 blocks (90 s at 0.75 s) behind its peers, and it stays there.
    { id: 'bsc-ams-1', kind: 'bsc', chainId: 56, peers: { inbound: 9, outbound: 20 }, startHeight: bscHead - 120 },
    { id: 'bsc-sgp-1', kind: 'bsc', chainId: 56, peers: { inbound: 0, outbound: 1 } },
    // `--http.api eth,web3`: net_peerCount / net_version / net_listening are -32601.
    {
      id: 'bsc-nyc-1',
      kind: 'bsc',
      chainId: 56,
      peers: { inbound: 10, outbound: 20 },
      disabledMethods: ['net_peerCount', 'net_version', 'net_listening'],
    },
    // Configured as mainnet, actually serving testnet.
    { id: 'bsc-lon-1', kind: 'bsc', chainId: 56, peers: { inbound: 8, outbound: 16 }, fault: { type: 'wrong-chain' } },
    { id: 'bsc-testnet-fra-1', kind: 'bsc', chainId: 97, peers: { inbound: 3, outbound: 9 } },
    { id: 'defi-fra-1', kind: 'defid', network: 'main', peers: { inbound: 8, outbound: 10 } },
    {
      id: 'defi-fra-2',
      kind: 'defid',
      network: 'main',
      peers: { inbound: 2, outbound: 8 },
      fault: { type: 'syncing', behindBlocks: 2_880 },
    },
    {
      id: 'defi-sgp-1',
      kind: 'defid',
      network: 'main',
      peers: { inbound: 6, outbound: 10 },
      auth: { ...DEMO_BASIC_AUTH },
    },
    { id: 'defi-test-fra-1', kind: 'defid', network: 'test', peers: { inbound: 1, outbound: 6 } },
    { id: 'pai-fra-1', kind: 'paicoind', network: 'main', peers: { inbound: 4, outbound: 8 } },
    {
      id: 'pai-ams-1',
      kind: 'paicoind',
      network: 'main',
      peers: { inbound: 3, outbound: 8 },
      fault: { type: 'warmup' },
    },
  ];
}

const KIND_PREFIX: Readonly<Record<SimKind, string>> = Object.freeze({
  bsc: 'bsc',
  defid: 'defi',
  paicoind: 'pai',
  bitcoind: 'btc',
});
const CORE_VERSIONS = ['28.0', '28.0', '27.1', '0.21.1'] as const;

/**
 * `n` healthy nodes for benchmarks, deterministic for a seed: about half BSC, the rest
 * DeFiChain, PAI and Bitcoin Core (mixed releases), with spread-out peer counts and heights a
 * few blocks apart. Ids look like `bsc-00042`.
 */
export function generateFleet(n: number, seed = 1): SimNodeSpec[] {
  if (!Number.isInteger(n) || n < 0 || n > 1_000_000)
    throw new OutOfRangeError(`generateFleet: n must be an integer in [0, 1000000], got ${n}`);
  const width = Math.max(5, String(n).length);
  const fleet: SimNodeSpec[] = [];
  for (let i = 0; i < n; i++) {
    const r = new SeededRandom(mix32(seed, i));
    const roll = r.next();
    const kind: SimKind = roll < 0.5 ? 'bsc' : roll < 0.7 ? 'defid' : roll < 0.85 ? 'paicoind' : 'bitcoind';
    const spec: SimNodeSpec = {
      id: `${KIND_PREFIX[kind]}-${String(i).padStart(width, '0')}`,
      kind,
      peers:
        kind === 'bsc'
          ? { inbound: r.int(2, 30), outbound: r.int(5, 25) }
          : { inbound: r.int(0, 16), outbound: r.int(1, 10) },
      startHeight: KIND_DEFAULTS[kind].startHeight - r.int(0, 3),
    };
    if (kind === 'bitcoind') spec.version = r.pick(CORE_VERSIONS);
    fleet.push(spec);
  }
  return fleet;
}
