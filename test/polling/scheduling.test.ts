import { pino } from 'pino';
import { loadSettings } from '../../src/config/settings.js';
import type { NodeConfig } from '../../src/config/node-config.js';
import { DEFAULT_HEALTH_POLICY } from '../../src/health/policy.js';
import { Service } from '../../src/service.js';
import { nodesForSimulator } from '../../src/simulator/fleet-nodes.js';
import type { SimNodeSpec } from '../../src/simulator/sim-node-spec.js';
import { Simulator } from '../../src/simulator/simulator.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { sleep, until } from '../support/wait.js';

const quiet = pino({ level: 'silent' });

async function serviceFor(
  sim: Simulator,
  specs: SimNodeSpec[],
  timing: { intervalMs: number; timeoutMs: number },
  env: Record<string, string> = {},
  startPolling = true,
  map?: (n: NodeConfig[]) => NodeConfig[],
) {
  let nodes = nodesForSimulator(sim, specs, timing);
  if (map) nodes = map(nodes);
  return Service.start({
    settings: loadSettings(env),
    nodes,
    policy: DEFAULT_HEALTH_POLICY,
    logger: quiet,
    store: new MemoryStore(),
    startPolling,
    poller: { flushIntervalMs: 50, jitter: 0 },
  });
}

describe('scheduling', () => {
  let sim: Simulator;
  afterEach(async () => {
    await sim?.close();
  });

  it('when a node hangs, then it costs its timeout and the others keep their rhythm', async () => {
    const specs: SimNodeSpec[] = [
      { id: 'hung', kind: 'bsc', fault: { type: 'hang' } },
      { id: 'fine', kind: 'bsc' },
    ];
    sim = await Simulator.start({ nodes: specs, authDelayMs: 5 });
    const service = await serviceFor(sim, specs, { intervalMs: 200, timeoutMs: 150 });
    try {
      await sleep(1_500);
      // 1.5 s at a 200 ms interval: ~7 probes of the healthy node, whatever the hung one does.
      expect(sim.stats('fine').requests).toBeGreaterThanOrEqual(5);
      const hung = service.view.get('hung')!.sample;
      expect(hung.error?.code).toBe('RPC_TIMEOUT');
      expect(hung.latencyMs).toBeLessThan(1_000);
    } finally {
      await service.close();
    }
  });

  it('when start-up returns, then the first sweep may still be running and readiness says so', async () => {
    const specs: SimNodeSpec[] = [{ id: 'slow', kind: 'defid', fault: { type: 'slow', delayMs: 600 } }];
    sim = await Simulator.start({ nodes: specs, authDelayMs: 5 });
    const service = await serviceFor(sim, specs, { intervalMs: 5_000, timeoutMs: 2_000 });
    try {
      expect(service.ready.ready).toBe(false);
      expect(service.ready.firstSweep).toBe(false);
      const end = Date.now() + 5_000;
      while (!service.ready.ready && Date.now() < end) await sleep(25);
      expect(service.ready.ready).toBe(true);
    } finally {
      await service.close();
    }
  });

  it('when the last node of the first sweep is dropped while it is being probed, then the first sweep still completes and the replica becomes ready', async () => {
    // The node's lease given away or the node removed by a reload, mid-probe: it is no longer
    // this replica's to probe, so it must not hold readiness back for ever (it did: /readyz
    // stayed 503 in test/reliability/operator-state.test.ts case 2 whenever the timing put the
    // drop there, which coalescing the store's publishes did).
    const specs: SimNodeSpec[] = [
      { id: 'fine', kind: 'defid' },
      // Slow enough that it is still in flight when 'fine' is seen, even on a loaded machine.
      { id: 'slow', kind: 'defid', fault: { type: 'slow', delayMs: 4_000 } },
    ];
    sim = await Simulator.start({ nodes: specs, authDelayMs: 5 });
    const timing = { intervalMs: 10_000, timeoutMs: 6_000 };
    const service = await serviceFor(sim, specs, timing);
    try {
      await until(() => service.view.get('fine') !== undefined, 3_000, 'the fine node probed');
      expect(service.ready.firstSweep).toBe(false);
      await service.reload(
        nodesForSimulator(sim, specs, timing).filter((n) => n.id === 'fine'),
        DEFAULT_HEALTH_POLICY,
      );
      // Well before the slow probe would end by itself: the drop completes the sweep.
      await until(() => service.ready.firstSweep, 2_000, 'the first sweep complete');
    } finally {
      await service.close();
    }
  });

  it('when many nodes share one host, then no more than the per-host limit are probed at once', async () => {
    const specs: SimNodeSpec[] = Array.from({ length: 6 }, (_, i) => ({
      id: `s${i}`,
      kind: 'bsc' as const,
      fault: { type: 'slow' as const, delayMs: 200 },
    }));
    sim = await Simulator.start({ nodes: specs, authDelayMs: 5 });
    const service = await serviceFor(
      sim,
      specs,
      { intervalMs: 60_000, timeoutMs: 2_000 },
      { NODESENTRY_PER_HOST_CONCURRENCY: '2' },
      false,
    );
    try {
      const started = Date.now();
      await service.poller!.sweepOnce();
      // Six 200 ms answers, two at a time, cannot finish in less than three rounds.
      expect(Date.now() - started).toBeGreaterThanOrEqual(3 * 200 - 20);
      expect(specs.every((s) => service.view.get(s.id)?.sample.ok)).toBe(true);
    } finally {
      await service.close();
    }
  });

  it('when a node gives no answer, then it is backed off, never past the ceiling, and still probed', async () => {
    const specs: SimNodeSpec[] = [{ id: 'down', kind: 'defid', fault: { type: 'unauthorized' } }];
    sim = await Simulator.start({ nodes: specs, authDelayMs: 0 });
    const nodes = nodesForSimulator(sim, specs, { intervalMs: 100, timeoutMs: 80 });
    const service = await Service.start({
      settings: loadSettings({ NODESENTRY_MAX_BACKOFF_MS: '400' }),
      nodes,
      policy: DEFAULT_HEALTH_POLICY,
      logger: quiet,
      store: new MemoryStore(),
      poller: { flushIntervalMs: 50, jitter: 0 },
    });
    try {
      await sleep(3_000);
      const n = sim.stats('down').requests;
      // Without back-off: ~30 probes in 3 s; with it (100, 200, then 400 ms steps): far fewer, never none.
      expect(n).toBeGreaterThanOrEqual(4);
      expect(n).toBeLessThanOrEqual(16);
      const probing = service.view.get('down')!.health!.probing!;
      expect(probing).toMatchObject({ mode: 'backoff', delayMs: 400 });
    } finally {
      await service.close();
    }
  });

  it('when a node answers but is unhealthy, then it is probed on its interval, not backed off', async () => {
    const specs: SimNodeSpec[] = [
      { id: 'wrong', kind: 'bsc', fault: { type: 'wrong-chain' } },
      { id: 'lonely', kind: 'defid', peers: { inbound: 0, outbound: 0 } },
    ];
    sim = await Simulator.start({ nodes: specs, authDelayMs: 0 });
    const nodes = nodesForSimulator(sim, specs, { intervalMs: 150, timeoutMs: 100 });
    const service = await Service.start({
      settings: loadSettings({ NODESENTRY_MAX_BACKOFF_MS: '1200' }),
      nodes,
      policy: DEFAULT_HEALTH_POLICY,
      logger: quiet,
      store: new MemoryStore(),
      poller: { flushIntervalMs: 50, jitter: 0 },
    });
    try {
      await sleep(3_000);
      for (const id of ['wrong', 'lonely']) {
        const v = service.view.get(id)!;
        expect({ id, state: v.health!.health.state }).toEqual({ id, state: 'unhealthy' });
        expect(v.health!.probing!.mode).toBe('interval');
        // ~20 probes at 150 ms; backed off to 1.2 s it would be at most 3 + 2.
        expect(sim.stats(id).requests).toBeGreaterThanOrEqual(10);
      }
    } finally {
      await service.close();
    }
  });

  it('when recheckSoon is asked for a node, then it is probed at once, once per gap however often it is asked', async () => {
    const specs: SimNodeSpec[] = [{ id: 'n', kind: 'bsc' }];
    sim = await Simulator.start({ nodes: specs, authDelayMs: 0 });
    const service = await serviceFor(sim, specs, { intervalMs: 60_000, timeoutMs: 2_000 });
    try {
      await until(() => service.view.get('n') !== undefined, 5_000);
      await sleep(300); // the fast re-check of a new node (confirming its rise) is done
      const before = sim.stats('n').requests;
      const at = service.view.get('n')!.sample.observedAt;
      for (let i = 0; i < 20; i++) service.poller!.recheckSoon('n');
      service.poller!.recheckSoon('not-a-node');
      await until(() => service.view.get('n')!.sample.observedAt > at, 2_000);
      await sleep(300);
      expect(sim.stats('n').requests - before).toBeGreaterThanOrEqual(1);
      // One probe (a probe may be a batch plus a peer-list call), not twenty.
      expect(sim.stats('n').requests - before).toBeLessThanOrEqual(3);
    } finally {
      await service.close();
    }
  });
});

describe('a one-off sweep before start', () => {
  it('when sweepOnce ran before start(), then start() still schedules every node', async () => {
    const specs: SimNodeSpec[] = [
      { id: 'a', kind: 'bsc' },
      { id: 'b', kind: 'defid' },
    ];
    const sim = await Simulator.start({ nodes: specs, authDelayMs: 5 });
    const service = await serviceFor(sim, specs, { intervalMs: 150, timeoutMs: 100 }, {}, false);
    try {
      await service.poller!.sweepOnce();
      await service.poller!.start();
      sim.resetStats();
      await sleep(1_000);
      for (const s of specs) expect(sim.stats(s.id).requests).toBeGreaterThanOrEqual(3);
      expect(service.ready.firstSweep).toBe(true);
    } finally {
      await service.close();
      await sim.close();
    }
  });
});
