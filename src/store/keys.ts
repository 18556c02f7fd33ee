// Every Redis key and channel, built from one prefix.
import { InvalidArgumentError } from '../errors/argument-errors.js';
/**
 * Every Redis key and channel nodesentry uses, built here and nowhere else (as bullmq's
 * queue-keys), from one configurable prefix.
 *
 * The whole prefix is wrapped in ONE hash tag: `{nodesentry}:node:<id>`. Redis Cluster hashes
 * only the part inside the first `{...}`, so every key lands in the same slot and multi-key
 * Lua scripts (lease claims, index pruning) and pipelines work unchanged on a cluster. The
 * price is that one prefix never spreads over several shards. We accept it: nodesentry's data
 * is small (a few MB of records for 10k nodes, plus capped history), far below what one shard
 * holds. To spread load, run several deployments with different prefixes.
 */
export const DEFAULT_PREFIX = 'nodesentry';

/** Anything but braces (they would break the hash tag), whitespace and glob metacharacters. */
const PREFIX_PATTERN = /^[A-Za-z0-9_.:@/-]{1,100}$/;

export interface StoreKeys {
  /** The prefix as configured, e.g. `nodesentry`. */
  readonly prefix: string;
  /** The hash-tagged prefix every key starts with, e.g. `{nodesentry}`. */
  readonly tag: string;
  /** Set of known node ids (pruned lazily when a record has expired). */
  readonly nodeIndex: string;
  node(nodeId: string): string;
  peers(nodeId: string): string;
  history(nodeId: string): string;
  /** List of a node's state changes (TransitionEntry JSON), newest first. */
  transitions(nodeId: string): string;
  /** List of every node's state changes (FleetTransition JSON), newest first. */
  readonly fleetTransitions: string;
  chain(chain: string): string;
  /** Hash nodeId -> Drain JSON. */
  readonly drains: string;
  readonly audit: string;
  lease(nodeId: string): string;
  /** Sorted set of lease deadlines: member = node id, score = when its lease ends (Redis server clock, epoch ms). */
  readonly leaseDeadlines: string;
  /** Sorted set of live replicas, scored by heartbeat expiry (Redis server clock, epoch ms). */
  readonly replicas: string;
  /** The one pub/sub channel every replica publishes to and listens on. */
  readonly events: string;
  /**
   * A key that is never written, in a slot half the cluster's slot space away from the tag's:
   * on a Redis Cluster the client sends its PUBLISHes in a pipeline with an `EXISTS` of this
   * key, so they leave from the master that owns that slot (one origin, one order), which with
   * two or more masters of even slot ranges is not the master holding the data. The records
   * feed then costs the data's master no network out and no fan-out CPU (docs/scaling.md).
   */
  readonly eventsRoute: string;
  /** Hit count of a rate-limit bucket in one fixed window (see Store.countInWindow). */
  rate(bucket: string, window: number): string;
  /** Random id of this store's data; a reconnect that finds it gone or changed means Redis lost its data. */
  readonly epoch: string;
  /** Readiness write probe: the last replica that proved the store takes writes. */
  readonly probe: string;
}

/** Throws a TypeError naming the problem (the prefix is not a secret; it is safe to repeat). */
export function validatePrefix(prefix: string): void {
  if (!PREFIX_PATTERN.test(prefix)) {
    throw new InvalidArgumentError(
      `invalid store prefix ${JSON.stringify(prefix)}: use 1-100 characters of A-Z a-z 0-9 _ . : @ / - (no braces, spaces or glob characters)`,
    );
  }
}

/** The Redis Cluster hash slot of a key: CRC16 (XMODEM) of its hash tag, or of the key, mod 16384. */
export function keySlot(key: string): number {
  const bytes = Buffer.from(key, 'utf8');
  let start = 0;
  let end = bytes.length;
  const open = bytes.indexOf(0x7b); // {
  if (open !== -1) {
    const close = bytes.indexOf(0x7d, open + 1); // }
    if (close > open + 1) {
      start = open + 1;
      end = close;
    }
  }
  let crc = 0;
  for (let i = start; i < end; i++) {
    crc ^= bytes[i]! << 8;
    for (let b = 0; b < 8; b++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % 16384;
}

const SLOTS = 16384;
/** Candidates tried for the events route: the nearest of 4,096 lands within a few slots of the target. */
const ROUTE_CANDIDATES = 4096;

/**
 * `{<prefix>/events:<i>}:route`, the i whose slot is nearest (circularly) to the tag's slot +
 * 8192. Deterministic, so every replica of a prefix picks the same key without asking Redis.
 */
function eventsRouteKey(prefix: string, tagSlot: number): string {
  const target = (tagSlot + SLOTS / 2) % SLOTS;
  let best = '';
  let bestDistance = SLOTS;
  for (let i = 0; i < ROUTE_CANDIDATES && bestDistance > 0; i++) {
    const key = `{${prefix}/events:${i}}:route`;
    const d = Math.abs(keySlot(key) - target);
    const distance = Math.min(d, SLOTS - d);
    if (distance < bestDistance) {
      best = key;
      bestDistance = distance;
    }
  }
  return best;
}

export function createStoreKeys(prefix: string = DEFAULT_PREFIX): StoreKeys {
  validatePrefix(prefix);
  const tag = `{${prefix}}`;
  let route: string | undefined;
  return {
    prefix,
    tag,
    nodeIndex: `${tag}:nodes`,
    node: (nodeId) => `${tag}:node:${nodeId}`,
    peers: (nodeId) => `${tag}:peers:${nodeId}`,
    history: (nodeId) => `${tag}:history:${nodeId}`,
    transitions: (nodeId) => `${tag}:transitions:${nodeId}`,
    fleetTransitions: `${tag}:fleet-transitions`,
    chain: (chain) => `${tag}:chain:${chain}`,
    drains: `${tag}:drains`,
    epoch: `${tag}:epoch`,
    probe: `${tag}:probe`,
    audit: `${tag}:audit`,
    lease: (nodeId) => `${tag}:lease:${nodeId}`,
    leaseDeadlines: `${tag}:lease-deadlines`,
    replicas: `${tag}:replicas`,
    rate: (bucket, window) => `${tag}:rate:${bucket}:${window}`,
    events: `${tag}:events`,
    // Computed on first use (a few thousand CRC16s): only a Redis store on a cluster needs it.
    get eventsRoute() {
      route ??= eventsRouteKey(prefix, keySlot(tag));
      return route;
    },
  };
}

export interface KeyDescription {
  /** Key (or channel) name pattern with the prefix filled in, e.g. `{nodesentry}:node:<nodeId>`. */
  readonly pattern: string;
  /** Redis type: string, set, list, hash, zset, or channel; `route` for a key never written that only names a slot. */
  readonly type: 'string' | 'set' | 'list' | 'hash' | 'zset' | 'channel' | 'route';
  /** How long it lives. */
  readonly ttl: string;
  readonly purpose: string;
}

/** Every key and channel under `prefix`, for the README and operators (`redis-cli --scan`). */
export function describeStoreKeys(prefix: string = DEFAULT_PREFIX): KeyDescription[] {
  const k = createStoreKeys(prefix);
  return [
    {
      pattern: k.node('<nodeId>'),
      type: 'string',
      ttl: 'sweep TTL (PX, refreshed by every sweep)',
      purpose:
        'latest NodeRecord as JSON ({v:1, ...}): sample without peerList, health state, writer replica, writtenAt',
    },
    {
      pattern: k.nodeIndex,
      type: 'set',
      ttl: 'none (members pruned lazily when their record has expired)',
      purpose: 'ids of nodes that have a record; getAllNodes = SMEMBERS + chunked MGET',
    },
    {
      pattern: k.peers('<nodeId>'),
      type: 'string',
      ttl: '3 x peerDetailsEveryMs (60 s), at least the sweep TTL',
      purpose:
        "the node's last peer list as JSON, columnar ({v:2, fields, subvers, msgs, peers}; {v:1, peers} of older writers still read)",
    },
    {
      pattern: k.history('<nodeId>'),
      type: 'list',
      ttl: 'historyTtlMs (default 1 day), refreshed on every push',
      purpose: 'compact history points as JSON, newest first, capped at historyLimit (default 360)',
    },
    {
      pattern: k.transitions('<nodeId>'),
      type: 'list',
      ttl: 'transitionTtlMs (default 7 days), refreshed on every push',
      purpose:
        'state changes as JSON ({v:1, from, to, reasons, at, replica}), newest first, capped at transitionLimit (default 50)',
    },
    {
      pattern: k.fleetTransitions,
      type: 'list',
      ttl: 'transitionTtlMs (default 7 days), refreshed on every push',
      purpose:
        "every node's state changes as JSON ({v:1, nodeId, chain, from, to, reasons, at, replica}), newest first, capped at fleetTransitionLimit (default 2000); kept when a node is removed",
    },
    {
      pattern: k.chain('<chain>'),
      type: 'string',
      ttl: 'sweep TTL',
      purpose: 'per-chain facts computed by workers (e.g. reference head) as JSON ({v:1, ...})',
    },
    {
      pattern: k.drains,
      type: 'hash',
      ttl: "none (an operator's decision persists)",
      purpose: 'nodeId -> Drain JSON ({v:1, nodeId, by, at, reason?})',
    },
    {
      pattern: k.audit,
      type: 'list',
      ttl: 'none',
      purpose: 'operator actions as JSON ({v:1, at, entry}), newest first, capped at auditLimit (default 1000)',
    },
    {
      pattern: k.lease('<nodeId>'),
      type: 'string',
      ttl: "lease TTL (PX, renewed by the holder's claims)",
      purpose: 'id of the replica that polls this node',
    },
    {
      pattern: k.leaseDeadlines,
      type: 'zset',
      ttl: 'none (members ended over 10 minutes ago are pruned)',
      purpose:
        "when each node's lease ends: member = node id, score = epoch ms by the Redis server clock, moved with the lease by the claim and release scripts; lease rounds offer only expired members and their own leases",
    },
    {
      pattern: k.replicas,
      type: 'zset',
      ttl: 'longest heartbeat TTL (members past their score are ignored and pruned)',
      purpose: 'live replicas: member = replica id, score = heartbeat expiry in epoch ms by the Redis server clock',
    },
    {
      pattern: k.rate('<bucket>', 0).replace(/0$/, '<window>'),
      type: 'string',
      ttl: 'two windows (PX)',
      purpose:
        'requests counted in one fixed window of a rate limit: bucket = rpc:<sha256 of the API key or client address, 24 hex>, window = epoch ms / window length',
    },
    {
      pattern: k.epoch,
      type: 'string',
      ttl: 'none',
      purpose:
        'random id of the data set, created by the first replica; found missing after a reconnect, it tells workers Redis lost its data and they restore the drains they hold',
    },
    {
      pattern: k.probe,
      type: 'string',
      ttl: '60 s (PX)',
      purpose:
        'readiness write probe: id of the replica that last proved the store takes writes (every second per replica)',
    },
    {
      pattern: k.events,
      type: 'channel',
      ttl: 'pub/sub (not stored)',
      purpose:
        'StoreEvent JSON ({v:1, type, ...}) from every replica: records, transition, chain, drain, leases-released, nodes-removed',
    },
    {
      pattern: k.eventsRoute,
      type: 'route',
      ttl: 'never written',
      purpose:
        "routes PUBLISH on a Redis Cluster: sent with an EXISTS of this key, events leave from the master of its slot, half the slot space away from the data's, so the records feed does not load the data's master",
    },
  ];
}
