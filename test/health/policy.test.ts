import { DEFAULT_HEALTH_POLICY, mergePolicy, policyForChain } from '../../src/health/policy.js';
import { HealthPolicyError } from '../../src/health/policy-error.js';

describe('DEFAULT_HEALTH_POLICY', () => {
  it('is deeply frozen', () => {
    expect(Object.isFrozen(DEFAULT_HEALTH_POLICY)).toBe(true);
    expect(Object.isFrozen(DEFAULT_HEALTH_POLICY.weights)).toBe(true);
  });

  it('models HAProxy rise 2 / fall 3 and proxyd 30 s staleness', () => {
    expect(DEFAULT_HEALTH_POLICY).toMatchObject({
      riseAfter: 2,
      failAfter: 3,
      staleAfterMs: 30_000,
      whenAllUnhealthy: 'fail-closed',
    });
  });

  it('passes its own validation', () => {
    expect(mergePolicy({})).toEqual(DEFAULT_HEALTH_POLICY);
  });
});

describe('mergePolicy', () => {
  it('lays knobs over the defaults, weights partially', () => {
    const p = mergePolicy({ failAfter: 5, weights: { peers: 0.5 }, whenAllUnhealthy: 'fail-open' });
    expect(p.failAfter).toBe(5);
    expect(p.riseAfter).toBe(2);
    expect(p.weights).toEqual({ ...DEFAULT_HEALTH_POLICY.weights, peers: 0.5 });
    expect(p.whenAllUnhealthy).toBe('fail-open');
    expect(Object.isFrozen(p)).toBe(true);
  });

  it('ignores undefined values (as a schema parser may produce)', () => {
    expect(mergePolicy({ failAfter: undefined }).failAfter).toBe(3);
  });

  it('applies per-chain overrides only to that chain', () => {
    const p = mergePolicy({ chains: { bsc: { lagUnhealthyMs: 10_000, weights: { latency: 1 } } } });
    expect(policyForChain(p, 'bsc')).toMatchObject({
      lagUnhealthyMs: 10_000,
      failAfter: 3,
      weights: { latency: 1, lag: 0.3 },
    });
    expect(policyForChain(p, 'pai').lagUnhealthyMs).toBe(30_000);
  });

  it('layers: a later merge keeps earlier chain overrides and adds to them', () => {
    const first = mergePolicy({ chains: { bsc: { failAfter: 4 } } });
    const second = mergePolicy({ chains: { bsc: { riseAfter: 3 } } }, first);
    expect(policyForChain(second, 'bsc')).toMatchObject({ failAfter: 4, riseAfter: 3 });
  });

  it.each([
    [{ failAfter: 0 }, 'failAfter'],
    [{ riseAfter: 1.5 }, 'riseAfter'],
    [{ staleAfterMs: -1 }, 'staleAfterMs'],
    [{ lagDegradedBlocks: 5, lagUnhealthyBlocks: 4 }, 'lagUnhealthyBlocks'],
    [{ lagDegradedMs: 60_000 }, 'lagUnhealthyMs'],
    [{ latencySlowMs: 100 }, 'latencySlowMs'],
    [{ errorRateMinSamples: 30 }, 'errorRateMinSamples'],
    [{ errorRateDegraded: 0.6 }, 'errorRateUnhealthy'],
    [{ ewmaAlpha: 0 }, 'ewmaAlpha'],
    [{ weights: { lag: -1 } }, 'weights.lag'],
    [{ weights: { lag: 0, errors: 0, latency: 0, peers: 0, tier: 0 } }, 'weights'],
    [{ weights: { speed: 1 } }, 'weights.speed'],
    [{ whenAllUnhealthy: 'sometimes' }, 'whenAllUnhealthy'],
    [{ failAfterr: 3 }, 'failAfterr'],
    [{ topN: 0 }, 'topN'],
    [{ switchMargin: 0.05 }, 'switchMargin'],
    [{ ewmaAlpha: 0.3 }, 'switchMargin'],
    [{ chains: { bsc: { failAfter: -2 } } }, 'chains.bsc.failAfter'],
    [{ chains: { bsc: { nope: 1 } } }, 'chains.bsc.nope'],
    [{ chains: { bsc: { weights: { nope: 1 } } } }, 'chains.bsc.weights.nope'],
  ])('rejects %j naming `%s`', (input, key) => {
    let caught: unknown;
    try {
      mergePolicy(input as never);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(HealthPolicyError);
    expect((caught as HealthPolicyError).key).toBe(key);
    expect((caught as HealthPolicyError).code).toBe('HEALTH_POLICY_INVALID');
    expect((caught as Error).message).toContain(`\`${key}\``);
  });

  it('accepts a margin above the swing of a slower smoothing', () => {
    expect(mergePolicy({ ewmaAlpha: 0.3, switchMargin: 0.2 }).switchMargin).toBe(0.2);
  });
});
