// A private redis-server for tests that stop and restart Redis (outage behaviour). Tests that
// only need a Redis use the shared one from global-setup.js (process.env.REDIS_URL); this one
// must never be the shared server, since stopping it would break every other test file.
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export class RedisServer {
  private child: ChildProcess | undefined;

  private constructor(
    readonly port: number,
    private readonly dir: string,
    private readonly password: string | undefined,
    private readonly extraArgs: readonly string[] = [],
  ) {}

  /**
   * Starts redis-server on a free loopback port, persistence off, in a fresh temp dir.
   * `password`: require it (`--requirepass`); `url` then carries it. `args`: more server
   * options (e.g. `--maxmemory-policy allkeys-lru`), kept across restarts.
   */
  static async start(options: { password?: string; args?: readonly string[] } = {}): Promise<RedisServer> {
    const port = await freePort();
    const dir = await mkdtemp(join(tmpdir(), 'nodesentry-redis-test-'));
    const server = new RedisServer(port, dir, options.password, options.args);
    await server.spawn();
    return server;
  }

  get url(): string {
    return this.password === undefined
      ? `redis://127.0.0.1:${this.port}`
      : `redis://:${encodeURIComponent(this.password)}@127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Kills the server and waits for it to exit (data is lost: persistence is off). */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  }

  /** Stops, then starts again on the same port. */
  async restart(): Promise<void> {
    await this.stop();
    await this.spawn();
  }

  /** SAVE now (automatic saves are off) and keep a copy of the RDB file; returns its path. */
  async snapshot(name: string): Promise<string> {
    const reply = await command(this.port, 'SAVE', this.password);
    if (!reply.startsWith('+OK')) throw new Error(`SAVE failed: ${reply.slice(0, 80)}`);
    const path = join(this.dir, `${name}.rdb`);
    await copyFile(join(this.dir, 'dump.rdb'), path);
    return path;
  }

  /** Kill the server and start it again from an RDB file taken by `snapshot` (an operator's restore). */
  async restartFrom(snapshotPath: string): Promise<void> {
    await this.stop();
    await copyFile(snapshotPath, join(this.dir, 'dump.rdb'));
    await this.spawn();
  }

  /** SIGSTOP: the server holds its connections but answers nothing (a hung host, a long fork). */
  pause(): void {
    this.child?.kill('SIGSTOP');
  }

  resume(): void {
    this.child?.kill('SIGCONT');
  }

  /** One command over a fresh connection (e.g. `CONFIG SET maxmemory 1`); the raw reply. */
  command(...args: string[]): Promise<string> {
    return command(this.port, args.join(' '), this.password);
  }

  /** Stops the server and removes its directory. Safe to call twice. */
  async close(): Promise<void> {
    await this.stop();
    await rm(this.dir, { recursive: true, force: true });
  }

  private async spawn(): Promise<void> {
    const args = [
      '--port',
      String(this.port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      this.dir,
    ];
    if (this.password !== undefined) args.push('--requirepass', this.password);
    args.push(...this.extraArgs);
    const child = spawn('redis-server', args, { stdio: 'ignore' });
    this.child = child;
    const failed = new Promise<never>((_, reject) => {
      child.once('error', (err) => reject(new Error(`cannot start redis-server: ${err.message}`)));
      child.once('exit', (code) => reject(new Error(`redis-server exited early (code ${code})`)));
    });
    failed.catch(() => {});
    await Promise.race([waitForPing(this.port, 10_000), failed]);
  }
}

/** Inline command (arguments without spaces), optionally after AUTH; the first reply line of the command. */
function command(port: number, line: string, password: string | undefined): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = new Socket();
    let buf = '';
    const expect = password === undefined ? 1 : 2;
    s.setTimeout(5_000);
    s.once('timeout', () => {
      s.destroy();
      reject(new Error(`redis command ${line.split(' ')[0]} timed out`));
    });
    s.once('error', reject);
    s.on('data', (d) => {
      buf += d.toString();
      const lines = buf.split('\r\n');
      if (lines.length > expect) {
        s.destroy();
        resolve(lines[expect - 1] ?? '');
      }
    });
    s.connect(port, '127.0.0.1', () => s.write(`${password === undefined ? '' : `AUTH ${password}\r\n`}${line}\r\n`));
  });
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export async function waitForPing(port: number, deadlineMs: number): Promise<void> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = new Socket();
      s.setTimeout(500);
      s.once('error', () => resolve(false));
      s.once('timeout', () => {
        s.destroy();
        resolve(false);
      });
      s.once('data', (d) => {
        s.destroy();
        // With --requirepass, an unauthenticated PING gets NOAUTH: the server is up all the same.
        resolve(/^(\+PONG|-NOAUTH)/.test(d.toString()));
      });
      s.connect(port, '127.0.0.1', () => s.write('PING\r\n'));
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`redis-server on port ${port} did not answer PING`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
