// HealthPolicy: the thresholds and timings of the health core, with defaults and per-chain overrides.
import { HealthPolicyError } from './policy-error.js';

/** What to do when no node of a chain is usable. */
export type WhenAllUnhealthy = 'fail-closed' | 'fail-open';

/** Weights of the score's parts; any non-negative numbers, the score divides by their sum. */
export interface ScoreWeights {
  readonly lag: number;
  readonly errors: number;
  readonly latency: number;
  readonly peers: number;
  readonly tier: number;
}

/**
 * Every knob of the health core. Units are in the names; "at or above" thresholds count a value
 * equal to the threshold as crossing it. Defaults and their reasons: `DEFAULT_HEALTH_POLICY`
 * and docs/health.md.
 */
export interface HealthKnobs {
  /** A sample older than max(staleAfterMs, staleAfterIntervals x node interval) is stale. */
  readonly staleAfterMs: number;
  readonly staleAfterIntervals: number;

  /** Consecutive bad samples before a node's state worsens (HAProxy `fall`). */
  readonly failAfter: number;
  /** Consecutive good samples before it improves (HAProxy `rise`). */
  readonly riseAfter: number;

  /** Lag behind the reference head at or above BOTH of these makes a node degraded. */
  readonly lagDegradedBlocks: number;
  readonly lagDegradedMs: number;
  /** Lag at or above BOTH of these makes it unhealthy. */
  readonly lagUnhealthyBlocks: number;
  readonly lagUnhealthyMs: number;
  /**
   * No new block for this many block times (and at least `stallMinMs`): `stalled` (degraded),
   * no vote on the reference head, and `chain_halted` when no node of the chain advanced.
   */
  readonly stallAfterBlocks: number;
  /** Floor of the stall window, ms: a tip timestamp a few seconds off (clock skew) is not a halt. */
  readonly stallMinMs: number;
  /** A tip (Bitcoin family `mediantime`) older than this means initial sync (Core's -maxtipage). */
  readonly maxTipAgeMs: number;
  /** `verificationprogress` below this, together with a degraded lag, means syncing. */
  readonly minVerificationProgress: number;

  /** Fewer peers than max(minPeers, ceil(targetPeers x this)) is `peers_low` (degraded). */
  readonly peersLowFraction: number;
  /** Peer grade (0..1) when the node does not report peers: neutral, neither good nor bad. */
  readonly unknownPeersGrade: number;

  /** Latency (EWMA) at or below this grades 1. */
  readonly latencyGoodMs: number;
  /** At or above this grades 0, and `slow` when the EWMA and the latest sample both reach it. */
  readonly latencySlowMs: number;

  /** Error rate is measured over this many most recent samples. */
  readonly errorWindowSamples: number;
  /** ... and judged only once the window holds at least this many. */
  readonly errorRateMinSamples: number;
  readonly errorRateDegraded: number;
  readonly errorRateUnhealthy: number;

  /** Smoothing of latency and of the per-sample grades that feed the score (0..1, higher = faster). */
  readonly ewmaAlpha: number;
  readonly weights: ScoreWeights;

  /** A different node replaces the current choice only if its score is higher by this (0..1) ... */
  readonly switchMargin: number;
  /** ... and the current choice has been held at least this long. */
  readonly minDwellMs: number;
  /** A recovered node of a better tier takes over only after being usable this long. */
  readonly failbackDwellMs: number;
  /**
   * A chain's first choice waits at most this long for its better-tier nodes (primaries) to
   * have their first samples judged, so a backup that merely answered first is not chosen; a
   * choice made while they were still unseen is not held by the failback dwell.
   */
  readonly startupWaitMs: number;
  readonly whenAllUnhealthy: WhenAllUnhealthy;
  /** How many endpoints `Selection.top` lists. */
  readonly topN: number;
}

/** Per-chain overrides: any knob, weights partially. */
export type HealthKnobsOverride = {
  readonly [K in keyof HealthKnobs]?: (K extends 'weights' ? Partial<ScoreWeights> : HealthKnobs[K]) | undefined;
};

export interface HealthPolicy extends HealthKnobs {
  /** Overrides by chain name (`bsc`, `defichain-testnet`, ...), applied by `policyForChain`. */
  readonly chains: Readonly<Record<string, HealthKnobsOverride>>;
}

export type HealthPolicyInput = HealthKnobsOverride & {
  readonly chains?: Readonly<Record<string, HealthKnobsOverride>> | undefined;
};

export const DEFAULT_HEALTH_POLICY: HealthPolicy = deepFreeze({
  staleAfterMs: 30_000,
  staleAfterIntervals: 3,
  failAfter: 3,
  riseAfter: 2,
  lagDegradedBlocks: 2,
  lagDegradedMs: 5_000,
  lagUnhealthyBlocks: 3,
  lagUnhealthyMs: 30_000,
  stallAfterBlocks: 20,
  stallMinMs: 30_000,
  maxTipAgeMs: 24 * 3_600_000,
  minVerificationProgress: 0.99,
  peersLowFraction: 0.5,
  unknownPeersGrade: 0.5,
  latencyGoodMs: 300,
  latencySlowMs: 1_500,
  errorWindowSamples: 20,
  errorRateMinSamples: 10,
  errorRateDegraded: 0.2,
  errorRateUnhealthy: 0.5,
  ewmaAlpha: 0.1,
  weights: { lag: 0.3, errors: 0.3, latency: 0.2, peers: 0.15, tier: 0.05 },
  switchMargin: 0.1,
  minDwellMs: 30_000,
  failbackDwellMs: 60_000,
  // Primaries are probed within a second of start-up and confirmed a fast re-check later
  // (or failed at their first failed probe, after at most its timeout): 10 s covers a slow
  // first answer and a lease hand-out between replicas starting together.
  startupWaitMs: 10_000,
  whenAllUnhealthy: 'fail-closed',
  topN: 3,
  chains: {},
});

const WEIGHT_KEYS: readonly (keyof ScoreWeights)[] = ['lag', 'errors', 'latency', 'peers', 'tier'];
const KNOB_KEYS = Object.keys(DEFAULT_HEALTH_POLICY).filter((k) => k !== 'chains') as (keyof HealthKnobs)[];

/**
 * The default policy with `input` laid over it (and over `base`, for layered config), validated:
 * throws `HealthPolicyError` naming the first bad key. Per-chain overrides are validated as the
 * policy they produce.
 */
export function mergePolicy(input: HealthPolicyInput = {}, base: HealthPolicy = DEFAULT_HEALTH_POLICY): HealthPolicy {
  checkKeys(input, [...KNOB_KEYS, 'chains'], '');
  const knobs = applyOverride(base, input, '');
  const chains: Record<string, HealthKnobsOverride> = { ...base.chains };
  for (const [name, override] of Object.entries(input.chains ?? {})) {
    checkKeys(override, KNOB_KEYS, `chains.${name}.`);
    chains[name] = {
      ...chains[name],
      ...definedOnly(override),
      weights: { ...chains[name]?.weights, ...definedOnly(override.weights ?? {}) },
    };
  }
  validateKnobs(knobs, '');
  for (const [name, override] of Object.entries(chains))
    validateKnobs(applyOverride(knobs, override, `chains.${name}.`), `chains.${name}.`);
  return deepFreeze({ ...knobs, chains });
}

/** The policy as it applies to one chain: its overrides laid over the global knobs. */
export function policyForChain(policy: HealthPolicy, chainName: string): HealthPolicy {
  const override = policy.chains[chainName];
  return override === undefined ? policy : { ...applyOverride(policy, override, ''), chains: policy.chains };
}

function applyOverride(base: HealthKnobs, override: HealthKnobsOverride, prefix: string): HealthKnobs {
  if (override.weights !== undefined) checkKeys(override.weights, WEIGHT_KEYS, `${prefix}weights.`);
  const { weights, ...rest } = definedOnly(override);
  return { ...pickKnobs(base), ...rest, weights: { ...base.weights, ...definedOnly(weights ?? {}) } } as HealthKnobs;
}

function pickKnobs(p: HealthKnobs): HealthKnobs {
  const out: Record<string, unknown> = {};
  for (const k of KNOB_KEYS) out[k] = p[k];
  return out as unknown as HealthKnobs;
}

function definedOnly<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

function checkKeys(o: object, allowed: readonly string[], prefix: string): void {
  if (typeof o !== 'object' || o === null || Array.isArray(o))
    throw new HealthPolicyError(prefix.replace(/\.$/, '') || '(policy)', 'must be an object');
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) throw new HealthPolicyError(`${prefix}${k}`, 'is not a known health policy key');
  }
}

function validateKnobs(p: HealthKnobs, prefix: string): void {
  const fail = (key: string, problem: string): never => {
    throw new HealthPolicyError(`${prefix}${key}`, problem);
  };
  const num = (key: keyof HealthKnobs, v: unknown): number =>
    typeof v === 'number' && Number.isFinite(v) ? v : fail(key, `must be a finite number, got ${JSON.stringify(v)}`);
  const int = (key: keyof HealthKnobs, min: number): void => {
    const v = num(key, p[key]);
    if (!Number.isInteger(v) || v < min) fail(key, `must be an integer >= ${min}, got ${v}`);
  };
  const range = (key: keyof HealthKnobs, lo: number, hi: number, loOpen = false): void => {
    const v = num(key, p[key]);
    if (v > hi || v < lo || (loOpen && v === lo)) fail(key, `must be in ${loOpen ? '(' : '['}${lo}, ${hi}], got ${v}`);
  };
  const positive = (key: keyof HealthKnobs): void => {
    if (num(key, p[key]) <= 0) fail(key, `must be > 0, got ${p[key]}`);
  };
  const nonNegative = (key: keyof HealthKnobs): void => {
    if (num(key, p[key]) < 0) fail(key, `must be >= 0, got ${p[key]}`);
  };

  positive('staleAfterMs');
  positive('staleAfterIntervals');
  int('failAfter', 1);
  int('riseAfter', 1);
  int('lagDegradedBlocks', 1);
  nonNegative('lagDegradedMs');
  int('lagUnhealthyBlocks', 1);
  nonNegative('lagUnhealthyMs');
  if (p.lagUnhealthyBlocks < p.lagDegradedBlocks)
    fail('lagUnhealthyBlocks', `must be >= lagDegradedBlocks (${p.lagDegradedBlocks})`);
  if (p.lagUnhealthyMs < p.lagDegradedMs) fail('lagUnhealthyMs', `must be >= lagDegradedMs (${p.lagDegradedMs})`);
  positive('stallAfterBlocks');
  nonNegative('stallMinMs');
  positive('maxTipAgeMs');
  range('minVerificationProgress', 0, 1);
  range('peersLowFraction', 0, 1);
  range('unknownPeersGrade', 0, 1);
  nonNegative('latencyGoodMs');
  if (num('latencySlowMs', p.latencySlowMs) <= p.latencyGoodMs)
    fail('latencySlowMs', `must be > latencyGoodMs (${p.latencyGoodMs})`);
  int('errorWindowSamples', 1);
  int('errorRateMinSamples', 1);
  if (p.errorRateMinSamples > p.errorWindowSamples)
    fail('errorRateMinSamples', `must be <= errorWindowSamples (${p.errorWindowSamples})`);
  range('errorRateDegraded', 0, 1, true);
  range('errorRateUnhealthy', 0, 1, true);
  if (p.errorRateUnhealthy < p.errorRateDegraded)
    fail('errorRateUnhealthy', `must be >= errorRateDegraded (${p.errorRateDegraded})`);
  range('ewmaAlpha', 0, 1, true);
  if (typeof p.weights !== 'object' || p.weights === null) fail('weights', 'must be an object');
  for (const k of WEIGHT_KEYS) {
    const w = p.weights[k];
    if (typeof w !== 'number' || !Number.isFinite(w) || w < 0)
      fail(`weights.${k}`, `must be a number >= 0, got ${JSON.stringify(w)}`);
  }
  if (WEIGHT_KEYS.reduce((s, k) => s + p.weights[k], 0) <= 0) fail('weights', 'must not all be 0');
  range('switchMargin', 0, 1, true);
  // Alternating samples make a smoothed grade swing by alpha / (2 - alpha), and a windowed error
  // rate by 1 / window; a margin at or below the swing lets two nodes trade places forever.
  const swing = Math.max(p.ewmaAlpha / (2 - p.ewmaAlpha), 1 / p.errorWindowSamples);
  if (p.switchMargin <= swing) {
    fail(
      'switchMargin',
      `must exceed the score swing alternating samples can cause (${swing.toFixed(4)} from ewmaAlpha ${p.ewmaAlpha} and errorWindowSamples ${p.errorWindowSamples}), else the choice can flap`,
    );
  }
  nonNegative('minDwellMs');
  nonNegative('failbackDwellMs');
  nonNegative('startupWaitMs');
  if (p.whenAllUnhealthy !== 'fail-closed' && p.whenAllUnhealthy !== 'fail-open') {
    fail('whenAllUnhealthy', `must be 'fail-closed' or 'fail-open', got ${JSON.stringify(p.whenAllUnhealthy)}`);
  }
  int('topN', 1);
}

function deepFreeze<T>(o: T): T {
  if (typeof o === 'object' && o !== null && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}
