// The API's named shapes for the OpenAPI document, generated from the zod schemas.
import { z } from 'zod';
import { AuditList, DrainBody, DrainResult, NetworkBody, NetworkResult, ReloadResult, UndrainResult } from './admin.js';
import { Best, Chains, Ranking, ReferenceHead, Selection } from './chains.js';
import { BadQueryProblem, Drain, Freshness, HealthState, Problem, Reason, ShortReason } from './common.js';
import { DrainEvent, HelloEvent, SelectionEvent, TransitionEvent } from './events.js';
import { Livez, ProbeChainAnswer, ProbeNodeAnswer, Readyz } from './meta.js';
import {
  FleetTransitions,
  History,
  NodeDetail,
  NodeList,
  NodeSummary,
  PeerReport,
  Sample,
  ScoreBreakdown,
  Spread,
  TrafficRates,
  Transitions,
} from './nodes.js';

/**
 * The API's named shapes, by the name the OpenAPI document gives them (`#/components/schemas/<name>`).
 * A schema used inside another one becomes a `$ref` to it.
 */
export const COMPONENTS = {
  Problem,
  BadQueryProblem,
  HealthState,
  Reason,
  ShortReason,
  Drain,
  Freshness,
  NodeSummary,
  NodeList,
  ScoreBreakdown,
  Sample,
  NodeDetail,
  ReferenceHead,
  Spread,
  PeerReport,
  TrafficRates,
  History,
  FleetTransitions,
  Transitions,
  DrainBody,
  NetworkBody,
  DrainResult,
  UndrainResult,
  NetworkResult,
  ReloadResult,
  AuditList,
  Livez,
  Readyz,
  ProbeNodeAnswer,
  ProbeChainAnswer,
  Selection,
  Chains,
  Ranking,
  Best,
  HelloEvent,
  TransitionEvent,
  DrainEvent,
  SelectionEvent,
} as const satisfies Record<string, z.ZodType>;

export type ComponentName = keyof typeof COMPONENTS;

type JsonSchema = Record<string, unknown>;

/** `z.int()` bounds a number to the safe integers: true of every JSON integer we send, so not worth a line in the document. */
const SAFE_BOUND = new Set([Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER]);

/** The document's `components.schemas`, generated from the zod schemas (JSON Schema 2020-12, as OpenAPI 3.1 takes it). */
export function componentSchemas(): Record<string, JsonSchema> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(COMPONENTS)) registry.add(schema, { id });
  const { schemas } = z.toJSONSchema(registry, {
    uri: (id) => `#/components/schemas/${id}`,
    override: ({ jsonSchema }) => {
      const s = jsonSchema as JsonSchema;
      if (s.type === 'integer') {
        if (SAFE_BOUND.has(s.minimum as number)) delete s.minimum;
        if (SAFE_BOUND.has(s.maximum as number)) delete s.maximum;
      }
    },
  });
  const out: Record<string, JsonSchema> = {};
  for (const [id, schema] of Object.entries(schemas)) {
    const { $schema: _dialect, $id: _id, ...rest } = schema as JsonSchema;
    out[id] = rest;
  }
  return out;
}
