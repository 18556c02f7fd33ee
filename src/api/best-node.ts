import type { HealthPolicy } from '../health/policy.js';
import { type RankedNode, rankNodes } from '../health/ranking.js';
import { NO_SCORE } from '../health/score.js';
import { type Selection, nextSelection } from '../health/selection.js';
import { type ChainReport, nodeInfo } from '../polling/health-judge.js';
import type { NodeView, ReadModel } from './read-model.js';

/**
 * The workers' shared selection is served as long as it is at most this old (or two of the
 * chain's shortest poll intervals, for slowly polled chains: workers re-rank at each write,
 * and they write when samples arrive) and its choice still holds at request time.
 */
export const SHARED_SELECTION_FRESH_MS = 10_000;


/** Where an answer's selection came from. */
export type SelectionSource = 'shared' | 'local';

export interface BestNode {
  readonly chain: string;
  /** The tag the candidates were restricted to, or null. */
  readonly tag: string | null;
  readonly selection: Selection;
  readonly source: SelectionSource;
  /** The chain's nodes (with the tag, if any) ranked by their effective health at `now`. */
  readonly ranking: readonly RankedNode[];
  /** Views of the ranked nodes, by id (config, record, effective health). */
  readonly views: ReadonlyMap<string, NodeView>;
  /** The workers' latest report of the chain, if any (fresh or not). */
  readonly report: ChainReport | undefined;
  readonly policy: HealthPolicy;
}

/**
 * The endpoint choice a backend gets for a chain.
 *
 * Preferably the workers' shared selection (identical on every API replica): it is served while
 * fresh and while its choice still holds by effective health at request time. Otherwise (the
 * report is old, its node has since gone stale or down, a node became usable while none was,
 * or the caller restricts the candidates by tag) it is computed here with the same pure core,
 * from the previous choice kept in memory per (chain, tag), so it fails over at once and stays
 * sticky instead of flapping. The untagged state starts from the shared choice, so a fallback
 * continues where the workers were, and every replica reaches the same answer from the same
 * view.
 */
export class BestNodeResolver {
  readonly #read: ReadModel;
  readonly #sticky = new Map<string, Selection>();
  #fleet: unknown;

  constructor(read: ReadModel) {
    this.#read = read;
  }

  /** undefined for a chain with no configured node. */
  resolve(chain: string, now: number, tag: string | null = null): BestNode | undefined {
    const read = this.#read;
    if (read.service.nodes !== this.#fleet) {
      // A reload replaced the fleet: forget the choices of chains that are gone.
      this.#fleet = read.service.nodes;
      const chains = new Set(read.chainNames());
      for (const key of this.#sticky.keys()) if (!chains.has(key.split('\u0000')[0]!)) this.#sticky.delete(key);
    }
    const nodes = read.chainNodes(chain);
    if (nodes === undefined) return undefined;
    const policy = read.policy(chain);
    const views = new Map<string, NodeView>();
    for (const n of nodes) {
      if (tag !== null && !n.tags.includes(tag)) continue;
      views.set(n.id, read.node(n.id, now)!);
    }
    const ranking = rankNodes([...views.values()].map((v) => ({ node: nodeInfo(v.node), health: v.health, score: v.verdict?.score ?? NO_SCORE })));
    const report = read.chainReport(chain);
    const key = tag === null ? chain : `${chain}\u0000${tag}`;
    const kept = this.#sticky.get(key);

    if (tag === null && report !== undefined && this.#sharedHolds(report, ranking, nodes, now)) {
      this.#sticky.set(key, report.selection);
      return { chain, tag, selection: report.selection, source: 'shared', ranking, views, report, policy };
    }
    // Continue from the newer of our own choice and the workers' (untagged only: the workers
    // never choose among a subset).
    const shared = tag === null ? report?.selection : undefined;
    const prev = kept === undefined ? (shared ?? null) : shared !== undefined && shared.evaluatedAt > kept.evaluatedAt ? shared : kept;
    const { selection } = nextSelection(prev, ranking, chain, now, policy);
    this.#sticky.set(key, selection);
    return { chain, tag, selection, source: 'local', ranking, views, report, policy };
  }

  #sharedHolds(report: ChainReport, ranking: readonly RankedNode[], nodes: readonly { intervalMs: number }[], now: number): boolean {
    if (now - report.evaluatedAt > sharedFreshMs(nodes)) return false;
    const sel = report.selection;
    const anyUsable = ranking.some((r) => r.usable);
    if (sel.mode === 'normal' && sel.nodeId !== null) return ranking.find((r) => r.nodeId === sel.nodeId)?.usable === true;
    // No usable node when the workers chose: that must still be so.
    if (anyUsable) return false;
    if (sel.nodeId === null) return true;
    return ranking.find((r) => r.nodeId === sel.nodeId)?.lastResort === true;
  }
}

/** How old a chain's shared report may be and still be served (see SHARED_SELECTION_FRESH_MS). */
export function sharedFreshMs(nodes: readonly { readonly intervalMs: number }[]): number {
  return Math.max(SHARED_SELECTION_FRESH_MS, 2 * Math.min(...nodes.map((n) => n.intervalMs)));
}

/**
 * The endpoints a client may walk through, best first, as the core orders them: the choice,
 * then the other usable nodes with backups after primaries; when failing open, the other last
 * resorts by rank; when failing closed, none.
 */
export function topNodes(best: BestNode, n: number): RankedNode[] {
  const { selection, ranking } = best;
  if (selection.nodeId === null) return [];
  const choice = ranking.find((r) => r.nodeId === selection.nodeId);
  const rest =
    selection.mode === 'normal'
      ? ranking.filter((r) => r.usable && r !== choice).sort((a, b) => a.tier - b.tier)
      : ranking.filter((r) => r.lastResort && r !== choice);
  return (choice ? [choice, ...rest] : rest).slice(0, n);
}

const byReadModel = new WeakMap<ReadModel, BestNodeResolver>();

/** The one resolver of an app (its read model): the chains routes and the metrics share its memory. */
export function bestNodeResolverFor(read: ReadModel): BestNodeResolver {
  let r = byReadModel.get(read);
  if (!r) {
    r = new BestNodeResolver(read);
    byReadModel.set(read, r);
  }
  return r;
}
