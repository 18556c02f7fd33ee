import { pino } from 'pino';
import { loadSettings } from '../../src/config/settings.js';
import { DEFAULT_HEALTH_POLICY } from '../../src/health/policy.js';
import { Service } from '../../src/service.js';
import { nodesForSimulator } from '../../src/simulator/fleet-nodes.js';
import type { SimNodeSpec } from '../../src/simulator/sim-node-spec.js';
import { Simulator } from '../../src/simulator/simulator.js';
import { MemoryStore } from '../../src/store/memory-store.js';

// Every fault the simulator knows, in one fleet, at once, next to healthy nodes.
// Generous: under CPU starvation a shorter deadline could expire before a truncated body is
// seen, turning RPC_MALFORMED_RESPONSE into RPC_TIMEOUT.
const TIMEOUT_MS = 600;
const FAULTY: Array<{ spec: SimNodeSpec; code: string }> = [
  { spec: { id: 'hang', kind: 'bsc', fault: { type: 'hang' } }, code: 'RPC_TIMEOUT' },
  { spec: { id: 'drip', kind: 'defid', fault: { type: 'drip', chunkIntervalMs: 100 } }, code: 'RPC_TIMEOUT' },
  { spec: { id: 'slow', kind: 'bsc', fault: { type: 'slow', delayMs: 2_000 } }, code: 'RPC_TIMEOUT' },
  {
    spec: {
      id: 'http502',
      kind: 'bsc',
      fault: { type: 'http', status: 502, body: '<html>bad gateway</html>', contentType: 'text/html' },
    },
    code: 'RPC_HTTP_STATUS',
  },
  { spec: { id: 'http401', kind: 'defid', fault: { type: 'unauthorized' } }, code: 'RPC_AUTH_FAILED' },
  { spec: { id: 'http403', kind: 'paicoind', fault: { type: 'forbidden' } }, code: 'RPC_FORBIDDEN' },
  { spec: { id: 'malformed', kind: 'bsc', fault: { type: 'malformed' } }, code: 'RPC_MALFORMED_RESPONSE' },
  { spec: { id: 'truncated', kind: 'defid', fault: { type: 'truncated' } }, code: 'RPC_MALFORMED_RESPONSE' },
  {
    spec: { id: 'oversized', kind: 'bsc', fault: { type: 'oversized', bytes: 6 * 1024 * 1024 } },
    code: 'RPC_RESPONSE_TOO_LARGE',
  },
  { spec: { id: 'warmup', kind: 'paicoind', fault: { type: 'warmup' } }, code: 'RPC_WARMING_UP' },
  { spec: { id: 'wrongchain', kind: 'bsc', fault: { type: 'wrong-chain' } }, code: 'RPC_WRONG_CHAIN' },
  { spec: { id: 'reset', kind: 'defid', fault: { type: 'reset' } }, code: 'RPC_CONNECTION_RESET' },
  { spec: { id: 'down', kind: 'bsc', ownPort: true, fault: { type: 'down' } }, code: 'RPC_CONNECTION_REFUSED' },
];
const HEALTHY: SimNodeSpec[] = [
  { id: 'ok-bsc', kind: 'bsc' },
  { id: 'ok-defi', kind: 'defid' },
  { id: 'ok-pai', kind: 'paicoind' },
  { id: 'ok-missing', kind: 'bsc', disabledMethods: ['net_peerCount'] },
  { id: 'ok-syncing', kind: 'bsc', fault: { type: 'syncing', behindBlocks: 100 } },
];

describe('a fleet where every fault happens at once', () => {
  let sim: Simulator;
  let service: Service;
  const rejections: unknown[] = [];
  const onRejection = (reason: unknown) => rejections.push(reason);

  beforeAll(async () => {
    process.on('unhandledRejection', onRejection);
    const specs = [...FAULTY.map((f) => f.spec), ...HEALTHY];
    sim = await Simulator.start({ nodes: specs, authDelayMs: 5 });
    service = await Service.start({
      settings: loadSettings({ NODESENTRY_MAX_RESPONSE_BYTES: String(4 * 1024 * 1024) }),
      nodes: nodesForSimulator(sim, specs, { intervalMs: 60_000, timeoutMs: TIMEOUT_MS }),
      policy: DEFAULT_HEALTH_POLICY,
      logger: pino({ level: 'silent' }),
      store: new MemoryStore(),
      startPolling: false,
    });
  });

  afterAll(async () => {
    process.off('unhandledRejection', onRejection);
    await service.close();
    await sim.close();
  });

  it('classifies each faulty node exactly, and keeps the healthy ones fresh and ok', async () => {
    const started = Date.now();
    await service.poller!.sweepOnce();
    const took = Date.now() - started;
    for (const { spec, code } of FAULTY) {
      const s = service.view.get(spec.id)!.sample;
      expect({ id: spec.id, ok: s.ok, code: s.error?.code }).toEqual({ id: spec.id, ok: false, code });
      expect(s.latencyMs).toBeLessThan(TIMEOUT_MS + 1_000);
    }
    for (const spec of HEALTHY) {
      const s = service.view.get(spec.id)!.sample;
      expect({ id: spec.id, ok: s.ok }).toEqual({ id: spec.id, ok: true });
      expect(s.observedAt).toBeGreaterThanOrEqual(started);
    }
    expect(service.view.get('ok-missing')!.sample.missingMethods).toEqual(['net_peerCount']);
    // The sweep is bounded by the probe timeout, not by the worst node (hang, drip, slow).
    expect(took).toBeLessThan(TIMEOUT_MS * 4 + 1_000);
  });

  it('keeps memory flat over repeated sweeps, with no unhandled rejection', async () => {
    // `npm test` runs Jest with --expose-gc, so heap figures are after a full collection.
    const gc = (globalThis as { gc?: () => void }).gc;
    expect(typeof gc).toBe('function');
    for (let i = 0; i < 5; i++) await service.poller!.sweepOnce();
    gc?.();
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < 15; i++) await service.poller!.sweepOnce();
    gc?.();
    const after = process.memoryUsage().heapUsed;
    // 15 sweeps of 18 nodes, each answer a few KB (the oversized one is cut at 4 MiB and
    // dropped): anything retained per sweep would show up as tens of MB.
    expect(after - before).toBeLessThan(8 * 1024 * 1024);
    expect(rejections).toEqual([]);
    // The healthy nodes were judged after all those sweeps of failing neighbours.
    expect(['ok-bsc', 'ok-defi', 'ok-pai'].map((id) => service.view.get(id)!.sample.ok)).toEqual([true, true, true]);
  });
});
