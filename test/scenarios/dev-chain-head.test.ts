import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { sleep, until } from '../support/wait.js';

// The dev-chain case of issue #12 as a timeline on real processes: the simulator (`nodesentry
// simulate`) and the service (`nodesentry serve`), talking over loopback. Two nodes sit at
// height 0 for good (their genesis block is an hour old), one is stuck at 2, one climbs from 24
// with 1 s blocks. The reference head must follow the climber (never a height no node has), the
// stuck nodes must lag, the climber must stay healthy with lag 0. Then the climber stops too:
// the chain has halted, and every node is told so within the stall window (5 s here).

const CLI = resolve('dist/cli.js');
const INTERVAL_MS = 500;
const BLOCK_MS = 1_000;
const STALL_WINDOW_MS = 5 * BLOCK_MS;

interface NodeJson {
  id: string;
  state: string;
  height: number | null;
  lag: { blocks: number; ms: number } | null;
  reasons: Array<{ code: string; text: string }>;
  ageMs: number;
}
interface RefJson {
  height: number | null;
  basis: string;
  contributors: number;
  quorum: number;
  voters: string[];
  stalled: number;
  excluded: number;
}
interface Obs {
  t: number;
  /** The climber's height in the simulator just before and just after the API was read. */
  lo: number;
  hi: number;
  ref: RefJson | null;
  nodes: Record<string, NodeJson>;
}

const children: ChildProcess[] = [];
const dirs: string[] = [];
/** The fleet a test reads: its simulator's and its service's base URLs. */
interface Fleet {
  readonly simBase: string;
  readonly apiBase: string;
}
let fleet: Fleet;
let stderr = '';

function start(args: string[], env: NodeJS.ProcessEnv, onLine: (line: string) => void): ChildProcess {
  const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  createInterface({ input: child.stdout! }).on('line', onLine);
  child.stderr!.on('data', (c) => (stderr += String(c)));
  return child;
}

async function json<T>(url: string, init?: RequestInit): Promise<T> {
  const res = await fetch(url, init);
  if (!res.ok) throw new Error(`${init?.method ?? 'GET'} ${url}: ${res.status} ${await res.text()}`);
  return (res.status === 204 ? undefined : await res.json()) as T;
}
const control = (path: string, method: string, body: unknown, f: Fleet = fleet) =>
  json(`${f.simBase}/_sim/nodes${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
const simHeight = async (id: string, f: Fleet = fleet) =>
  (await json<{ height: number }>(`${f.simBase}/_sim/nodes/${id}`)).height;

/** The dev chain's simulator (its own process) and a service judging it (another). */
async function startDevChain(): Promise<Fleet> {
  const dir = mkdtempSync(join(tmpdir(), 'nodesentry-devchain-'));
  dirs.push(dir);
  const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'warn' };
  let simUrl: string | undefined;
  start(['simulate', '--port', '0'], env, (line) => {
    const m = /on (http:\/\/127\.0\.0\.1:\d+)/.exec(line);
    if (m && simUrl === undefined) simUrl = m[1];
  });
  await until(() => simUrl !== undefined, 15_000, 'the simulator listening');
  const simBase = simUrl!;
  const f0: Fleet = { simBase, apiBase: '' };

  const dev = { kind: 'bsc', chainId: 1337, blockTimeMs: BLOCK_MS };
  await control(
    '',
    'POST',
    { id: 'zero-a', ...dev, startHeight: 0, fault: { type: 'stuck', tipAgeMs: 3_600_000 } },
    f0,
  );
  await control(
    '',
    'POST',
    { id: 'zero-b', ...dev, startHeight: 0, fault: { type: 'stuck', tipAgeMs: 3_600_000 } },
    f0,
  );
  await control(
    '',
    'POST',
    { id: 'two', ...dev, startHeight: 2, fault: { type: 'stuck', tipAgeMs: 22 * BLOCK_MS } },
    f0,
  );
  await control('', 'POST', { id: 'climber', ...dev, startHeight: 24 }, f0);

  const config = join(dir, 'nodes.yaml');
  const lines = [
    'defaults:',
    `  intervalMs: ${INTERVAL_MS}`,
    '  timeoutMs: 400',
    'health:',
    '  chains:',
    '    evm:',
    // A 5 s stall window (5 blocks, no floor) and unhealthy from 10 s behind.
    '      stallMinMs: 0',
    '      stallAfterBlocks: 5',
    '      lagUnhealthyMs: 10000',
    'nodes:',
  ];
  for (const id of ['zero-a', 'zero-b', 'two', 'climber'])
    lines.push(`  - { id: ${id}, chain: evm, chainId: 1337, blockTimeMs: ${BLOCK_MS}, url: "${simBase}/n/${id}" }`);
  writeFileSync(config, `${lines.join('\n')}\n`);

  const serveEnv: NodeJS.ProcessEnv = { ...env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info' };
  delete serveEnv.REDIS_URL;
  delete serveEnv.NODESENTRY_API_KEY;
  let url: string | undefined;
  start(['serve', '--config', config], serveEnv, (line) => {
    try {
      const l = JSON.parse(line) as { msg?: string; url?: string };
      if (l.msg === 'API listening') url = l.url;
    } catch {
      // not a log line
    }
  });
  await until(() => url !== undefined, 15_000, `the service listening (stderr: ${stderr.slice(0, 300)})`);
  return { simBase, apiBase: url!.replace(/\/$/, '') };
}

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

async function observe(f: Fleet = fleet): Promise<Obs> {
  const lo = await simHeight('climber', f);
  const [chains, list] = await Promise.all([
    json<{ chains: Array<{ chain: string; reference: RefJson | null }> }>(`${f.apiBase}/v1/chains`),
    json<{ items: NodeJson[] }>(`${f.apiBase}/v1/nodes?chain=evm`),
  ]);
  const hi = await simHeight('climber', f);
  return {
    t: Date.now(),
    lo,
    hi,
    ref: chains.chains.find((c) => c.chain === 'evm')?.reference ?? null,
    nodes: Object.fromEntries(list.items.map((n) => [n.id, n])),
  };
}

const STUCK = ['zero-a', 'zero-b', 'two'];

describe('dev chain: two nodes at 0 for good, one stuck at 2, one climbing', () => {
  beforeAll(async () => {
    fleet = await startDevChain();
  }, 40_000);
  it('the head follows the climber, the stuck nodes lag, then the halt is called within the stall window', async () => {
    const timeline: Obs[] = [];
    // Phase 1: 9 s of the mixed fleet.
    const started = Date.now();
    await until(
      async () => {
        const o = await observe();
        return o.ref !== null && Object.values(o.nodes).every((n) => n.height !== null);
      },
      10_000,
      'every node sampled and a head reported',
    );
    const warm = Date.now();
    while (Date.now() - warm < 9_000) {
      timeline.push(await observe());
      await sleep(250);
    }
    const settled = timeline.filter((o) => o.t - warm >= 2_000);
    expect(settled.length).toBeGreaterThanOrEqual(12);
    // Once settled, the stuck three are counted (stalled or left out) in most reports; all three
    // can be "not evidence" at one instant when none of their samples is fresh (a busy core: one
    // fresh-clone CI run read 0 once), so not at every instant.
    const counted = settled.filter((o) => o.ref !== null && o.ref.stalled + o.ref.excluded >= 1);
    expect(counted.length).toBeGreaterThanOrEqual(Math.ceil(settled.length * 0.75));

    for (const o of timeline) {
      // Never a head that no node has: within a block or two of the climber, from its vote alone.
      expect(o.ref).not.toBeNull();
      expect(o.ref!.height).toBeGreaterThanOrEqual(o.lo - 2);
      expect(o.ref!.height).toBeLessThanOrEqual(o.hi + 1);
      expect(o.ref).toMatchObject({ basis: 'advancing', voters: ['climber'], contributors: 1, quorum: 1 });
      // The stuck three have no vote (voters above): stalled, left out when a probe of theirs just
      // failed, or not evidence at all for the moment their sample is not fresh (a loaded machine).
      expect(o.ref!.stalled + o.ref!.excluded).toBeLessThanOrEqual(3);
      // The climber is at the head; the stuck nodes are never called healthy.
      expect(o.nodes.climber!.lag?.blocks ?? 0).toBeLessThanOrEqual(1);
      for (const id of STUCK) expect(o.nodes[id]!.state).not.toBe('healthy');
    }
    for (const o of settled) {
      expect(o.nodes.climber!.state).toBe('healthy');
      for (const id of STUCK) {
        const n = o.nodes[id]!;
        expect(n.state).toBe('unhealthy');
        expect(n.reasons.map((r) => r.code)).toEqual(expect.arrayContaining(['lagging', 'stalled']));
        // Behind by the climber's head less its own (0 or 2), as of its latest sample (a node found
        // unhealthy is polled less often: the sample's age in blocks), give or take two blocks
        // for the climber's own poll and the judge's head cache.
        expect(n.lag!.blocks).toBeGreaterThanOrEqual(o.lo - Math.ceil(n.ageMs / BLOCK_MS) - (n.height ?? 0) - 2);
        expect(n.lag!.blocks).toBeLessThanOrEqual(o.hi - (n.height ?? 0) + 1);
      }
    }
    // The climber really climbed over the phase, and the head with it.
    expect(timeline[timeline.length - 1]!.ref!.height! - timeline[0]!.ref!.height!).toBeGreaterThanOrEqual(6);

    // Phase 2: the climber stops as well. Nobody advances: a halt.
    await control('/climber/fault', 'PUT', { type: 'stuck' });
    const frozenAt = Date.now();
    const frozen = await simHeight('climber');
    let halted: Obs | undefined;
    const after: Obs[] = [];
    while (Date.now() - frozenAt < STALL_WINDOW_MS + 6_000) {
      const o = await observe();
      after.push(o);
      if (halted === undefined && o.ref?.basis === 'halted') halted = o;
      if (halted !== undefined && o.t - halted.t > 1_500 && o.nodes.climber!.state === 'degraded') break;
      await sleep(250);
    }
    expect(halted).toBeDefined();
    // Not before the window (the last block may be a block time older than the freeze); within
    // the timestamp's 1 s resolution, a poll, the judge's head cache and the chain facts' flush after it.
    expect(halted!.t - frozenAt).toBeGreaterThanOrEqual(STALL_WINDOW_MS - BLOCK_MS - 250);
    expect(halted!.t - frozenAt).toBeLessThanOrEqual(STALL_WINDOW_MS + BLOCK_MS + 3_000);
    // The halted head is the climber's last block, not 0 or 2.
    for (const o of after.filter((x) => x.ref?.basis === 'halted')) {
      expect(o.ref!.height).toBeGreaterThanOrEqual(frozen - 1);
      expect(o.ref!.height).toBeLessThanOrEqual(frozen + 1);
      expect(o.ref!.voters).toEqual(['climber']);
    }
    const last = after[after.length - 1]!;
    expect(last.nodes.climber!.state).toBe('degraded');
    expect(last.nodes.climber!.reasons.map((r) => r.code)).toEqual(['chain_halted']);
    for (const id of STUCK) expect(last.nodes[id]!.state).toBe('unhealthy');

    // The climber's state changes, with their times and reasons, as the store logged them.
    const { transitions } = await json<{
      transitions: Array<{ from: string; to: string; reasons: string[]; at: number }>;
    }>(`${fleet.apiBase}/v1/nodes/climber/transitions`);
    const chronological = [...transitions].reverse();
    expect(chronological.map((x) => `${x.from}->${x.to}`)).toEqual([
      'new->unknown',
      'unknown->healthy',
      'healthy->degraded',
    ]);
    expect(chronological[1]!.at - started).toBeLessThan(5_000);
    const down = chronological[2]!;
    expect(down.reasons).toEqual([expect.stringMatching(/^chain_halted\(no node advanced in [\d.]+s, head \d+\)$/)]);
    const head = Number(/head (\d+)\)$/.exec(down.reasons[0]!)![1]);
    expect(Math.abs(head - frozen)).toBeLessThanOrEqual(1);
    expect(down.at - frozenAt).toBeGreaterThanOrEqual(STALL_WINDOW_MS - BLOCK_MS - 250);
    expect(down.at - frozenAt).toBeLessThanOrEqual(STALL_WINDOW_MS + BLOCK_MS + 3_000 + 3 * INTERVAL_MS);
    // The node stuck at 2 went unhealthy for lagging, early, and stayed there.
    const two = (
      await json<{ transitions: Array<{ from: string; to: string; reasons: string[]; at: number }> }>(
        `${fleet.apiBase}/v1/nodes/two/transitions`,
      )
    ).transitions.reverse();
    const bad = two.find((x) => x.to === 'unhealthy')!;
    expect(bad.reasons.some((r) => /^lagging\(2\d blocks/.test(r))).toBe(true);
    expect(bad.at - started).toBeLessThan(6_000);
    expect(two.filter((x) => x.at > bad.at)).toEqual([]);
  }, 60_000);
});

describe('dev chain: the only advancing node misses a probe or two', () => {
  let blip: Fleet;
  beforeAll(async () => {
    blip = await startDevChain();
  }, 40_000);

  it("the head stays on it (its last answer) while it is failing, never the stuck nodes' height", async () => {
    await until(
      async () => {
        const o = await observe(blip);
        return o.ref?.basis === 'advancing' && o.nodes.climber?.state === 'healthy';
      },
      15_000,
      'the climber healthy and the head on it',
    );
    // The climber answers 1 s late for 600 ms: the probes that start then time out (400 ms), and
    // the fast re-check after one of them at most once more (100 ms later), so one or two fail
    // in a row, short of failAfter (3). Repeated until the API was read while it was failing.
    const all: Obs[] = [];
    const failing: Obs[] = [];
    for (let round = 0; round < 6 && failing.length < 3; round++) {
      await control('/climber/fault', 'PUT', { type: 'slow', delayMs: 1_000 }, blip);
      const clearAt = Date.now() + 600;
      let cleared = false;
      const endAt = clearAt + 1_500;
      while (Date.now() < endAt) {
        if (!cleared && Date.now() >= clearAt) {
          await control('/climber/fault', 'PUT', { type: 'none' }, blip);
          cleared = true;
        }
        const o = await observe(blip);
        all.push(o);
        const climber = o.nodes.climber!;
        if (climber.state === 'healthy' && climber.reasons[0]?.code === 'failing') failing.push(o);
        await sleep(40);
      }
      if (!cleared) await control('/climber/fault', 'PUT', { type: 'none' }, blip);
      await sleep(1_000);
    }
    expect(failing.length).toBeGreaterThan(0);
    for (const o of failing) {
      // Its last answer still votes: the head is the climber's, not 0 or 2 with basis halted.
      expect(o.ref).toMatchObject({ basis: 'advancing', voters: ['climber'] });
      expect(o.ref!.height).toBeGreaterThanOrEqual(o.lo - 3);
    }
    for (const o of all) {
      expect(o.ref?.basis).not.toBe('halted');
      for (const id of STUCK) expect(o.nodes[id]!.state).not.toBe('healthy');
    }
  }, 60_000);
});
