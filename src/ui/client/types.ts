/**
 * The API's answers as the dashboard reads them: the fields it uses, nothing more. The shapes'
 * one source is the zod schemas in src/api/schemas, but the client may not import src/api (ui
 * sits below api in docs/architecture.md, which serves these files), so it states what it reads
 * here, as the lower side does in this codebase, and test/ui/client-contract.test.ts checks at
 * compile time that each schema's inferred type is assignable to the interface here: a field
 * renamed, dropped or retyped on the server fails `npm run typecheck`.
 * Types only: tsc emits nothing for this module. The data is not re-validated in the browser.
 */

export interface ReasonJson {
  readonly code: string;
  readonly text: string;
  readonly severity?: 'degraded' | 'unhealthy' | undefined;
}

/** GET /v1/chains (src/api/schemas/chains.ts `ReferenceHead`). */
export interface ReferenceHeadJson {
  readonly height: number | null;
  readonly contributors: number;
  readonly quorum: number;
  readonly basis?: 'advancing' | 'unproven' | 'halted' | 'none' | undefined;
  readonly spread?: number | null | undefined;
  readonly stalled?: number | undefined;
  readonly voters?: readonly string[] | undefined;
  readonly haltedForMs?: number | null | undefined;
}
/** One chain of GET /v1/chains (`Chains`). */
export interface ChainJson {
  readonly chain: string;
  readonly family: string;
  readonly nodes: number;
  readonly counts: Readonly<Record<string, number>>;
  readonly reference?: ReferenceHeadJson | null | undefined;
  readonly best: {
    readonly nodeId: string | null;
    readonly mode: string;
    readonly degradedChoice?: boolean | undefined;
    readonly reason: string;
    readonly since?: number | undefined;
  };
  readonly reportAgeMs?: number | null | undefined;
  readonly reportFresh?: boolean | undefined;
}
export interface ChainsJson {
  readonly chains: readonly ChainJson[];
}

/** One node of GET /v1/nodes (`NodeSummary`). */
export interface NodeJson {
  readonly id: string;
  readonly chain: string;
  readonly url: string;
  readonly tags: readonly string[];
  readonly tier: number;
  readonly state: string;
  readonly since: number;
  readonly reasons: readonly ReasonJson[];
  readonly score: number | null;
  readonly peers: { readonly total: number; readonly in: number | null; readonly out: number | null } | null;
  readonly lag: { readonly blocks: number; readonly ms: number } | null;
  readonly latencyMs: number | null;
  readonly clientVersion: string | null;
  readonly ageMs: number | null;
  readonly stale: boolean;
  readonly drained: boolean;
}
/** GET /v1/nodes (`NodeList`). */
export interface NodeListJson {
  readonly items: readonly NodeJson[];
  readonly nextCursor: string | null;
}

/** A node's score and its parts (`ScoreBreakdown`). */
export interface ScoreJson {
  readonly total: number;
  readonly parts: Readonly<
    Record<string, { readonly grade: number; readonly weight: number; readonly detail: string }>
  >;
}
/** The latest sample in a node's detail (`Sample`). */
export interface SampleJson {
  readonly latencyMs: number;
  readonly error?: { readonly code: string; readonly message: string } | undefined;
  readonly peers?:
    | {
        readonly total: number;
        readonly inbound?: number | undefined;
        readonly outbound?: number | undefined;
        readonly source: string;
      }
    | undefined;
  readonly height?: number | undefined;
  readonly clientVersion?: string | undefined;
  readonly warnings?: readonly string[] | undefined;
}
/** GET /v1/nodes/{id} (`NodeDetail`). */
export interface NodeDetailJson {
  readonly id: string;
  readonly chain: string;
  readonly family: string;
  readonly url: string;
  readonly tags: readonly string[];
  readonly tier: number;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly auth: string;
  readonly state: string;
  readonly since: number;
  readonly reasons: readonly ReasonJson[];
  readonly hysteresis: {
    readonly tracked: string;
    readonly pending: { readonly toward: string; readonly count: number; readonly needed: number } | null;
  };
  readonly score: ScoreJson | null;
  readonly stats: {
    readonly samples: number;
    readonly errorRate: number | null;
    readonly latencyEwmaMs: number | null;
  } | null;
  readonly lag: { readonly blocks: number; readonly ms: number; readonly referenceHeight: number } | null;
  readonly sample: SampleJson | null;
  readonly capabilities: { readonly missingMethods: readonly string[] };
  readonly freshness: { readonly observedAt: number | null; readonly ageMs: number | null; readonly stale: boolean };
  readonly drained: boolean;
  readonly drain: { readonly by: string; readonly at: number; readonly reason: string | null } | null;
}

/** GET /v1/nodes/{id}/peers (`PeerReport`). The per-peer rows are getpeerinfo's, untyped. */
export interface PeerReportJson {
  readonly observedAt?: number | null | undefined;
  readonly source: string;
  readonly total: number | null;
  readonly detail?: string | undefined;
  readonly summary: {
    readonly total: number;
    readonly inbound: number;
    readonly outbound: number;
    readonly versions: readonly { readonly subver: string; readonly count: number }[];
    readonly pingMs: { readonly median: number; readonly p90: number } | null;
    readonly heights: { readonly peersAhead: number | null };
  } | null;
  readonly peers: readonly Readonly<Record<string, unknown>>[] | null;
}

/** One stored sample of GET /v1/nodes/{id}/history (`History`), newest first. */
export interface HistoryPoint {
  readonly t: number;
  readonly ok: boolean;
  readonly latencyMs: number;
  readonly peers: number | null;
  readonly height: number | null;
}
/** GET /v1/nodes/{id}/history (`History`, `TrafficRates`). */
export interface HistoryJson {
  readonly points: readonly HistoryPoint[];
  readonly rates: {
    readonly recvBytesPerSec: number;
    readonly sentBytesPerSec: number;
    readonly windowMs: number;
    readonly points: number;
    readonly resets: number;
    readonly drops: number;
    readonly series: readonly {
      readonly recvBytesPerSec: number;
      readonly sentBytesPerSec: number;
      readonly reset: boolean;
    }[];
  } | null;
  readonly ratesDetail?: string | undefined;
}

/** A stored state change (`Transitions`, `FleetTransitions`). */
export interface StoredChangeJson {
  readonly from: string;
  readonly to: string;
  readonly reasons: readonly string[];
  readonly at: number;
}
/** GET /v1/nodes/{id}/transitions (`Transitions`). */
export interface TransitionsJson {
  readonly transitions: readonly StoredChangeJson[];
}
/** GET /v1/transitions (`FleetTransitions`). */
export interface FleetTransitionsJson {
  readonly items: readonly (StoredChangeJson & { readonly nodeId: string; readonly chain: string })[];
}
/** POST /v1/nodes/{id}/drain (`DrainResult`). */
export interface DrainResultJson {
  readonly changed: boolean;
  readonly drain: { readonly by: string };
}
/** DELETE /v1/nodes/{id}/drain (`UndrainResult`). */
export interface UndrainResultJson {
  readonly changed: boolean;
  readonly state: string | null;
}

/**
 * The event stream's data lines (GET /v1/events), as far as the dashboard reads them. The
 * server's shapes are the zod schemas in src/api/schemas/events.ts; test/ui/client-contract.test.ts
 * checks at compile time that they carry these fields.
 */
export interface HelloEvent {
  readonly resumed?: boolean;
}
export interface TransitionEvent {
  readonly nodeId: string;
  readonly chain: string;
  readonly from: string;
  readonly to: string;
  readonly reasons?: unknown;
  readonly at: number;
}
export interface DrainEvent {
  readonly nodeId: string;
  readonly chain: string | null;
  readonly drained: boolean;
  readonly by: string | null;
  readonly at: number | null;
  readonly reason: string | null;
}
export interface SelectionEvent {
  readonly chain: string;
  readonly from: string | null;
  readonly to: string | null;
  readonly mode?: string;
  readonly reason?: string;
  readonly at: number;
}
