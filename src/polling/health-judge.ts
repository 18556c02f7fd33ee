// The health judge: each sample against its chain's reference head and its node's hysteresis, into a verdict and a record.
import type { Sample } from '../chains/sample.js';
import type { NodeConfig } from '../config/node-config.js';
import { evaluateNode } from '../health/evaluate-node.js';
import { HeadVotes } from '../health/head-votes.js';
import { NO_SCORE } from '../health/score.js';
import type { ChainReport } from '../health/chain-report.js';
import { isFresh, staleAfterMs } from '../health/freshness.js';
import { type HealthPolicy, policyForChain } from '../health/policy.js';
import { type RankInput, compareForRanking, rankedInOrder } from '../health/ranking.js';
import { emptyReference, headProgress, type ReferenceHead } from '../health/reference-head.js';
import { type SelectionChange, nextSelection } from '../health/selection.js';
import { type HealthState, isUsable } from '../health/states.js';
import type { NodeVerdict } from '../health/verdict.js';
import type { ChainFacts, NodeRecord } from '../store/store.js';
import { effectiveOf } from '../view/effective-node.js';
import type { FleetView } from '../view/fleet-view.js';
import type { Judge, SampleVerdict } from './judge.js';

export interface HealthJudgeOptions {
  readonly view: FleetView;
  readonly policy: HealthPolicy;
  readonly replica: string;
  /** Every configured node (the judge ranks all of a chain's nodes, not only this replica's). */
  readonly nodes: () => ReadonlyMap<string, NodeConfig>;
  /**
   * A chain's reference head is recomputed at least this often, ms (default 250), and sooner
   * once more than a tenth of its evidence has changed (nodes joining or flipping ok/failing).
   */
  readonly referenceRefreshMs?: number;
  /**
   * A chain is re-ranked this often, ms (default 1000): for its samples' timings and heights,
   * staleness and dwell times. A sample that may move the chain's selection (a node new to the
   * view that is usable at once, a node answering again or failing, changing state or starting
   * or ending a pending change) re-ranks it at the next flush instead.
   */
  readonly rerankEveryMs?: number;
  readonly onSelectionChange?: (change: SelectionChange) => void;
}

/** healthy 0 < degraded 1 < unhealthy 2 < unknown 3 (no confirmed state at all). */
function severityRank(state: string): number {
  return state === 'healthy' ? 0 : state === 'degraded' ? 1 : state === 'unhealthy' ? 2 : 3;
}

/** A chain's head is recomputed no sooner than this many times its last computation's wall time (see #reference). */
const REFERENCE_COST_FACTOR = 25;

const EMPTY_COUNTS: Readonly<Record<HealthState, number>> = {
  healthy: 0,
  degraded: 0,
  unhealthy: 0,
  unknown: 0,
  maintenance: 0,
};

/**
 * Connects polling to the health core: each sample is judged as it arrives (stats, assessment,
 * hysteresis, score) against a cached reference head of its chain, with the node's previous
 * state taken from the fleet view, so a node's hysteresis continues across replicas and lease
 * moves. Ranking and the shared endpoint choice are recomputed per chain at each flush.
 */
interface ChainIndex {
  readonly nodes: readonly NodeConfig[];
  /** The nodes' votes on the head (slot = position in `nodes`), built at the first head after an index or policy change. */
  votes: HeadVotes | undefined;
  /** Slots whose record changed since the votes last read them: `changed[slot]` set, listed once in `changedSlots`. */
  readonly changed: Uint8Array;
  readonly changedSlots: number[];
  /**
   * The ranking's inputs by slot (see #rankInputs), each as of its node's last change: its record,
   * its drain, or its sample going stale. Undefined until the chain's first ranking (and after a
   * policy change).
   */
  inputs: RankInput[] | undefined;
  /** Slots whose record changed since the last ranking: `rankChanged[slot]` set, listed once in `rankChangedSlots`. */
  readonly rankChanged: Uint8Array;
  readonly rankChangedSlots: number[];
  /** Per slot, when its input was made: drained (1/0), its sample fresh (1/0), and when that sample turns stale. */
  readonly drained: Uint8Array;
  readonly fresh: Uint8Array;
  readonly freshUntil: Float64Array;
  /** The slots in the last ranking's order: sorted again from there, few have moved. */
  readonly order: number[];
}

export class HealthJudge implements Judge {
  readonly #o: HealthJudgeOptions;
  readonly #references = new Map<string, ReferenceHead>();
  /** Wall time of each chain's last head computation, ms (see REFERENCE_COST_FACTOR). */
  readonly #referenceCostMs = new Map<string, number>();
  /** Evidence changes per chain since its head was last computed. */
  readonly #changes = new Map<string, number>();
  readonly #policies = new Map<string, HealthPolicy>();
  /** Chains with a sample that may move their selection since they were last ranked (see rerankEveryMs). */
  readonly #urgent = new Set<string>();
  readonly #lastRanked = new Map<string, number>();
  #indexedFor: ReadonlyMap<string, NodeConfig> | undefined;
  #byChain = new Map<string, ChainIndex>();
  /** Each node's chain index and slot in it, for the view's record changes. */
  #slotOf = new Map<string, { readonly index: ChainIndex; readonly slot: number }>();

  constructor(opts: HealthJudgeOptions) {
    this.#o = opts;
    // A head's votes follow the records: whoever wrote them (this replica, another, a reload).
    // So do the ranking's inputs.
    opts.view.watchRecords((nodeId) => {
      const at = this.#slotOf.get(nodeId);
      if (at === undefined) return;
      const index = at.index;
      if (index.votes !== undefined && index.changed[at.slot] === 0) {
        index.changed[at.slot] = 1;
        index.changedSlots.push(at.slot);
      }
      if (index.inputs !== undefined && index.rankChanged[at.slot] === 0) {
        index.rankChanged[at.slot] = 1;
        index.rankChangedSlots.push(at.slot);
      }
    });
  }

  judge(node: NodeConfig, sample: Sample, now: number): SampleVerdict {
    const chain = node.chain;
    const policy = this.#policy(chain.name);
    const prevRecord = this.#o.view.get(node.id);
    // The cached head is only as good as the samples it was built from: a node joining the
    // evidence (first sample, or answering again) counts as a change, so at start-up a
    // lagging node is never judged against a head built from itself alone, and a cold sweep
    // of 10,000 nodes still recomputes the head only a few dozen times, not per node.
    if (!prevRecord || prevRecord.sample.ok !== sample.ok)
      this.#changes.set(chain.name, (this.#changes.get(chain.name) ?? 0) + 1);
    const prev = prevRecord?.health ?? undefined;
    let reference = this.#reference(chain.name, now, policy);
    // A head that rests on no advancing node (start-up, a halt) is rebuilt with this sample in
    // it when this sample advances: the first node seen moving must not be judged against the
    // frozen heads that arrived before it. Rare by construction, so no quadratic cost.
    if (
      reference.basis !== 'advancing' &&
      headProgress(sample, prev?.stats, chain, now, policy).progress === 'advancing'
    ) {
      reference = this.#reference(chain.name, now, policy, true, sample);
    }
    const { evaluation, transition } = evaluateNode({
      node,
      drained: this.#o.view.drain(node.id) !== undefined,
      sample,
      replaced: prevRecord?.sample ?? null,
      health: prev?.health ?? null,
      stats: prev?.stats ?? null,
      chain,
      reference,
      now,
      policy,
    });
    // Ranking reads every node of the chain, so each flush ranking every chain a sample touched
    // cost each worker O(fleet) four times a second whatever its share: at 100,000 nodes more
    // than half a core per worker (issue #16). Only what can move a selection waits for no timer.
    // A node new to the view moves a selection only if it is usable at once (riseAfter 1): a
    // new node is unknown until it has risen, and a selection picks among usable nodes only. A
    // cold sweep of 10,000 new nodes ranked every chain at every flush for it: 9 % of the cold
    // sweep's CPU. The chain's first ranking is still at its first flush (it was never ranked).
    const was = prev?.health;
    const is = evaluation.health;
    if (
      prevRecord
        ? transition ||
          prevRecord.sample.ok !== sample.ok ||
          was?.state !== is.state ||
          (was?.pending?.toward ?? null) !== (is.pending?.toward ?? null)
        : isUsable(is.state)
    )
      this.#urgent.add(chain.name);
    const verdict: NodeVerdict = { health: evaluation.health, stats: evaluation.stats, score: evaluation.score };
    const record: NodeRecord = {
      nodeId: node.id,
      chain: chain.name,
      sample,
      health: verdict,
      replica: this.#o.replica,
      writtenAt: now,
    };
    const state = evaluation.health.state;
    const pending = evaluation.health.pending;
    return {
      record,
      ...(transition
        ? {
            transition: {
              from: transition.from ?? 'new',
              to: transition.to,
              reasons: transition.reasons.map((r) => r.text),
            },
          }
        : {}),
      down: state === 'unhealthy',
      changing: pending !== null,
      rising:
        pending !== null &&
        (evaluation.health.tracked === 'unknown' ||
          severityRank(pending.toward) < severityRank(evaluation.health.tracked)),
      unconfirmed: evaluation.health.tracked === 'unknown',
    };
  }

  chainFacts(now: number): ChainFacts[] {
    const rerankEveryMs = this.#o.rerankEveryMs ?? 1_000;
    const out: ChainFacts[] = [];
    for (const [chainName, index] of this.#index()) {
      const last = this.#lastRanked.get(chainName) ?? 0;
      if (!this.#urgent.has(chainName) && now - last < rerankEveryMs) continue;
      this.#urgent.delete(chainName);
      this.#lastRanked.set(chainName, now);
      const report = this.#evaluateChain(chainName, index, now);
      out.push({ chain: chainName, facts: report, replica: this.#o.replica, writtenAt: now });
    }
    return out;
  }

  /** Rank a chain from the fleet view and advance its shared selection. */
  #evaluateChain(chainName: string, index: ChainIndex, now: number): ChainReport {
    const policy = this.#policy(chainName);
    const view = this.#o.view;
    // The order rankEffective gives over the whole view (the comparison is total: any starting
    // order sorts to the same one), from inputs kept per node and the last ranking's order.
    // Every node read, judged effective and sorted from scratch each second cost each worker
    // ~1 µs per node of the fleet, whatever its share (issue #16: a tenth of a core per worker
    // at 100,000 nodes, more with failures ranking chains at every flush).
    const inputs = this.#rankInputs(index, now, policy);
    const order = index.order;
    order.sort((a, b) => compareForRanking(inputs[a]!, inputs[b]!));
    const sorted: RankInput[] = new Array<RankInput>(order.length);
    for (let i = 0; i < order.length; i++) sorted[i] = inputs[order[i]!]!;
    const ranking = rankedInOrder(sorted);
    const prev = view.chainFacts(chainName)?.facts?.selection ?? null;
    const { selection, change } = nextSelection(prev, ranking, chainName, now, policy);
    if (change) this.#o.onSelectionChange?.(change);
    const counts = { ...EMPTY_COUNTS };
    for (const r of ranking) counts[r.state]++;
    return {
      chain: chainName,
      evaluatedAt: now,
      reference: this.#reference(chainName, now, policy, true),
      selection,
      counts,
    };
  }

  /**
   * The ranking's input of every slot as effectiveOf gives it at `now`, each made again only
   * when what it depends on moved: the node's record (the view's watcher), its drain, or `now`
   * crossing the time its sample turns stale (either way: a clock set back makes it fresh
   * again). What else effectiveOf puts in an input at `now` (a drained or never-sampled node's
   * `since`, a stale sample's age in its reason's text) no ranking or selection reads.
   */
  #rankInputs(index: ChainIndex, now: number, policy: HealthPolicy): RankInput[] {
    const view = this.#o.view;
    const nodes = index.nodes;
    const make = (slot: number, drained: boolean): void => {
      const node = nodes[slot]!;
      const record = view.get(node.id);
      const sample = record?.sample;
      index.drained[slot] = drained ? 1 : 0;
      index.fresh[slot] = sample === undefined || isFresh(sample, node.intervalMs, now, policy) ? 1 : 0;
      index.freshUntil[slot] =
        sample === undefined ? Infinity : sample.observedAt + staleAfterMs(node.intervalMs, policy);
      index.inputs![slot] = {
        node,
        health: effectiveOf(record, node, drained, now, policy),
        score: record?.health?.score ?? NO_SCORE,
      };
    };
    if (index.inputs === undefined) {
      index.inputs = new Array<RankInput>(nodes.length);
      for (let slot = 0; slot < nodes.length; slot++) make(slot, view.drain(nodes[slot]!.id) !== undefined);
      index.order.length = 0;
      for (let slot = 0; slot < nodes.length; slot++) index.order.push(slot);
      index.rankChanged.fill(0);
      index.rankChangedSlots.length = 0;
      return index.inputs;
    }
    for (const slot of index.rankChangedSlots) {
      index.rankChanged[slot] = 0;
      make(slot, view.drain(nodes[slot]!.id) !== undefined);
    }
    index.rankChangedSlots.length = 0;
    for (let slot = 0; slot < nodes.length; slot++) {
      const drained = view.drain(nodes[slot]!.id) !== undefined;
      // Within a millisecond of the deadline the input is made again whatever the sum's
      // rounding says: isFresh decides, as for every other reader.
      const until = index.freshUntil[slot]!;
      const timeMoved = index.fresh[slot] === 1 ? now > until - 1 : now <= until + 1;
      if (timeMoved || drained !== (index.drained[slot] === 1)) make(slot, drained);
    }
    return index.inputs;
  }

  /** Forget cached policies (after a config reload changed them). */
  setPolicy(policy: HealthPolicy): void {
    (this.#o as { policy: HealthPolicy }).policy = policy;
    this.#policies.clear();
    for (const index of this.#byChain.values()) {
      index.votes = undefined;
      index.inputs = undefined;
    }
  }

  #policy(chainName: string): HealthPolicy {
    let p = this.#policies.get(chainName);
    if (!p) {
      p = policyForChain(this.#o.policy, chainName);
      this.#policies.set(chainName, p);
    }
    return p;
  }

  /** Nodes by chain, rebuilt only when the fleet changes (a reload replaces the map). */
  #index(): ReadonlyMap<string, ChainIndex> {
    const nodes = this.#o.nodes();
    if (this.#indexedFor === nodes) return this.#byChain;
    const byChain = new Map<string, { nodes: NodeConfig[] }>();
    for (const n of nodes.values()) {
      let entry = byChain.get(n.chain.name);
      if (!entry) byChain.set(n.chain.name, (entry = { nodes: [] }));
      entry.nodes.push(n);
    }
    this.#byChain = new Map();
    this.#slotOf = new Map();
    for (const [chainName, { nodes: chainNodes }] of byChain) {
      const index: ChainIndex = {
        nodes: chainNodes,
        votes: undefined,
        changed: new Uint8Array(chainNodes.length),
        changedSlots: [],
        inputs: undefined,
        rankChanged: new Uint8Array(chainNodes.length),
        rankChangedSlots: [],
        drained: new Uint8Array(chainNodes.length),
        fresh: new Uint8Array(chainNodes.length),
        freshUntil: new Float64Array(chainNodes.length),
        order: [],
      };
      this.#byChain.set(chainName, index);
      chainNodes.forEach((n, slot) => this.#slotOf.set(n.id, { index, slot }));
    }
    this.#indexedFor = nodes;
    this.#references.clear();
    return this.#byChain;
  }

  #reference(chainName: string, now: number, policy: HealthPolicy, force = false, incoming?: Sample): ReferenceHead {
    const cached = this.#references.get(chainName);
    const changes = this.#changes.get(chainName) ?? 0;
    // A head costs a pass over the chain's votes (HeadVotes: numbers, no object per node;
    // a full pass over the records cost ~10-20 ms for 5,000 nodes and was a fifth of a
    // 10,000-node sweep's CPU). The refresh still stretches to REFERENCE_COST_FACTOR times the
    // last computation's cost, for fleets far larger than today's; small ones keep 250 ms.
    // An older head only understates lag (by the blocks produced since), never invents it,
    // and evidence changes (nodes joining, flipping) still force a recompute.
    const refreshMs = Math.max(
      this.#o.referenceRefreshMs ?? 250,
      REFERENCE_COST_FACTOR * (this.#referenceCostMs.get(chainName) ?? 0),
    );
    const fresh =
      cached !== undefined &&
      now >= cached.atMs &&
      now - cached.atMs < refreshMs &&
      changes <= Math.floor(cached.contributors / 10);
    if (!force && fresh) return cached;
    const started = performance.now();
    const index = this.#index().get(chainName);
    let ref: ReferenceHead;
    if (index) {
      const nodes = index.nodes;
      const view = this.#o.view;
      // Each node's stats and latest assessment ride along: stuck nodes and nodes judged
      // unhealthy for their own reasons get no vote on the head. The votes are read from the
      // view once, then only the nodes whose record changed since (see the constructor).
      const fromView = (votes: HeadVotes, slot: number): void => {
        const n = nodes[slot]!;
        const record = view.get(n.id);
        const verdict = record?.health;
        votes.offer(slot, record?.sample ?? null, n.intervalMs, verdict?.stats, verdict?.health.latest);
      };
      let votes = index.votes;
      if (votes === undefined) {
        votes = new HeadVotes(nodes[0]!.chain, policy);
        for (let slot = 0; slot < nodes.length; slot++) fromView(votes, slot);
        index.votes = votes;
        index.changed.fill(0);
      } else {
        for (const slot of index.changedSlots) {
          index.changed[slot] = 0;
          fromView(votes, slot);
        }
      }
      index.changedSlots.length = 0;
      const at = incoming === undefined ? undefined : this.#slotOf.get(incoming.nodeId);
      if (incoming !== undefined && at !== undefined && at.index === index) {
        const verdict = view.get(incoming.nodeId)?.health;
        votes.offer(at.slot, incoming, nodes[at.slot]!.intervalMs, verdict?.stats, verdict?.health.latest);
        // Not in the view yet: the next head reads the node's record again.
        index.changed[at.slot] = 1;
        index.changedSlots.push(at.slot);
      }
      ref = votes.head(now);
    } else {
      ref = emptyReference(chainName, now);
    }
    this.#references.set(chainName, ref);
    this.#changes.set(chainName, 0);
    this.#referenceCostMs.set(chainName, performance.now() - started);
    return ref;
  }
}
