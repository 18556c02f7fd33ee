// Zod schemas of the admin actions: limits, request bodies and answers.
import { z } from 'zod';
import { Drain, strings } from './common.js';

/** Operator actions: their limits, their request bodies (checked with these schemas) and their answers. */

export const ADMIN_LIMITS = Object.freeze({
  /** Longest drain reason kept, characters. */
  reasonMaxLength: 200,
  /** Longest operator name kept from `X-Operator`, characters. */
  operatorMaxLength: 64,
  auditDefaultLimit: 100,
  auditMaxLimit: 1000,
  /** Floor of the deadline for an admin call to a node, ms (a probe timeout can be tighter). */
  nodeCallMinTimeoutMs: 5_000,
});

export const DrainBody = z.strictObject({ reason: z.string().max(ADMIN_LIMITS.reasonMaxLength).optional() });
export const NetworkBody = z.strictObject({ active: z.boolean() });
export type DrainBody = z.infer<typeof DrainBody>;
export type NetworkBody = z.infer<typeof NetworkBody>;

export const DrainResult = z.strictObject({
  nodeId: z.string(),
  drained: z.boolean(),
  changed: z.boolean(),
  drain: Drain,
  state: z.string().nullable(),
  audited: z.boolean(),
});
export const UndrainResult = z.strictObject({
  nodeId: z.string(),
  drained: z.boolean(),
  changed: z.boolean(),
  previous: Drain.nullable(),
  state: z.string().nullable(),
  audited: z.boolean(),
});

export const NetworkResult = z.strictObject({
  nodeId: z.string(),
  requested: z.strictObject({ active: z.boolean() }),
  result: z.unknown().describe("The node's answer to setnetworkactive."),
  networkActive: z.boolean().nullable(),
  note: z.string(),
  audited: z.boolean(),
});

export const ReloadResult = z.strictObject({
  ok: z.literal(true),
  added: strings(),
  removed: strings(),
  changed: strings(),
  nodes: z.int(),
  audited: z.boolean(),
  request: z
    .string()
    .describe(
      'The fleet-wide request: every other replica re-reads its own nodes file and audits its outcome under this id. Absent when the store could not carry it.',
    )
    .optional(),
});

export const AuditList = z.strictObject({
  items: z
    .array(
      z.looseObject({
        action: z.enum(['drain', 'undrain', 'network', 'reload']),
        nodeId: z.string().optional(),
        by: z.string(),
        at: z.int(),
        replica: z.string().optional(),
      }),
    )
    .describe('Newest first.'),
  limit: z.int(),
});
