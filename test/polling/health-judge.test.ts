import { BUILTIN_CHAINS } from '../../src/chains/chain-spec.js';
import type { Sample } from '../../src/chains/sample.js';
import type { NodeConfig } from '../../src/config/node-config.js';
import { DEFAULT_HEALTH_POLICY } from '../../src/health/policy.js';
import { HealthJudge } from '../../src/polling/health-judge.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { FleetView } from '../../src/view/fleet-view.js';

const BSC = BUILTIN_CHAINS.bsc!;
const node = (id: string): NodeConfig => ({
  id,
  chain: BSC,
  url: `http://127.0.0.1:1/${id}`,
  tags: [],
  tier: 0,
  intervalMs: 5_000,
  timeoutMs: 2_000,
});
const sample = (id: string, height: number, at: number): Sample => ({
  nodeId: id,
  chain: 'bsc',
  family: 'evm',
  observedAt: at,
  latencyMs: 5,
  ok: true,
  height,
  peers: { total: 30, source: 'net_peerCount' },
  syncing: false,
  chainId: 56,
  missingMethods: [],
});

describe('HealthJudge', () => {
  it('when the lagging node answers first at start-up, then it is still judged against the whole chain', () => {
    const nodes = new Map(['slow', 'a', 'b', 'c'].map((id) => [id, node(id)]));
    const view = new FleetView({ store: new MemoryStore() });
    const judge = new HealthJudge({ view, policy: DEFAULT_HEALTH_POLICY, replica: 'r', nodes: () => nodes });
    const t0 = 1_000_000;
    // Two rounds, the laggard first in each, all within the head cache's lifetime.
    for (const round of [0, 1]) {
      const at = t0 + round * 10;
      for (const [id, h] of [
        ['slow', 1_000],
        ['a', 1_200],
        ['b', 1_200],
        ['c', 1_200],
      ] as const) {
        const v = judge.judge(nodes.get(id)!, sample(id, h, at), at);
        view.ingest([v.record]);
      }
    }
    const slow = view.get('slow')!.health!;
    expect(slow.health.latest?.lag?.blocks).toBe(200);
    expect(slow.health.latest?.reasons.map((r) => r.code)).toContain('lagging');
    expect(view.get('a')!.health!.health.latest?.lag?.blocks).toBe(0);
  });
});
