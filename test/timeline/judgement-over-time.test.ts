import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import { request } from 'undici';
import { NODE_DEFAULTS } from '../../src/config/node-config.js';
import { SETTINGS_DEFAULTS } from '../../src/config/settings.js';
import { DEFAULT_HEALTH_POLICY as P } from '../../src/health/policy.js';
import type { SimNodeSpec } from '../../src/simulator/sim-node-spec.js';
import { sleep, until } from '../support/wait.js';

// Judgement over time, on real processes: the simulator (`nodesentry simulate`) and the service
// (`nodesentry serve`, built CLI, a real Redis), both at their default timing (interval 2 s,
// timeout 1.5 s, fall 3, rise 2, fast re-check 200 ms, back-off ceiling 3 s). Faults are
// injected through the simulator's control API at known moments; each transition's time (as
// the service recorded it) and reasons are checked against a range derived from those knobs,
// and what a client sees (/best, /probe, the node's state) is watched all along. Every scenario
// runs at once, each on its own chain, so the whole file costs one timeline (~25 s).
//
// Ranges: lower bounds come from the rules (fall 3 cannot be counted in less than two fast
// re-checks); upper bounds from the same rules plus SLACK_MS, for a machine with one core kept
// busy by another process. The bench (`npm run bench`) measures the same rules at length.

const CLI = resolve('dist/cli.js');
const INTERVAL = NODE_DEFAULTS.intervalMs;
const TIMEOUT = NODE_DEFAULTS.timeoutMs;
const FAST = SETTINGS_DEFAULTS.fastIntervalMs;
const BACKOFF = SETTINGS_DEFAULTS.maxBackoffMs;
const JITTER = 1.1;
const SLACK_MS = 2_500;
// Long enough for a doubling back-off to outgrow its ceiling (2, 4, 8 s...) if it had none.
const OUTAGE_MS = 12_000;
/** For spans measured on the service's own clock between two of its events (timer lag only). */
const TIMER_SLACK_MS = 1_000;

const children: ChildProcess[] = [];
let dir: string;
let redis: Redis;
const prefix = `timeline-${randomBytes(4).toString('hex')}`;
let simBase: string;
let api: string;
let apiListeningAt: number;

interface Observation {
  readonly t: number;
  readonly value: string;
}

/** What a client saw, sampled every ~100 ms from the moment the API listens. */
const seen = {
  coldBest: [] as Observation[],
  states: new Map<string, Observation[]>(),
  /** The poller's planned delay after each sample, as the node's view says. */
  delays: new Map<string, Array<{ t: number; mode: string; delayMs: number }>>(),
};
let watching = true;
const watchers: Promise<void>[] = [];

const SPECS: Array<SimNodeSpec & { chain: string; tier?: number }> = [
  // Kill, then restart: refused probes, back-off, recovery.
  { id: 'kill-a', kind: 'bsc', chain: 'bsc', ownPort: true },
  { id: 'kill-b', kind: 'bsc', chain: 'bsc', ownPort: true },
  // Hang: every probe times out.
  { id: 'hang-a', kind: 'bsc', chainId: 97, chain: 'bsc-testnet', ownPort: true },
  { id: 'hang-b', kind: 'bsc', chainId: 97, chain: 'bsc-testnet', ownPort: true },
  // Nodes that answer but are unhealthy, next to healthy ones that make the reference head.
  ...['ok-1', 'ok-2', 'ok-3', 'peers', 'sync', 'wrong', 'lag'].map((id) => ({
    id: `soft-${id}`,
    kind: 'defid' as const,
    chain: 'defichain',
    ownPort: true,
  })),
  // Cold start: the backup answers at once, the primaries take 150 ms a request (a probe may
  // be two or three requests: kept well inside the timeout even on a starved machine).
  { id: 'cold-p1', kind: 'paicoind', chain: 'pai', latencyMs: 150, ownPort: true },
  { id: 'cold-p2', kind: 'paicoind', chain: 'pai', latencyMs: 150, ownPort: true },
  { id: 'cold-backup', kind: 'paicoind', chain: 'pai', tier: 1, ownPort: true },
];
const SOFT = ['peers', 'sync', 'wrong', 'lag'].map((s) => `soft-${s}`);
const WATCHED = ['kill-a', 'kill-b', 'hang-a', 'hang-b', ...SOFT];

async function http(
  method: 'GET' | 'POST' | 'PUT',
  url: string,
  body?: unknown,
): Promise<{ status: number; json: any }> {
  const res = await request(url, {
    method,
    ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
  });
  const text = await res.body.text();
  return { status: res.statusCode, json: text === '' ? null : JSON.parse(text) };
}

async function sim(method: 'POST' | 'PUT', path: string, body?: unknown): Promise<number> {
  const r = await http(method, `${simBase}/_sim/nodes/${path}`, body);
  if (r.status !== 204) throw new Error(`simulator ${method} ${path}: HTTP ${r.status}`);
  return Date.now();
}

/** Spawn the built CLI and resolve with the first stdout line matching `pattern`. */
function spawnCli(args: string[], env: NodeJS.ProcessEnv, pattern: RegExp): Promise<RegExpExecArray> {
  const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  return new Promise((res, rej) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => rej(new Error(`${args[0]} did not start: ${err.slice(-500)}`)), 15_000);
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = pattern.exec(out);
      if (m) {
        clearTimeout(timer);
        res(m);
      }
    });
    child.once('exit', (code) => rej(new Error(`${args[0]} exited with ${code}: ${err.slice(-500)}`)));
  });
}

async function transitions(id: string): Promise<Array<{ from: string; to: string; reasons: string[]; at: number }>> {
  const r = await http('GET', `${api}/v1/nodes/${id}/transitions`);
  return [...r.json.transitions].reverse();
}

async function best(chain: string): Promise<string | null> {
  const r = await http('GET', `${api}/v1/chains/${chain}/best`);
  return r.json?.nodeId ?? null;
}

const node = async (id: string) => (await http('GET', `${api}/v1/nodes/${id}`)).json;
const probeStatus = async (id: string) => (await http('GET', `${api}/probe/nodes/${id}`)).status;

/** Poll `check` every 50 ms; the epoch ms at which it first held. */
async function firstTime(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<number> {
  await until(check, timeoutMs, what);
  return Date.now();
}

function watch(fn: () => Promise<void>): void {
  watchers.push(
    (async () => {
      while (watching) {
        await fn().catch(() => undefined);
        await sleep(100);
      }
    })(),
  );
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'nodesentry-timeline-'));
  redis = new Redis(process.env.REDIS_URL!);
  const simEnv = { ...process.env, LOG_LEVEL: 'silent' };
  const m = await spawnCli(['simulate', '--port', '0', '--nodes', '1'], simEnv, /on (http:\/\/127\.0\.0\.1:\d+)/);
  simBase = m[1]!;
  const lines = ['nodes:'];
  for (const { chain, tier, ...spec } of SPECS) {
    const r = await http('POST', `${simBase}/_sim/nodes`, spec);
    if (r.status !== 201) throw new Error(`simulator refused ${spec.id}: ${JSON.stringify(r.json)}`);
    lines.push(
      `  - id: ${spec.id}`,
      `    chain: ${chain}`,
      `    url: ${r.json.url}`,
      ...(tier ? [`    tier: ${tier}`] : []),
    );
  }
  const configFile = join(dir, 'nodes.yaml');
  writeFileSync(configFile, `${lines.join('\n')}\n`);

  const env = {
    ...process.env,
    REDIS_URL: process.env.REDIS_URL,
    NODESENTRY_REDIS_PREFIX: prefix,
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
  };
  const listening = await spawnCli(
    ['serve', '--config', configFile],
    env,
    /"url":"(http:\/\/127\.0\.0\.1:\d+)[^"]*","msg":"API listening"/,
  );
  api = listening[1]!;
  apiListeningAt = Date.now();
  watch(async () => {
    seen.coldBest.push({ t: Date.now(), value: String(await best('pai')) });
  });
  for (const id of WATCHED) {
    seen.states.set(id, []);
    seen.delays.set(id, []);
    watch(async () => {
      const n = await node(id);
      if (n.probing) seen.delays.get(id)!.push({ t: Date.now(), mode: n.probing.mode, delayMs: n.probing.delayMs });
      seen.states.get(id)!.push({
        t: Date.now(),
        value: `${n.state} ${n.probing?.mode ?? '-'} ${n.reasons.map((r: { text: string }) => r.text).join('; ')}`,
      });
    });
  }
}, 40_000);

afterAll(async () => {
  watching = false;
  await Promise.allSettled(watchers);
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  const keys = await redis.keys(`{${prefix}}:*`).catch(() => []);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
  rmSync(dir, { recursive: true, force: true });
});

/** The chain's choice once every listed node is healthy. */
async function settledChoice(chain: string, ids: string[]): Promise<string> {
  let chosen: string | null = null;
  await until(
    async () => {
      const states = await Promise.all(ids.map(async (id) => (await node(id)).state));
      chosen = await best(chain);
      return states.every((s) => s === 'healthy') && chosen !== null;
    },
    20_000,
    `${chain} settled`,
  );
  return chosen!;
}

function statesBetween(id: string, from: number, to: number): string[] {
  return (seen.states.get(id) ?? []).filter((o) => o.t >= from && o.t <= to).map((o) => o.value);
}

describe('judgement over time (service + simulator processes, default timing)', () => {
  it('kill, hang, answering-but-unhealthy and a cold start, all at once: each transition in its range, with its reasons', async () => {
    const [killed, hung] = await Promise.all([
      settledChoice('bsc', ['kill-a', 'kill-b']),
      settledChoice('bsc-testnet', ['hang-a', 'hang-b']),
    ]);
    await until(
      async () =>
        (await Promise.all(['soft-ok-1', ...SOFT].map(async (id) => (await node(id)).state))).every(
          (s) => s === 'healthy',
        ),
      20_000,
      'defichain settled',
    );
    const otherKill = killed === 'kill-a' ? 'kill-b' : 'kill-a';
    const otherHang = hung === 'hang-a' ? 'hang-b' : 'hang-a';

    // --- faults, at known moments ---------------------------------------------------------
    // The lagging node: 20 blocks (10 minutes of DeFiChain) behind the others.
    const head = (await http('GET', `${simBase}/_sim/nodes/soft-ok-1`)).json.height as number;
    const [tKill, tHang, tPeers, tSync, tWrong, tLag] = await Promise.all([
      sim('POST', `${killed}/stop`),
      sim('PUT', `${hung}/fault`, { type: 'hang' }),
      sim('PUT', 'soft-peers/peers', { inbound: 0, outbound: 0 }),
      sim('PUT', 'soft-sync/fault', { type: 'syncing', behindBlocks: 500 }),
      sim('PUT', 'soft-wrong/fault', { type: 'wrong-chain' }),
      sim('PUT', 'soft-lag/height', { height: head - 20 }),
    ]);

    const killSeen = Promise.all([
      firstTime(async () => (await best('bsc')) === otherKill, 15_000, 'bsc best moved'),
      firstTime(async () => (await probeStatus(killed)) === 503, 15_000, 'killed node probe 503'),
    ]);
    const hangSeen = Promise.all([
      firstTime(async () => (await best('bsc-testnet')) === otherHang, 20_000, 'bsc-testnet best moved'),
      firstTime(async () => (await probeStatus(hung)) === 503, 20_000, 'hung node probe 503'),
    ]);
    const [bestMoved, probeDown] = await killSeen;

    // The killed node stays down for OUTAGE_MS, then answers again.
    await sleep(Math.max(0, tKill + OUTAGE_MS - Date.now()));
    const tStart = await sim('POST', `${killed}/start`);
    // A changed peer count is seen at the next probe, not a back-off later.
    const tPeers2 = await sim('PUT', 'soft-peers/peers', { inbound: 1, outbound: 0 });
    const probeUp = await firstTime(
      async () => (await probeStatus(killed)) === 200,
      15_000,
      'restarted node probe 200',
    );
    const peersChangeSeen = await firstTime(
      async () => (await node('soft-peers')).reasons.some((r: { text: string }) => r.text === 'peers_below_min(1<2)'),
      10_000,
      'new peer count seen',
    );
    const [hangBestMoved, hangProbeDown] = await hangSeen;
    await sleep(1_000);
    const tEnd = Date.now();

    // --- the killed node (connection refused) ----------------------------------------------
    // Seen at its next probe (<= one interval), confirmed by two fast re-checks: fall 3 takes
    // at least 2 x FAST after the first refusal and at most interval + 2 x FAST after the kill.
    const killT = await transitions(killed);
    const down = killT.find((t) => t.at >= tKill && t.to === 'unhealthy')!;
    expect(down).toBeDefined();
    expect(down.from).toBe('healthy');
    expect(down.reasons.join(',')).toMatch(/connection_(refused|reset)/);
    expect(down.at - tKill).toBeGreaterThanOrEqual(2 * FAST * 0.9 - 50);
    expect(down.at - tKill).toBeLessThanOrEqual(INTERVAL * JITTER + 2 * FAST * JITTER + SLACK_MS);
    for (const t of [bestMoved, probeDown])
      expect(t - tKill).toBeLessThanOrEqual(INTERVAL * JITTER + 2 * FAST * JITTER + SLACK_MS);
    // From its first refused probe to confirmed down: two fast re-checks, not two intervals.
    const history = (await http('GET', `${api}/v1/nodes/${killed}/history?limit=300`)).json.points as Array<{
      t: number;
      ok: boolean;
    }>;
    const firstFail = Math.min(...history.filter((p) => p.t >= tKill && !p.ok).map((p) => p.t));
    expect(down.at - firstFail).toBeLessThanOrEqual(2 * FAST * JITTER + TIMER_SLACK_MS);
    // While it was down: never unknown, its reason always there, and backed off (not dropped).
    const whileDown = statesBetween(killed, down.at + 300, tStart);
    expect(whileDown.length).toBeGreaterThan(10);
    expect(whileDown.filter((s) => !/^unhealthy (backoff|interval) connection_(refused|reset)/.test(s))).toEqual([]);
    expect(whileDown.some((s) => s.startsWith('unhealthy backoff'))).toBe(true);
    // ... never slower than the back-off ceiling, whatever the length of the outage.
    const plans = seen.delays.get(killed)!.filter((o) => o.t >= down.at + 300 && o.t <= tStart);
    expect(plans.length).toBeGreaterThan(10);
    expect(Math.max(...plans.map((o) => o.delayMs))).toBeLessThanOrEqual(BACKOFF);
    // Back: seen at its next back-off step (<= the ceiling), healthy one fast re-check later.
    const up = killT.find((t) => t.at >= tStart && t.to === 'healthy')!;
    expect(up).toBeDefined();
    expect(up.from).toBe('unhealthy');
    expect(up.at - tStart).toBeGreaterThanOrEqual(FAST * 0.9 - 50);
    expect(up.at - tStart).toBeLessThanOrEqual(BACKOFF + FAST * JITTER + SLACK_MS);
    expect(probeUp - tStart).toBeLessThanOrEqual(BACKOFF + FAST * JITTER + SLACK_MS);
    const firstOk = Math.min(...history.filter((p) => p.t >= tStart && p.ok).map((p) => p.t));
    expect(up.at - firstOk).toBeLessThanOrEqual(FAST * JITTER + TIMER_SLACK_MS);
    // Its history has a point at least every back-off step while it was down.
    const during = history
      .map((p) => p.t)
      .filter((t) => t >= tKill && t <= tStart)
      .sort((a, b) => a - b);
    expect(during.length).toBeGreaterThanOrEqual(Math.floor(OUTAGE_MS / (BACKOFF + SLACK_MS)));
    const gaps = [during[0]! - tKill, ...during.slice(1).map((t, i) => t - during[i]!), tStart - during.at(-1)!];
    expect(Math.max(...gaps.slice(1, -1))).toBeLessThanOrEqual(BACKOFF + TIMER_SLACK_MS);
    expect(Math.max(gaps[0]!, gaps.at(-1)!)).toBeLessThanOrEqual(BACKOFF + SLACK_MS);
    // The other node was never disturbed.
    expect(statesBetween(otherKill, tKill, tEnd).every((s) => s.startsWith('healthy'))).toBe(true);

    // --- the hung node (every probe times out) ----------------------------------------------
    const hangT = await transitions(hung);
    const hangHistory = (await http('GET', `${api}/v1/nodes/${hung}/history?limit=300`)).json.points as Array<{
      t: number;
      ok: boolean;
    }>;
    const firstTimeout = Math.min(...hangHistory.filter((p) => p.t >= tHang && !p.ok).map((p) => p.t));
    const hdown = hangT.find((t) => t.at >= tHang && t.to === 'unhealthy')!;
    expect(hdown).toBeDefined();
    expect(hdown.reasons).toEqual(['rpc_timeout']);
    // Three timeouts in a row cannot take less than 3 x TIMEOUT; the first starts within an interval.
    expect(hdown.at - tHang).toBeGreaterThanOrEqual(3 * TIMEOUT - 100);
    expect(hdown.at - tHang).toBeLessThanOrEqual(INTERVAL * JITTER + 3 * TIMEOUT + 2 * FAST * JITTER + SLACK_MS);
    // From the first timeout to confirmed down: two more timeouts, each started a fast re-check later.
    expect(hdown.at - firstTimeout).toBeGreaterThanOrEqual(2 * TIMEOUT - 100);
    expect(hdown.at - firstTimeout).toBeLessThanOrEqual(2 * (TIMEOUT + FAST * JITTER) + TIMER_SLACK_MS);
    for (const t of [hangBestMoved, hangProbeDown])
      expect(t - tHang).toBeLessThanOrEqual(INTERVAL * JITTER + 3 * TIMEOUT + 2 * FAST * JITTER + SLACK_MS);
    // While it was confirming, it stayed healthy but said so; once down, never unknown.
    const hungStates = statesBetween(hung, tHang, tEnd);
    expect(hungStates.filter((s) => s.startsWith('unknown'))).toEqual([]);
    expect(
      hungStates
        .filter((s) => s.startsWith('healthy') && s.includes('rpc_timeout'))
        .every((s) => /failing\([12]\/3\): rpc_timeout/.test(s)),
    ).toBe(true);

    // --- nodes that answer, but are unhealthy -----------------------------------------------
    const soft: Array<[string, number, RegExp]> = [
      ['soft-peers', tPeers, /^peers_below_min\(0<2\)$/],
      ['soft-sync', tSync, /^syncing/],
      ['soft-wrong', tWrong, /^wrong_chain\(/],
      ['soft-lag', tLag, /^lagging\(\d+ blocks/],
    ];
    for (const [id, t0, reason] of soft) {
      const t = (await transitions(id)).find((x) => x.at >= t0 && x.to === 'unhealthy');
      expect({ id, found: t !== undefined }).toEqual({ id, found: true });
      expect(t!.reasons.some((r) => reason.test(r))).toBe(true);
      // A soft change is re-checked at a third of the interval: fall 3 in >= 2 x interval/3.
      expect(t!.at - t0).toBeGreaterThanOrEqual(2 * Math.floor(INTERVAL / 3) * 0.9 - 50);
      expect(t!.at - t0).toBeLessThanOrEqual(INTERVAL * JITTER + 2 * (INTERVAL / 3) * JITTER + SLACK_MS);
      // Then probed on its interval (no back-off: it answers), never unknown, reason in view.
      const after = statesBetween(id, t!.at + 300, tEnd);
      expect(after.length).toBeGreaterThan(10);
      expect({ id, bad: after.filter((s) => !s.startsWith('unhealthy interval ')) }).toEqual({ id, bad: [] });
    }
    // Each answering-but-unhealthy node has a history point at least every interval.
    for (const id of [...SOFT]) {
      const points = (
        (await http('GET', `${api}/v1/nodes/${id}/history?limit=200`)).json.points as Array<{ t: number }>
      )
        .map((p) => p.t)
        .filter((t) => t >= tPeers)
        .sort((a, b) => a - b);
      const g = points.slice(1).map((t, i) => t - points[i]!);
      expect({ id, maxGap: Math.max(...g) <= INTERVAL * JITTER + TIMER_SLACK_MS }).toEqual({ id, maxGap: true });
    }
    // The new peer count is in the reason at the next probe.
    expect(peersChangeSeen - tPeers2).toBeLessThanOrEqual(INTERVAL * JITTER + SLACK_MS);

    // --- cold start: a backup that answers first is never the first choice -------------------
    const named = seen.coldBest.filter((o) => o.value !== 'null');
    expect(named.length).toBeGreaterThan(0);
    expect(named.filter((o) => o.value === 'cold-backup')).toEqual([]);
    expect(named[0]!.value).toMatch(/^cold-p[12]$/);
    // ... and the wait is bounded: a primary was chosen within startupWaitMs of serving (its
    // probes began before the API listened; process start-up itself is not counted).
    expect(named[0]!.t - apiListeningAt).toBeLessThanOrEqual(P.startupWaitMs);
  }, 90_000);
});
