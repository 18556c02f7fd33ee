// Zod schemas of the chain answers: head, ranking, best node.
import { z } from 'zod';
import { epochMs, HealthState, nullableInt, Reason, strings } from './common.js';
import { ScoreBreakdown } from './nodes.js';

/** The answers of `/v1/chains` and below: the corroborated head, the ranking, the node to use. */

export const ReferenceHead = z.strictObject({
  height: nullableInt().describe(
    'The highest head a strict majority of the voters reached (projected to atMs); null without evidence.',
  ),
  atMs: epochMs('When it was computed'),
  contributors: z.int().describe('Voters: the samples the height was chosen from.'),
  quorum: z.int().describe('How many voters must have reached `height`: floor(contributors / 2) + 1.'),
  highest: nullableInt().describe('Highest head among eligible samples (stalled included), for context only.'),
  basis: z
    .enum(['advancing', 'unproven', 'halted', 'none'])
    .describe(
      'advancing: nodes seen advancing voted; unproven: no node could be seen advancing yet (start-up); halted: no node advanced for the stall window; none: no evidence.',
    )
    .optional(),
  lowest: nullableInt().describe("The voters' lowest head.").optional(),
  spread: nullableInt().describe("Blocks between the voters' highest and lowest heads.").optional(),
  eligible: z
    .int()
    .describe('Fresh samples with a head, on the proven chain, not syncing, not unhealthy for their own reasons.')
    .optional(),
  stalled: z.int().describe('Eligible but stalled (no vote).').optional(),
  excluded: z.int().describe('Fresh samples left out: failed, wrong or unproven chain, syncing, unhealthy.').optional(),
  voters: strings().describe('Node ids of the voters, highest head first (at most 16).').optional(),
  haltedForMs: nullableInt().describe('basis halted: how long no node has advanced, ms.').optional(),
});

const MODE = z.enum(['normal', 'fail-open', 'fail-closed']);

export const Selection = z.looseObject({
  nodeId: z.string().nullable(),
  url: z.string().nullable().optional(),
  mode: MODE,
  degradedChoice: z.boolean().describe('True when the chosen node is not usable (fail-open).').optional(),
  reason: z
    .string()
    .describe(
      'initial, kept, current_unusable, better_candidate, failback, all_unhealthy, no_candidates, awaiting_first_samples (start-up: primaries not judged yet)',
    ),
  since: z.int().optional(),
  source: z
    .string()
    .describe('Whether the choice is the shared one computed by the workers or computed here.')
    .optional(),
});

export const Chains = z.strictObject({
  at: z.int(),
  chains: z.array(
    z.looseObject({
      chain: z.string(),
      family: z.string(),
      nodes: z.int(),
      usable: z.int(),
      counts: z.record(z.string(), z.int()).describe('Nodes by state.'),
      reference: ReferenceHead.nullable().describe('The corroborated head of the chain, with its evidence.').optional(),
      best: Selection,
      evaluatedAt: nullableInt().optional(),
      reportAgeMs: nullableInt().optional(),
      reportFresh: z.boolean().optional(),
    }),
  ),
});

export const Ranking = z.looseObject({
  chain: z.string(),
  tag: z.string().nullable().optional(),
  at: z.int().optional(),
  best: z.string().nullable().optional(),
  mode: z.string().optional(),
  source: z.string().optional(),
  nodes: z
    .array(
      z.looseObject({
        rank: z.int(),
        nodeId: z.string(),
        url: z.string().nullable().optional(),
        tier: z.int().optional(),
        tags: strings().optional(),
        state: HealthState,
        usable: z.boolean(),
        selected: z.boolean().optional(),
        lastResort: z.boolean().optional(),
        score: ScoreBreakdown,
        reasons: z.array(Reason).optional(),
        observedAt: nullableInt().optional(),
        ageMs: nullableInt().optional(),
      }),
    )
    .describe('Rank order: state class, score, tier, id.'),
});

export const Best = z.looseObject({
  chain: z.string(),
  tag: z.string().nullable().optional(),
  nodeId: z.string().nullable(),
  url: z.string().nullable(),
  tier: nullableInt().optional(),
  state: z.string().nullable().optional(),
  mode: MODE,
  degradedChoice: z.boolean().optional(),
  reason: z.string().optional(),
  since: z.int().optional(),
  top: z
    .array(z.strictObject({ nodeId: z.string(), url: z.string().nullable(), tier: z.int(), state: z.string() }))
    .describe('Best first, for clients that fail over themselves.'),
  detail: z.string().describe('Present when no node is usable.').optional(),
});
