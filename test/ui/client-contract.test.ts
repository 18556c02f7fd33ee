// Where the dashboard's browser code (src/ui/client, its own program) meets the server's types.
// The client may not import src/api or src/health at run time (the joiner bundles only its own
// modules) nor src/api at all (layers, docs/architecture.md), so it states what it reads in
// src/ui/client/types.ts and spells the states out in constants.ts. This file checks both
// against the one source: the compile-time part fails `npm run typecheck` (tsc reads test/),
// the run-time part fails here.
import type { z } from 'zod';
import type { Chains, ReferenceHead } from '../../src/api/schemas/chains.js';
import type {
  FleetTransitions,
  History,
  NodeDetail,
  NodeList,
  NodeSummary,
  PeerReport,
  Transitions,
} from '../../src/api/schemas/nodes.js';
import type { DrainResult, UndrainResult } from '../../src/api/schemas/admin.js';
import type { DrainEvent, HelloEvent, SelectionEvent, TransitionEvent } from '../../src/api/schemas/events.js';
import { HEALTH_STATES, type HealthState } from '../../src/health/states.js';
import { LABEL, RANK, STATES, type ClientState } from '../../src/ui/client/constants.js';
import type * as Client from '../../src/ui/client/types.js';

/** Compiles only when `Server` (a schema's inferred type) can be read as `Reads` (the client's interface). */
type Satisfies<Server extends Reads, Reads> = [Server, Reads];
/** Compiles only when A and B are the same type. */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never;

// Each answer the dashboard reads: the server's shape must carry every field the client uses, with its type.
export type ServerAnswersSatisfyTheClient = [
  Satisfies<z.infer<typeof Chains>, Client.ChainsJson>,
  Satisfies<z.infer<typeof ReferenceHead>, Client.ReferenceHeadJson>,
  Satisfies<z.infer<typeof NodeList>, Client.NodeListJson>,
  Satisfies<z.infer<typeof NodeSummary>, Client.NodeJson>,
  Satisfies<z.infer<typeof NodeDetail>, Client.NodeDetailJson>,
  Satisfies<z.infer<typeof PeerReport>, Client.PeerReportJson>,
  Satisfies<z.infer<typeof History>, Client.HistoryJson>,
  Satisfies<z.infer<typeof Transitions>, Client.TransitionsJson>,
  Satisfies<z.infer<typeof FleetTransitions>, Client.FleetTransitionsJson>,
  Satisfies<z.infer<typeof DrainResult>, Client.DrainResultJson>,
  Satisfies<z.infer<typeof UndrainResult>, Client.UndrainResultJson>,
  // ...and each event of /v1/events it reads (src/ui/client/live.ts).
  Satisfies<z.infer<typeof HelloEvent>, Client.HelloEvent>,
  Satisfies<z.infer<typeof TransitionEvent>, Client.TransitionEvent>,
  Satisfies<z.infer<typeof DrainEvent>, Client.DrainEvent>,
  Satisfies<z.infer<typeof SelectionEvent>, Client.SelectionEvent>,
];
// The client's states are exactly the health states (LABEL and RANK are keyed by them).
export const statesAreTheHealthStates: Same<ClientState, HealthState> = true;

describe('the dashboard client against the server', () => {
  it('lists every health state in the order the server uses (best first), with a label and a rank each', () => {
    expect([...STATES]).toEqual([...HEALTH_STATES]);
    expect(Object.keys(LABEL).sort()).toEqual([...HEALTH_STATES].sort());
    expect(Object.keys(RANK).sort()).toEqual([...HEALTH_STATES].sort());
  });
});
