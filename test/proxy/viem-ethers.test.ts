import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { JsonRpcProvider } from 'ethers';
import { createPublicClient, http } from 'viem';
import { bsc } from 'viem/chains';
import { startHarness, type Harness } from '../support/api-harness.js';

const PASSWORD = 'viem-ethers-pass-31';
const ADDRESS = '0x3535353535353535353535353535353535353535';

/** The clients backends really use, pointed at /rpc/bsc with nothing but the URL changed. */
describe('viem and ethers v6 against /rpc/bsc', () => {
  let h: Harness;
  let server: Server;
  let url: string;

  beforeAll(async () => {
    h = await startHarness({
      specs: [
        { id: 'bsc-a', kind: 'bsc', auth: { username: 'u', password: PASSWORD } },
        { id: 'bsc-b', kind: 'bsc' },
      ],
      mapNodes: (nodes) => nodes.map((n) => ({ ...n, tier: n.id === 'bsc-a' ? 0 : 1 })),
    });
    await h.sweep();
    server = createServer(h.app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/rpc/bsc`;
  });
  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await h?.close();
  });

  it('viem: chain id, head, block, balance, a JSON-RPC batch, and a refused method as an error', async () => {
    const client = createPublicClient({ chain: bsc, transport: http(url, { retryCount: 0 }) });
    expect(await client.getChainId()).toBe(56);
    const head = await client.getBlockNumber({ cacheTime: 0 });
    expect(head).toBeGreaterThanOrEqual(68_000_000n);
    const block = await client.getBlock({ blockNumber: head });
    expect(block.number).toBe(head);
    expect(await client.getBalance({ address: ADDRESS })).toBe(10n ** 18n);
    const batched = createPublicClient({ chain: bsc, transport: http(url, { batch: true, retryCount: 0 }) });
    const before = h.sim.stats('bsc-a').requests;
    const [id, n] = await Promise.all([batched.getChainId(), batched.getBlockNumber({ cacheTime: 0 })]);
    expect([id, n > 0n]).toEqual([56, true]);
    expect(h.sim.stats('bsc-a').requests - before).toBe(1);
    await expect(client.request({ method: 'admin_peers' } as never)).rejects.toThrow(/not allowed/);
  });

  it('ethers: network detection, head, block, balance (ethers batches its calls by default)', async () => {
    const provider = new JsonRpcProvider(url);
    try {
      expect((await provider.getNetwork()).chainId).toBe(56n);
      const head = await provider.getBlockNumber();
      expect(head).toBeGreaterThanOrEqual(68_000_000);
      const block = await provider.getBlock(head);
      expect(block?.number).toBe(head);
      expect(await provider.getBalance(ADDRESS)).toBe(10n ** 18n);
      expect(await provider.send('eth_chainId', [])).toBe('0x38');
    } finally {
      provider.destroy();
    }
    expect(h.logText()).not.toContain(PASSWORD);
  });
});
