// The answers of the node probes (state, status, reasons), cached per node.
import type { NodeConfig } from '../config/node-config.js';
import { staleAfterMs } from '../health/freshness.js';
import type { HealthPolicy } from '../health/policy.js';
import type { Reason } from '../health/reasons.js';
import { type HealthState, isUsable } from '../health/states.js';
import type { Drain, NodeRecord } from '../store/store.js';
import { printable } from './printable.js';
import type { ReadModel } from './read-model.js';

/** Reasons listed in a probe body; the full list is on the operator routes. */
const MAX_PROBE_REASONS = 4;
const MAX_REASON_CHARS = 96;
/**
 * A stale node's reason says its age (`stale_sample(41s)`); its rendered answer is rebuilt at
 * most this often. Whether it is stale at all is decided exactly, at each request.
 */
const STALE_TEXT_REFRESH_MS = 1_000;

/**
 * One node's probe answer as it stands: state, reasons and the pre-rendered bodies, plus the
 * inputs and the time window for which it stays true.
 */
export interface NodeAnswer {
  readonly nodeId: string;
  readonly chain: string;
  readonly state: HealthState;
  readonly usable: boolean;
  readonly reasons: readonly Reason[];
  /** Observation time of the latest sample, epoch ms; null if never sampled. */
  readonly observedAt: number | null;
  /** The node's score (0..1) when it has been judged, else null. */
  readonly score: number | null;
  /** JSON body up to `"ageMs":`; the request appends the age and `}`. */
  readonly jsonHead: string;
  /** Plain-text body: `degraded peers_low(4<13)` and a newline. */
  readonly text: string;
  readonly textLength: number;
}

interface Entry {
  readonly answer: NodeAnswer;
  readonly node: NodeConfig;
  readonly record: NodeRecord | undefined;
  readonly drain: Drain | undefined;
  readonly policy: HealthPolicy;
  /** The answer holds for `validFrom <= now <= validUntil` as long as the inputs are the same objects. */
  readonly validFrom: number;
  readonly validUntil: number;
}

/**
 * The hot path of the load-balancer probes: each node's answer is rendered once and reused
 * while its inputs (config, latest record, drain, policy: compared by identity, as the fleet
 * view replaces a record object on every new sample) are unchanged and the clock is inside
 * the window where staleness cannot have changed it. So a probe costs a few map lookups and
 * comparisons, never a store or node round trip, and staleness is still judged at request time.
 */
export class NodeAnswers {
  readonly #read: ReadModel;
  readonly #entries = new Map<string, Entry>();
  #fleet: ReadonlyMap<string, NodeConfig> | undefined;

  constructor(read: ReadModel) {
    this.#read = read;
  }

  /** The node's answer at `now`, or undefined for a node that is not configured. */
  answer(nodeId: string, now: number): NodeAnswer | undefined {
    const service = this.#read.service;
    const fleet = service.nodes;
    if (fleet !== this.#fleet) {
      // A reload replaces the fleet map: forget removed nodes' answers.
      this.#entries.clear();
      this.#fleet = fleet;
    }
    const node = fleet.get(nodeId);
    if (node === undefined) return undefined;
    const record = service.view.get(nodeId);
    const drain = service.view.drain(nodeId);
    const policy = service.policy;
    const e = this.#entries.get(nodeId);
    if (
      e !== undefined &&
      e.node === node &&
      e.record === record &&
      e.drain === drain &&
      e.policy === policy &&
      now >= e.validFrom &&
      now <= e.validUntil
    ) {
      return e.answer;
    }
    return this.#render(node, record, drain, policy, now);
  }

  #render(
    node: NodeConfig,
    record: NodeRecord | undefined,
    drain: Drain | undefined,
    policy: HealthPolicy,
    now: number,
  ): NodeAnswer {
    const view = this.#read.node(node.id, now)!;
    const health = view.health;
    const observedAt = record?.sample.observedAt ?? null;
    let validFrom = -Infinity;
    let validUntil = Infinity;
    if (drain === undefined && record !== undefined) {
      const freshUntil = record.sample.observedAt + staleAfterMs(node.intervalMs, this.#read.policy(node.chain.name));
      if (now <= freshUntil) validUntil = freshUntil;
      else {
        validFrom = now;
        validUntil = now + STALE_TEXT_REFRESH_MS;
      }
    }
    const texts = health.reasons.slice(0, MAX_PROBE_REASONS).map((r) => printable(r.text, MAX_REASON_CHARS));
    const text = `${health.state}${texts.length > 0 ? ` ${texts.join('; ')}` : ''}\n`;
    const answer: NodeAnswer = {
      nodeId: node.id,
      chain: node.chain.name,
      state: health.state,
      usable: isUsable(health.state),
      reasons: health.reasons,
      observedAt,
      score: view.verdict?.score.total ?? null,
      jsonHead: `{"node":${JSON.stringify(node.id)},"chain":${JSON.stringify(node.chain.name)},"state":"${health.state}","reasons":${JSON.stringify(texts)},"observedAt":${observedAt ?? 'null'},"ageMs":`,
      text,
      textLength: Buffer.byteLength(text),
    };
    this.#entries.set(node.id, { answer, node, record, drain, policy, validFrom, validUntil });
    return answer;
  }
}

/** The JSON body of a node's answer at `now`. */
export function nodeAnswerJson(a: NodeAnswer, now: number): string {
  return a.observedAt === null ? `${a.jsonHead}null}` : `${a.jsonHead}${now > a.observedAt ? now - a.observedAt : 0}}`;
}
