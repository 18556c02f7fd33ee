import { connect } from 'node:net';
import { Agent, request } from 'undici';
import { demoFleet, generateFleet } from '../src/simulator/fleet.js';
import type { SimNodeSpec } from '../src/simulator/sim-node-spec.js';
import { Simulator } from '../src/simulator/simulator.js';
import { runSimulator } from '../src/simulator/standalone.js';

// Stats, node lifecycle, own ports, the control API, close(), fleets and scale.

const agent = new Agent({ keepAliveTimeout: 1_000 });

async function send(method: string, url: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await request(url, {
    method: method as 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    dispatcher: agent,
  });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, text, json: () => JSON.parse(text) as any };
}

const evm = (method: string, id: unknown = 1) => ({ jsonrpc: '2.0', id, method, params: [] });
const btc = (method: string, id: unknown = 1) => ({ jsonrpc: '1.0', id, method, params: [] });

afterAll(async () => {
  await agent.close();
});

describe('a running simulator', () => {
  let sim: Simulator;
  beforeAll(async () => {
    sim = await Simulator.start({
      authDelayMs: 5,
      nodes: [
        { id: 'bsc-1', kind: 'bsc' },
        { id: 'defi-1', kind: 'defid' },
        { id: 'own-1', kind: 'defid', ownPort: true },
        { id: '_sim', kind: 'bsc' },
        { id: 'far-away', kind: 'bsc', latencyMs: 80 },
      ],
    });
  });
  afterAll(async () => {
    await sim.close();
  });

  it('counts HTTP requests and calls per method; a batch is one request', async () => {
    sim.resetStats();
    await send('POST', sim.url('bsc-1'), [
      evm('eth_blockNumber', 1),
      evm('eth_blockNumber', 2),
      evm('net_peerCount', 3),
    ]);
    await send('POST', sim.url('bsc-1'), evm('eth_chainId'));
    await send('POST', sim.url('defi-1'), btc('getblockcount'));
    expect(sim.stats('bsc-1')).toEqual({
      requests: 2,
      calls: { eth_blockNumber: 2, net_peerCount: 1, eth_chainId: 1 },
    });
    expect(sim.stats()).toEqual({
      requests: 3,
      calls: { eth_blockNumber: 2, net_peerCount: 1, eth_chainId: 1, getblockcount: 1 },
    });
    sim.resetStats();
    expect(sim.stats('bsc-1')).toEqual({ requests: 0, calls: {} });
  });

  it('keeps node paths and the control API apart (a node may even be called "_sim")', async () => {
    expect(sim.url('_sim')).toMatch(/\/n\/_sim$/);
    expect((await send('POST', sim.url('_sim'), evm('eth_chainId'))).json().result).toBe('0x38');
    expect((await send('GET', `http://127.0.0.1:${sim.port}/_sim/nodes`)).status).toBe(200);
    const unknown = await send('POST', `http://127.0.0.1:${sim.port}/n/nope`, evm('eth_chainId'));
    expect(unknown.status).toBe(404);
    expect(unknown.headers['content-type']).toMatch(/^text\/plain/);
    expect((await send('POST', `http://127.0.0.1:${sim.port}/elsewhere`, evm('eth_chainId'))).status).toBe(404);
  });

  it('stops and restarts an ownPort node on the same port (connection refused in between)', async () => {
    const url = sim.url('own-1');
    expect(url).not.toContain(`:${sim.port}/`);
    expect((await send('POST', url, btc('getblockcount'))).status).toBe(200);
    await sim.stopNode('own-1');
    await expect(send('POST', url, btc('getblockcount'))).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await sim.stopNode('own-1');
    await sim.startNode('own-1');
    expect(sim.url('own-1')).toBe(url);
    expect((await send('POST', url, btc('getblockcount'))).json().result).toBe(5_000_000);
    // An ownPort node is not also served on the shared port.
    expect((await send('POST', `http://127.0.0.1:${sim.port}/n/own-1`, btc('getblockcount'))).status).toBe(404);
    await expect(sim.stopNode('bsc-1')).rejects.toMatchObject({ code: 'SIM_NOT_OWN_PORT' });
  });

  it('adds latencyMs before every answer', async () => {
    const started = performance.now();
    expect((await send('POST', sim.url('far-away'), evm('eth_chainId'))).json().result).toBe('0x38');
    expect(performance.now() - started).toBeGreaterThanOrEqual(75);
  });

  it('can add an ownPort node that starts down, then bring it up', async () => {
    await sim.addNode({ id: 'born-down', kind: 'paicoind', ownPort: true, fault: { type: 'down' } });
    const url = sim.url('born-down');
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    await expect(send('POST', url, btc('getblockcount'))).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await sim.setFault('born-down', { type: 'none' });
    expect((await send('POST', url, btc('getblockcount'))).status).toBe(200);
    await sim.removeNode('born-down');
  });

  it('drops requests held by a hanging node when the node is removed', async () => {
    await sim.addNode({ id: 'hanger', kind: 'defid', fault: { type: 'hang' } });
    const pending = send('POST', sim.url('hanger'), btc('getblockcount'));
    while (sim.stats('hanger').requests < 1) await new Promise((r) => setTimeout(r, 5));
    await sim.removeNode('hanger');
    await expect(pending).rejects.toMatchObject({ code: expect.stringMatching(/^(UND_ERR_SOCKET|ECONNRESET)$/) });
  });

  it('answers bytes that are not HTTP (a TLS hello) with 400 and a close, like geth and bitcoind', async () => {
    const reply = await new Promise<string>((resolve, reject) => {
      const socket = connect(sim.port, '127.0.0.1', () =>
        socket.write(Buffer.from([0x16, 0x03, 0x01, 0x00, 0xa5, 0x01, 0x00, 0x00, 0xa1, 0x03, 0x03])),
      );
      let data = '';
      socket.on('data', (chunk) => (data += chunk.toString('latin1')));
      socket.on('close', () => resolve(data));
      socket.on('error', reject);
    });
    expect(reply).toMatch(/^HTTP\/1\.1 400 /);
  });

  it('removes nodes: 404 on the shared port, connection refused on an own port', async () => {
    await sim.addNode({ id: 'tmp-shared', kind: 'bsc' });
    await sim.addNode({ id: 'tmp-own', kind: 'bsc', ownPort: true });
    const shared = sim.url('tmp-shared');
    const own = sim.url('tmp-own');
    expect((await send('POST', own, evm('eth_chainId'))).status).toBe(200);
    await sim.removeNode('tmp-shared');
    await sim.removeNode('tmp-own');
    expect((await send('POST', shared, evm('eth_chainId'))).status).toBe(404);
    await expect(send('POST', own, evm('eth_chainId'))).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    expect(sim.node('tmp-shared')).toBeUndefined();
    await expect(sim.removeNode('tmp-shared')).rejects.toMatchObject({ code: 'SIM_UNKNOWN_NODE' });
  });

  it('validates specs and names the problem', async () => {
    await expect(sim.addNode({ id: 'bad id!', kind: 'bsc' })).rejects.toMatchObject({ code: 'SIM_INVALID_SPEC' });
    await expect(sim.addNode({ id: '..', kind: 'bsc' })).rejects.toMatchObject({ code: 'SIM_INVALID_SPEC' });
    await expect(sim.addNode({ id: 'x', kind: 'geth' } as unknown as SimNodeSpec)).rejects.toMatchObject({
      code: 'SIM_INVALID_SPEC',
    });
    await expect(sim.addNode({ id: 'x', kind: 'bsc', peerz: 3 } as unknown as SimNodeSpec)).rejects.toThrow(/peerz/);
    await expect(sim.addNode({ id: 'x', kind: 'bsc', fault: { type: 'down' } })).rejects.toMatchObject({
      code: 'SIM_INVALID_SPEC',
    });
    await expect(sim.addNode({ id: 'bsc-1', kind: 'bsc' })).rejects.toMatchObject({ code: 'SIM_DUPLICATE_NODE' });
    expect(() => sim.url('nope')).toThrow(expect.objectContaining({ code: 'SIM_UNKNOWN_NODE' }));
    expect(() => sim.setPeers('bsc-1', { inbound: -1, outbound: 2 })).toThrow(
      expect.objectContaining({ code: 'SIM_INVALID_SPEC' }),
    );
  });

  it("node() returns the current spec, detached from the caller's object", async () => {
    const spec: SimNodeSpec = { id: 'detached', kind: 'defid', peers: { inbound: 1, outbound: 1 } };
    await sim.addNode(spec);
    (spec.peers as { inbound: number }).inbound = 99;
    sim.setFault('detached', { type: 'slow', delayMs: 1 });
    expect(sim.node('detached')).toMatchObject({
      id: 'detached',
      kind: 'defid',
      peers: { inbound: 1, outbound: 1 },
      fault: { type: 'slow', delayMs: 1 },
    });
    expect((await send('POST', sim.url('detached'), btc('getconnectioncount'))).json().result).toBe(2);
    await sim.removeNode('detached');
  });
});

describe('control API', () => {
  let sim: Simulator;
  let base: string;
  beforeAll(async () => {
    sim = await Simulator.start({
      authDelayMs: 5,
      nodes: [{ id: 'ctl-bsc', kind: 'bsc', peers: { inbound: 2, outbound: 3 } }],
    });
    base = `http://127.0.0.1:${sim.port}/_sim`;
  });
  afterAll(async () => {
    await sim.close();
  });

  it('lists nodes with url, fault, peers, height and stats', async () => {
    const res = await send('GET', `${base}/nodes`);
    expect(res.status).toBe(200);
    expect(res.json().nodes).toEqual([
      {
        id: 'ctl-bsc',
        kind: 'bsc',
        url: sim.url('ctl-bsc'),
        ownPort: false,
        fault: { type: 'none' },
        peers: { inbound: 2, outbound: 3 },
        height: sim.height('ctl-bsc'),
        stats: { requests: 0, calls: {} },
      },
    ]);
  });

  it('adds a node, changes its fault, peers and height, and deletes it', async () => {
    const added = await send('POST', `${base}/nodes`, {
      id: 'ctl-defi',
      kind: 'defid',
      peers: { inbound: 1, outbound: 1 },
    });
    expect(added.status).toBe(201);
    expect(added.json().url).toBe(sim.url('ctl-defi'));
    expect((await send('POST', sim.url('ctl-defi'), btc('getconnectioncount'))).json().result).toBe(2);

    expect((await send('PUT', `${base}/nodes/ctl-defi/peers`, { inbound: 4, outbound: 6 })).status).toBe(204);
    expect((await send('POST', sim.url('ctl-defi'), btc('getconnectioncount'))).json().result).toBe(10);

    expect((await send('PUT', `${base}/nodes/ctl-defi/height`, { height: 1234 })).status).toBe(204);
    expect((await send('POST', sim.url('ctl-defi'), btc('getblockcount'))).json().result).toBe(1234);

    expect((await send('PUT', `${base}/nodes/ctl-defi/fault`, { type: 'warmup' })).status).toBe(204);
    expect((await send('POST', sim.url('ctl-defi'), btc('getblockcount'))).status).toBe(500);
    expect((await send('GET', `${base}/nodes/ctl-defi`)).json()).toMatchObject({
      fault: { type: 'warmup' },
      stats: { requests: 4 },
    });

    expect((await send('DELETE', `${base}/nodes/ctl-defi`)).status).toBe(204);
    expect((await send('POST', sim.url('ctl-bsc').replace('ctl-bsc', 'ctl-defi'), btc('getblockcount'))).status).toBe(
      404,
    );
  });

  it('answers mistakes with coded JSON errors', async () => {
    const bad = await send('POST', `${base}/nodes`, { id: 'x', kind: 'nope' });
    expect(bad.status).toBe(400);
    expect(bad.json().error.code).toBe('SIM_INVALID_SPEC');
    expect((await send('POST', `${base}/nodes`, { id: 'ctl-bsc', kind: 'bsc' })).status).toBe(409);
    expect((await send('PUT', `${base}/nodes/ghost/fault`, { type: 'none' })).status).toBe(404);
    expect((await send('PUT', `${base}/nodes/ctl-bsc/fault`, { type: 'slow' })).json().error.code).toBe(
      'SIM_INVALID_FAULT',
    );
    expect((await send('PUT', `${base}/nodes/ctl-bsc/fault`, 'not json')).status).toBe(400);
    expect((await send('GET', `${base}/nodes/ctl-bsc/fault`)).status).toBe(405);
    expect((await send('GET', `${base}/unknown`)).status).toBe(404);
  });

  it('reports and resets totals', async () => {
    await send('POST', sim.url('ctl-bsc'), evm('eth_blockNumber'));
    expect((await send('GET', `${base}/stats`)).json().calls.eth_blockNumber).toBeGreaterThanOrEqual(1);
    expect((await send('POST', `${base}/stats/reset`)).status).toBe(204);
    expect((await send('GET', `${base}/stats`)).json()).toEqual({ requests: 0, calls: {} });
  });
});

describe('close()', () => {
  it('finishes with a hung request outstanding, and is safe to call twice', async () => {
    const sim = await Simulator.start({
      nodes: [
        { id: 'stuck', kind: 'defid', fault: { type: 'hang' } },
        { id: 'slowpoke', kind: 'bsc', fault: { type: 'slow', delayMs: 60_000 } },
      ],
    });
    const hung = send('POST', sim.url('stuck'), btc('getblockcount'));
    const slow = send('POST', sim.url('slowpoke'), evm('eth_blockNumber'));
    const settled = Promise.allSettled([hung, slow]);
    while (sim.stats().requests < 2) await new Promise((r) => setTimeout(r, 5));
    const started = performance.now();
    await sim.close();
    await sim.close();
    expect(performance.now() - started).toBeLessThan(2_000);
    const [a, b] = await settled;
    expect(a.status).toBe('rejected');
    expect(b.status).toBe('rejected');
    await expect(sim.addNode({ id: 'late', kind: 'bsc' })).rejects.toMatchObject({ code: 'SIM_CLOSED' });
  });

  it('refuses to bind anything but loopback', async () => {
    await expect(Simulator.start({ host: '0.0.0.0' })).rejects.toMatchObject({ code: 'SIM_INVALID_OPTIONS' });
  });
});

describe('fleets', () => {
  it('demoFleet covers every state the demo shows', () => {
    const fleet = demoFleet();
    expect(fleet.length).toBeGreaterThanOrEqual(10);
    expect(fleet.length).toBeLessThanOrEqual(15);
    const kinds = new Set(fleet.map((n) => n.kind));
    expect(kinds).toEqual(new Set(['bsc', 'defid', 'paicoind']));
    expect(fleet.some((n) => n.kind === 'bsc' && n.chainId === 97)).toBe(true);
    expect(fleet.some((n) => n.kind === 'defid' && n.network === 'test')).toBe(true);
    expect(fleet.some((n) => n.fault?.type === 'syncing')).toBe(true);
    expect(fleet.some((n) => n.fault?.type === 'warmup')).toBe(true);
    expect(fleet.some((n) => n.fault?.type === 'wrong-chain')).toBe(true);
    expect(fleet.some((n) => n.auth !== undefined && 'username' in n.auth)).toBe(true);
    expect(fleet.some((n) => n.disabledMethods?.includes('net_peerCount'))).toBe(true);
    expect(fleet.some((n) => n.peers !== undefined && n.peers.inbound + n.peers.outbound <= 2)).toBe(true);
    expect(fleet.some((n) => n.startHeight !== undefined)).toBe(true);
    expect(new Set(fleet.map((n) => n.id)).size).toBe(fleet.length);
  });

  it('runSimulator serves the demo fleet and prints a credential-free URL per node', async () => {
    const lines: string[] = [];
    const sim = await runSimulator({ fleet: 'demo', log: (l) => lines.push(l) });
    try {
      for (const spec of demoFleet()) expect(lines.some((l) => l.includes(sim.url(spec.id)))).toBe(true);
      expect(lines.join('\n')).not.toContain('demo-only-password');
      const lagging = demoFleet().find((n) => n.startHeight !== undefined)?.id as string;
      expect(sim.height(lagging)).toBeLessThan(sim.height('bsc-fra-1'));
      expect((await send('POST', sim.url('bsc-nyc-1'), evm('net_peerCount'))).json().error.code).toBe(-32601);
    } finally {
      await sim.close();
    }
  });

  it('generateFleet is deterministic, mixed and fault-free', () => {
    const a = generateFleet(200, 7);
    expect(generateFleet(200, 7)).toEqual(a);
    expect(generateFleet(200, 8)).not.toEqual(a);
    const kinds = new Set(a.map((n) => n.kind));
    expect(kinds).toEqual(new Set(['bsc', 'defid', 'paicoind', 'bitcoind']));
    expect(a.every((n) => n.fault === undefined)).toBe(true);
    expect(new Set(a.map((n) => n.id)).size).toBe(200);
  });

  it('hosts 10,000 nodes on one port within a sane amount of memory', async () => {
    const fleet = generateFleet(10_000, 3);
    const before = process.memoryUsage().heapUsed;
    const sim = await Simulator.start({ nodes: fleet });
    try {
      const grown = process.memoryUsage().heapUsed - before;
      expect(sim.nodeIds()).toHaveLength(10_000);
      // A few KB per node at most: heights are computed and peer lists generated on demand.
      expect(grown).toBeLessThan(100 * 1024 * 1024);
      for (const spec of [fleet[0], fleet[4_999], fleet[9_999]] as SimNodeSpec[]) {
        const res =
          spec.kind === 'bsc'
            ? await send('POST', sim.url(spec.id), evm('eth_blockNumber'))
            : await send('POST', sim.url(spec.id), btc('getblockcount'));
        expect(res.status).toBe(200);
        expect(res.json().result).toBeDefined();
      }
      expect(sim.stats().requests).toBe(3);
    } finally {
      await sim.close();
    }
  });
});
