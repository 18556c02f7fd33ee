import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, get as httpGet, request as httpRequest, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { SimNodeSpec } from '../../src/simulator/sim-node-spec.js';
import { Simulator } from '../../src/simulator/simulator.js';

// The real CLI (`node dist/cli.js serve`, built by `npm test`) over a simulator this test runs,
// stopped with SIGTERM in the middle of a burst of requests and with an event stream open:
// every request the server accepted gets its whole answer, the stream ends cleanly, and the
// process exits 0 on its own, quickly.

const CLI = resolve('dist/cli.js');
const TOKEN = 'shutdown-admin-token-71c3e9';
/** The node behind the slow admin calls answers after this long: they are in flight at SIGTERM. */
const SLOW_MS = 1_500;
const EXIT_BOUND_MS = 10_000;
const SPECS: SimNodeSpec[] = [
  { id: 'bsc-1', kind: 'bsc' },
  { id: 'dfi-1', kind: 'defid' },
  { id: 'pai-1', kind: 'paicoind' },
  { id: 'dfi-slow', kind: 'defid', fault: { type: 'slow', delayMs: SLOW_MS } },
  { id: 'pai-slow', kind: 'paicoind', fault: { type: 'slow', delayMs: SLOW_MS } },
];

interface Outcome {
  readonly label: string;
  readonly sentAt: number;
  /** Status, when an answer began. */
  status?: number | undefined;
  /** The answer arrived whole (every byte of its declared length, or the chunked terminator). */
  complete?: boolean;
  /** What ended the exchange without a whole answer. */
  error?: string;
  body?: string;
}

describe('SIGTERM with requests in flight', () => {
  let sim: Simulator;
  let dir: string;
  let child: ChildProcess;
  const lines: Array<Record<string, unknown>> = [];
  let stderr = '';

  beforeAll(async () => {
    sim = await Simulator.start({ nodes: SPECS, authDelayMs: 5 });
    dir = mkdtempSync(join(tmpdir(), 'nodesentry-shutdown-'));
    const config = join(dir, 'nodes.yaml');
    const yaml = ['defaults:', '  intervalMs: 500', '  timeoutMs: 300', 'nodes:'];
    for (const s of SPECS)
      yaml.push(
        `  - { id: ${s.id}, chain: ${s.kind === 'bsc' ? 'bsc' : s.kind === 'defid' ? 'defichain' : 'pai'}, url: "${sim.url(s.id)}" }`,
      );
    writeFileSync(config, `${yaml.join('\n')}\n`);
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      NODESENTRY_ADMIN_TOKEN: TOKEN,
    };
    // The in-process store: this is about the HTTP side of a stop (replica hand-over with
    // Redis is test/polling/replica-processes.test.ts).
    delete env.REDIS_URL;
    child = spawn(process.execPath, [CLI, 'serve', '--config', config], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    createInterface({ input: child.stdout! }).on('line', (l) => {
      try {
        lines.push(JSON.parse(l) as Record<string, unknown>);
      } catch {
        lines.push({ raw: l });
      }
    });
    child.stderr!.on('data', (c) => (stderr += String(c)));
  });

  afterAll(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));
  async function until<T>(
    what: string,
    get: () => T | undefined | Promise<T | undefined>,
    timeoutMs: number,
  ): Promise<T> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const v = await get();
      if (v !== undefined && v !== false) return v;
      if (Date.now() > end) throw new Error(`not within ${timeoutMs} ms: ${what} (stderr: ${stderr.slice(0, 500)})`);
      await wait(25);
    }
  }

  /** One request; records how it ended, never rejects. */
  function send(
    base: string,
    agent: Agent,
    label: string,
    method: string,
    path: string,
    body?: string,
  ): { outcome: Outcome; done: Promise<Outcome> } {
    const outcome: Outcome = { label, sentAt: Date.now() };
    const done = new Promise<Outcome>((settle) => {
      const headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` };
      if (body !== undefined) headers['content-type'] = 'application/json';
      const req = httpRequest(`${base}${path}`, { method, agent, headers }, (res: IncomingMessage) => {
        outcome.status = res.statusCode;
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          outcome.body = Buffer.concat(chunks).toString('utf8');
          // 'end' only comes with the whole body: node's parser checks the length or the terminator.
          outcome.complete = true;
          settle(outcome);
        });
        res.on('aborted', () => {
          outcome.error = 'aborted mid-answer';
          settle(outcome);
        });
        res.on('error', (err) => {
          outcome.error ??= `response: ${err.message}`;
          settle(outcome);
        });
      });
      req.on('error', (err: NodeJS.ErrnoException) => {
        outcome.error ??= err.code ?? err.message;
        settle(outcome);
      });
      req.end(body);
    });
    return { outcome, done };
  }

  it('when SIGTERM comes mid-burst, then accepted requests are answered whole, the event stream ends cleanly, and the process exits 0', async () => {
    const listening = await until('the API listening line', () => lines.find((l) => l.msg === 'API listening'), 15_000);
    const base = String(listening.url);
    const ok = (path: string) =>
      new Promise<boolean>((res) => {
        httpGet(`${base}${path}`, { agent: false }, (r) => {
          r.resume();
          res(r.statusCode === 200);
        }).on('error', () => res(false));
      });
    // Ready, and the probes in the burst answer up (a node is confirmed after two sweeps).
    await until(
      'ready, probes up',
      async () => (await ok('/readyz')) && (await ok('/probe/nodes/bsc-1')) && (await ok('/probe/chains/defichain')),
      10_000,
    );

    // An event stream, open across the stop.
    const stream = { hello: false, ended: false, error: undefined as string | undefined, text: '' };
    const streamDone = new Promise<void>((settle) => {
      httpGet(`${base}/v1/events?heartbeat=1`, { agent: false }, (res) => {
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          stream.text += c;
          if (stream.text.includes('event: hello')) stream.hello = true;
        });
        res.on('end', () => {
          stream.ended = true;
          settle();
        });
        res.on('aborted', () => {
          stream.error = 'aborted';
          settle();
        });
        res.on('error', (e) => {
          stream.error ??= e.message;
          settle();
        });
      }).on('error', (e) => {
        stream.error ??= e.message;
        settle();
      });
    });
    await until('the stream said hello', () => stream.hello, 5_000);

    // Keep-alive connections, as a load balancer and a dashboard keep them.
    const agent = new Agent({ keepAlive: true, maxSockets: 6 });
    const all: Array<{ outcome: Outcome; done: Promise<Outcome> }> = [];
    // Slow: the node behind them answers after SLOW_MS, so they are in the middle of their
    // answer at SIGTERM. (One per node: admin calls to one node share one connection.) Their
    // keep-alive connections stay open afterwards, as a load balancer's would.
    const slowAgent = new Agent({ keepAlive: true });
    const slow = ['dfi-slow', 'pai-slow'].map((id) =>
      send(base, slowAgent, `slow-${id}`, 'POST', `/v1/nodes/${id}/network`, '{"active":true}'),
    );
    all.push(...slow);
    const fast = [
      '/probe/nodes/bsc-1',
      '/probe/chains/defichain',
      '/v1/nodes',
      '/v1/nodes/pai-1',
      '/v1/chains',
      '/metrics',
      '/v1/nodes/dfi-1/history',
      '/livez',
    ];
    let n = 0;
    let burst = true;
    const burstDone = (async () => {
      while (burst) {
        const batch = fast.map((p) => send(base, agent, `fast-${n++}`, 'GET', p));
        all.push(...batch);
        await Promise.all(batch.map((b) => b.done));
      }
    })();

    await wait(SLOW_MS / 3);
    const sigtermAt = Date.now();
    const exited = new Promise<{ code: number | null; signal: string | null; at: number }>((res) =>
      child.once('exit', (code, signal) => res({ code, signal, at: Date.now() })),
    );
    child.kill('SIGTERM');
    // Go on sending for a while: late requests may be refused, never cut off.
    await wait(SLOW_MS);
    burst = false;
    await burstDone;
    let bound: NodeJS.Timeout | undefined;
    const exit = await Promise.race([
      exited,
      new Promise<undefined>((r) => (bound = setTimeout(() => r(undefined), EXIT_BOUND_MS))),
    ]);
    clearTimeout(bound);
    const outcomes = await Promise.all(all.map((a) => a.done));
    await streamDone;
    agent.destroy();
    slowAgent.destroy();

    // The process stopped by itself, cleanly, and not at the mercy of keep-alive timeouts.
    expect(exit).toBeDefined();
    expect({ code: exit!.code, signal: exit!.signal }).toEqual({ code: 0, signal: null });
    expect(exit!.at - sigtermAt).toBeLessThan(EXIT_BOUND_MS);

    // The slow admin calls were accepted before the stop: each gets its whole answer.
    for (const s of slow) {
      expect({
        label: s.outcome.label,
        status: s.outcome.status,
        complete: s.outcome.complete,
        error: s.outcome.error,
      }).toEqual({ label: s.outcome.label, status: 200, complete: true, error: undefined });
      expect(JSON.parse(s.outcome.body!)).toMatchObject({
        nodeId: s.outcome.label.slice('slow-'.length),
        requested: { active: true },
      });
    }
    // Every answer that began was finished, none of them an error.
    const begun = outcomes.filter((o) => o.status !== undefined);
    expect(begun.filter((o) => !o.complete)).toEqual([]);
    expect(begun.filter((o) => o.status! >= 500)).toEqual([]);
    // (A request written onto a keep-alive connection in the very moment it is closed can be
    // refused unread: clients retry those. Requests sent clearly before the stop are answered.)
    expect(outcomes.filter((o) => o.sentAt < sigtermAt - 100 && !o.complete)).toEqual([]);
    expect(begun.length).toBeGreaterThan(fast.length);
    // What was refused after the stop was refused before any answer: a new connection not
    // accepted, or a keep-alive socket closed between answers (clients retry those).
    for (const o of outcomes.filter((x) => x.status === undefined))
      expect(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'socket hang up']).toContain(o.error);

    // The event stream ended with its terminator, not a reset.
    expect(stream).toMatchObject({ hello: true, ended: true, error: undefined });

    // The log tells the story, with no error line.
    expect(lines.some((l) => l.msg === 'stopping' && l.signal === 'SIGTERM')).toBe(true);
    expect(lines.filter((l) => typeof l.level === 'number' && l.level >= 50)).toEqual([]);
    expect(stderr).toBe('');
  }, 40_000);
});
