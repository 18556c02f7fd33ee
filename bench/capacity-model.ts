/**
 * nodesentry's capacity model (docs/scaling.md): what one fleet costs Redis, each worker and
 * each API replica, from per-node inputs that the scale run measures. Pure arithmetic, so the
 * doc's tables and the bench's "model" column come from the same formulas.
 */
export interface ModelInputs {
  /** Bytes of one node's record as stored (STRLEN of `{p}:node:<id>`), measured. */
  readonly recordBytes: number;
  /** Bytes of one record inside a `records` event (the record plus its share of the envelope), measured. */
  readonly eventBytesPerRecord: number;
  /** Redis commands per node per probe, outside lease rounds (SET, LPUSH, LTRIM, PEXPIRE, batch SADD/PUBLISH shares), measured. */
  readonly commandsPerProbe: number;
  /** Bytes sent to Redis per probe (the pipelines' share), measured. */
  readonly bytesInPerProbe: number;
  /** Worker CPU per own probe, µs (probe, judge, encode, write), measured (receiving others' records subtracted). */
  readonly workerCpuUsPerProbe: number;
  /** API replica CPU per record received (JSON.parse + view ingest), µs, measured. */
  readonly apiCpuUsPerRecord: number;
  /**
   * CPU a worker / an API replica spends whatever its share (timers, lease rounds, waking per
   * event), fraction of a core: fit through two fleets (bench/scale.ts withFit), 0 when the
   * per-unit figures are single-fleet averages (which then carry it).
   */
  readonly workerFixedCpu: number;
  readonly apiFixedCpu: number;
  /** The slot shard's CPU whatever the load (cron, the cluster bus, replication pings), fraction of a core; as above. */
  readonly redisFixedCpu: number;
  /** Redis CPU per command, µs, measured on the shard that holds nodesentry's slot (lease GETs included). */
  readonly redisCpuUsPerCommand: number;
  /** Chain-fact events per second per worker (every flush that re-ranks), and their mean size, measured. */
  readonly chainEventsPerSecPerWorker: number;
  readonly chainEventBytes: number;
  /** Other events (transitions, drains, lease hand-overs) per probe, bytes, measured. */
  readonly otherEventBytesPerProbe: number;
}

export interface Deployment {
  readonly nodes: number;
  readonly intervalMs: number;
  readonly workers: number;
  readonly apis: number;
  /** Lease round period, ms (leaseRenewFor: min(2 s, interval / 2)). */
  readonly leaseRenewMs: number;
}

export interface Prediction {
  readonly probesPerSec: number;
  readonly probesPerSecPerWorker: number;
  /** Commands/s on the one shard: records + lease rounds (a round renews its own leases and reads only candidates). */
  readonly redisCommandsPerSec: number;
  readonly redisLeaseCommandsPerSec: number;
  /** Lease keys read per second inside the claim script's MGETs (own leases, plus every node in a full round). */
  readonly redisLeaseKeyReadsPerSec: number;
  /** Fraction of one core. */
  readonly redisCpu: number;
  readonly workerCpu: number;
  readonly apiCpu: number;
  /** What every replica (worker or API) receives on the events channel. */
  readonly recordsPerSecPerReplica: number;
  readonly eventBytesPerSecPerReplica: number;
  /**
   * Redis output for pub/sub: every subscriber receives every event. On a cluster it leaves
   * from the master of the events route's slot (StoreKeys.eventsRoute), not the data's.
   */
  readonly redisPubSubOutBytesPerSec: number;
  readonly redisInBytesPerSec: number;
  /** The data's shard's network out: the writes again to its one replica (replies are small). */
  readonly redisDataOutBytesPerSec: number;
}

/** As FULL_LEASE_ROUND_EVERY in src/polling/lease-keeper.ts. */
const FULL_ROUND_EVERY = 15;

export function predict(m: ModelInputs, d: Deployment): Prediction {
  const probesPerSec = d.nodes / (d.intervalMs / 1000);
  const roundsPerSec = d.workers / (d.leaseRenewMs / 1000);
  // One lease round of a worker at its share (src/polling/lease-keeper.ts, redis-scripts.ts): the
  // heartbeat script (EVALSHA, TIME, ZADD, ZREMRANGEBYSCORE, PTTL) and liveReplicas (EVALSHA,
  // TIME, ZRANGEBYSCORE); then the claim script offered only its own leases: EVALSHA, TIME,
  // one MGET per 1,000 leases, a PEXPIRE per lease, one ZADD of deadlines per 500. A worker at
  // its share asks for no candidates. One round in FULL_ROUND_EVERY offers every node (more
  // MGETs, the same renewals). Before issue 16's change every round GET every node's lease:
  // workers x nodes reads per round instead of about nodes.
  const own = d.nodes / d.workers;
  const fullShare = 1 / FULL_ROUND_EVERY;
  const leaseCommandsPerRound =
    8 +
    2 +
    Math.ceil(own / 1000) +
    own +
    Math.ceil(own / 500) +
    fullShare * (Math.ceil(d.nodes / 1000) - Math.ceil(own / 1000));
  const leaseCommandsPerSec = roundsPerSec * leaseCommandsPerRound;
  const leaseKeyReadsPerSec = roundsPerSec * (own + fullShare * (d.nodes - own));
  const recordCommandsPerSec = probesPerSec * m.commandsPerProbe;
  const redisCommandsPerSec = recordCommandsPerSec + leaseCommandsPerSec;
  const subscribers = d.workers + d.apis;
  const chainBytesPerSec = d.workers * m.chainEventsPerSecPerWorker * m.chainEventBytes;
  const eventBytesPerSecPerReplica =
    probesPerSec * (m.eventBytesPerRecord + m.otherEventBytesPerProbe) + chainBytesPerSec;
  return {
    probesPerSec,
    probesPerSecPerWorker: probesPerSec / d.workers,
    redisCommandsPerSec,
    redisLeaseCommandsPerSec: leaseCommandsPerSec,
    redisLeaseKeyReadsPerSec: leaseKeyReadsPerSec,
    // A key read inside MGET is counted as one command's CPU: an upper bound (MGET's per-key
    // cost is below a command's dispatch).
    redisCpu: m.redisFixedCpu + ((redisCommandsPerSec + leaseKeyReadsPerSec) * m.redisCpuUsPerCommand) / 1e6,
    // A worker probes its share and, like an API replica, takes in every other worker's records.
    workerCpu:
      m.workerFixedCpu +
      ((probesPerSec / d.workers) * m.workerCpuUsPerProbe + probesPerSec * (1 - 1 / d.workers) * m.apiCpuUsPerRecord) /
        1e6,
    apiCpu: m.apiFixedCpu + (probesPerSec * m.apiCpuUsPerRecord) / 1e6,
    recordsPerSecPerReplica: probesPerSec,
    eventBytesPerSecPerReplica,
    redisPubSubOutBytesPerSec: subscribers * eventBytesPerSecPerReplica,
    redisInBytesPerSec: probesPerSec * m.bytesInPerProbe,
    redisDataOutBytesPerSec: probesPerSec * m.bytesInPerProbe,
  };
}

/** The first limit a deployment hits, and at what share of it it runs (1 = at the wall). */
export function firstWall(
  p: Prediction,
  limits: { redisCoreShare: number; workerCoreShare: number; apiCoreShare: number; nicBytesPerSec: number },
): Array<{ what: string; load: number }> {
  return [
    { what: "the shard holding nodesentry's slot: CPU (one core)", load: p.redisCpu / limits.redisCoreShare },
    { what: 'a worker: CPU (one core, Node is single-threaded)', load: p.workerCpu / limits.workerCoreShare },
    { what: 'an API replica: CPU parsing every record (one core)', load: p.apiCpu / limits.apiCoreShare },
    // Until issue 16's tenth round both left the data's shard (the fenced script published the
    // feed): one wall at their sum. The client now publishes after the write, routed to another
    // master (src/store/keys.ts eventsRoute): two walls, each with its own NIC.
    {
      what: "pub/sub fan-out: the events route's master's network out",
      load: p.redisPubSubOutBytesPerSec / limits.nicBytesPerSec,
    },
    {
      what: "replication of the writes: the data shard's network out",
      load: p.redisDataOutBytesPerSec / limits.nicBytesPerSec,
    },
    { what: "the writes: the shard's network in", load: p.redisInBytesPerSec / limits.nicBytesPerSec },
  ].sort((a, b) => b.load - a.load);
}
