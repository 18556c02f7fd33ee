import fc from 'fast-check';
import type { Assessment } from '../../src/health/assess.js';
import { type NodeHealth, type Transition, advanceHealth } from '../../src/health/hysteresis.js';
import { DEFAULT_HEALTH_POLICY as P, type HealthPolicy, mergePolicy } from '../../src/health/policy.js';
import { type Reason, reasons } from '../../src/health/reasons.js';
import type { Verdict } from '../../src/health/states.js';
import { T0 } from './fixtures.js';

const REASONS: Record<string, readonly Reason[]> = {
  H: [],
  D: [reasons.peersLow(5, 13)],
  U: [reasons.probeError('rpc_timeout')],
  '?': [reasons.staleSample(41_000)],
};
const VERDICT: Record<string, Verdict> = { H: 'healthy', D: 'degraded', U: 'unhealthy', '?': 'unknown' };

function assessment(letter: string, i: number): Assessment {
  const verdict = VERDICT[letter] as Verdict;
  return {
    nodeId: 'n',
    chain: 'bsc',
    verdict,
    reasons: REASONS[letter] as Reason[],
    sampleAt: verdict === 'unknown' ? null : T0 + i * 5_000,
    lag: null,
    assessedAt: T0 + i * 5_000,
  };
}

/** Feed a sequence of verdict letters; return the state after each. */
function run(letters: string, policy: HealthPolicy = P, drainedAt: ReadonlySet<number> = new Set()) {
  let health: NodeHealth | null = null;
  const states: string[] = [];
  const transitions: Transition[] = [];
  const healths: NodeHealth[] = [];
  [...letters].forEach((l, i) => {
    const r = advanceHealth(health, {
      assessment: assessment(l, i),
      drained: drainedAt.has(i),
      now: T0 + i * 5_000,
      policy,
    });
    health = r.health;
    healths.push(r.health);
    states.push(r.health.state);
    if (r.transition) transitions.push(r.transition);
  });
  return { states, transitions, healths };
}

const short = (s: string) => ({ healthy: 'H', degraded: 'D', unhealthy: 'U', unknown: '?', maintenance: 'M' })[s];

describe('hysteresis (rise 2 / fall 3): verdicts -> states', () => {
  it.each([
    ['H', '?', 'a new node is unknown until confirmed'],
    ['HH', '?H', 'riseAfter 2 good samples make it healthy'],
    ['HD', '?D', 'a mix of healthy and degraded confirms degraded'],
    ['DD', '?D', ''],
    ['U', 'U', 'from unknown, the first unhealthy sample is believed at once'],
    ['HHU', '?HH', 'one bad sample never flips a healthy node'],
    ['HHUU', '?HHH', ''],
    ['HHUUU', '?HHHU', 'failAfter 3 bad samples take it down'],
    ['HHUHUHUHUH', '?HHHHHHHHH', 'alternating blips never flip it'],
    ['HHUUHUUHUU', '?HHHHHHHHH', 'two bad in a row are still a blip'],
    ['HHDDD', '?HHHD', 'degraded needs failAfter too'],
    ['HHDUU', '?HHHD', 'a mix of degraded and unhealthy confirms degraded'],
    ['HHDUUU', '?HHHDU', '... and unhealthy once 3 in a row are unhealthy'],
    ['UH', 'UU', 'one good sample does not bring it back'],
    ['UHH', 'UUH', 'riseAfter 2 good ones do'],
    ['UHD', 'UUD', 'usable but not all healthy: back as degraded'],
    ['UDHH', 'UUDH', ''],
    ['HHDDDH', '?HHHDD', 'one healthy sample does not lift degraded'],
    ['HHDDDHH', '?HHHDDH', ''],
    ['HH?', '?H?', 'no fresh sample: unknown at once'],
    ['HH?H', '?H??', 'after staleness it must be confirmed again'],
    ['HH?HH', '?H??H', ''],
    ['HH?U', '?H?U', ''],
  ])('%s -> %s %s', (letters, expected) => {
    expect(run(letters).states.map(short).join('')).toBe(expected);
  });

  it.each([
    [{ failAfter: 2, riseAfter: 3 }, 'HHHUU', '??HHU'],
    [{ failAfter: 1, riseAfter: 1 }, 'HUH', 'HUH'],
    [{ failAfter: 5 }, 'HHUUUUU', '?HHHHHU'],
  ])('with %j: %s -> %s', (knobs, letters, expected) => {
    expect(run(letters, mergePolicy(knobs)).states.map(short).join('')).toBe(expected);
  });
});

describe('hysteresis: what it records', () => {
  it('reports each state change exactly once, with from / to / reasons', () => {
    const { transitions } = run('HHHUUUHH');
    expect(transitions.map((t) => `${t.from}->${t.to}`)).toEqual([
      'null->unknown',
      'unknown->healthy',
      'healthy->unhealthy',
      'unhealthy->healthy',
    ]);
    expect(transitions[2]).toMatchObject({ at: T0 + 5 * 5_000, reasons: [{ code: 'rpc_timeout' }] });
  });

  it('`since` is when the state began', () => {
    const { healths } = run('HHHUUU');
    expect(healths.map((h) => h.since)).toEqual([T0, T0 + 5_000, T0 + 5_000, T0 + 5_000, T0 + 5_000, T0 + 25_000]);
  });

  it('a recovering node still says what put it down, and what it is waiting for', () => {
    const h = run('HHUUUH').healths.at(-1)!;
    expect(h.state).toBe('unhealthy');
    // What it waits for first, then what put it down.
    expect(h.reasons.map((r) => r.text)).toEqual(['recovering(1/2)', 'rpc_timeout']);
    expect(h.latest?.verdict).toBe('healthy');
    expect(h.pending).toEqual({ toward: 'healthy', count: 1, needed: 2 });
  });

  it('a healthy node with a blip stays healthy and says it is failing, and why', () => {
    const h = run('HHU').healths.at(-1)!;
    expect(h.state).toBe('healthy');
    expect(h.reasons.map((r) => r.text)).toEqual(['failing(1/3): rpc_timeout']);
    expect(h.reasons[0]).toMatchObject({
      code: 'failing',
      severity: 'unhealthy',
      data: { count: 1, needed: 3, causes: 'rpc_timeout' },
    });
    expect(h.pending).toEqual({ toward: 'unhealthy', count: 1, needed: 3 });
    expect(h.latest?.reasons.map((r) => r.code)).toEqual(['rpc_timeout']);
  });

  it('an unknown node waiting for confirmation says so', () => {
    expect(run('H').healths[0]!.reasons.map((r) => r.text)).toEqual(['confirming(1/2)']);
    expect(run('HH?').healths[2]!.reasons.map((r) => r.text)).toEqual(['stale_sample(41s)']);
  });

  it('usableSince spans healthy and degraded, and resets when the node stops being usable', () => {
    const { healths } = run('HHDDDHHUUU');
    expect(healths.map((h) => h.usableSince)).toEqual([null, ...Array(8).fill(T0 + 5_000), null]);
  });

  it('counts samples, not evaluations: the same sample again changes nothing', () => {
    const first = advanceHealth(null, { assessment: assessment('H', 0), drained: false, now: T0, policy: P });
    const again = advanceHealth(first.health, {
      assessment: { ...assessment('H', 0), assessedAt: T0 + 1_000 },
      drained: false,
      now: T0 + 1_000,
      policy: P,
    });
    expect(again.health.state).toBe('unknown');
    expect(again.health.consecutive).toEqual(first.health.consecutive);
    expect(again.transition).toBeNull();
  });
});

describe('hysteresis: a node seen on another chain', () => {
  const W: Assessment = { ...assessment('U', 0), reasons: [reasons.wrongChain('0x61', '0x38')] };
  const step = (prev: NodeHealth | null, a: Assessment, i: number) =>
    advanceHealth(prev, {
      assessment: { ...a, sampleAt: T0 + i * 5_000, assessedAt: T0 + i * 5_000 },
      drained: false,
      now: T0 + i * 5_000,
      policy: P,
    }).health;

  it('is marked from the first such sample until it is usable again, whatever comes between', () => {
    let h = step(null, W, 0);
    expect(h.wrongChainSince).toBe(T0);
    h = step(h, assessment('U', 1), 1);
    h = step(h, W, 2);
    expect(h.wrongChainSince).toBe(T0);
    h = step(h, assessment('H', 3), 3);
    expect(h.wrongChainSince).toBe(T0);
    h = step(h, assessment('H', 4), 4);
    expect(h.state).toBe('healthy');
    expect(h.wrongChainSince).toBeNull();
  });

  it('one such sample on a healthy node is a blip like any other', () => {
    let h: NodeHealth | null = null;
    for (let i = 0; i < 3; i++) h = step(h, assessment('H', i), i);
    h = step(h, W, 3);
    expect(h).toMatchObject({ state: 'healthy', wrongChainSince: null });
  });
});

describe('hysteresis: maintenance', () => {
  it('drained overrides every state, and the node is still tracked underneath', () => {
    const { states, healths } = run('HHHUUUHHH', P, new Set([3, 4, 5, 6, 7]));
    expect(states.map(short).join('')).toBe('?HHMMMMMH');
    expect(healths[5]!.tracked).toBe('unhealthy');
    expect(healths[5]!.reasons.map((r) => r.code)).toEqual(['drained']);
  });

  it('undrained, it resumes its true state at once', () => {
    const { states } = run('HHHHH', P, new Set([2, 3]));
    expect(states.map(short).join('')).toBe('?HMMH');
  });
});

describe('property: one bad sample never changes a healthy node', () => {
  it('whatever came before, as long as the node was healthy and failAfter >= 2', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 5 }),
        fc.integer({ min: 1, max: 5 }),
        fc.array(fc.constantFrom('H', 'D', 'U', '?'), { maxLength: 20 }),
        fc.constantFrom('D', 'U'),
        fc.integer({ min: 1, max: 10 }),
        (failAfter, riseAfter, prefix, bad, after) => {
          const policy = mergePolicy({ failAfter, riseAfter });
          // Make sure it is healthy: enough healthy samples after any prefix.
          const warm = `${prefix.join('')}${'H'.repeat(riseAfter + 1)}`;
          const { states } = run(`${warm}${bad}${'H'.repeat(after)}`, policy);
          expect(states[warm.length - 1]).toBe('healthy');
          expect(states.slice(warm.length)).toEqual(Array(after + 1).fill('healthy'));
        },
      ),
    );
  });
});

describe('hysteresis: what a node says between two confirmed states', () => {
  // rise 2 / fall 3: the first reason names the change under way, the rest why the node is
  // (or was put) where it is.
  it.each<[string, string, string[]]>([
    ['HH', 'healthy', []],
    ['HHU', 'healthy', ['failing(1/3): rpc_timeout']],
    ['HHUU', 'healthy', ['failing(2/3): rpc_timeout']],
    ['HHUUU', 'unhealthy', ['rpc_timeout']],
    ['HHUUUH', 'unhealthy', ['recovering(1/2)', 'rpc_timeout']],
    ['HHUUUHH', 'healthy', []],
    ['HHD', 'healthy', ['failing(1/3): peers_low(5<13)']],
    ['HHDDD', 'degraded', ['peers_low(5<13)']],
    ['HHDDDU', 'degraded', ['failing(1/3): rpc_timeout']],
    ['HHDDDH', 'degraded', ['recovering(1/2)', 'peers_low(5<13)']],
    ['U', 'unhealthy', ['rpc_timeout']],
    ['UH', 'unhealthy', ['recovering(1/2)', 'rpc_timeout']],
    ['H', 'unknown', ['confirming(1/2)']],
  ])('%s -> %s %j', (letters, state, texts) => {
    const h = run(letters).healths.at(-1)!;
    expect(h.state).toBe(state);
    expect(h.reasons.map((r) => r.text)).toEqual(texts);
  });

  it('a failing reason counts toward failAfter and names every cause of the latest sample', () => {
    const causes = [reasons.probeError('connection_refused'), reasons.peersLow(1, 13)];
    const r = reasons.failing(2, 3, 'unhealthy', causes);
    expect(r).toMatchObject({
      code: 'failing',
      text: 'failing(2/3): connection_refused, peers_low(1<13)',
      severity: 'unhealthy',
      data: { count: 2, needed: 3 },
    });
  });
});
