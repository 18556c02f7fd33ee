import { waitForVerdicts } from '../../src/main/wait-for-verdicts.js';
import { startHarness } from '../support/api-harness.js';

describe('serve waits for verdicts before it opens its ports', () => {
  it('when nodes have not been probed, then it waits (bounded) and names them; once judged, it returns at once', async () => {
    const h = await startHarness({
      specs: [
        { id: 'bsc-ok', kind: 'bsc' },
        { id: 'bsc-bad-auth', kind: 'bsc', fault: { type: 'unauthorized' } },
        { id: 'bsc-drained', kind: 'bsc' },
      ],
    });
    try {
      const cold = await waitForVerdicts(h.service, 150);
      expect(cold.waitedMs).toBeGreaterThanOrEqual(150);
      expect([...cold.pending].sort()).toEqual(['bsc-bad-auth', 'bsc-drained', 'bsc-ok']);

      // A drained node answers `maintenance` whatever its samples: nothing to wait for.
      const drain = { nodeId: 'bsc-drained', by: 'test', at: Date.now() };
      await h.service.store.setDrain('bsc-drained', drain);
      h.service.view.setDrain('bsc-drained', drain);
      // One sample: the failing node is bad already (it will answer 503 anyway), the good one still confirming.
      await h.sweep(1);
      const one = await waitForVerdicts(h.service, 100);
      expect(one.pending).not.toContain('bsc-drained');
      expect(one.pending).not.toContain('bsc-bad-auth');

      await h.sweep();
      const warm = await waitForVerdicts(h.service, 5_000);
      expect(warm.pending).toEqual([]);
      expect(warm.waitedMs).toBeLessThan(1_000);
    } finally {
      await h.close();
    }
  });
});
