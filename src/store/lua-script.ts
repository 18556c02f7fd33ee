// A Lua script run with EVALSHA, falling back to EVAL.
import { createHash } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { PackedCommand } from './packed-command.js';

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
    // One array, no spread: no argument limit for sweeps of many thousand keys. Sent packed
    // (packed-command.ts): a sweep batch's call carries every record of the batch whole.
    const call: Array<string | number> = [this.sha, keys.length];
    for (let i = 0; i < keys.length; i++) call.push(keys[i]!);
    for (let i = 0; i < args.length; i++) call.push(args[i]!);
    try {
      return await send(client, 'evalsha', call);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      call[0] = this.source;
      return await send(client, 'eval', call);
    }
  }
}

/** What `client.call(name, args)` does (replies decoded as UTF-8 strings), with the command packed. */
function send(client: Redis | Cluster, name: string, args: Array<string | number>): Promise<unknown> {
  return client.sendCommand(new PackedCommand(name, args, { replyEncoding: 'utf8' })) as Promise<unknown>;
}
