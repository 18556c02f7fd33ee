// The whole-exchange deadline of a node call: a node that keeps dripping bytes, each well inside
// undici's idle body timeout, is still cut at the call's timeout (connect to last byte).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Dispatcher } from 'undici';
import { createNodeDispatcher } from '../../src/rpc/dispatcher.js';
import { RpcClient } from '../../src/rpc/rpc-client.js';

let server: Server;
let url: string;
let dispatcher: Dispatcher;
const drips = new Set<NodeJS.Timeout>();

beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write('[');
    // One space every 50 ms, for ever: never idle long enough for a body timeout.
    const drip = setInterval(() => res.write(' '), 50);
    drips.add(drip);
    res.on('close', () => {
      clearInterval(drip);
      drips.delete(drip);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  dispatcher = createNodeDispatcher({ connectTimeoutMs: 1_000 });
});

afterAll(async () => {
  for (const d of drips) clearInterval(d);
  await dispatcher.close();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('the deadline of one exchange', () => {
  it('when a node drips its answer for ever, then the call fails as a total timeout at its deadline', async () => {
    const client = new RpcClient({ url, dialect: 'evm', dispatcher, timeoutMs: 300, maxResponseBytes: 1_000_000 });
    const started = performance.now();
    const err = await client.call('eth_blockNumber').catch((e: unknown) => e);
    const tookMs = performance.now() - started;
    expect(err).toMatchObject({ code: 'RPC_TIMEOUT', shortMessage: expect.stringMatching(/total/) });
    expect(tookMs).toBeGreaterThanOrEqual(290);
    // Far below the 2 x timeout a per-chunk check would allow, and no drip ever ends by itself.
    expect(tookMs).toBeLessThan(550);
  });

  it('when the same node drips a batch, then the batch fails the same way', async () => {
    const client = new RpcClient({ url, dialect: 'bitcoin', dispatcher, timeoutMs: 200, maxResponseBytes: 1_000_000 });
    const started = performance.now();
    const err = await client
      .batch([{ method: 'getblockcount' }, { method: 'getconnectioncount' }])
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'RPC_TIMEOUT' });
    expect(performance.now() - started).toBeLessThan(450);
  });
});
