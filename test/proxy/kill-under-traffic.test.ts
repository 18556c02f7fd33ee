import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import { startHarness, type Harness } from '../support/api-harness.js';
import { sleep } from '../support/wait.js';

const RATE_PER_S = 100;
const KILL_AT_MS = 1_000;
const RUN_MS = 4_000;

interface Sent {
  readonly at: number;
  status?: number;
  node?: string;
  ok?: boolean;
  ms?: number;
  error?: string;
}

/**
 * A timeline on real processes: steady read traffic through the real HTTP server while the
 * primary's port is closed at a known moment. Nodes are polled every 20 s, so only the
 * proxy's own evidence (breaker, passive health) can react within the run.
 */
describe('a node killed under steady read traffic', () => {
  let h: Harness;
  let server: Server;
  let pool: Pool;

  beforeAll(async () => {
    h = await startHarness({
      specs: [
        { id: 'bsc-a', kind: 'bsc', ownPort: true },
        { id: 'bsc-b', kind: 'bsc' },
        { id: 'bsc-c', kind: 'bsc' },
      ],
      mapNodes: (nodes) =>
        nodes.map((n) => ({ ...n, intervalMs: 20_000, timeoutMs: 1_000, tier: n.id === 'bsc-a' ? 0 : 1 })),
    });
    await h.sweep();
    await h.service.poller!.start();
    server = createServer(h.app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    pool = new Pool(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, { connections: 16 });
  });
  afterAll(async () => {
    await pool?.close();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server?.closeAllConnections();
    await h?.close();
  });

  it('when the primary dies, then no client request fails, traffic leaves it at once, and the poller re-probes it at once', async () => {
    // Warm the paths up (JIT, keep-alive sockets) before the clock starts.
    for (let i = 0; i < 20; i++)
      await (
        await pool.request({
          path: '/rpc/bsc',
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{"jsonrpc":"2.0","id":0,"method":"eth_chainId"}',
        })
      ).body.text();
    const sent: Sent[] = [];
    const t0 = performance.now();
    const wallT0 = Date.now();
    const pending: Promise<void>[] = [];
    let killedAt = Infinity;
    let wallKilledAt = Infinity;
    const one = async (s: Sent) => {
      try {
        const res = await pool.request({
          path: '/rpc/bsc',
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ jsonrpc: '2.0', id: sent.length, method: 'eth_blockNumber', params: [] }),
        });
        const text = await res.body.text();
        s.status = res.statusCode;
        s.node = String(res.headers['x-nodesentry-node']);
        s.ok = res.statusCode === 200 && /"result":"0x[0-9a-f]+"/.test(text);
      } catch (err) {
        s.error = (err as Error).message;
      }
      s.ms = performance.now() - t0 - s.at;
    };
    for (let i = 0; performance.now() - t0 < RUN_MS; i++) {
      const due = (i * 1000) / RATE_PER_S;
      const wait = due - (performance.now() - t0);
      if (wait > 0) await sleep(wait);
      if (killedAt === Infinity && performance.now() - t0 >= KILL_AT_MS) {
        killedAt = performance.now() - t0;
        wallKilledAt = Date.now();
        await h.sim.stopNode('bsc-a');
      }
      const s: Sent = { at: performance.now() - t0 };
      sent.push(s);
      pending.push(one(s));
    }
    await Promise.all(pending);

    const failed = sent.filter((s) => !s.ok);
    expect(failed).toEqual([]);
    expect(sent.length).toBeGreaterThan(RATE_PER_S * (RUN_MS / 1000) * 0.5);
    const before = sent.filter((s) => s.at + s.ms! < killedAt);
    const after = sent.filter((s) => s.at > killedAt);
    expect(before.length).toBeGreaterThan(10);
    expect(before.every((s) => s.node === 'bsc-a')).toBe(true);
    expect(after.every((s) => s.node === 'bsc-b' || s.node === 'bsc-c')).toBe(true);

    // One line per failover. The breaker keeps the dead node out after the first failure, so
    // only requests already on their way then, and those at a breaker expiry (2 s later, then
    // 4 s) meet it again.
    const lines = h.logs().filter((l) => typeof l.msg === 'string' && l.msg.startsWith('rpc bsc: failover'));
    expect(lines.length).toBeGreaterThanOrEqual(1);
    const first = lines[0]!.time as number;
    expect(lines.filter((l) => (l.time as number) > first + 200).length).toBeLessThanOrEqual(4);
    expect(after.length).toBeGreaterThan(10 * lines.length);
    // Connection refused costs a round trip, never a timeout: no failover waited one out.
    // Refused for new connections; reset for requests on a keep-alive socket when it closed.
    for (const l of lines)
      expect(l).toEqual(
        expect.objectContaining({ from: 'bsc-a', code: expect.stringMatching(/^RPC_CONNECTION_(REFUSED|RESET)$/) }),
      );
    const firstLine = (lines[0]!.time as number) - wallT0;
    expect(firstLine).toBeGreaterThanOrEqual(killedAt - 50);
    // Wide bounds: the machine is shared; the point is "within the run", against a 20 s interval.
    expect(firstLine).toBeLessThan(killedAt + 2_000);

    // Passive health: the poller probed the node right after the first failure, not at its
    // next 20 s interval.
    await h.service.poller!.flush();
    const history = (await h.service.store.getHistory('bsc-a', 50)).reverse();
    const firstFailed = history.find((p) => !p.ok);
    expect(firstFailed).toBeDefined();
    expect(history.filter((p) => p.t < wallKilledAt).every((p) => p.ok)).toBe(true);
    expect(firstFailed!.t).toBeGreaterThanOrEqual(wallKilledAt);
    expect(firstFailed!.t - wallKilledAt).toBeLessThan(3_000);
  });
});
