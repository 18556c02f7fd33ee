import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { request } from 'undici';
import { sleep } from '../support/wait.js';

/**
 * What the load-balancer suites share: the snippets of docs/load-balancers.md read at test time
 * (so the docs and the tests cannot drift), real haproxy / nginx / nodesentry processes on free
 * loopback ports, HAProxy's stats socket, and client traffic that counts its failures.
 */

export const DOC_PATH = resolve('docs/load-balancers.md');
const CLI = resolve('dist/cli.js');

/** The fenced blocks of the doc with this info string (`haproxy`, `nginx`, `sh`), in order. */
export function docBlocks(lang: string): string[] {
  const text = readFileSync(DOC_PATH, 'utf8');
  const out: string[] = [];
  const re = new RegExp('^```' + lang + '\\n([\\s\\S]*?)^```$', 'gm');
  for (const m of text.matchAll(re)) out.push(m[1]!);
  return out;
}

/** The one block of that language containing `marker`: fails loudly if the doc changed shape. */
export function docBlock(lang: string, marker: string): string {
  const found = docBlocks(lang).filter((b) => b.includes(marker));
  if (found.length !== 1)
    throw new Error(
      `docs/load-balancers.md: expected one \`\`\`${lang} block with ${JSON.stringify(marker)}, found ${found.length}`,
    );
  return found[0]!;
}

/** Ports freePort has handed out in this process: the kernel may offer a just-closed port again. */
const handedOut = new Set<number>();

/**
 * A free loopback port, never one this process was given before: two calls in a row could get
 * the same port back from the kernel (seen once in CI: PORT and NODESENTRY_AGENT_PORT equal, and
 * serve refused to start).
 */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await anyFreePort();
    if (handedOut.has(port)) continue;
    handedOut.add(port);
    return port;
  }
}

function anyFreePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => resolvePort(typeof addr === 'object' && addr ? addr.port : 0));
    });
  });
}

/** A child process whose stderr/stdout are kept (for the failure message) and which is killed in close(). */
export interface Proc {
  readonly child: ChildProcess;
  output(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when it has exited. Safe twice. */
  stop(graceMs?: number): Promise<void>;
}

export function startProc(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Proc {
  const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (d: Buffer): void => {
    out += d.toString('utf8');
    if (out.length > 200_000) out = out.slice(-100_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return {
    child,
    output: () => out,
    async stop(graceMs = 5_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(t);
    },
  };
}

/** Resolve once something accepts TCP connections on the port, or fail with the process's output. */
export async function waitForPort(port: number, timeoutMs: number, proc?: Proc): Promise<void> {
  const start = Date.now();
  for (;;) {
    const ok = await new Promise<boolean>((r) => {
      const s = connect(port, '127.0.0.1', () => {
        s.destroy();
        r(true);
      });
      s.on('error', () => r(false));
    });
    if (ok) return;
    if (proc && (proc.child.exitCode !== null || proc.child.signalCode !== null))
      throw new Error(`process exited before listening on ${port}:\n${proc.output().slice(-3000)}`);
    if (Date.now() - start > timeoutMs)
      throw new Error(`nothing listening on ${port} after ${timeoutMs} ms\n${proc?.output().slice(-3000) ?? ''}`);
    await sleep(50);
  }
}

/**
 * Resolve once nodesentry answers HTTP (`/livez`). Not a TCP connect: `serve` binds its ports
 * for an instant at start-up (to fail fast on a port in use), then opens them for good only
 * after the verdict wait.
 */
export async function waitForNodesentry(ns: NodesentryProcess, timeoutMs: number): Promise<void> {
  const start = Date.now();
  for (;;) {
    const ok = await request(`${ns.url}/livez`, { headersTimeout: 2_000, bodyTimeout: 2_000 }).then(
      (r) => r.body.text().then(() => r.statusCode === 200),
      () => false,
    );
    if (ok) return;
    if (ns.child.exitCode !== null || ns.child.signalCode !== null)
      throw new Error(`nodesentry exited:\n${ns.output().slice(-3000)}`);
    if (Date.now() - start > timeoutMs)
      throw new Error(`nodesentry not answering after ${timeoutMs} ms\n${ns.output().slice(-3000)}`);
    await sleep(25);
  }
}

export interface NodesentryProcess extends Proc {
  readonly port: number;
  readonly agentPort: number;
  readonly url: string;
}

/** `node dist/cli.js serve --config <file>` on fresh loopback ports, ready when its HTTP port accepts. */
export async function startNodesentry(
  configFile: string,
  env: Record<string, string | undefined>,
  ports?: { port: number; agentPort: number },
): Promise<NodesentryProcess> {
  const port = ports?.port ?? (await freePort());
  const agentPort = ports?.agentPort ?? (await freePort());
  const merged: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: String(port),
    HOST: '127.0.0.1',
    NODESENTRY_AGENT_PORT: String(agentPort),
    LOG_LEVEL: 'warn',
    ...env,
  };
  // An `undefined` value unsets the variable (spawn would pass the word "undefined").
  for (const [k, v] of Object.entries(merged)) if (v === undefined) delete merged[k];
  const proc = startProc(process.execPath, [CLI, 'serve', '--config', configFile], merged);
  return { ...proc, port, agentPort, url: `http://127.0.0.1:${port}` };
}

/** One row of HAProxy's `show stat`, by column name. */
export type StatRow = Readonly<Record<string, string>>;

/** One command on HAProxy's stats socket; the whole answer. */
export function statsCommand(socketPath: string, command: string): Promise<string> {
  return new Promise((resolveAnswer, reject) => {
    const s = connect(socketPath, () => s.write(`${command}\n`));
    let out = '';
    s.setEncoding('utf8');
    s.on('data', (d: string) => (out += d));
    s.on('end', () => resolveAnswer(out));
    s.on('error', reject);
  });
}

/** `show stat` as rows keyed by the header's names (`pxname`, `svname`, `status`, `weight`, `stot`, ...). */
export async function showStat(socketPath: string): Promise<StatRow[]> {
  const text = await statsCommand(socketPath, 'show stat');
  const lines = text.split('\n').filter((l) => l !== '');
  const header = (lines.shift() ?? '').replace(/^# /, '').split(',');
  return lines.map((l) => {
    const cells = l.split(',');
    return Object.fromEntries(header.map((h, i) => [h, cells[i] ?? '']));
  });
}

export interface HaproxyProcess extends Proc {
  readonly socket: string;
  stat(): Promise<StatRow[]>;
  /** Server rows of one backend, by server name. */
  servers(backend: string): Promise<Map<string, StatRow>>;
}

export async function startHaproxy(dir: string, config: string): Promise<HaproxyProcess> {
  const socket = join(dir, 'stats.sock');
  const cfg = join(dir, 'haproxy.cfg');
  writeFileSync(cfg, `global\n    stats socket ${socket} level admin\n\n${config}`);
  const check = startProc('haproxy', ['-c', '-q', '-f', cfg]);
  await new Promise<void>((r) => check.child.once('exit', () => r()));
  if (check.child.exitCode !== 0)
    throw new Error(`haproxy -c rejects the configuration:\n${check.output()}\n${config}`);
  const proc = startProc('haproxy', ['-f', cfg, '-db']);
  const start = Date.now();
  for (;;) {
    try {
      await statsCommand(socket, 'show info');
      break;
    } catch {
      if (proc.child.exitCode !== null) throw new Error(`haproxy exited:\n${proc.output()}`);
      if (Date.now() - start > 10_000) throw new Error(`haproxy stats socket not answering:\n${proc.output()}`);
      await sleep(50);
    }
  }
  return {
    ...proc,
    socket,
    stat: () => showStat(socket),
    async servers(backend) {
      const rows = await showStat(socket);
      return new Map(
        rows
          .filter((r) => r.pxname === backend && r.svname !== 'BACKEND' && r.svname !== 'FRONTEND')
          .map((r) => [r.svname!, r]),
      );
    },
  };
}

/** HAProxy's server status words: `UP`, `UP 1/3` (going down), `DOWN`, `DOWN 1/2` (going up), `DOWN (agent)`, `NOLB`, `DRAIN`, `MAINT`... */
export const isDown = (status: string | undefined): boolean =>
  status !== undefined && (status.startsWith('DOWN') || status.startsWith('MAINT'));
export const isUp = (status: string | undefined): boolean => status !== undefined && status.startsWith('UP');

/**
 * Client traffic: JSON-RPC `net_listening` (a method nodesentry's probes never call, so the
 * simulator's per-method counts are client requests only), `concurrency` loops back to back
 * with `pauseMs` between requests. Counts answers and failures (anything but a 200 JSON-RPC
 * result), each with its time.
 */
export class Traffic {
  readonly failures: Array<{ at: number; what: string }> = [];
  readonly latenciesMs: number[] = [];
  ok = 0;
  #running = true;
  readonly #loops: Promise<void>[] = [];

  constructor(url: string, opts: { concurrency: number; pauseMs: number; timeoutMs?: number }) {
    const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'net_listening', params: [] });
    for (let i = 0; i < opts.concurrency; i++) {
      this.#loops.push(
        (async () => {
          while (this.#running) {
            const t0 = Date.now();
            try {
              const r = await request(url, {
                method: 'POST',
                body,
                headers: { 'content-type': 'application/json' },
                headersTimeout: opts.timeoutMs ?? 30_000,
                bodyTimeout: opts.timeoutMs ?? 30_000,
              });
              const text = await r.body.text();
              if (r.statusCode === 200 && text.includes('"result"')) this.ok++;
              else this.failures.push({ at: t0, what: `${r.statusCode} ${text.slice(0, 80)}` });
            } catch (err) {
              this.failures.push({ at: t0, what: (err as Error).message });
            }
            this.latenciesMs.push(Date.now() - t0);
            await sleep(opts.pauseMs);
          }
        })(),
      );
    }
  }

  /** Failures of requests started in [from, to). */
  failedBetween(from: number, to = Infinity): number {
    return this.failures.filter((f) => f.at >= from && f.at < to).length;
  }

  async stop(): Promise<void> {
    this.#running = false;
    await Promise.all(this.#loops);
  }
}

/** Seconds with one decimal, for the printed figures. */
export const secs = (ms: number): string => (ms / 1000).toFixed(1);

/**
 * The nodes file the suites give nodesentry: every simulated node on chain bsc at its own URL,
 * `backup` (if any) in tier 1, and `head` (e.g. a defaults line) before the list.
 */
export function writeNodesFile(
  file: string,
  ids: readonly string[],
  url: (id: string) => string,
  options: { backup?: string; head?: string } = {},
): void {
  const lines = ids.map(
    (id) => `  - { id: ${id}, chain: bsc, url: "${url(id)}"${id === options.backup ? ', tier: 1' : ''} }`,
  );
  writeFileSync(file, `${options.head ? `${options.head}\n` : ''}nodes:\n${lines.join('\n')}\n`);
}

/** Each simulated node's port, by id, from its URL (what the HAProxy server lines point at). */
export function nodePortsOf(ids: readonly string[], url: (id: string) => string): Map<string, number> {
  return new Map(ids.map((id) => [id, Number(new URL(url(id)).port)]));
}
