import { chunk, planSweep } from '../../src/store/sweep-plan.js';
import { peer, record, report, sample } from './store-contract.js';

describe('planSweep', () => {
  it('cuts 5,000 records into five batches of 1,000, one pipeline each', () => {
    const records = Array.from({ length: 5000 }, (_, i) => record(`n${i}`));
    const batches = planSweep({ records });
    expect(batches.map((b) => b.nodes.length)).toEqual([1000, 1000, 1000, 1000, 1000]);
    expect(batches.flatMap((b) => b.nodes.map((n) => n.record))).toEqual(records);
  });

  it('counts nodes and chains against the batch size, whatever else they carry', () => {
    const records = Array.from({ length: 5 }, (_, i) => record(`n${i}`));
    const history = records.flatMap((r) =>
      [1, 2, 3].map((t) => ({ nodeId: r.nodeId, point: { t, ok: true, latencyMs: 1 } })),
    );
    const chains = ['bsc', 'defichain', 'pai'].map((chain) => ({
      chain,
      facts: report(chain),
      replica: 'r',
      writtenAt: 1,
    }));
    const batches = planSweep({ records, history, chains }, 3);
    expect(batches.map((b) => b.nodes.length + b.chains.length)).toEqual([3, 3, 2]);
    expect(batches[2]?.chains.map((c) => c.chain)).toEqual(['defichain', 'pai']);
  });

  it("keeps a node's peers and history in the same batch as its record, history oldest first", () => {
    const batches = planSweep(
      {
        records: [record('a'), record('b', { sample: sample('b', { peerList: [peer(9)] }) })],
        peers: new Map([
          ['a', [peer(1)]],
          ['orphan', [peer(2)]],
        ]),
        history: [
          { nodeId: 'a', point: { t: 3, ok: true, latencyMs: 1 } },
          { nodeId: 'a', point: { t: 1, ok: true, latencyMs: 1 } },
        ],
      },
      1,
    );
    expect(batches).toHaveLength(3);
    expect(batches[0]?.nodes[0]).toMatchObject({ nodeId: 'a', peers: [peer(1)], history: [{ t: 1 }, { t: 3 }] });
    // b's peers come from its sample when the sweep gives none.
    expect(batches[1]?.nodes[0]).toMatchObject({ nodeId: 'b', peers: [peer(9)], history: [] });
    expect(batches[2]?.nodes[0]).toEqual({ nodeId: 'orphan', peers: [peer(2)], history: [] });
  });

  it('plans nothing for an empty sweep and rejects a bad batch size', () => {
    expect(planSweep({ records: [] })).toEqual([]);
    expect(() => planSweep({ records: [] }, 0)).toThrow(RangeError);
  });
});

describe('chunk', () => {
  it('splits into parts of at most size, keeping order', () => {
    expect(chunk([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
    expect(chunk([], 3)).toEqual([]);
  });
});
