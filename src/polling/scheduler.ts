// The poller's scheduler: when each owned node is probed next (its interval, fast re-checks, back-off), under the concurrency limits.
import type { Logger } from 'pino';
import type { Dispatcher } from 'undici';
import { NodeProber } from '../chains/node-prober.js';
import type { Sample } from '../chains/sample.js';
import type { NodeConfig } from '../config/node-config.js';
import type { FleetView } from '../view/fleet-view.js';
import {
  INITIAL_CADENCE,
  jitteredMs,
  nextProbe,
  resumeDelayMs,
  type CadenceRules,
  type CadenceState,
  type ProbePlan,
} from './cadence.js';
import { errText } from './err-text.js';
import type { Judge, SampleVerdict } from './judge.js';
import { hostKey, ProbeLimiters } from './limiters.js';

export interface SchedulerOptions extends CadenceRules {
  readonly dispatcher: Dispatcher;
  readonly view: FleetView;
  readonly logger: Logger;
  readonly judge: Judge;
  readonly concurrency: number;
  readonly perHostConcurrency: number;
  readonly maxResponseBytes: number;
  readonly peerDetailsEveryMs: number;
  /** Phase each node's first per-peer list by its id (NodeProber's default); false: on its first probe. */
  readonly phasePeerDetails: boolean;
  readonly recheckMinGapMs: number;
  readonly staleAfterMs: (node: NodeConfig) => number;
  readonly now: () => number;
  readonly random: () => number;
  /** A judged sample and the plan for the node's next probe: the poller publishes and buffers it. */
  readonly onResult: (result: ProbeResult) => void;
}

export interface ProbeResult {
  readonly node: NodeConfig;
  readonly sample: Sample;
  readonly verdict: SampleVerdict;
  readonly plan: ProbePlan;
  /** When the sample was judged (epoch ms). */
  readonly now: number;
}

interface Entry {
  node: NodeConfig;
  prober: NodeProber;
  host: string;
  timer: NodeJS.Timeout | undefined;
  inFlight: Promise<void> | undefined;
  cadence: CadenceState;
  /** When `recheckSoon` last asked for a probe (rate limit). */
  recheckAt: number;
}

/**
 * Keeps every node this replica holds a lease for probed on its own interval (with jitter),
 * under a global and a per-host concurrency limit. A node's rounds never overlap; a hung node
 * costs at most its timeout and delays nobody else. When the next probe is due is the
 * cadence's (cadence.ts): sooner for a node changing state, backed off for one that stays down.
 */
export class Scheduler {
  readonly #o: SchedulerOptions;
  readonly #limiters: ProbeLimiters;
  /** Nodes this replica holds the lease for and schedules. */
  readonly #owned = new Map<string, Entry>();
  #started = false;
  #closed = false;
  #firstSweepPending = new Set<string>();
  #firstSweepDone = false;
  #probes = 0;

  constructor(opts: SchedulerOptions) {
    this.#o = opts;
    this.#limiters = new ProbeLimiters(opts.concurrency, opts.perHostConcurrency);
  }

  /** Readiness: every node owned at start has been probed once (or there was nothing to probe). */
  get firstSweepDone(): boolean {
    return this.#firstSweepDone;
  }

  get ownedNodeIds(): string[] {
    return [...this.#owned.keys()];
  }

  get ownedNodes(): NodeConfig[] {
    return [...this.#owned.values()].map((e) => e.node);
  }

  get size(): number {
    return this.#owned.size;
  }

  get stats(): Readonly<{ probes: number; inFlight: number; queued: number }> {
    const p = this.#limiters.pending;
    return { probes: this.#probes, inFlight: p.active, queued: p.queued };
  }

  has(id: string): boolean {
    return this.#owned.has(id);
  }

  /** From now on, nodes taken on are scheduled at once (before: only on sweepOnce). */
  activate(): void {
    this.#started = true;
  }

  /** Schedule owned nodes that have no timer yet, and count the first sweep from here. */
  beginFirstSweep(): void {
    // Nodes taken on by a one-off sweepOnce() before start() have no timer yet.
    for (const e of this.#owned.values()) if (!e.timer && !e.inFlight) this.#schedule(e, this.resumeDelay(e.node));
    this.#firstSweepPending = new Set(this.#owned.keys());
    if (this.#firstSweepPending.size === 0) this.#firstSweepDone = true;
  }

  /** Forget limiters of hosts no longer in the fleet. */
  retainHosts(nodes: Iterable<NodeConfig>): void {
    this.#limiters.retainHosts(new Set([...nodes].map((n) => hostKey(n.requestUrl?.reveal() ?? n.url))));
  }

  /** After a takeover, continue the node's rhythm: probe when its last sample is one interval old. */
  resumeDelay(node: NodeConfig): number {
    return resumeDelayMs(node.intervalMs, this.#o.view.get(node.id)?.sample.observedAt, this.#o.now(), this.#o.random);
  }

  /** Take a node on; scheduled after `delayMs` once active (undefined: only probed by sweepOnce). */
  own(node: NodeConfig, delayMs: number | undefined): void {
    if (this.#owned.has(node.id)) return;
    const o = this.#o;
    const entry: Entry = {
      node,
      prober: new NodeProber(node, {
        dispatcher: o.dispatcher,
        maxResponseBytes: o.maxResponseBytes,
        now: o.now,
        peerDetailsEveryMs: o.peerDetailsEveryMs,
        ...(o.phasePeerDetails ? {} : { peerDetailsPhaseMs: 0 }),
      }),
      host: hostKey(node.requestUrl?.reveal() ?? node.url),
      timer: undefined,
      inFlight: undefined,
      cadence: INITIAL_CADENCE,
      recheckAt: -Infinity,
    };
    this.#owned.set(node.id, entry);
    if (delayMs !== undefined && this.#started) this.#schedule(entry, delayMs);
  }

  drop(id: string): void {
    const e = this.#owned.get(id);
    if (!e) return;
    clearTimeout(e.timer);
    this.#owned.delete(id);
    // A node given away (lease) or removed before its first probe finished is no longer ours to
    // probe: if it was the last the first sweep waited for, the sweep is complete (else
    // readiness stayed false for ever).
    if (this.#firstSweepPending.delete(id)) this.#completeFirstSweep();
  }

  #completeFirstSweep(): void {
    if (this.#firstSweepPending.size > 0 || this.#firstSweepDone) return;
    this.#firstSweepDone = true;
    this.#o.logger.info({ nodes: this.#owned.size }, 'first sweep complete');
  }

  /** Probe every owned node once now; nodes already being probed are awaited, not probed twice. */
  async probeAllOnce(): Promise<Sample[]> {
    const samples: Sample[] = [];
    await Promise.all(
      [...this.#owned.values()].map(async (e) => {
        if (e.inFlight) await e.inFlight;
        const s = await this.#probe(e, false);
        if (s) samples.push(s);
      }),
    );
    return samples;
  }

  /** See Poller.recheckSoon. */
  recheckSoon(nodeId: string): void {
    const e = this.#owned.get(nodeId);
    if (!e || !this.#started || this.#closed || e.inFlight) return;
    const now = this.#o.now();
    if (now - e.recheckAt < this.#o.recheckMinGapMs) return;
    e.recheckAt = now;
    this.#schedule(e, 0);
  }

  /** Stop scheduling; resolves once probes in flight have ended (bounded by their timeouts). */
  async close(): Promise<void> {
    this.#closed = true;
    for (const e of this.#owned.values()) clearTimeout(e.timer);
    await Promise.allSettled([...this.#owned.values()].map((e) => e.inFlight));
  }

  /** Forget every node; returns the ids that were owned. */
  clear(): string[] {
    const owned = [...this.#owned.keys()];
    this.#owned.clear();
    return owned;
  }

  #schedule(e: Entry, delayMs: number): void {
    if (this.#closed || this.#owned.get(e.node.id) !== e) return;
    clearTimeout(e.timer);
    e.timer = setTimeout(() => {
      e.timer = undefined;
      void this.#probe(e, true);
    }, delayMs);
    e.timer.unref();
  }

  async #probe(e: Entry, reschedule: boolean): Promise<Sample | undefined> {
    if (e.inFlight) return undefined; // rounds never overlap
    let sample: Sample | undefined;
    let delay = jitteredMs(e.node.intervalMs, this.#o.jitter, this.#o.random);
    const run = async () => {
      sample = await this.#limiters.run(e.host, () => e.prober.probe());
      this.#probes++;
      delay = this.#accept(e, sample);
    };
    e.inFlight = run()
      .catch((err) => this.#o.logger.error({ err: errText(err), node: e.node.id }, 'probe handling failed'))
      .finally(() => {
        e.inFlight = undefined;
      });
    await e.inFlight;
    if (this.#firstSweepPending.delete(e.node.id)) this.#completeFirstSweep();
    if (reschedule) this.#schedule(e, delay);
    return sample;
  }

  /** Judge, plan the next probe, hand the result on; returns the delay until the next probe. */
  #accept(e: Entry, sample: Sample): number {
    const o = this.#o;
    const now = o.now();
    const verdict = o.judge.judge(e.node, sample, now);
    const plan = nextProbe(
      e.cadence,
      { intervalMs: e.node.intervalMs, timeoutMs: e.node.timeoutMs, staleAfterMs: o.staleAfterMs(e.node) },
      sample,
      verdict,
      o,
      o.random,
    );
    e.cadence = plan.state;
    o.onResult({ node: e.node, sample, verdict, plan, now });
    return plan.delayMs;
  }
}
