// Random sequences of node records as a poller writes them, from a real record: the compact change's test data.
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import type { NodeRecord } from '../../src/store/store.js';

/** A record as the scale bench stored it (bsc, healthy, a few probes old). */
export const STEADY_RECORD: NodeRecord = (() => {
  const {
    v: _v,
    observedAt: _at,
    ...r
  } = JSON.parse(readFileSync(new URL('./fixtures/steady-record.json', import.meta.url), 'utf8')) as Record<
    string,
    unknown
  >;
  return r as unknown as NodeRecord;
})();

type Json = Record<string, unknown>;

/** `x` with every number equal to `from` set to `to` (as the judge moves its timestamps to each new sample). */
function moveStamps(x: unknown, from: number, to: number): unknown {
  if (typeof x === 'number') return x === from ? to : x;
  if (Array.isArray(x)) return x.map((v) => moveStamps(v, from, to));
  if (typeof x === 'object' && x !== null)
    return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, moveStamps(v, from, to)]));
  return x;
}

/** One probe's worth of change: what a steady probe changes, plus the rarer things a change must carry too. */
export interface Step {
  readonly dt: number;
  readonly latencyMs: number;
  readonly heightUp: number;
  readonly outcome: boolean;
  readonly slideFront: boolean;
  readonly delayMs: number;
  /** A number that equals the old observedAt and does not move (the prediction must be undone). */
  readonly keepOldStamp: boolean;
  /** writtenAt a few ms after observedAt, or a fraction (not an integer: no compact change). */
  readonly writtenLag: number;
  readonly toggleError: boolean;
  readonly state: 'healthy' | 'degraded' | undefined;
  readonly reorderKeys: boolean;
}

export const stepArb: fc.Arbitrary<Step> = fc.record({
  dt: fc.integer({ min: 0, max: 20_000 }),
  latencyMs: fc.double({ min: 0.1, max: 5_000, noNaN: true }),
  heightUp: fc.integer({ min: 0, max: 3 }),
  outcome: fc.boolean(),
  slideFront: fc.boolean(),
  delayMs: fc.integer({ min: 200, max: 60_000 }),
  keepOldStamp: fc.boolean(),
  writtenLag: fc.oneof(fc.integer({ min: 0, max: 5 }), fc.constant(0.25)),
  toggleError: fc.boolean(),
  state: fc.constantFrom('healthy' as const, 'degraded' as const, undefined),
  reorderKeys: fc.boolean(),
});

/** The record after `prev` that `step` makes, written by `replica`. */
export function nextRecord(prev: NodeRecord, step: Step, replica: string): NodeRecord {
  const at = prev.sample.observedAt + step.dt;
  const moved = moveStamps(prev, prev.sample.observedAt, at) as Json;
  const sample = { ...(moved['sample'] as Json) };
  sample['latencyMs'] = step.latencyMs;
  sample['height'] = ((prev.sample.height ?? 0) as number) + step.heightUp;
  if (step.toggleError) {
    if (sample['error'] === undefined) sample['error'] = { code: 'RPC_TIMEOUT', message: 'timed out', transient: true };
    else delete sample['error'];
  }
  const health = structuredClone(moved['health'] ?? {}) as Json;
  const stats = (health['stats'] ??= {}) as Json;
  const outcomes = Array.isArray(stats['outcomes']) ? [...(stats['outcomes'] as boolean[])] : [];
  if (step.slideFront) outcomes.unshift(step.outcome);
  else outcomes.push(step.outcome);
  if (outcomes.length > 20) {
    if (step.slideFront) outcomes.pop();
    else outcomes.shift();
  }
  stats['outcomes'] = outcomes;
  stats['samples'] = ((stats['samples'] as number | undefined) ?? 0) + 1;
  stats['lastLatencyMs'] = step.latencyMs;
  stats['oldStamp'] = step.keepOldStamp ? prev.sample.observedAt : null;
  health['probing'] = { mode: 'interval', delayMs: step.delayMs, nextProbeAt: at + step.delayMs };
  if (step.state !== undefined) {
    const h = (health['health'] ?? {}) as Json;
    health['health'] = {
      ...h,
      state: step.state,
      reasons: step.state === 'healthy' ? [] : ['lag'],
      since: h['state'] === step.state ? h['since'] : at,
    };
  }
  const rec = {
    nodeId: prev.nodeId,
    chain: prev.chain,
    sample: { ...sample, observedAt: at },
    health: step.reorderKeys ? Object.fromEntries(Object.entries(health).reverse()) : health,
    replica,
    writtenAt: at + step.writtenLag,
  };
  return rec as unknown as NodeRecord;
}

/** The record as JSON reads it back (what a receiver holds). */
export const asRead = (r: NodeRecord): NodeRecord => JSON.parse(JSON.stringify(r)) as NodeRecord;
