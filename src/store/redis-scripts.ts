import { LuaScript } from './lua-script.js';

/**
 * The store's Lua scripts. Each runs atomically on the server, so two replicas claiming at the
 * same moment never both take one lease, and an index entry is never pruned while a record is
 * being written. All keys they touch share one hash slot (keys.ts), which Cluster requires.
 */

/**
 * KEYS: lease keys. ARGV: replica, ttlMs, max. First renews the leases this replica holds (up
 * to `max`; any held beyond `max` are given up at once so another replica can take them), then
 * takes free ones in KEYS order until `max` are held. Returns 1-based KEYS indexes held.
 */
export const claimLeasesScript = new LuaScript(
  'claimLeases',
  `
local replica = ARGV[1]
local ttl = tonumber(ARGV[2])
local max = tonumber(ARGV[3])
local held = {}
local free = {}
for i = 1, #KEYS do
  local owner = redis.call('GET', KEYS[i])
  if owner == replica then
    if #held < max then
      redis.call('PEXPIRE', KEYS[i], ttl)
      held[#held + 1] = i
    else
      redis.call('DEL', KEYS[i])
    end
  elseif not owner then
    free[#free + 1] = i
  end
end
for _, i in ipairs(free) do
  if #held >= max then break end
  if redis.call('SET', KEYS[i], replica, 'PX', ttl, 'NX') then
    held[#held + 1] = i
  end
end
table.sort(held)
return held
`,
);

/** KEYS: lease keys. ARGV: replica. Compare-and-delete; returns 1-based KEYS indexes released. */
export const releaseLeasesScript = new LuaScript(
  'releaseLeases',
  `
local released = {}
for i = 1, #KEYS do
  if redis.call('GET', KEYS[i]) == ARGV[1] then
    redis.call('DEL', KEYS[i])
    released[#released + 1] = i
  end
end
return released
`,
);

// Heartbeats use the Redis server's clock, so replicas with skewed clocks still agree on who
// is live. Scripts that read TIME and then write need effects replication: the default since
// Redis 5; the guarded call enables it on older servers.
const serverNowMs = `
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

/**
 * KEYS: replicas zset. ARGV: replica, ttlMs. Scores the replica with its expiry, prunes expired
 * members, and keeps the zset's own TTL at least as long as the longest heartbeat so it goes
 * away when every replica has.
 */
export const heartbeatScript = new LuaScript(
  'heartbeat',
  `${serverNowMs}
local ttl = tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('PTTL', KEYS[1]) < ttl then
  redis.call('PEXPIRE', KEYS[1], ttl)
end
return 1
`,
);

/** KEYS: replicas zset. Members whose heartbeat expires after the server's now. */
export const liveReplicasScript = new LuaScript(
  'liveReplicas',
  `${serverNowMs}
return redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf')
`,
);

/**
 * KEYS: [index set, record key...]. ARGV: node ids matching the record keys. Removes an id from
 * the index only if its record is still absent, so a record written since the caller's read
 * keeps its entry. Returns how many ids were removed.
 */
export const pruneIndexScript = new LuaScript(
  'pruneIndex',
  `
local removed = 0
for i = 2, #KEYS do
  if redis.call('EXISTS', KEYS[i]) == 0 then
    removed = removed + redis.call('SREM', KEYS[1], ARGV[i - 1])
  end
end
return removed
`,
);
