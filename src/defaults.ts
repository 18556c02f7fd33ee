// The defaults that more than one module applies (settings, the poller, the stores, the CLI's
// probe), in one place with their units; each module keeps its own single-use defaults beside it.

/** Probing: how much runs at once, and how much of an answer is read. */
export const PROBE_DEFAULTS = Object.freeze({
  /** Probes in flight across all nodes (NODESENTRY_CONCURRENCY). */
  concurrency: 64,
  /** Probes in flight to one host (NODESENTRY_PER_HOST_CONCURRENCY); the global limit still applies. */
  perHostConcurrency: 8,
  // geth refuses requests over 5 MiB; no probe answer comes near 4 MiB, a broken proxy might.
  /** Largest probe answer read, bytes (NODESENTRY_MAX_RESPONSE_BYTES). */
  maxResponseBytes: 4 * 1024 * 1024,
});

/** Leases between replicas: renewed this often at most, ms; a lease lives this many renewals. */
export const LEASE_DEFAULTS = Object.freeze({
  renewMs: 2_000,
  ttlRenewals: 3,
});

/** What the stores keep (both the Redis and the in-process one). */
export const RETENTION_DEFAULTS = Object.freeze({
  /** History points per node. */
  historyLimit: 360,
  /** Operator audit entries. */
  auditLimit: 1000,
  /** A node's history outlives its last push by this long, ms (1 day). */
  historyTtlMs: 86_400_000,
  /** State changes kept per node. */
  transitionLimit: 50,
  /** State-change lists outlive their last push by this long, ms (7 days). */
  transitionTtlMs: 604_800_000,
  /** State changes kept for the whole fleet. */
  fleetTransitionLimit: 2000,
});

/**
 * Per-peer lists (getpeerinfo): each node's list is built this often, ms, the first at a phase
 * within this long of the node's first probe (the poller); the API tells a list not built yet
 * from one that is not coming by the same figure.
 */
export const PEER_DETAILS_EVERY_MS = 60_000;
