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
  /** Commands/s on the one shard: records + lease rounds (each round GETs every node's lease). */
  readonly redisCommandsPerSec: number;
  readonly redisLeaseCommandsPerSec: number;
  /** Fraction of one core. */
  readonly redisCpu: number;
  readonly workerCpu: number;
  readonly apiCpu: number;
  /** What every replica (worker or API) receives on the events channel. */
  readonly recordsPerSecPerReplica: number;
  readonly eventBytesPerSecPerReplica: number;
  /** Redis output for pub/sub: every subscriber receives every event. */
  readonly redisPubSubOutBytesPerSec: number;
  readonly redisInBytesPerSec: number;
}

export function predict(m: ModelInputs, d: Deployment): Prediction {
  const probesPerSec = d.nodes / (d.intervalMs / 1000);
  const roundsPerSec = d.workers / (d.leaseRenewMs / 1000);
  // One claim round: GET of every node's lease + PEXPIRE of the held share + 3 script calls.
  const leaseCommandsPerSec = roundsPerSec * (d.nodes + d.nodes / d.workers + 3);
  const recordCommandsPerSec = probesPerSec * m.commandsPerProbe;
  const redisCommandsPerSec = recordCommandsPerSec + leaseCommandsPerSec;
  const subscribers = d.workers + d.apis;
  const chainBytesPerSec = d.workers * m.chainEventsPerSecPerWorker * m.chainEventBytes;
  const eventBytesPerSecPerReplica = probesPerSec * (m.eventBytesPerRecord + m.otherEventBytesPerProbe) + chainBytesPerSec;
  return {
    probesPerSec,
    probesPerSecPerWorker: probesPerSec / d.workers,
    redisCommandsPerSec,
    redisLeaseCommandsPerSec: leaseCommandsPerSec,
    redisCpu: (redisCommandsPerSec * m.redisCpuUsPerCommand) / 1e6,
    // A worker probes its share and, like an API replica, takes in every other worker's records.
    workerCpu: ((probesPerSec / d.workers) * m.workerCpuUsPerProbe + probesPerSec * (1 - 1 / d.workers) * m.apiCpuUsPerRecord) / 1e6,
    apiCpu: (probesPerSec * m.apiCpuUsPerRecord) / 1e6,
    recordsPerSecPerReplica: probesPerSec,
    eventBytesPerSecPerReplica,
    redisPubSubOutBytesPerSec: subscribers * eventBytesPerSecPerReplica,
    redisInBytesPerSec: probesPerSec * m.bytesInPerProbe,
  };
}

/** The first limit a deployment hits, and at what share of it it runs (1 = at the wall). */
export function firstWall(p: Prediction, limits: { redisCoreShare: number; workerCoreShare: number; apiCoreShare: number; nicBytesPerSec: number }): Array<{ what: string; load: number }> {
  return [
    { what: "the shard holding nodesentry's slot: CPU (one core)", load: p.redisCpu / limits.redisCoreShare },
    { what: 'a worker: CPU (one core, Node is single-threaded)', load: p.workerCpu / limits.workerCoreShare },
    { what: 'an API replica: CPU parsing every record (one core)', load: p.apiCpu / limits.apiCoreShare },
    { what: "pub/sub fan-out: the shard's network out", load: p.redisPubSubOutBytesPerSec / limits.nicBytesPerSec },
  ].sort((a, b) => b.load - a.load);
}
