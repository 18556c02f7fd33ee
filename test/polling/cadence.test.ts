// Table tests of the poller's cadence rules (src/polling/cadence.ts): interval, fast re-check, back-off, jitter, resume.
import type { Sample } from '../../src/chains/sample.js';
import { RpcErrorCode } from '../../src/errors/rpc-errors.js';
import {
  gaveNoAnswer,
  INITIAL_CADENCE,
  isHardFailure,
  jitteredMs,
  nextProbe,
  resumeDelayMs,
  type CadenceState,
  type CadenceVerdict,
} from '../../src/polling/cadence.js';

const base: Sample = {
  nodeId: 'n',
  chain: 'bsc',
  family: 'evm',
  observedAt: 1_000,
  latencyMs: 5,
  ok: true,
  missingMethods: [],
};
const answered: Sample = base;
const said = (code: string, httpStatus?: number): Sample => ({
  ...base,
  ok: false,
  error: { code, message: code, transient: true, ...(httpStatus !== undefined ? { httpStatus } : {}) },
});
const refused = said(RpcErrorCode.ConnectionRefused);

const steady: CadenceVerdict = { down: false, changing: false, rising: false, unconfirmed: false };
const falling: CadenceVerdict = { down: false, changing: true, rising: false, unconfirmed: false };
const rising: CadenceVerdict = { down: true, changing: true, rising: true, unconfirmed: false };
const newNode: CadenceVerdict = { down: false, changing: true, rising: true, unconfirmed: true };
const downSteady: CadenceVerdict = { down: true, changing: false, rising: false, unconfirmed: false };

const node = { intervalMs: 1_000, timeoutMs: 500, staleAfterMs: Infinity };
const rules = { maxBackoffMs: 3_000, fastIntervalMs: 100, jitter: 0 };
const state = (s: Partial<CadenceState>): CadenceState => ({ ...INITIAL_CADENCE, ...s });
const half = () => 0.5;

describe('which samples count as no answer, and which as hard failures', () => {
  it.each([
    ['an answer', answered, false, false],
    ['timeout', said(RpcErrorCode.Timeout), true, true],
    ['connection refused', refused, true, true],
    ['DNS', said(RpcErrorCode.Dns), true, true],
    ['TLS', said(RpcErrorCode.Tls), true, true],
    ['auth failed', said(RpcErrorCode.AuthFailed), true, true],
    ['HTTP 503', said(RpcErrorCode.HttpStatus, 503), true, true],
    ['HTTP 429 (asks us to slow down)', said(RpcErrorCode.HttpStatus, 429), true, false],
    ['HTTP status without a number', said(RpcErrorCode.HttpStatus), true, false],
    ['a JSON-RPC error (the node answered)', said(RpcErrorCode.RpcError), false, false],
    ['wrong chain (the node answered)', said(RpcErrorCode.WrongChain), false, false],
    ['not ok without an error', { ...base, ok: false }, false, false],
  ])('%s: no answer %s, hard failure %s', (_name, sample, noAnswer, hard) => {
    expect(gaveNoAnswer(sample)).toBe(noAnswer);
    expect(isHardFailure(sample)).toBe(hard);
  });
});

describe('nextProbe, without jitter', () => {
  it.each<
    [
      string,
      CadenceState,
      Sample,
      CadenceVerdict,
      Partial<typeof node>,
      Partial<typeof rules>,
      string,
      number,
      Partial<CadenceState>,
    ]
  >([
    // name, previous state, sample, verdict, node override, rules override -> mode, delay, next state
    [
      'steady and answering: its interval',
      INITIAL_CADENCE,
      answered,
      steady,
      {},
      {},
      'interval',
      1_000,
      { downStreak: 0, silent: false },
    ],
    [
      'steady but silent (not yet down): its interval, never backed off',
      INITIAL_CADENCE,
      refused,
      steady,
      {},
      {},
      'interval',
      1_000,
      { downStreak: 0, silent: true },
    ],
    [
      'down, silent, first unanswered probe: its interval',
      INITIAL_CADENCE,
      refused,
      downSteady,
      {},
      {},
      'interval',
      1_000,
      { downStreak: 1 },
    ],
    [
      'down, silent, second: doubled, back-off',
      state({ downStreak: 1, silent: true }),
      refused,
      downSteady,
      {},
      {},
      'backoff',
      2_000,
      { downStreak: 2 },
    ],
    [
      'down, silent, third: at the ceiling maxBackoffMs',
      state({ downStreak: 2, silent: true }),
      refused,
      downSteady,
      {},
      {},
      'backoff',
      3_000,
      { downStreak: 3 },
    ],
    [
      'down, silent, fortieth: still at the ceiling',
      state({ downStreak: 39, silent: true }),
      refused,
      downSteady,
      {},
      {},
      'backoff',
      3_000,
      { downStreak: 40 },
    ],
    [
      'back-off capped so two rounds fit the staleness window',
      state({ downStreak: 5, silent: true }),
      refused,
      downSteady,
      { staleAfterMs: 4_500 },
      {},
      'backoff',
      2_000,
      { downStreak: 6 },
    ],
    [
      'a staleness window below the interval never shortens the interval',
      state({ downStreak: 5, silent: true }),
      refused,
      downSteady,
      { staleAfterMs: 1_000 },
      {},
      'interval',
      1_000,
      { downStreak: 6 },
    ],
    [
      'maxBackoffMs 0: no back-off',
      state({ downStreak: 5, silent: true }),
      refused,
      downSteady,
      {},
      { maxBackoffMs: 0 },
      'interval',
      1_000,
      { downStreak: 6 },
    ],
    [
      'an interval above maxBackoffMs is kept',
      state({ downStreak: 5, silent: true }),
      refused,
      downSteady,
      { intervalMs: 10_000 },
      {},
      'interval',
      10_000,
      { downStreak: 6 },
    ],
    [
      'down but answering (a reason to keep fresh): its interval, streak reset',
      state({ downStreak: 4, silent: true }),
      said(RpcErrorCode.WrongChain),
      downSteady,
      {},
      {},
      'interval',
      1_000,
      { downStreak: 0, silent: false },
    ],
    ['falling on a hard failure: fast', INITIAL_CADENCE, refused, falling, {}, {}, 'fast', 100, { silent: true }],
    [
      'falling on a 429: a third of the interval',
      INITIAL_CADENCE,
      said(RpcErrorCode.HttpStatus, 429),
      falling,
      {},
      {},
      'fast',
      333,
      {},
    ],
    [
      'falling on what the node says (lag, peers): a third of the interval',
      INITIAL_CADENCE,
      said(RpcErrorCode.RpcError),
      falling,
      {},
      {},
      'fast',
      333,
      {},
    ],
    [
      'a third of a short interval is never below the fast interval',
      INITIAL_CADENCE,
      said(RpcErrorCode.RpcError),
      falling,
      { intervalMs: 200 },
      {},
      'fast',
      100,
      {},
    ],
    [
      'the fast interval is never above the node interval',
      INITIAL_CADENCE,
      refused,
      falling,
      { intervalMs: 50 },
      {},
      'fast',
      50,
      {},
    ],
    [
      'rising after silence: fast, remembered as a fast rise',
      state({ silent: true }),
      answered,
      rising,
      {},
      {},
      'fast',
      100,
      { fastRise: true, silent: false },
    ],
    [
      'rising, fast rise remembered: still fast',
      state({ fastRise: true }),
      answered,
      rising,
      {},
      {},
      'fast',
      100,
      { fastRise: true },
    ],
    [
      'rising without prior silence (a slow reason clears): a third',
      INITIAL_CADENCE,
      answered,
      rising,
      {},
      {},
      'fast',
      333,
      { fastRise: false },
    ],
    ['a new node confirming: fast', INITIAL_CADENCE, answered, newNode, {}, {}, 'fast', 100, {}],
    [
      'a new node that gives no answer: not fast',
      INITIAL_CADENCE,
      refused,
      newNode,
      {},
      {},
      'fast',
      333,
      { silent: true },
    ],
    [
      'the change settled: the fast rise is forgotten',
      state({ fastRise: true }),
      answered,
      steady,
      {},
      {},
      'interval',
      1_000,
      { fastRise: false },
    ],
  ])('%s', (_name, prev, sample, verdict, nodeOver, rulesOver, mode, delayMs, next) => {
    const plan = nextProbe(prev, { ...node, ...nodeOver }, sample, verdict, { ...rules, ...rulesOver }, half);
    expect(plan.mode).toBe(mode);
    expect(plan.delayMs).toBe(delayMs);
    expect(plan.state).toMatchObject(next);
  });

  it('does not change the state it was given', () => {
    const prev = state({ downStreak: 2, silent: true });
    nextProbe(prev, node, refused, downSteady, rules, half);
    expect(prev).toEqual({ downStreak: 2, silent: true, fastRise: false });
  });
});

describe('jitter', () => {
  it.each([
    ['lowest draw', 0, 900],
    ['middle draw', 0.5, 1_000],
    ['highest draw', 0.999_999, 1_100],
  ])('interval spreads +-10 %%: %s', (_name, draw, expected) => {
    expect(nextProbe(INITIAL_CADENCE, node, answered, steady, { ...rules, jitter: 0.1 }, () => draw).delayMs).toBe(
      expected,
    );
  });

  it.each([
    ['lowest draw', 0, 3_000],
    ['highest draw', 0.999_999, 2_700],
  ])('back-off spreads downwards only: %s', (_name, draw, expected) => {
    const prev = state({ downStreak: 5, silent: true });
    expect(nextProbe(prev, node, refused, downSteady, { ...rules, jitter: 0.1 }, () => draw).delayMs).toBe(expected);
  });

  it('jitteredMs never goes below zero', () => {
    expect(jitteredMs(100, 2, () => 0)).toBe(0);
  });
});

describe('resumeDelayMs: the first probe of a node taken on', () => {
  it.each([
    ['never sampled: within its first second', 5_000, undefined, 10_000, 0.5, 500],
    ['never sampled, short interval: within its interval', 200, undefined, 10_000, 0.5, 100],
    ['sampled half an interval ago: the other half', 2_000, 9_000, 10_000, 0.5, 1_000],
    ['sampled long ago: now', 2_000, 1_000, 10_000, 0.5, 0],
  ])('%s', (_name, intervalMs, last, now, draw, expected) => {
    expect(resumeDelayMs(intervalMs, last, now, () => draw)).toBe(expected);
  });
});
