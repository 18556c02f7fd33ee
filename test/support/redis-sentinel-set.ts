// A real Sentinel deployment for tests: one master, its replicas and three sentinels
// (redis-sentinel), all on free loopback ports, with a password as operators run it. Timeouts
// are short (down after 1 s) so a killed master is replaced within a few seconds.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort, waitForPing } from './redis-server.js';
import { until } from './wait.js';

export const SENTINEL_MASTER_NAME = 'nodesentry-test';

interface Proc {
  readonly port: number;
  readonly role: 'redis' | 'sentinel';
  child: ChildProcess | undefined;
}

export class RedisSentinelSet {
  private readonly admins = new Map<number, Redis>();

  private constructor(
    private readonly procs: Proc[],
    private readonly dir: string,
    readonly password: string,
  ) {}

  static async start(options: { replicas?: number; sentinels?: number; password: string }): Promise<RedisSentinelSet> {
    const dir = await mkdtemp(join(tmpdir(), 'nodesentry-sentinels-'));
    const ports = new Set<number>();
    const port = async () => {
      let p = await freePort();
      while (ports.has(p)) p = await freePort();
      ports.add(p);
      return p;
    };
    const procs: Proc[] = [];
    for (let i = 0; i < 1 + (options.replicas ?? 2); i++)
      procs.push({ port: await port(), role: 'redis', child: undefined });
    for (let i = 0; i < (options.sentinels ?? 3); i++)
      procs.push({ port: await port(), role: 'sentinel', child: undefined });
    const set = new RedisSentinelSet(procs, dir, options.password);
    try {
      await set.launch();
      return set;
    } catch (err) {
      await set.close();
      throw err;
    }
  }

  get sentinels(): Array<{ host: string; port: number }> {
    return this.procs.filter((p) => p.role === 'sentinel').map((p) => ({ host: '127.0.0.1', port: p.port }));
  }

  /** The master's port as the first sentinel that answers names it. */
  async masterPort(): Promise<number> {
    for (const s of this.procs.filter((p) => p.role === 'sentinel' && alive(p))) {
      try {
        const [, port] = (await this.admin(s.port, false).call(
          'SENTINEL',
          'get-master-addr-by-name',
          SENTINEL_MASTER_NAME,
        )) as [string, string];
        return Number(port);
      } catch {
        // Try the next sentinel.
      }
    }
    throw new Error('no sentinel answered');
  }

  /** Every running sentinel names the same master, other than `old`. */
  async waitPromoted(old: number, timeoutMs = 20_000): Promise<number> {
    let now = old;
    await until(
      async () => {
        try {
          const named = await Promise.all(
            this.procs
              .filter((p) => p.role === 'sentinel' && alive(p))
              .map(async (s) =>
                Number(
                  (
                    (await this.admin(s.port, false).call(
                      'SENTINEL',
                      'get-master-addr-by-name',
                      SENTINEL_MASTER_NAME,
                    )) as string[]
                  )[1],
                ),
              ),
          );
          now = named[0]!;
          if (!named.every((p) => p === now) || now === old) return false;
          // ...and the promoted server says so itself.
          return /^role:master/m.test(String(await this.admin(now, true).info('replication')));
        } catch {
          return false;
        }
      },
      timeoutMs,
      'sentinels promoting a replica',
    );
    return now;
  }

  /** The Redis servers' ports (master and replicas), whichever is master now. */
  get serverPorts(): number[] {
    return this.procs.filter((p) => p.role === 'redis').map((p) => p.port);
  }

  /** CONFIG SET on one server: a replica keeps its own config when promoted (e.g. another maxmemory-policy). */
  async configSet(port: number, name: string, value: string): Promise<void> {
    await this.admin(port, true).config('SET', name, value);
  }

  async kill(port: number): Promise<void> {
    const p = this.procs.find((x) => x.port === port);
    const child = p?.child;
    this.admins.get(port)?.disconnect();
    this.admins.delete(port);
    if (!p || !child || !alive(p)) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  }

  async close(): Promise<void> {
    for (const r of this.admins.values()) r.disconnect();
    this.admins.clear();
    await Promise.all(this.procs.map((p) => this.kill(p.port)));
    await rm(this.dir, { recursive: true, force: true });
  }

  private admin(port: number, auth: boolean): Redis {
    let r = this.admins.get(port);
    // Sentinel closes the clients of a server it reconfigures (CLIENT KILL on promotion); this
    // connection never retries, so a closed one is replaced instead of failing every call after.
    if (r && r.status === 'end') {
      r.disconnect();
      r = undefined;
    }
    if (!r) {
      r = new Redis({
        host: '127.0.0.1',
        port,
        ...(auth ? { password: this.password } : {}),
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
        connectTimeout: 1000,
        commandTimeout: 2000,
      });
      r.on('error', () => {});
      this.admins.set(port, r);
    }
    return r;
  }

  private async launch(): Promise<void> {
    const servers = this.procs.filter((p) => p.role === 'redis');
    const master = servers[0]!;
    const common = [
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      this.dir,
      '--requirepass',
      this.password,
      '--masterauth',
      this.password,
    ];
    master.child = spawn('redis-server', ['--port', String(master.port), ...common], { stdio: 'ignore' });
    await waitForPing(master.port, 10_000);
    for (const r of servers.slice(1)) {
      r.child = spawn(
        'redis-server',
        ['--port', String(r.port), ...common, '--replicaof', '127.0.0.1', String(master.port)],
        { stdio: 'ignore' },
      );
    }
    await Promise.all(servers.slice(1).map((r) => waitForPing(r.port, 10_000)));
    // Sentinels only promote a replica they have seen in sync.
    await until(
      async () =>
        (String(await this.admin(master.port, true).info('replication')).match(/state=online/g) ?? []).length ===
        servers.length - 1,
      10_000,
      'replicas in sync',
    );

    const sentinels = this.procs.filter((p) => p.role === 'sentinel');
    const quorum = Math.floor(sentinels.length / 2) + 1;
    for (const s of sentinels) {
      // Sentinel rewrites its config file: each gets its own.
      const conf = join(this.dir, `sentinel-${s.port}.conf`);
      await writeFile(
        conf,
        [
          `port ${s.port}`,
          'bind 127.0.0.1',
          `dir ${this.dir}`,
          `sentinel monitor ${SENTINEL_MASTER_NAME} 127.0.0.1 ${master.port} ${quorum}`,
          `sentinel auth-pass ${SENTINEL_MASTER_NAME} ${this.password}`,
          `sentinel down-after-milliseconds ${SENTINEL_MASTER_NAME} 1000`,
          `sentinel failover-timeout ${SENTINEL_MASTER_NAME} 10000`,
          `sentinel parallel-syncs ${SENTINEL_MASTER_NAME} 1`,
          '',
        ].join('\n'),
      );
      s.child = spawn('redis-sentinel', [conf], { stdio: 'ignore' });
    }
    await Promise.all(sentinels.map((s) => waitForPing(s.port, 10_000)));
    // Before a failover can work, every sentinel must know the replicas and the other sentinels
    // (they find each other through the master's hello channel, every 2 s).
    await until(
      async () => {
        const known = await Promise.all(
          sentinels.map(async (s) => {
            const a = this.admin(s.port, false);
            const replicas = (await a.call('SENTINEL', 'replicas', SENTINEL_MASTER_NAME)) as unknown[];
            const others = (await a.call('SENTINEL', 'sentinels', SENTINEL_MASTER_NAME)) as unknown[];
            return replicas.length === servers.length - 1 && others.length === sentinels.length - 1;
          }),
        );
        return known.every(Boolean);
      },
      20_000,
      'sentinels knowing every replica and each other',
    );
  }
}

function alive(p: Proc): boolean {
  return p.child !== undefined && p.child.exitCode === null && p.child.signalCode === null;
}
