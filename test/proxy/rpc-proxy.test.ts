import request from 'supertest';
import { startHarness, type Harness } from '../support/api-harness.js';

const PASSWORD = 's3cret-rpc-pass-77';
const rpc = (method: string, params: unknown[] = [], id: unknown = 1) => ({ jsonrpc: '2.0', id, method, params });

describe('POST /rpc/<chain> over the simulator', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({
      specs: [
        { id: 'bsc-a', kind: 'bsc', auth: { username: 'rpcuser', password: PASSWORD } },
        { id: 'bsc-b', kind: 'bsc' },
        { id: 'bsc-c', kind: 'bsc' },
        { id: 'dfi-a', kind: 'defid', auth: { username: 'rpcuser', password: PASSWORD } },
        { id: 'dfi-b', kind: 'defid' },
      ],
      // bsc-a primary; bsc-b and bsc-c backups, so the walk order is fixed.
      mapNodes: (nodes) => nodes.map((n) => ({ ...n, tier: n.id === 'bsc-a' || n.id === 'dfi-a' ? 0 : n.id === 'bsc-b' || n.id === 'dfi-b' ? 1 : 2 })),
    });
    await h.sweep();
  });
  afterAll(async () => {
    await h?.close();
  });
  beforeEach(async () => {
    for (const id of ['bsc-a', 'bsc-b', 'bsc-c', 'dfi-a', 'dfi-b']) await h.sim.setFault(id, { type: 'none' });
    h.sim.resetStats();
  });

  it('when a backend calls eth_blockNumber, then the chosen node answers it, with the credentials added inside and not shown', async () => {
    const r = await request(h.app).post('/rpc/bsc').send(rpc('eth_blockNumber')).expect(200);
    expect(r.body).toEqual({ jsonrpc: '2.0', id: 1, result: expect.stringMatching(/^0x[0-9a-f]+$/) });
    expect(r.headers['x-nodesentry-node']).toBe('bsc-a');
    expect(Number(r.headers['x-nodesentry-head'])).toBe(Number.parseInt(r.body.result, 16));
    expect(h.sim.stats('bsc-a').calls.eth_blockNumber).toBe(1);
    expect(JSON.stringify(r.headers) + r.text + h.logText()).not.toContain(PASSWORD);
  });
});
