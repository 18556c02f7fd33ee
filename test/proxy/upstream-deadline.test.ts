// The JSON-RPC proxy's bound on one backend call: a node that answers its headers at once and
// then sends a chunk just inside undici's idle body timeout each time must still be cut at the
// call's timeout, not at the first chunk after it (which came at up to twice the timeout).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Dispatcher } from 'undici';
import { BUILTIN_CHAINS } from '../../src/chains/chain-spec.js';
import type { NodeConfig } from '../../src/config/node-config.js';
import { Upstream } from '../../src/proxy/upstream.js';
import { createNodeDispatcher } from '../../src/rpc/dispatcher.js';

const TIMEOUT_MS = 400;
let server: Server;
let node: NodeConfig;
let dispatcher: Dispatcher;
const drips = new Set<NodeJS.Timeout>();

beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write('{"jsonrpc":"2.0","id":1,"result":');
    // A byte every 90 % of the timeout: never idle for a whole body timeout.
    const drip = setInterval(() => res.write(' '), TIMEOUT_MS * 0.9);
    drips.add(drip);
    res.on('close', () => {
      clearInterval(drip);
      drips.delete(drip);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  node = {
    id: 'drip',
    chain: BUILTIN_CHAINS.bsc!,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    tags: [],
    tier: 0,
    intervalMs: 5_000,
    timeoutMs: TIMEOUT_MS,
  };
  dispatcher = createNodeDispatcher({ connectTimeoutMs: 1_000 });
});

afterAll(async () => {
  for (const d of drips) clearInterval(d);
  await dispatcher.close();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('a proxied call to a node that drips its answer', () => {
  it('when each chunk comes just inside the idle timeout, then the call fails as a total timeout at its bound', async () => {
    const upstream = new Upstream({ dispatcher, maxResponseBytes: 1_000_000 });
    const started = performance.now();
    const err = await upstream
      .send(node, '{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber"}', TIMEOUT_MS)
      .catch((e: unknown) => e);
    const tookMs = performance.now() - started;
    expect(err).toMatchObject({ code: 'RPC_TIMEOUT', shortMessage: expect.stringMatching(/total/) });
    expect(tookMs).toBeGreaterThanOrEqual(TIMEOUT_MS - 10);
    // The second chunk comes at 1.8 x the timeout: a check per chunk would answer no sooner.
    expect(tookMs).toBeLessThan(TIMEOUT_MS * 1.6);
  });
});
