// The poller's cadence rules, pure: when a node is probed next (interval, fast re-check, back-off), from its last sample and verdict.
import type { Sample } from '../chains/sample.js';
import { RpcErrorCode } from '../errors/rpc-errors.js';
import type { ProbeSchedule } from '../health/verdict.js';
import type { SampleVerdict } from './judge.js';

/**
 * Sample errors that mean the node gave no answer to judge: nothing but its absence. Such a
 * node is backed off once confirmed down (an answering node never is: its reason must stay
 * fresh). The transport failures, auth and 5xx are also confirmed fast: they are not blips a
 * second look a few hundred ms later would miss. A 429 is not re-probed fast (it asks us to
 * slow down), nor is any other 4xx.
 */
const NO_ANSWER = new Set<string>([
  RpcErrorCode.Timeout,
  RpcErrorCode.ConnectionRefused,
  RpcErrorCode.ConnectionReset,
  RpcErrorCode.Dns,
  RpcErrorCode.Tls,
  RpcErrorCode.Network,
  RpcErrorCode.AuthFailed,
  RpcErrorCode.Forbidden,
  RpcErrorCode.HttpStatus,
]);

export function gaveNoAnswer(sample: Sample): boolean {
  return !sample.ok && sample.error !== undefined && NO_ANSWER.has(sample.error.code);
}

export function isHardFailure(sample: Sample): boolean {
  if (!gaveNoAnswer(sample)) return false;
  const status = sample.error?.httpStatus;
  return sample.error?.code !== RpcErrorCode.HttpStatus || (status !== undefined && status >= 500);
}

/** What the cadence remembers of a node between two probes. */
export interface CadenceState {
  /** Consecutive unanswered probes while the node's stable state is down (drives the back-off). */
  readonly downStreak: number;
  /** The node gave no answer at its previous probe: once it answers, its rise is checked fast. */
  readonly silent: boolean;
  /** It answered again after silence and the rise is still being confirmed. */
  readonly fastRise: boolean;
}

export const INITIAL_CADENCE: CadenceState = Object.freeze({ downStreak: 0, silent: false, fastRise: false });

/** The poller's cadence settings (see PollerOptions for their meaning and defaults). */
export interface CadenceRules {
  readonly maxBackoffMs: number;
  readonly fastIntervalMs: number;
  /** Random spread, as a fraction (0.1 = +-10 %). */
  readonly jitter: number;
}

/** The node as the cadence sees it: its own rhythm and its staleness window. */
export interface CadenceNode {
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly staleAfterMs: number;
}

export type CadenceVerdict = Pick<SampleVerdict, 'down' | 'changing' | 'rising' | 'unconfirmed'>;

export interface ProbePlan {
  readonly mode: ProbeSchedule['mode'];
  readonly delayMs: number;
  /** The state to remember until the next probe. */
  readonly state: CadenceState;
}

/** `ms` spread by +-jitter (`random` in [0, 1)), never below 0. */
export function jitteredMs(ms: number, jitter: number, random: () => number): number {
  return Math.max(0, Math.round(ms * (1 - jitter + 2 * jitter * random())));
}

/**
 * When to probe next. Cadence follows what is known:
 * - a change under way is confirmed fast (fastinter) when it is a hard failure of a usable
 *   node, or a rise of a node that answers again after silence or has no state yet; other
 *   changes (peers, lag: what a node says) at a third of the interval, so a blip still has
 *   time to pass;
 * - a node confirmed down that gives no answer at all is backed off, doubling from its
 *   interval up to max(interval, maxBackoffMs), capped so that two back-off rounds (step plus
 *   timeout) fit in the staleness window, jittered downwards only;
 * - every other node, answering whatever its state, on its interval.
 */
export function nextProbe(
  prev: CadenceState,
  node: CadenceNode,
  sample: Sample,
  verdict: CadenceVerdict,
  rules: CadenceRules,
  random: () => number,
): ProbePlan {
  const interval = node.intervalMs;
  const silent = gaveNoAnswer(sample);
  let fastRise = prev.fastRise || (!silent && prev.silent);
  if (!verdict.changing) fastRise = false;
  if (silent && verdict.down && !verdict.changing) {
    const downStreak = prev.downStreak + 1;
    const fits = (node.staleAfterMs - node.timeoutMs) / 2;
    const ceiling = Math.max(interval, Math.min(rules.maxBackoffMs, fits));
    const step = Math.min(interval * 2 ** Math.min(downStreak - 1, 16), ceiling);
    return {
      mode: step > interval ? 'backoff' : 'interval',
      delayMs: Math.round(step * (1 - rules.jitter * random())),
      state: { downStreak, silent, fastRise },
    };
  }
  const state: CadenceState = { downStreak: 0, silent, fastRise };
  const fast = Math.min(rules.fastIntervalMs, interval);
  if (verdict.changing) {
    const confirmFast = verdict.rising ? !silent && (fastRise || verdict.unconfirmed) : isHardFailure(sample);
    return {
      mode: 'fast',
      delayMs: jitteredMs(confirmFast ? fast : Math.max(fast, Math.floor(interval / 3)), rules.jitter, random),
      state,
    };
  }
  return { mode: 'interval', delayMs: jitteredMs(interval, rules.jitter, random), state };
}

/**
 * The first probe of a node this replica just took on: continue its rhythm (probe when its last
 * sample is one interval old), or, never sampled, at a random moment within its first second
 * (or interval), so a fleet taken over at once does not fire in one burst.
 */
export function resumeDelayMs(
  intervalMs: number,
  lastObservedAt: number | undefined,
  now: number,
  random: () => number,
): number {
  if (lastObservedAt === undefined) return Math.floor(random() * Math.min(intervalMs, 1_000));
  return Math.max(0, lastObservedAt + intervalMs - now);
}
