// What a chain family's probe provides: its calls, and the interpretation of their answers.
import type { ChainSpec, Family } from './chain-spec.js';
import type { Sample } from './sample.js';

/** The observation part of a sample, filled in by a family's interpreter. */
export type ProbeFields = {
  -readonly [
    K in Exclude<
      keyof Sample,
      'nodeId' | 'chain' | 'family' | 'observedAt' | 'latencyMs' | 'ok' | 'error' | 'missingMethods'
    >
  ]?: Sample[K];
};

export interface PlanOptions {
  /** Ask for per-peer details (default true). */
  readonly peerDetails?: boolean;
  /** Bitcoin family: the genesis hash is already known for this connection (default false). */
  readonly genesisKnown?: boolean;
}

export interface InterpretOptions {
  /**
   * Build the per-peer list (`peerList`) from getpeerinfo (default true). False reads only the
   * counts from it (the inbound / outbound split): building and storing the list is what costs,
   * so it is built only when due (see NodeProber's `peerDetailsEveryMs`).
   */
  readonly peerList?: boolean;
}

/**
 * What a chain family contributes to a probe: which calls to make (given what the node is
 * known not to offer), which of them the probe cannot do without, and how to read the answers.
 * Pure: the I/O lives in `NodeProber`.
 */
export interface FamilyProbe {
  readonly family: Family;
  /**
   * Methods to call, in order, skipping those the node does not offer. `peerDetails: false`
   * leaves out the per-peer listing (getpeerinfo), the heaviest call, between its refreshes.
   */
  plan(missing: ReadonlySet<string>, opts?: PlanOptions): string[];
  /** At least one of these must answer, or the probe has failed. */
  readonly essential: readonly string[];
  /** Parameters of the calls that take any (every other call is sent with `[]`). */
  readonly params?: Readonly<Record<string, readonly unknown[]>>;
  /** A call to make in the same probe when this one answers with an error (not "method not found"). */
  readonly fallbacks?: Readonly<Record<string, string>>;
  /** Results by method (only successful calls). Throws `InvalidValue` on garbage. */
  interpret(
    results: ReadonlyMap<string, unknown>,
    chain: ChainSpec,
    nowMs: number,
    opts?: InterpretOptions,
  ): ProbeFields;
  /** A mismatch between what the node reports and what the config expects, if any. */
  checkChain(fields: ProbeFields, chain: ChainSpec): { expected: string; actual: string } | undefined;
}
