// Zod schemas every part of the API shares: problems, states, reasons, drains, freshness.
import { z } from 'zod';
import { HEALTH_STATES } from '../../health/states.js';

/**
 * Shapes every part of the API shares: problems, states, reasons, drains, freshness. Each API
 * shape is a zod schema: `z.infer` gives its TypeScript type, request bodies are parsed with it,
 * and the OpenAPI document's components are generated from it (components.ts).
 */

export const nullableInt = () => z.int().nullable();
export const epochMs = (what: string) => z.int().describe(`${what} (epoch ms)`);
export const strings = () => z.array(z.string());

export const Problem = z
  .looseObject({
    type: z.string().describe('`urn:nodesentry:problem:<code>`: branch on this, not on `detail`.'),
    title: z.string(),
    status: z.int(),
    detail: z.string().optional(),
    instance: z.string().describe('The request path.').optional(),
  })
  .describe('RFC 9457 problem details (application/problem+json).');

export const BadQueryProblem = Problem.extend({
  errors: z.array(z.strictObject({ parameter: z.string(), message: z.string() })),
});

export const HealthState = z.enum(HEALTH_STATES as readonly [string, ...string[]]);

export const Reason = z.strictObject({
  code: z.string().describe('Stable snake_case code (docs/health.md).'),
  text: z.string().describe('The code with its numbers: `lagging(12 blocks, 9s)`.'),
  severity: z.enum(['degraded', 'unhealthy']).optional(),
  data: z.record(z.string(), z.unknown()).optional(),
});

export const ShortReason = z.strictObject({ code: z.string(), text: z.string() });

export const Drain = z.strictObject({
  by: z.string().describe('Operator (`X-Operator`) or `admin`.'),
  at: epochMs('When it was drained'),
  reason: z.string().nullable(),
});

export const Freshness = z.strictObject({
  observedAt: nullableInt(),
  ageMs: nullableInt(),
  stale: z.boolean(),
  staleAfterMs: z.int(),
});
