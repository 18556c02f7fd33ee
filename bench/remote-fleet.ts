import { bitcoinProbe } from '../src/chains/bitcoin-probe.js';
import type { Family } from '../src/chains/chain-spec.js';
import { evmProbe } from '../src/chains/evm-probe.js';
import { NODE_DEFAULTS, type NodeConfig, type NodeDefaults } from '../src/config/node-config.js';
import { chainForSimNode } from '../src/simulator/fleet-nodes.js';
import type { SimNodeSpec } from '../src/simulator/sim-node-spec.js';

/**
 * Node configs for simulated nodes served by a simulator in another process (the in-process
 * twin is `nodesForSimulator`): same chains, URLs from the simulator's ready message.
 */
export function remoteFleet(
  specs: readonly SimNodeSpec[],
  urlOf: (id: string) => string,
  defaults: NodeDefaults = NODE_DEFAULTS,
): NodeConfig[] {
  return specs.map((spec) => {
    const url = urlOf(spec.id);
    return {
      id: spec.id,
      chain: chainForSimNode(spec),
      url,
      tags: ['simulated'],
      tier: 0,
      intervalMs: defaults.intervalMs,
      timeoutMs: defaults.timeoutMs,
    };
  });
}

/** URL of a node on the simulator's shared port. */
export function sharedPortUrl(port: number, id: string): string {
  return `http://127.0.0.1:${port}/n/${id}`;
}

/**
 * The exact body nodesentry sends, in steady state, to a node of `family` that offers every
 * method: the family's probe plan as one batch, serialised as `RpcClient.batch` does. Steady
 * state leaves out per-peer details (getpeerinfo), which a node is asked for once a minute.
 */
export function probeBody(family: Family): string {
  const probe = family === 'evm' ? evmProbe : bitcoinProbe;
  const version = family === 'evm' ? '2.0' : '1.0';
  return JSON.stringify(
    probe.plan(new Set(), { peerDetails: false }).map((method, id) => ({ jsonrpc: version, id, method, params: [] })),
  );
}

/** The headers `RpcClient` sends (nodes without credentials). */
export const PROBE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-type': 'application/json',
  accept: 'application/json',
});
