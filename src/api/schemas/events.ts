// Zod schemas of the data lines of `GET /v1/events` (hello, transition, drain, selection).
import { z } from 'zod';
import { HealthState, epochMs, strings } from './common.js';

/**
 * What each Server-Sent Event of `GET /v1/events` carries in its `data:` line. The event feed
 * builds its data with these inferred types, the OpenAPI document lists them (`x-sse-events`),
 * the dashboard client's hand-written interfaces are checked against them at compile time
 * (test/ui/client-contract.test.ts), and real streams are parsed with them (test/api/events.test.ts).
 */

const MODE = z.enum(['normal', 'fail-open', 'fail-closed']);

export const SSE_EVENTS = ['transition', 'drain', 'selection'] as const;

export const HelloEvent = z
  .strictObject({
    replica: z.string().describe('The replica serving this stream.'),
    at: epochMs('When the stream opened'),
    chain: z.string().nullable().describe('The `chain` filter, or null.'),
    heartbeatS: z.int().describe('Seconds between keep-alive comments.'),
    events: z.array(z.enum(SSE_EVENTS)).describe('The event types this stream sends.'),
    lastEventId: z.string().nullable().describe("The feed's latest event id when the stream opened."),
    resumed: z.boolean().describe('True when `Last-Event-ID` was honoured: the missed events follow.'),
  })
  .describe('`event: hello`, first on every stream.');

export const TransitionEvent = z
  .strictObject({
    nodeId: z.string(),
    chain: z.string(),
    from: HealthState,
    to: HealthState,
    reasons: strings().describe("The reasons' texts at the change, e.g. `lagging(12 blocks, 9s)`."),
    at: epochMs('When the state changed'),
    replica: z.string().describe('The polling replica that judged it.'),
  })
  .describe('`event: transition`: a node changed state.');

export const DrainEvent = z
  .strictObject({
    nodeId: z.string(),
    chain: z.string().nullable().describe('Null when the node is no longer configured.'),
    drained: z.boolean(),
    by: z.string().nullable().describe('Operator; null on undrain.'),
    at: epochMs('When it was drained; null on undrain').nullable(),
    reason: z.string().nullable(),
  })
  .describe('`event: drain`: a node was drained or undrained.');

export const SelectionEvent = z
  .strictObject({
    chain: z.string(),
    from: z.string().nullable().describe('The node chosen before, or null.'),
    to: z.string().nullable().describe('The node chosen now, or null.'),
    fromMode: MODE.nullable(),
    mode: MODE,
    reason: z.string().describe('Why (the selection reasons of `/v1/chains/{chain}/best`).'),
    degradedChoice: z.boolean(),
    tier: z.int().nullable(),
    top: strings().describe('The next choices, best first.'),
    since: epochMs('Since when this node is chosen'),
    at: epochMs('When the choice was made'),
    replica: z.string().describe('The worker that made it.'),
  })
  .describe("`event: selection`: a chain's chosen node or mode changed.");

export type HelloData = z.infer<typeof HelloEvent>;
export type TransitionData = z.infer<typeof TransitionEvent>;
export type DrainData = z.infer<typeof DrainEvent>;
export type SelectionData = z.infer<typeof SelectionEvent>;
