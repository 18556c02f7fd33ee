import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface HaproxyForwarder {
  readonly origin: string;
  readonly version: string;
  /** CPU time the haproxy process used so far, µs (from /proc, 10 ms resolution). */
  cpuUs(): number;
  close(): Promise<void>;
}

/** `haproxy -v`'s first line, or undefined when it is not installed. */
export function haproxyVersion(): string | undefined {
  const r = spawnSync('haproxy', ['-v'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return undefined;
  return /version (\S+)/.exec(r.stdout)?.[1] ?? r.stdout.split('\n')[0];
}

/**
 * HAProxy forwarding every request to one node, on loopback: the established load balancer a
 * JSON-RPC proxy is measured against. One thread, like the Node processes it is compared with;
 * keep-alive on both sides and connection reuse to the node, as one would configure it.
 */
export async function startHaproxy(node: URL): Promise<HaproxyForwarder> {
  const version = haproxyVersion();
  if (version === undefined) throw new Error('haproxy is not installed');
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'nodesentry-bench-haproxy-'));
  const cfg = join(dir, 'haproxy.cfg');
  writeFileSync(
    cfg,
    `global
  nbthread 1
  maxconn 4000
defaults
  mode http
  timeout connect 2s
  timeout client 30s
  timeout server 30s
  option http-keep-alive
frontend rpc
  bind 127.0.0.1:${port}
  default_backend node
backend node
  http-reuse always
  http-request set-path ${node.pathname}
  server n1 ${node.hostname}:${node.port} maxconn 64
`,
  );
  const proc: ChildProcess = spawn('haproxy', ['-db', '-f', cfg], { stdio: ['ignore', 'ignore', 'inherit'] });
  const origin = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 5_000;
  for (;;) {
    if (await accepts(port)) break;
    if (Date.now() > deadline || proc.exitCode !== null) {
      proc.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
      throw new Error('haproxy did not start listening');
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const ticks = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
  return {
    origin,
    version,
    cpuUs() {
      // /proc/<pid>/stat: fields 14 and 15 (utime, stime) after the parenthesised name.
      const stat = readFileSync(`/proc/${proc.pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return ((Number(f[11]) + Number(f[12])) * 1e6) / ticks;
    },
    async close() {
      if (proc.exitCode === null) {
        const exited = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = connect(port, '127.0.0.1');
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}
