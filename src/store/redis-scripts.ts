// The store's Lua scripts: leases, heartbeats, index pruning, drains and fenced sweeps, each atomic.
import { LuaScript } from './lua-script.js';

/**
 * The store's Lua scripts. Each runs atomically on the server, so two replicas claiming at the
 * same moment never both take one lease, and an index entry is never pruned while a record is
 * being written. All keys they touch share one hash slot (keys.ts), which Cluster requires.
 */

const serverNowMs = `
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

/**
 * Lease deadlines (issue 16, lease rounds that offer only candidates): a sorted set beside the
 * lease keys, member = node id, score = when its lease ends by the Redis server clock. Every
 * script that sets, renews or drops a lease moves its score in the same atomic step, so a
 * lease that expired or was given up is found with one ZRANGEBYSCORE instead of a GET of every
 * node's lease: a worker offers the claim only its own leases and those candidates. The lease
 * keys stay the authority (SET NX below); a stale or missing score can only make a worker offer
 * a held lease (refused) or wait for its next full round, never take a lease that is held.
 */

/**
 * KEYS: [lease deadlines zset, lease keys...]. ARGV: replica, ttlMs, max, then the node ids of
 * the lease keys. First renews the leases this replica holds (up to `max`; any held beyond
 * `max` are given up at once so another replica can take them), then takes free ones in KEYS
 * order until `max` are held. Free leases left untaken are scored "now", so every replica sees
 * them as candidates. Leases held by others are read (MGET, 1,000 a call) and left alone.
 * Returns 1-based indexes, among the lease keys, of those held.
 */
export const claimLeasesScript = new LuaScript(
  'claimLeases',
  `${serverNowMs}
local replica = ARGV[1]
local ttl = tonumber(ARGV[2])
local max = tonumber(ARGV[3])
local n = #KEYS - 1
local owners = {}
for s = 2, #KEYS, 1000 do
  local got = redis.call('MGET', unpack(KEYS, s, math.min(s + 999, #KEYS)))
  for j = 1, #got do owners[s + j - 2] = got[j] end
end
local held = {}
local free = {}
local scores = {}
local function deadline(i, at)
  scores[#scores + 1] = at
  scores[#scores + 1] = ARGV[i + 3]
end
for i = 1, n do
  local owner = owners[i]
  if owner == replica then
    if #held < max then
      redis.call('PEXPIRE', KEYS[i + 1], ttl)
      held[#held + 1] = i
      deadline(i, now + ttl)
    else
      redis.call('DEL', KEYS[i + 1])
      deadline(i, now)
    end
  elseif not owner then
    free[#free + 1] = i
  end
end
for _, i in ipairs(free) do
  if #held < max and redis.call('SET', KEYS[i + 1], replica, 'PX', ttl, 'NX') then
    held[#held + 1] = i
    deadline(i, now + ttl)
  else
    deadline(i, now)
  end
end
for s = 1, #scores, 1000 do
  redis.call('ZADD', KEYS[1], unpack(scores, s, math.min(s + 999, #scores)))
end
table.sort(held)
return held
`,
);

/**
 * KEYS: [lease deadlines zset]. ARGV: limit, keepMs. Node ids whose lease has ended (expired,
 * given up, or free and untaken), oldest first, at most `limit`. Members ended more than
 * `keepMs` ago are dropped first: nobody configures them any more (full rounds re-add any
 * free node still configured somewhere).
 */
export const leaseCandidatesScript = new LuaScript(
  'leaseCandidates',
  `${serverNowMs}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. (now - tonumber(ARGV[2])))
return redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))
`,
);

/**
 * KEYS: [lease deadlines zset, lease keys...]. ARGV: replica, then the node ids of the lease
 * keys. Compare-and-delete; a released lease is scored "now" (a candidate for everyone).
 * Returns 1-based indexes, among the lease keys, released.
 */
export const releaseLeasesScript = new LuaScript(
  'releaseLeases',
  `${serverNowMs}
local released = {}
for i = 2, #KEYS do
  if redis.call('GET', KEYS[i]) == ARGV[1] then
    redis.call('DEL', KEYS[i])
    redis.call('ZADD', KEYS[1], now, ARGV[i])
    released[#released + 1] = i - 1
  end
end
return released
`,
);

// Heartbeats use the Redis server's clock, so replicas with skewed clocks still agree on who
// is live. Scripts that read TIME and then write need effects replication: the default since
// Redis 5; the guarded call enables it on older servers.
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

// The version of a stored drain fact (see DrainFact): `version`, else `at` (facts written
// before versions existed), else 0; a value that is not JSON counts as 0 and is overwritten.
const storedDrainVersion = `
local function storedVersion(raw)
  if not raw then return -1 end
  local ok, d = pcall(cjson.decode, raw)
  if not ok or type(d) ~= 'table' then return 0 end
  return tonumber(d.version) or tonumber(d.at) or 0
end
`;

/**
 * KEYS: [drains hash]. ARGV: nodeId, stored JSON up to its version, event JSON up to its
 * version, events channel. Assigns version = max(server now ms, stored version + 1), so a
 * decision always outranks the one it replaces whatever the replicas' clocks say, stores it,
 * publishes it. Returns the version.
 */
export const setDrainScript = new LuaScript(
  'setDrain',
  `${serverNowMs}${storedDrainVersion}
local version = math.max(now, storedVersion(redis.call('HGET', KEYS[1], ARGV[1])) + 1)
local v = string.format('%d', version)
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. v .. '}')
redis.call('PUBLISH', ARGV[4], ARGV[3] .. v .. '}')
return v
`,
);

/**
 * KEYS: [drains hash]. ARGV: events channel, then per fact: nodeId, version, stored JSON,
 * event JSON. Writes (and publishes) each fact only where the stored version is lower or
 * absent. Returns the 1-based indexes of the facts written.
 */
export const restoreDrainsScript = new LuaScript(
  'restoreDrains',
  `${storedDrainVersion}
local written = {}
local n = (#ARGV - 1) / 4
for i = 1, n do
  local base = 1 + (i - 1) * 4
  local nodeId = ARGV[base + 1]
  if storedVersion(redis.call('HGET', KEYS[1], nodeId)) < tonumber(ARGV[base + 2]) then
    redis.call('HSET', KEYS[1], nodeId, ARGV[base + 3])
    redis.call('PUBLISH', ARGV[1], ARGV[base + 4])
    written[#written + 1] = i
  end
end
return written
`,
);

/**
 * A sweep batch fenced by lease ownership (issue 14: a replica paused past its lease, then
 * resumed, wrote records 19 s old over the new owner's). The lease is read and the node's
 * values are written in one atomic call, so no owner change can fall between check and write.
 *
 * KEYS: [node index set, then per node: lease, record, peers, history, transitions].
 * ARGV: replica, recordPx, peersPx, historyLimit, historyTtlMs, transitionLimit,
 * transitionTtlMs, historySlack, then per node: nodeId, record JSON or '', peers JSON or '',
 * history count, history points (oldest first), transition count, transitions (oldest first).
 * Writes a node's values only where its lease holds `replica`, and its record only if it is
 * not older than the stored one (records begin with their sample's observedAt, see
 * store-codec, so GETRANGE reads a few bytes, not the record): a lease lost and taken back
 * does not let results buffered before the loss land after the owner's. Returns [positions
 * refused by the lease, positions whose record was older], 1-based; the caller announces the
 * others. (The script published the records event itself until issue 16's eleventh round: on a
 * cluster that put the whole feed's fan-out on the master holding the data; now the client
 * publishes it after the reply, routed to another master, see StoreKeys.eventsRoute.)
 *
 * Commands per node (issue 16): GET of the lease, GETRANGE, SET, one LPUSH of its history
 * points; the ids written go into the index in one SADD per call. A history list is trimmed
 * and its TTL refreshed only every `historySlack` points (it holds at most historyLimit +
 * historySlack - 1, and getHistory reads no more than historyLimit), where it was LTRIM and
 * PEXPIRE after every point: 2 commands of the 7 a probe cost. The caller passes 1 where the
 * TTL is too short to be refreshed that rarely.
 */
export const fencedSweepScript = new LuaScript(
  'fencedSweep',
  `
local replica = ARGV[1]
local hLimit = tonumber(ARGV[4])
local tLimit = tonumber(ARGV[6])
local slack = tonumber(ARGV[8])
local written = {}
local refused = {}
local older = {}
local head = '^{"v":1,"observedAt":(%d+)'
local a = 9
local n = (#KEYS - 1) / 5
for i = 1, n do
  local k = 2 + (i - 1) * 5
  local nodeId, record, peers = ARGV[a], ARGV[a + 1], ARGV[a + 2]
  local nh = tonumber(ARGV[a + 3])
  local h0 = a + 4
  local nt = tonumber(ARGV[h0 + nh])
  local t0 = h0 + nh + 1
  a = t0 + nt
  local fresh = true
  local holds = redis.call('GET', KEYS[k]) == replica
  if record ~= '' and holds then
    local storedAt = tonumber(string.match(redis.call('GETRANGE', KEYS[k + 1], 0, 63), head))
    local newAt = tonumber(string.match(record, head))
    fresh = storedAt == nil or newAt == nil or newAt >= storedAt
  end
  if not fresh then
    older[#older + 1] = i
  elseif holds then
    if peers ~= '' then redis.call('SET', KEYS[k + 2], peers, 'PX', ARGV[3]) end
    if nh > 0 then
      local len = redis.call('LPUSH', KEYS[k + 3], unpack(ARGV, h0, h0 + nh - 1))
      if len >= hLimit + slack then
        redis.call('LTRIM', KEYS[k + 3], 0, hLimit - 1)
        redis.call('PEXPIRE', KEYS[k + 3], ARGV[5])
      elseif len == nh or math.floor(len / slack) ~= math.floor((len - nh) / slack) then
        redis.call('PEXPIRE', KEYS[k + 3], ARGV[5])
      end
    end
    if nt > 0 then
      for j = t0, t0 + nt - 1 do redis.call('LPUSH', KEYS[k + 4], ARGV[j]) end
      redis.call('LTRIM', KEYS[k + 4], 0, tLimit - 1)
      redis.call('PEXPIRE', KEYS[k + 4], ARGV[7])
    end
    if record ~= '' then
      redis.call('SET', KEYS[k + 1], record, 'PX', ARGV[2])
      written[#written + 1] = nodeId
    end
  else
    refused[#refused + 1] = i
  end
end
for s = 1, #written, 1000 do
  redis.call('SADD', KEYS[1], unpack(written, s, math.min(s + 999, #written)))
end
return { refused, older }
`,
);
