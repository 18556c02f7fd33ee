// The best node of each chain for readers: the shared selection, or a local one.
import type { ChainReport } from '../health/chain-report.js';
import type { HealthPolicy } from '../health/policy.js';
import type { RankedNode } from '../health/ranking.js';
import { type Selection, nextSelection } from '../health/selection.js';
import type { HealthState } from '../health/states.js';
import { rankEffective } from '../view/effective-node.js';
import type { NodeAnswer, NodeAnswers } from './node-answers.js';
import type { ChainSummary, NodeView, ReadModel } from './read-model.js';

export { SHARED_SELECTION_FRESH_MS, sharedFreshMs } from './read-model.js';

/**
 * A ranking with a stale node in it says its age (`stale_sample(41s)`): such a ranking is
 * rebuilt at most this often. Which nodes are stale is decided exactly (the chain's summary).
 */
const STALE_TEXT_REFRESH_MS = 1_000;

/** Where an answer's selection came from. */
export type SelectionSource = 'shared' | 'local';

/** One endpoint of the list a client may walk through. */
export interface TopNode {
  readonly nodeId: string;
  readonly url: string | null;
  readonly tier: number;
  readonly state: HealthState;
}

export interface BestNode {
  readonly chain: string;
  /** The tag the candidates were restricted to, or null. */
  readonly tag: string | null;
  readonly selection: Selection;
  readonly source: SelectionSource;
  /** The chosen node's effective health state at the time of the answer; null without a choice. */
  readonly chosenState: HealthState | null;
  /** Whether any candidate (with the tag, if any) is usable. */
  readonly anyUsable: boolean;
  /** The workers' latest report of the chain, if any (fresh or not). */
  readonly report: ChainReport | undefined;
  readonly policy: HealthPolicy;
  /**
   * The endpoints a client may walk through, best first, as the core orders them (at most `n`):
   * the choice, then the other usable nodes with backups after primaries; when failing open,
   * the other last resorts by rank; when failing closed, none.
   */
  top(n: number): readonly TopNode[];
}

/** A chain's nodes (with the tag, if any) ranked by their effective health. */
export interface RankedChain {
  readonly chain: string;
  readonly tag: string | null;
  readonly ranking: readonly RankedNode[];
  /** Views of the ranked nodes, by id (config, record, effective health). */
  readonly views: ReadonlyMap<string, NodeView>;
  readonly byId: ReadonlyMap<string, RankedNode>;
  readonly anyUsable: boolean;
  /** Epoch ms of the ranking. */
  readonly at: number;
}

interface RankedEntry {
  readonly ranked: RankedChain;
  /** Valid while the chain's summary is this object and `now <= until` (stale reason texts). */
  readonly summary: ChainSummary;
  readonly until: number;
  /** Walk orders (see BestNode.top) by choice. */
  readonly walks: Map<string, readonly RankedNode[]>;
}

/**
 * A local selection that `nextSelection` would give again, unchanged but for `evaluatedAt`,
 * as long as the ranking is the same and the clock has not reached a dwell time.
 */
interface LocalMemo {
  readonly entry: RankedEntry;
  /** The selection last answered (and kept as sticky) for this key. */
  selection: Selection;
  /** What the next answers are, with `evaluatedAt` set to the request's clock. */
  readonly again: Selection;
  readonly at: number;
  readonly until: number;
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
 *
 * Cost per request, as load balancers and backends ask constantly: serving the shared choice
 * checks only the chosen node and the `top` ids the workers listed, through the per-node answer
 * cache, never the whole chain. A local choice needs the chain's ranking: it is cached per
 * (chain, tag) for as long as the chain's summary (its version and staleness window) holds, and
 * the selection computed from it is reused until a dwell time is reached, so a burst of requests
 * after a change costs one ranking.
 */
export class BestNodeResolver {
  readonly #read: ReadModel;
  readonly #answers: NodeAnswers;
  readonly #sticky = new Map<string, Selection>();
  readonly #ranked = new Map<string, RankedEntry>();
  readonly #memos = new Map<string, LocalMemo>();
  readonly #sharedTops = new Map<
    string,
    { readonly selection: Selection; readonly answers: readonly NodeAnswer[]; readonly top: readonly TopNode[] }
  >();
  #fleet: unknown;

  /** `answers`: the app's one answer cache, which the probes and the agent check read too. */
  constructor(read: ReadModel, answers: NodeAnswers) {
    this.#read = read;
    this.#answers = answers;
  }

  /** undefined for a chain with no configured node. */
  resolve(chain: string, now: number, tag: string | null = null): BestNode | undefined {
    const read = this.#read;
    if (read.service.nodes !== this.#fleet) {
      // A reload replaced the fleet: forget the choices of chains that are gone, and every ranking.
      this.#fleet = read.service.nodes;
      const chains = new Set(read.chainNames());
      for (const key of this.#sticky.keys()) if (!chains.has(key.split('\u0000')[0]!)) this.#sticky.delete(key);
      this.#ranked.clear();
      this.#memos.clear();
      this.#sharedTops.clear();
    }
    if (read.chainNodes(chain) === undefined) return undefined;
    const policy = read.policy(chain);
    const report = read.chainReport(chain);
    const key = tag === null ? chain : `${chain}\u0000${tag}`;
    if (tag === null && report !== undefined) {
      const shared = this.#shared(chain, report, now, policy);
      if (shared !== undefined) {
        this.#sticky.set(key, report.selection);
        return shared;
      }
    }
    return this.#local(chain, tag, key, report, now, policy);
  }

  /**
   * The chain's nodes (with the tag, if any) ranked by effective health at `now` (operator
   * views); cached like the rankings local choices are made from. undefined for an unknown chain.
   */
  ranking(chain: string, now: number, tag: string | null = null): RankedChain | undefined {
    return this.#read.chainNodes(chain) === undefined ? undefined : this.#rankedEntry(chain, tag, now).ranked;
  }

  /** The workers' choice, if it is fresh and still holds at `now`; checks no node but the chosen. */
  #shared(chain: string, report: ChainReport, now: number, policy: HealthPolicy): BestNode | undefined {
    const read = this.#read;
    if (now - report.evaluatedAt > read.sharedFreshMs(chain)!) return undefined;
    const sel = report.selection;
    let chosenState: HealthState | null = null;
    let anyUsable: boolean;
    if (sel.mode === 'normal' && sel.nodeId !== null) {
      const a = this.#answers.answer(sel.nodeId, now);
      if (a === undefined || a.chain !== chain || !a.usable) return undefined;
      chosenState = a.state;
      anyUsable = true;
    } else {
      // No usable node when the workers chose: that must still be so.
      if (read.chainSummary(chain, now)!.usable > 0) return undefined;
      if (sel.nodeId !== null) {
        const v = read.node(sel.nodeId, now);
        // Still a last resort: on this chain, not drained, not seen serving another chain.
        if (
          v === undefined ||
          v.node.chain.name !== chain ||
          v.health.state === 'maintenance' ||
          v.health.wrongChainSince !== null
        )
          return undefined;
        chosenState = v.health.state;
      }
      anyUsable = false;
    }
    return {
      chain,
      tag: null,
      selection: sel,
      source: 'shared',
      chosenState,
      anyUsable,
      report,
      policy,
      top: (n) => this.#sharedTop(chain, sel, n, now),
    };
  }

  /**
   * The workers' `top` list while every node in it that is asked for is still usable;
   * otherwise (one went down, or more are asked for than they listed) the walk of the ranking.
   */
  #sharedTop(chain: string, sel: Selection, n: number, now: number): readonly TopNode[] {
    if (sel.mode === 'normal' && n <= sel.top.length && sel.top[0] === sel.nodeId) {
      // The same list object while the same answers back it, so callers can cache what they render.
      const memo = this.#sharedTops.get(chain);
      const answers: NodeAnswer[] = [];
      for (let i = 0; i < n; i++) {
        const a = this.#answers.answer(sel.top[i]!, now);
        if (a === undefined || a.chain !== chain || !a.usable) break;
        answers.push(a);
      }
      if (answers.length === n) {
        if (
          memo !== undefined &&
          memo.selection === sel &&
          memo.answers.length === n &&
          memo.answers.every((a, i) => answers[i] === a)
        )
          return memo.top;
        const top = answers.map((a) => {
          const node = this.#read.config(a.nodeId)!;
          return { nodeId: a.nodeId, url: node.url, tier: node.tier, state: a.state };
        });
        this.#sharedTops.set(chain, { selection: sel, answers, top });
        return top;
      }
    }
    return topOf(this.#rankedEntry(chain, null, now), sel, n);
  }

  #local(
    chain: string,
    tag: string | null,
    key: string,
    report: ChainReport | undefined,
    now: number,
    policy: HealthPolicy,
  ): BestNode {
    const entry = this.#rankedEntry(chain, tag, now);
    const ranking = entry.ranked.ranking;
    const kept = this.#sticky.get(key);
    // Continue from the newer of our own choice and the workers' (untagged only: the workers
    // never choose among a subset).
    const shared = tag === null ? report?.selection : undefined;
    const prev =
      kept === undefined
        ? (shared ?? null)
        : shared !== undefined && shared.evaluatedAt > kept.evaluatedAt
          ? shared
          : kept;
    const memo = this.#memos.get(key);
    let selection: Selection;
    if (memo !== undefined && memo.entry === entry && memo.selection === prev && now >= memo.at && now < memo.until) {
      selection = { ...memo.again, evaluatedAt: now };
      memo.selection = selection;
    } else {
      selection = nextSelection(prev, ranking, chain, now, policy).selection;
      // Reuse it only once it is a fixed point: fed back, the core gives the same choice (the
      // reason turns to `kept`). That is so unless a dwell time is reached, so that bounds it.
      const again = nextSelection(selection, ranking, chain, now, policy).selection;
      if (sameChoice(selection, again))
        this.#memos.set(key, {
          entry,
          selection,
          again,
          at: now,
          until: dwellDeadline(selection, ranking, now, policy),
        });
      else this.#memos.delete(key);
    }
    this.#sticky.set(key, selection);
    const chosenState = selection.nodeId === null ? null : (entry.ranked.byId.get(selection.nodeId)?.state ?? null);
    return {
      chain,
      tag,
      selection,
      source: 'local',
      chosenState,
      anyUsable: entry.ranked.anyUsable,
      report,
      policy,
      top: (n) => topOf(entry, selection, n),
    };
  }

  #rankedEntry(chain: string, tag: string | null, now: number): RankedEntry {
    const read = this.#read;
    const summary = read.chainSummary(chain, now)!;
    const key = tag === null ? chain : `${chain}\u0000${tag}`;
    const e = this.#ranked.get(key);
    if (e !== undefined && e.summary === summary && (e.until === Infinity || (now >= e.ranked.at && now <= e.until)))
      return e;
    const views = new Map<string, NodeView>();
    for (const n of summary.nodes) {
      if (tag !== null && !n.tags.includes(tag)) continue;
      views.set(n.id, read.nodeView(n, now));
    }
    const ranking = rankEffective(views.values());
    const byId = new Map<string, RankedNode>();
    for (const r of ranking) byId.set(r.nodeId, r);
    const ranked: RankedChain = { chain, tag, ranking, views, byId, anyUsable: ranking.some((r) => r.usable), at: now };
    const entry: RankedEntry = {
      ranked,
      summary,
      until: summary.stale > 0 ? now + STALE_TEXT_REFRESH_MS : Infinity,
      walks: new Map(),
    };
    this.#ranked.set(key, entry);
    return entry;
  }
}

/** The first `n` of the walk order for a selection, memoized on the ranking. */
function topOf(entry: RankedEntry, sel: Selection, n: number): TopNode[] {
  if (sel.nodeId === null) return [];
  const key = `${sel.mode}\u0000${sel.nodeId}`;
  let walk = entry.walks.get(key);
  if (walk === undefined) {
    const { ranking, byId } = entry.ranked;
    const choice = byId.get(sel.nodeId);
    const rest =
      sel.mode === 'normal'
        ? ranking.filter((r) => r.usable && r !== choice).sort((a, b) => a.tier - b.tier)
        : ranking.filter((r) => r.lastResort && r !== choice);
    walk = choice ? [choice, ...rest] : rest;
    entry.walks.set(key, walk);
  }
  const views = entry.ranked.views;
  const out: TopNode[] = [];
  for (let i = 0; i < n && i < walk.length; i++) {
    const r = walk[i]!;
    out.push({ nodeId: r.nodeId, url: views.get(r.nodeId)?.node.url ?? null, tier: r.tier, state: r.state });
  }
  return out;
}

/** Same choice, mode, tier, since, list and pending failback: all but the reason and the time. */
function sameChoice(a: Selection, b: Selection): boolean {
  const pa = a.pendingFailback;
  const pb = b.pendingFailback;
  return (
    a.nodeId === b.nodeId &&
    a.mode === b.mode &&
    a.tier === b.tier &&
    a.degradedChoice === b.degradedChoice &&
    a.since === b.since &&
    a.top.length === b.top.length &&
    a.top.every((id, i) => b.top[i] === id) &&
    (a.startupUntil ?? null) === (b.startupUntil ?? null) &&
    (a.preliminary ?? false) === (b.preliminary ?? false) &&
    (pa === pb ||
      (pa !== null && pb !== null && pa.nodeId === pb.nodeId && pa.tier === pb.tier && pa.readyAt === pb.readyAt))
  );
}

/**
 * The first instant after `now` at which the core may choose differently from the same ranking:
 * the end of the choice's minimum dwell (a better node may then take over), or a node of a
 * better tier completing its failback dwell.
 */
function dwellDeadline(sel: Selection, ranking: readonly RankedNode[], now: number, policy: HealthPolicy): number {
  let until = Infinity;
  const dwellEnd = sel.since + policy.minDwellMs;
  if (sel.nodeId !== null && dwellEnd > now) until = dwellEnd;
  // A start-up wait ends at its deadline even if no sample changes the ranking.
  if (sel.startupUntil != null && sel.startupUntil > now && sel.startupUntil < until) until = sel.startupUntil;
  if (sel.tier !== null) {
    for (const r of ranking) {
      if (!r.usable || r.tier >= sel.tier || r.usableSince === null) continue;
      const ready = r.usableSince + policy.failbackDwellMs;
      if (ready > now && ready < until) until = ready;
    }
  }
  return until;
}
