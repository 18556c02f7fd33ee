import { pino } from 'pino';
import { loadSettings } from '../../src/config/settings.js';
import type { NodeConfig } from '../../src/config/node-config.js';
import { DEFAULT_HEALTH_POLICY } from '../../src/health/policy.js';
import { Service } from '../../src/service.js';
import { nodesForSimulator } from '../../src/simulator/fleet-nodes.js';
import type { SimNodeSpec } from '../../src/simulator/sim-node-spec.js';
import { Simulator } from '../../src/simulator/simulator.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { sleep } from '../support/wait.js';

const quiet = pino({ level: 'silent' });

async function serviceFor(sim: Simulator, specs: SimNodeSpec[], timing: { intervalMs: number; timeoutMs: number }, env: Record<string, string> = {}, startPolling = true, map?: (n: NodeConfig[]) => NodeConfig[]) {
  let nodes = nodesForSimulator(sim, specs, timing);
  if (map) nodes = map(nodes);
  return Service.start({ settings: loadSettings(env), nodes, policy: DEFAULT_HEALTH_POLICY, logger: quiet, store: new MemoryStore(), startPolling, poller: { flushIntervalMs: 50, jitter: 0 } });
}

describe('scheduling', () => {
  let sim: Simulator;
  afterEach(async () => {
    await sim?.close();
  });

  it('when a node hangs, then it costs its timeout and the others keep their rhythm', async () => {
    const specs: SimNodeSpec[] = [{ id: 'hung', kind: 'bsc', fault: { type: 'hang' } }, { id: 'fine', kind: 'bsc' }];
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

  it('when many nodes share one host, then no more than the per-host limit are probed at once', async () => {
    const specs: SimNodeSpec[] = Array.from({ length: 6 }, (_, i) => ({ id: `s${i}`, kind: 'bsc' as const, fault: { type: 'slow' as const, delayMs: 200 } }));
    sim = await Simulator.start({ nodes: specs, authDelayMs: 5 });
    const service = await serviceFor(sim, specs, { intervalMs: 60_000, timeoutMs: 2_000 }, { NODESENTRY_PER_HOST_CONCURRENCY: '2' }, false);
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

  it('when a node keeps failing, then it is backed off but still probed', async () => {
    const specs: SimNodeSpec[] = [{ id: 'down', kind: 'defid', fault: { type: 'unauthorized' } }];
    sim = await Simulator.start({ nodes: specs, authDelayMs: 0 });
    const service = await serviceFor(sim, specs, { intervalMs: 100, timeoutMs: 80 });
    try {
      await sleep(3_000);
      const n = sim.stats('down').requests;
      // Without back-off: ~30 probes in 3 s. With it (after `failAfter` samples the node is
      // down, then 200, 400, 800, 1600 ms...): far fewer, but never zero.
      expect(n).toBeGreaterThanOrEqual(4);
      expect(n).toBeLessThanOrEqual(12);
    } finally {
      await service.close();
    }
  });
});

describe('a one-off sweep before start', () => {
  it('when sweepOnce ran before start(), then start() still schedules every node', async () => {
    const specs: SimNodeSpec[] = [{ id: 'a', kind: 'bsc' }, { id: 'b', kind: 'defid' }];
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
