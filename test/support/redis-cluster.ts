// A real Redis Cluster for tests: six redis-server processes (three masters, three replicas)
// with --cluster-enabled on free loopback ports, joined by `redis-cli --cluster create`. One
// cluster per test file (start in beforeAll, close in afterAll): creating one costs ~2-3 s.
// Node timeouts are short (1 s) so a killed master is replaced within a few seconds.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Cluster, Redis } from 'ioredis';
import { freePort, waitForPing } from './redis-server.js';
import { sleep, until } from './wait.js';

const run = promisify(execFile);

export interface ClusterNodeProcess {
  readonly port: number;
  /** Cluster bus port (given explicitly: port + 10000 may be taken on a busy machine). */
  readonly busPort: number;
  child: ChildProcess | undefined;
}

export interface RedisClusterOptions {
  readonly masters?: number;
  readonly replicasPerMaster?: number;
  /** cluster-node-timeout, ms: how long a silent master takes to be judged failed. Default 1000. */
  readonly nodeTimeoutMs?: number;
}

export class RedisCluster {
  private readonly admins = new Map<number, Redis>();

  private constructor(
    readonly nodes: ClusterNodeProcess[],
    private readonly dir: string,
    private readonly nodeTimeoutMs: number,
  ) {}

  static async start(options: RedisClusterOptions = {}): Promise<RedisCluster> {
    const masters = options.masters ?? 3;
    const replicas = options.replicasPerMaster ?? 1;
    const dir = await mkdtemp(join(tmpdir(), 'nodesentry-cluster-'));
    const nodes: ClusterNodeProcess[] = [];
    const taken = new Set<number>();
    for (let i = 0; i < masters * (1 + replicas); i++) {
      // Two distinct free ports per node (client and bus), never handed out twice here.
      let port = await freePort();
      while (taken.has(port)) port = await freePort();
      taken.add(port);
      let busPort = await freePort();
      while (taken.has(busPort)) busPort = await freePort();
      taken.add(busPort);
      nodes.push({ port, busPort, child: undefined });
    }
    const cluster = new RedisCluster(nodes, dir, options.nodeTimeoutMs ?? 1000);
    try {
      await Promise.all(nodes.map((n) => cluster.spawn(n)));
      await run(
        'redis-cli',
        [
          '--cluster',
          'create',
          ...nodes.map((n) => `127.0.0.1:${n.port}`),
          '--cluster-replicas',
          String(replicas),
          '--cluster-yes',
        ],
        { timeout: 30_000 },
      );
      await cluster.waitHealthy(20_000);
      return cluster;
    } catch (err) {
      await cluster.close();
      throw err;
    }
  }

  /** Seed nodes as REDIS_CLUSTER_NODES takes them. */
  get seeds(): Array<{ host: string; port: number }> {
    return this.nodes.map((n) => ({ host: '127.0.0.1', port: n.port }));
  }

  get running(): ClusterNodeProcess[] {
    return this.nodes.filter((n) => n.child !== undefined && n.child.exitCode === null && n.child.signalCode === null);
  }

  /** An admin connection to one node (no cluster redirection: it asks that node). */
  admin(port: number): Redis {
    let r = this.admins.get(port);
    if (!r) {
      r = new Redis({
        host: '127.0.0.1',
        port,
        lazyConnect: false,
        maxRetriesPerRequest: 0,
        enableOfflineQueue: true,
        retryStrategy: () => null,
        connectTimeout: 1000,
        commandTimeout: 2000,
      });
      r.on('error', () => {});
      this.admins.set(port, r);
    }
    return r;
  }

  /** The port of the master serving `key`'s slot, as the cluster sees it now. */
  async masterOf(key: string): Promise<number> {
    const port = await this.masterDuringChange(key);
    if (port === undefined) throw new Error(`no node serves the slot of ${key}`);
    return port;
  }

  /**
   * Like masterOf, but undefined while no node serves the slot: in the middle of a failover the
   * node asked may list the slot under no master for a moment (seen in CI: "no node serves slot").
   */
  async masterDuringChange(key: string): Promise<number | undefined> {
    const slot = Number(await this.ask((r) => r.call('CLUSTER', 'KEYSLOT', key)));
    const ranges = (await this.ask((r) => r.call('CLUSTER', 'SLOTS'))) as Array<
      [number, number, [string, number, string], ...unknown[]]
    >;
    const range = ranges.find(([from, to]) => slot >= from && slot <= to);
    return range ? Number(range[2][1]) : undefined;
  }

  /** Ports of the replicas of the master on `masterPort` that are running and connected. */
  async replicasOf(masterPort: number): Promise<number[]> {
    const info = String(await this.admin(masterPort).info('replication'));
    return [...info.matchAll(/^slave\d+:ip=[^,]+,port=(\d+),state=online/gm)].map((m) => Number(m[1]));
  }

  /** `CLUSTER FAILOVER` on a replica (a coordinated hand-over, no write lost); waits until it is master. */
  async failover(replicaPort: number): Promise<void> {
    await this.admin(replicaPort).call('CLUSTER', 'FAILOVER');
    await until(
      async () => /^role:master/m.test(String(await this.admin(replicaPort).info('replication'))),
      10_000,
      `replica ${replicaPort} promoted`,
    );
  }

  /** SIGKILL one node, as a crash would. */
  async kill(port: number): Promise<void> {
    const node = this.nodes.find((n) => n.port === port);
    const child = node?.child;
    if (!node || !child || child.exitCode !== null || child.signalCode !== null) return;
    const admin = this.admins.get(port);
    this.admins.delete(port);
    admin?.disconnect();
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  }

  /**
   * Every running node reports cluster_state:ok and the same view of which node serves each
   * of the 16384 slots, and an ioredis Cluster client sees every slot served: what a client
   * needs before a test can count on the cluster.
   */
  async waitHealthy(timeoutMs = 15_000): Promise<number> {
    return until(
      async () => {
        try {
          const running = this.running;
          const states = await Promise.all(
            running.map(async (n) => String(await this.admin(n.port).call('CLUSTER', 'INFO'))),
          );
          if (!states.every((s) => /cluster_state:ok/.test(s) && /cluster_slots_ok:16384/.test(s))) return false;
          const views = await Promise.all(
            running.map(async (n) => slotOwners((await this.admin(n.port).call('CLUSTER', 'SLOTS')) as unknown[])),
          );
          if (!views.every((v) => v === views[0])) return false;
          return await this.clientSeesAllSlots();
        } catch {
          return false;
        }
      },
      timeoutMs,
      'cluster healthy',
    );
  }

  private async clientSeesAllSlots(): Promise<boolean> {
    const client = new Cluster(
      this.running.map((n) => ({ host: '127.0.0.1', port: n.port })),
      { enableOfflineQueue: true, clusterRetryStrategy: () => null, redisOptions: { connectTimeout: 1000 } },
    );
    client.on('error', () => {});
    try {
      await Promise.race([
        new Promise((resolve, reject) => {
          client.once('ready', resolve);
          client.once('end', () => reject(new Error('cluster client ended')));
        }),
        sleep(3000).then(() => {
          throw new Error('cluster client not ready');
        }),
      ]);
      const slots = (client as unknown as { slots: Array<string[] | undefined> }).slots;
      for (let s = 0; s < 16384; s++) if (!slots[s] || slots[s]!.length === 0) return false;
      return true;
    } finally {
      client.disconnect();
    }
  }

  /** Stops every node and removes the directory. Safe to call twice. */
  async close(): Promise<void> {
    for (const r of this.admins.values()) r.disconnect();
    this.admins.clear();
    await Promise.all(this.nodes.map((n) => this.kill(n.port)));
    await rm(this.dir, { recursive: true, force: true });
  }

  private async ask<T>(fn: (r: Redis) => Promise<T>): Promise<T> {
    let last: unknown;
    for (const n of this.running) {
      try {
        return await fn(this.admin(n.port));
      } catch (err) {
        last = err;
      }
    }
    throw last instanceof Error ? last : new Error('no running cluster node answered');
  }

  private async spawn(node: ClusterNodeProcess): Promise<void> {
    const args = [
      '--port',
      String(node.port),
      '--cluster-port',
      String(node.busPort),
      '--bind',
      '127.0.0.1',
      '--cluster-enabled',
      'yes',
      '--cluster-config-file',
      join(this.dir, `nodes-${node.port}.conf`),
      '--cluster-node-timeout',
      String(this.nodeTimeoutMs),
      // A replica may always stand in for its master, however long it was cut off.
      '--cluster-replica-validity-factor',
      '0',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      this.dir,
    ];
    const child = spawn('redis-server', args, { stdio: 'ignore' });
    node.child = child;
    const failed = new Promise<never>((_, reject) => {
      child.once('error', (err) => reject(new Error(`cannot start redis-server: ${err.message}`)));
      child.once('exit', (code) => reject(new Error(`redis-server exited early (code ${code})`)));
    });
    failed.catch(() => {});
    await Promise.race([waitForPing(node.port, 10_000), failed]);
  }
}

/** "from-to:host:port,..." for every slot range: equal strings mean equal views of the cluster. */
function slotOwners(reply: unknown[]): string {
  return (reply as Array<[number, number, [string, number]]>)
    .map(([from, to, [, port]]) => `${from}-${to}:${port}`)
    .sort()
    .join(',');
}
