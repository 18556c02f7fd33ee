// A Lua script run with EVALSHA, falling back to EVAL.
import { createHash } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';

/**
 * A Lua script run with EVALSHA, falling back to EVAL when the server does not know it yet
 * (first use, restart, failover, SCRIPT FLUSH). Keys are passed as KEYS, so Redis Cluster
 * routes the call by slot; all of nodesentry's keys share one (see keys.ts).
 */
export class LuaScript {
  readonly sha: string;

  constructor(
    readonly name: string,
    readonly source: string,
  ) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  async run(client: Redis | Cluster, keys: readonly string[], args: ReadonlyArray<string | number>): Promise<unknown> {
    // `call` with an array: no argument-spread limit for sweeps of many thousand keys.
    const rest = [keys.length, ...keys, ...args];
    try {
      return await client.call('evalsha', [this.sha, ...rest]);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return await client.call('eval', [this.source, ...rest]);
    }
  }
}
