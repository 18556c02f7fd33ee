import { BUILTIN_CHAINS } from '../../src/chains/chain-spec.js';
import { columnWidths } from '../../src/cli/column-widths.js';
import { formatFleetTable } from '../../src/cli/format-fleet.js';
import type { NodeConfig } from '../../src/config/node-config.js';
import { DEFAULT_HEALTH_POLICY } from '../../src/health/policy.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { FleetView } from '../../src/view/fleet-view.js';

const node = (id: string): NodeConfig => ({
  id,
  chain: BUILTIN_CHAINS.bsc!,
  url: `http://127.0.0.1:1/${id}`,
  tags: [],
  tier: 0,
  intervalMs: 5_000,
  timeoutMs: 2_000,
});

describe('terminal tables', () => {
  it("column widths are the header's or the longest cell's", () => {
    expect(
      columnWidths(
        ['NODE', 'STATE'],
        [
          ['a', 'healthy'],
          ['long-node-id', 'down'],
        ],
      ),
    ).toEqual([12, 7]);
    expect(columnWidths(['NODE', 'STATE'], [])).toEqual([4, 5]);
  });

  it('lays out a fleet of 200,000 nodes (more than a call takes as spread arguments)', () => {
    const nodes = new Map<string, NodeConfig>();
    for (let i = 0; i < 200_000; i++) {
      const id = `bsc-${String(i).padStart(6, '0')}`;
      nodes.set(id, node(id));
    }
    nodes.set('the-longest-node-id-of-all', node('the-longest-node-id-of-all'));
    const table = formatFleetTable(
      new FleetView({ store: new MemoryStore() }),
      nodes,
      DEFAULT_HEALTH_POLICY,
      1_000_000,
    );
    const lines = table.split('\n');
    expect(lines[0]).toMatch(/^NODE {24}CHAIN/);
    expect(lines.filter((l) => l.startsWith('bsc-'))).toHaveLength(200_000);
  });
});
