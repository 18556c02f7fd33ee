// NodeConfigs for a simulator's nodes (what an operator would configure).
import { BUILTIN_CHAINS, GENERIC_DEFAULTS, type ChainSpec } from '../chains/chain-spec.js';
import { NODE_DEFAULTS, type NodeConfig, type NodeDefaults } from '../config/node-config.js';
import { Credentials } from '../rpc/credentials.js';
import type { SimNodeSpec } from './sim-node-spec.js';
import type { Simulator } from './simulator.js';

/** The chain an operator would configure for a simulated node (what it is meant to serve). */
export function chainForSimNode(spec: SimNodeSpec): ChainSpec {
  switch (spec.kind) {
    case 'bsc': {
      const id = spec.chainId ?? 56;
      if (id === 56) return BUILTIN_CHAINS.bsc!;
      if (id === 97) return BUILTIN_CHAINS['bsc-testnet']!;
      return { name: 'evm', family: 'evm', chainId: id, ...GENERIC_DEFAULTS.evm };
    }
    case 'defid':
      return builtinOrNetwork('defichain', 'defichain-testnet', spec.network ?? 'main');
    case 'paicoind':
      return builtinOrNetwork('pai', 'pai-testnet', spec.network ?? 'main');
    case 'bitcoind':
      return { name: 'bitcoin', family: 'bitcoin', networkName: spec.network ?? 'main', ...GENERIC_DEFAULTS.bitcoin };
  }
}

function builtinOrNetwork(main: string, test: string, network: string): ChainSpec {
  if (network === 'main') return BUILTIN_CHAINS[main]!;
  if (network === 'test') return BUILTIN_CHAINS[test]!;
  return { ...BUILTIN_CHAINS[test]!, networkName: network };
}

/**
 * Node configs for a simulated fleet, as an operator's nodes file would list them: the
 * built-in fleet of `demo` (and of the service when no nodes are configured) and benchmarks.
 * Nodes whose id says `sgp` are tier-1 backups, so the demo shows tiers and failback.
 */
export function nodesForSimulator(
  sim: Simulator,
  specs: readonly SimNodeSpec[],
  defaults: NodeDefaults = NODE_DEFAULTS,
): NodeConfig[] {
  return specs.map((spec) => {
    const region = /-(fra|ams|sgp|nyc|lon)-/.exec(`${spec.id}-`)?.[1];
    let credentials: Credentials | undefined;
    if (spec.auth && 'username' in spec.auth)
      credentials = new Credentials({ kind: 'basic', username: spec.auth.username, password: spec.auth.password });
    else if (spec.auth) credentials = new Credentials({ kind: 'cookie', path: spec.auth.cookieFile });
    return {
      id: spec.id,
      chain: chainForSimNode(spec),
      url: sim.url(spec.id),
      ...(credentials ? { credentials } : {}),
      tags: region ? [`region=${region}`, 'simulated'] : ['simulated'],
      tier: region === 'sgp' ? 1 : 0,
      intervalMs: defaults.intervalMs,
      timeoutMs: defaults.timeoutMs,
    };
  });
}
