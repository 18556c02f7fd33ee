// Zod schemas of this process's own answers (/livez, /readyz) and the probes' JSON bodies.
import { z } from 'zod';
import { HealthState, nullableInt, strings } from './common.js';

/** This process (`/livez`, `/readyz`) and the load-balancer probes' JSON answers. */

export const Livez = z.strictObject({
  status: z.literal('ok'),
  replica: z.string(),
  version: z.string().describe('package.json version of this build'),
  commit: z.string().describe('git commit of this build, or `unknown`'),
  uptimeS: z.int(),
});

export const Readyz = z.strictObject({
  status: z.enum(['ready', 'not_ready']),
  replica: z.string(),
  role: z.string(),
  store: z.strictObject({
    kind: z.string(),
    connected: z.boolean().describe('Connected and taking writes (a write probe succeeded within 2.5 s).'),
    writable: z.boolean(),
    lastWriteOkAgoMs: nullableInt(),
    lastError: z.string().nullable(),
  }),
  view: z.boolean(),
  firstSweep: z.boolean(),
  nodes: z.int().describe('Configured nodes.'),
});

export const ProbeNodeAnswer = z.strictObject({
  node: z.string(),
  chain: z.string(),
  state: HealthState,
  reasons: strings().describe('At most a few reason texts; the full list is on /v1/nodes/{id}.'),
  observedAt: nullableInt(),
  ageMs: nullableInt(),
});

export const ProbeChainAnswer = z.strictObject({
  chain: z.string(),
  state: z.enum(['healthy', 'degraded', 'unhealthy']),
  nodes: z.int(),
  usable: z.int(),
  healthy: z.int(),
  min: z.int(),
});
