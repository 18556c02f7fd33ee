// Probes one node: runs its family's calls through the RPC client and builds a Sample.
import { performance } from 'node:perf_hooks';
import type { Dispatcher } from 'undici';
import { BaseError } from '../errors/base-error.js';
import { RpcErrorCode, RpcFailure, RpcMalformedError, WrongChainError } from '../errors/rpc-errors.js';
import { type Credentials, CredentialsError } from '../rpc/credentials.js';
import { NO_PARAMS, RpcClient, type RpcOutcome } from '../rpc/rpc-client.js';
import type { SecretUrl } from '../rpc/secret-url.js';
import type { ChainSpec } from './chain-spec.js';
import { bitcoinProbe } from './bitcoin-probe.js';
import { evmProbe } from './evm-probe.js';
import type { FamilyProbe, ProbeFields } from './family-probe.js';
import { InvalidValue } from './parse-values.js';
import type { Sample, SampleError } from './sample.js';
import { InvalidArgumentError } from '../errors/argument-errors.js';

/** The node a prober talks to: what it reads of a NodeConfig (config/ imports chains/, not the reverse). */
export interface ProbeTarget {
  readonly id: string;
  readonly chain: ChainSpec;
  /** Safe to log; requests go to `requestUrl` when it is set. */
  readonly url: string;
  readonly requestUrl?: SecretUrl;
  readonly credentials?: Credentials;
  readonly timeoutMs: number;
}

export interface NodeProberOptions {
  /** Shared keep-alive dispatcher (one per process, owned by the caller). */
  readonly dispatcher: Dispatcher;
  /** Cap on one response body, bytes. */
  readonly maxResponseBytes: number;
  /** A method found missing is asked again after this long (nodes get upgraded). Default 1 h. */
  readonly recheckMissingAfterMs?: number;
  /**
   * Per-peer details (Bitcoin family `getpeerinfo`, by far the heaviest call, and the list built
   * from it) are due this often, and at once when the node's peer count changes. getpeerinfo is
   * also asked, for the inbound / outbound split only, on first contact. Default 60 s; 0 = every
   * probe.
   */
  readonly peerDetailsEveryMs?: number;
  /**
   * When the first per-peer list is due, ms after the first probe. Default: a stable hash of the
   * node id over `peerDetailsEveryMs` (`peerListPhaseMs`), so a cold start of many nodes does not
   * build every list in its first sweep, and the every-minute refreshes stay spread. 0 = on the
   * first probe.
   */
  readonly peerDetailsPhaseMs?: number;
  readonly now?: () => number;
}

export interface NodeCapabilities {
  /** Whether the node takes batch requests; `unknown` until the first probe. */
  readonly batch: 'unknown' | 'yes' | 'no';
  readonly missingMethods: readonly string[];
}

/** `missingMethods` of a node that lacks none (nearly every sample): one shared empty list. */
const NO_METHODS: readonly string[] = Object.freeze([]);

const FAMILIES: Record<string, FamilyProbe> = { evm: evmProbe, bitcoin: bitcoinProbe };

/**
 * The default delay of a node's first per-peer list after its first probe: FNV-1a of the node id,
 * spread over `everyMs` (issue #17: building and storing 10,000 lists in the cold sweep cost
 * ~1.3 s of its ~6 s of CPU and 65-80 MB). Stable, so every replica and restart phases a node alike.
 */
export function peerListPhaseMs(nodeId: string, everyMs: number): number {
  if (!(everyMs > 0)) return 0;
  let h = 0x811c9dc5;
  for (let i = 0; i < nodeId.length; i++) {
    h ^= nodeId.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % Math.floor(everyMs);
}

/**
 * Probes one node: one batched request where the node accepts batches (single calls where it
 * does not), learning which methods it lacks so later probes skip them. `probe()` never throws:
 * every failure becomes a sample with an error code and a credential-free message.
 */
export class NodeProber<N extends ProbeTarget = ProbeTarget> {
  readonly node: N;
  readonly #client: RpcClient;
  readonly #family: FamilyProbe;
  readonly #now: () => number;
  readonly #recheckMs: number;
  readonly #peerDetailsEveryMs: number;
  readonly #peerDetailsPhaseMs: number;
  /** When the per-peer list is next due (set on the first probe, to that probe plus the phase). */
  #peerListDueAt: number | undefined;
  /** The counts of the last probe that read getpeerinfo (undefined: none yet). */
  #detailedPeers: Sample['peers'];
  /** method -> when it was found missing (epoch ms). */
  readonly #missing = new Map<string, number>();
  #batch: NodeCapabilities['batch'] = 'unknown';
  /**
   * Bitcoin family: the genesis hash learned on this connection. Block 0 never changes, so it is
   * asked again only after the node stopped answering (a restart, or another node behind the URL).
   */
  #genesis: string | undefined;

  constructor(node: N, opts: NodeProberOptions) {
    const family = FAMILIES[node.chain.family];
    if (!family) throw new InvalidArgumentError(`no probe for chain family ${node.chain.family}`);
    this.node = node;
    this.#family = family;
    this.#now = opts.now ?? Date.now;
    this.#recheckMs = opts.recheckMissingAfterMs ?? 3_600_000;
    this.#peerDetailsEveryMs = opts.peerDetailsEveryMs ?? 60_000;
    this.#peerDetailsPhaseMs = opts.peerDetailsPhaseMs ?? peerListPhaseMs(node.id, this.#peerDetailsEveryMs);
    this.#client = new RpcClient({
      url: node.requestUrl?.reveal() ?? node.url,
      dialect: node.chain.family,
      dispatcher: opts.dispatcher,
      credentials: node.credentials,
      timeoutMs: node.timeoutMs,
      maxResponseBytes: opts.maxResponseBytes,
      secrets: node.requestUrl?.secretParts(),
    });
  }

  get capabilities(): NodeCapabilities {
    return { batch: this.#batch, missingMethods: [...this.#missing.keys()].sort() };
  }

  async probe(): Promise<Sample> {
    const started = performance.now();
    const now = this.#now();
    for (const [method, since] of this.#missing) {
      if (now - since >= this.#recheckMs) this.#missing.delete(method);
    }
    let fields: ProbeFields = {};
    let error: SampleError | undefined;
    try {
      fields = await this.#observe();
      const mismatch = this.#family.checkChain(fields, this.node.chain);
      if (mismatch) error = toSampleError(new WrongChainError(mismatch.expected, mismatch.actual));
    } catch (err) {
      error = toSampleError(err);
      if (!(err instanceof WrongChainError)) this.#genesis = undefined;
    }
    const latencyMs = Math.round((performance.now() - started) * 100) / 100;
    // Node-supplied text is scrubbed of our secrets before it is stored, logged or served.
    const redactor = this.#client.redactor();
    const redact = (t: string) => redactor.redact(t);
    if (!redactor.empty && error)
      error = {
        ...error,
        message: redact(error.message),
        ...(error.actual !== undefined ? { actual: redact(error.actual) } : {}),
      };
    if (!redactor.empty && fields.clientVersion !== undefined) fields.clientVersion = redact(fields.clientVersion);
    if (!redactor.empty && fields.warnings) fields.warnings = fields.warnings.map(redact);
    if (!redactor.empty && fields.peerList)
      fields.peerList = fields.peerList.map((p) => (p.subver === undefined ? p : { ...p, subver: redact(p.subver) }));
    return {
      nodeId: this.node.id,
      chain: this.node.chain.name,
      family: this.node.chain.family,
      observedAt: this.#now(),
      latencyMs,
      ok: error === undefined,
      ...(error ? { error } : {}),
      ...fields,
      missingMethods: this.#missing.size === 0 ? NO_METHODS : [...this.#missing.keys()].sort(),
    };
  }

  async #observe(): Promise<ProbeFields> {
    const now = this.#now();
    this.#peerListDueAt ??= now + this.#peerDetailsPhaseMs;
    const peerList = now >= this.#peerListDueAt;
    const planOpts = {
      // The list when it is due; the counts alone on first contact, for the inbound / outbound
      // split (DeFiChain and PAI report it nowhere else; the judge's no_outbound_peers needs it).
      peerDetails: peerList || this.#detailedPeers === undefined,
      genesisKnown: this.#genesis !== undefined,
    };
    let plan: readonly string[] = this.#family.plan(this.#missingSet(), planOpts);
    let outcomes: readonly RpcOutcome[] = await this.#run(plan);
    this.#checkFamily(plan, outcomes);
    this.#learn(plan, outcomes);
    // Nothing failed: nothing was learnt missing and no fallback is due, so a new plan would
    // be this one (the common case, skipped).
    if (outcomes.some((o) => !o.ok)) ({ plan, outcomes } = await this.#completed(plan, outcomes, planOpts));
    return this.#fields(plan, outcomes, peerList);
  }

  /** The plan and outcomes with the fallbacks of failed or missing methods asked as well. */
  async #completed(
    plan: readonly string[],
    outcomes: readonly RpcOutcome[],
    planOpts: { readonly peerDetails: boolean; readonly genesisKnown: boolean },
  ): Promise<{ plan: readonly string[]; outcomes: readonly RpcOutcome[] }> {
    // A missing method with a fallback (getnetworkinfo -> getconnectioncount, ...) is asked in
    // its fallback's form at once, so even the first probe of such a node is complete; so is
    // the fallback of a call that answered with an error (eth_chainId -> net_version).
    const replanned = this.#family.plan(this.#missingSet(), planOpts);
    const fallbacks = this.#family.fallbacks ?? {};
    for (let i = 0; i < plan.length; i++) {
      const o = outcomes[i]!;
      const alt = fallbacks[plan[i]!];
      if (
        alt !== undefined &&
        !o.ok &&
        o.error.code !== RpcErrorCode.WarmingUp &&
        !this.#missing.has(alt) &&
        !replanned.includes(alt)
      )
        replanned.push(alt);
    }
    const fresh = replanned.filter((m) => !plan.includes(m));
    if (fresh.length > 0) {
      const more = await this.#run(fresh);
      this.#learn(fresh, more);
      return { plan: [...plan, ...fresh], outcomes: [...outcomes, ...more] };
    }
    return { plan, outcomes };
  }

  #fields(plan: readonly string[], outcomes: readonly RpcOutcome[], peerList: boolean): ProbeFields {
    const results = new Map<string, unknown>();
    let warmup: RpcFailure | undefined;
    for (let i = 0; i < plan.length; i++) {
      const o = outcomes[i]!;
      if (o.ok) results.set(plan[i]!, o.result);
      else if (o.error.code === RpcErrorCode.WarmingUp) warmup ??= o.error;
    }
    // A node loading its block index answers -28 to everything: that is the state to report.
    if (warmup) throw warmup;
    const essential = this.#family.essential;
    if (!essential.some((m) => results.has(m))) {
      const failed = plan.map((m, i) => ({ m, o: outcomes[i]! })).find(({ m, o }) => essential.includes(m) && !o.ok);
      if (failed && !failed.o.ok) throw failed.o.error;
      throw new RpcFailure(RpcErrorCode.MethodUnavailable, `node offers none of ${essential.join(', ')}`);
    }
    try {
      const fields = this.#peerCounts(
        this.#family.interpret(results, this.node.chain, this.#now(), { peerList }),
        results.has('getpeerinfo'),
      );
      if (fields.genesisHash !== undefined) this.#genesis = fields.genesisHash;
      else if (this.#genesis !== undefined && this.node.chain.family === 'bitcoin') fields.genesisHash = this.#genesis;
      return fields;
    } catch (err) {
      if (err instanceof InvalidValue)
        throw new RpcMalformedError(`node sent an invalid value: ${err.message}`, { cause: err });
      throw err;
    }
  }

  /**
   * Between peer-detail refreshes the node reports only its total: keep the inbound / outbound
   * split of the last detailed probe while the total is unchanged; when it changes, drop the
   * split and fetch details on the next probe, so a split is never older than the count.
   */
  #peerCounts(fields: ProbeFields, detailed: boolean): ProbeFields {
    const peers = fields.peers;
    if (detailed) {
      this.#detailedPeers = peers;
      if (fields.peerList !== undefined) this.#peerListDueAt = this.#now() + this.#peerDetailsEveryMs;
      return fields;
    }
    if (!peers || peers.inbound !== undefined) return fields;
    const last = this.#detailedPeers;
    if (last && last.total === peers.total && last.inbound !== undefined && last.outbound !== undefined) {
      return { ...fields, peers: { ...peers, inbound: last.inbound, outbound: last.outbound } };
    }
    this.#peerListDueAt = Number.NEGATIVE_INFINITY;
    return fields;
  }

  /**
   * A node of the other family answers a well-formed batch of errors: geth rejects every
   * JSON-RPC 1.0 request (-32600), Bitcoin-family nodes know no eth_* method (-32601). That is
   * an answer to give in words, not a malformed reply or a list of missing methods.
   */
  #checkFamily(plan: readonly string[], outcomes: readonly RpcOutcome[]): void {
    if (outcomes.length === 0 || outcomes.some((o) => o.ok)) return;
    const codes = new Set(outcomes.map((o) => (o.ok ? undefined : o.error.rpcCode)));
    if (codes.size !== 1) return;
    const [code] = codes;
    const family = this.node.chain.family;
    if (family === 'bitcoin' && code === -32600) {
      throw new RpcFailure(
        RpcErrorCode.WrongFamily,
        'not a Bitcoin-family node: it rejects JSON-RPC 1.0 requests (-32600 invalid request to every call); an EVM node?',
        { httpStatus: 200 },
      );
    }
    if (family === 'evm' && code === -32601 && plan.includes('eth_blockNumber')) {
      throw new RpcFailure(
        RpcErrorCode.WrongFamily,
        'not an EVM node: it knows none of the eth_* / net_* methods (-32601 to every call); a Bitcoin-family node?',
        { httpStatus: 200 },
      );
    }
  }

  async #run(methods: readonly string[]): Promise<RpcOutcome[]> {
    if (methods.length === 0) return [];
    const params = this.#family.params ?? {};
    if (this.#batch !== 'no' && methods.length > 1) {
      try {
        const outcomes = await this.#client.batch(
          methods.map((method) => ({ method, params: params[method] ?? NO_PARAMS })),
        );
        this.#batch = 'yes';
        return outcomes;
      } catch (err) {
        if (!(err instanceof RpcFailure) || err.code !== RpcErrorCode.BatchUnsupported) throw err;
        this.#batch = 'no';
      }
    }
    const settled = await Promise.allSettled(methods.map((m) => this.#client.call(m, params[m] ?? [])));
    const outcomes = settled.map((s): RpcOutcome =>
      s.status === 'fulfilled' ? { ok: true, result: s.value } : { ok: false, error: asFailure(s.reason) },
    );
    // When every single call failed the same transport way (refused, 401, timeout), that is
    // the node's state, not a per-method finding.
    const first = outcomes[0];
    if (
      first &&
      !first.ok &&
      outcomes.every((o) => !o.ok && o.error.code === first.error.code) &&
      first.error.code !== RpcErrorCode.MethodUnavailable &&
      first.error.code !== RpcErrorCode.RpcError
    ) {
      throw first.error;
    }
    return outcomes;
  }

  #learn(methods: readonly string[], outcomes: readonly RpcOutcome[]): void {
    const now = this.#now();
    outcomes.forEach((o, i) => {
      if (!o.ok && o.error.code === RpcErrorCode.MethodUnavailable) this.#missing.set(methods[i]!, now);
    });
  }

  #missingSet(): ReadonlySet<string> {
    return new Set(this.#missing.keys());
  }
}

function asFailure(err: unknown): RpcFailure {
  if (err instanceof RpcFailure) return err;
  return new RpcFailure(RpcErrorCode.Network, 'unexpected failure', { cause: err });
}

/** Only our own short messages reach a sample: never a raw cause that could carry secrets. */
export function toSampleError(err: unknown): SampleError {
  if (err instanceof WrongChainError) {
    return { code: err.code, message: err.shortMessage, transient: false, expected: err.expected, actual: err.actual };
  }
  if (err instanceof RpcFailure) {
    return {
      code: err.code,
      message: err.shortMessage,
      transient: err.transient,
      ...(err.httpStatus !== undefined ? { httpStatus: err.httpStatus } : {}),
      ...(err.rpcCode !== undefined ? { rpcCode: err.rpcCode } : {}),
    };
  }
  if (err instanceof CredentialsError) return { code: err.code, message: err.message, transient: false };
  if (err instanceof BaseError) return { code: err.code, message: err.shortMessage, transient: err.transient };
  return { code: 'PROBE_FAILED', message: 'probe failed unexpectedly', transient: true };
}
