// A real nodesentry process (`node dist/cli.js serve`, built by `npm test`) for tests that
// pause, signal and kill replicas: its JSON log lines, its API base URL, its exit.
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { sleep } from './wait.js';

const CLI = resolve('dist/cli.js');

export interface ReplicaProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Every stdout line, parsed (a line that is not JSON is kept as `{ raw }`). */
  readonly lines: Array<Record<string, unknown>>;
  stderr(): string;
  /** API base URL, once the process logged `API listening`. */
  readonly url: string;
  /** The replica id it runs under (from the `nodesentry started` line). */
  readonly replica: string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  signal(sig: NodeJS.Signals): void;
  /** SIGKILL, if still running. */
  kill(): void;
}

export interface ReplicaOptions {
  readonly configFile?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Extra CLI arguments after `serve`. */
  readonly args?: readonly string[];
  /** Wait for `API listening` (default true). */
  readonly waitListening?: boolean;
}

/** Starts `serve` on a free loopback port (LOG_LEVEL info unless given). */
export async function startReplica(opts: ReplicaOptions): Promise<ReplicaProcess> {
  const args = [CLI, 'serve', ...(opts.configFile ? ['--config', opts.configFile] : []), ...(opts.args ?? [])];
  const env = { ...process.env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', ...opts.env };
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: Array<Record<string, unknown>> = [];
  let stderr = '';
  createInterface({ input: child.stdout! }).on('line', (l) => {
    try {
      lines.push(JSON.parse(l) as Record<string, unknown>);
    } catch {
      lines.push({ raw: l });
    }
  });
  child.stderr!.on('data', (c) => (stderr += String(c)));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) =>
    child.once('exit', (code, signal) => res({ code, signal })),
  );
  let url = '';
  let replica = '';
  if (opts.waitListening !== false) {
    const deadline = Date.now() + 20_000;
    let gone = false;
    void exited.then(() => (gone = true));
    for (;;) {
      const listening = lines.find((l) => l.msg === 'API listening');
      const started = lines.find((l) => l.msg === 'nodesentry started');
      if (listening && started) {
        url = String(listening.url);
        replica = String(started.replica);
        break;
      }
      if (gone || Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`replica did not start listening (stderr: ${stderr.slice(0, 800)})`);
      }
      await sleep(25);
    }
  }
  return {
    child,
    pid: child.pid!,
    lines,
    stderr: () => stderr,
    url,
    replica,
    exited,
    signal: (sig) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(sig);
    },
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

/** GET/POST JSON with fetch; never throws for a status. */
export async function http(
  base: string,
  path: string,
  init: { method?: string; token?: string; body?: unknown } = {},
): Promise<{ status: number; body: any; headers: Headers }> {
  const headers: Record<string, string> = {};
  if (init.token) headers.authorization = `Bearer ${init.token}`;
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${base}${path}`, {
    method: init.method ?? 'GET',
    headers,
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, body, headers: res.headers };
}
