// One simulated node's state over time: height, peers, fault.
import type { ServerResponse } from 'node:http';
import type { ClientProfile } from './client-profile.js';
import { NO_FAULT, type Fault } from './fault.js';
import type { Listener } from './listener.js';
import { hashString } from './seeded-random.js';
import {
  DEFAULT_CHAIN_ID,
  DEFAULT_NETWORK,
  DEFAULT_PEERS,
  KIND_DEFAULTS,
  type SimKind,
  type SimNodeSpec,
  type SimQuirk,
} from './sim-node-spec.js';

/** How far behind a `syncing` node is when the fault does not say. */
export const DEFAULT_SYNC_BEHIND_BLOCKS = 1000;
/** Distinct method names counted per node; the rest go to `(other)` so junk cannot grow memory. */
const MAX_COUNTED_METHODS = 256;

// Another chain each chain can be mistaken for (testnet <-> mainnet).
const OTHER_CHAIN_ID: Readonly<Record<number, number>> = Object.freeze({
  56: 97,
  97: 56,
  1130: 1131,
  1131: 1130,
  1133: 1130,
});

/**
 * The live state of one simulated node. Height is computed from time (never ticked), peers
 * are counts (lists are generated on demand), so 10,000 of these cost a few MB.
 */
export class SimNode {
  readonly id: string;
  readonly kind: SimKind;
  readonly family: 'evm' | 'bitcoin';
  readonly profile: ClientProfile;
  /** The validated spec as added (fault and peers there are the initial ones). */
  readonly spec: Readonly<SimNodeSpec>;
  readonly seed: number;
  readonly addedAt: number;
  readonly chainId: number;
  readonly network: string;
  readonly blockTimeMs: number;
  readonly latencyMs: number;
  readonly batch: boolean;
  readonly ownPort: boolean;
  readonly disabled: ReadonlySet<string> | undefined;
  readonly cookieFile: string | undefined;

  fault: Fault;
  inbound: number;
  outbound: number;
  /** Toggled by `setnetworkactive`. */
  p2pEnabled = true;
  /** Expected `user:password` behind HTTP Basic; undefined when no credentials are needed. */
  authUserPass: string | undefined;

  requests = 0;
  calls: Record<string, number> | undefined;
  /** Requests held open by the `hang` fault, destroyed on remove / close. */
  hung: Set<ServerResponse> | undefined;

  // ownPort nodes only.
  listener: Listener | undefined;
  port: number | undefined;
  running = true;
  /** Listener changes run one after the other. */
  listenerOp: Promise<void> = Promise.resolve();
  listenerError: unknown;
  removed = false;

  #heightBase: number;
  #heightBaseAt: number;
  /** While `stuck`: the frozen head and when its block was produced. */
  #stuck: { readonly height: number; readonly tipAt: number } | undefined;
  readonly quirks: ReadonlySet<SimQuirk>;

  constructor(spec: SimNodeSpec, profile: ClientProfile, simSeed: number, now: number) {
    const defaults = KIND_DEFAULTS[spec.kind];
    this.id = spec.id;
    this.kind = spec.kind;
    this.family = profile.family;
    this.profile = profile;
    this.spec = spec;
    this.seed = hashString(spec.id, simSeed);
    this.addedAt = now;
    this.chainId = spec.chainId ?? DEFAULT_CHAIN_ID;
    this.network = spec.network ?? DEFAULT_NETWORK;
    this.blockTimeMs = spec.blockTimeMs ?? defaults.blockTimeMs;
    this.latencyMs = spec.latencyMs ?? 0;
    this.batch = spec.batch ?? true;
    this.ownPort = spec.ownPort ?? false;
    this.disabled = spec.disabledMethods && spec.disabledMethods.length > 0 ? new Set(spec.disabledMethods) : undefined;
    this.cookieFile = spec.auth && 'cookieFile' in spec.auth ? spec.auth.cookieFile : undefined;
    this.authUserPass =
      spec.auth && 'username' in spec.auth ? `${spec.auth.username}:${spec.auth.password}` : undefined;
    this.fault = NO_FAULT;
    this.quirks = new Set(spec.quirks ?? []);
    this.inbound = (spec.peers ?? DEFAULT_PEERS).inbound;
    this.outbound = (spec.peers ?? DEFAULT_PEERS).outbound;
    this.#heightBase = spec.startHeight ?? defaults.startHeight;
    this.#heightBaseAt = now;
    this.setFault(spec.fault ?? NO_FAULT, now);
  }

  /** Switch the fault; `stuck` freezes the head as it is now. */
  setFault(fault: Fault, now: number): void {
    if (fault.type === 'stuck') {
      // Stopped `tipAgeMs` ago: its head is the block it had then, produced no later than then.
      const since = now - (fault.tipAgeMs ?? 0);
      const height = this.#stuck?.height ?? this.bestHeight(since);
      const tipAt = this.#stuck?.tipAt ?? Math.min(this.blockTimeAt(height), since);
      this.#stuck = { height, tipAt };
    } else {
      this.#stuck = undefined;
    }
    this.fault = fault;
  }

  /** The chain head as this node sees it: grows one block per `blockTimeMs` (not while `stuck`). */
  headHeight(now: number): number {
    if (this.#stuck !== undefined) return this.#stuck.height;
    const elapsed = now - this.#heightBaseAt;
    return elapsed > 0 ? this.#heightBase + Math.floor(elapsed / this.blockTimeMs) : this.#heightBase;
  }

  /** Blocks the node lacks while `syncing`. */
  syncBehind(): number {
    if (this.fault.type !== 'syncing') return 0;
    return (
      this.fault.behindBlocks ?? (this.fault.txIndexRemainingBlocks !== undefined ? 0 : DEFAULT_SYNC_BEHIND_BLOCKS)
    );
  }

  /** The node's best block: the head, or behind it while syncing. */
  bestHeight(now: number): number {
    return Math.max(0, this.headHeight(now) - this.syncBehind());
  }

  /** When block `height` of this node's chain was mined, epoch ms. */
  blockTimeAt(height: number): number {
    if (this.#stuck !== undefined) return this.#stuck.tipAt - (this.#stuck.height - height) * this.blockTimeMs;
    return this.#heightBaseAt + (height - this.#heightBase) * this.blockTimeMs;
  }

  setHeight(height: number, now: number): void {
    this.#heightBase = height;
    this.#heightBaseAt = now;
    if (this.#stuck !== undefined) this.#stuck = { height, tipAt: now };
  }

  networkActive(): boolean {
    return this.p2pEnabled && this.fault.type !== 'network-inactive';
  }

  connectedInbound(): number {
    return this.networkActive() ? this.inbound : 0;
  }

  connectedOutbound(): number {
    return this.networkActive() ? this.outbound : 0;
  }

  reportedChainId(): number {
    if (this.fault.type !== 'wrong-chain') return this.chainId;
    return OTHER_CHAIN_ID[this.chainId] ?? (this.chainId === 1 ? 56 : 1);
  }

  reportedNetwork(): string {
    if (this.fault.type !== 'wrong-chain') return this.network;
    return this.network === 'main' ? 'test' : 'main';
  }

  isDisabled(method: string): boolean {
    return this.disabled !== undefined && this.disabled.has(method);
  }

  countCall(method: string): void {
    const calls = (this.calls ??= Object.create(null) as Record<string, number>);
    const current = calls[method];
    if (current !== undefined) {
      calls[method] = current + 1;
    } else if (Object.keys(calls).length < MAX_COUNTED_METHODS) {
      calls[method] = 1;
    } else {
      calls['(other)'] = (calls['(other)'] ?? 0) + 1;
    }
  }

  /** True if the `Authorization` header carries this node's credentials (HTTP Basic, as bitcoind checks it). */
  acceptsAuthorization(header: string): boolean {
    if (this.authUserPass === undefined) return this.cookieFile === undefined;
    if (!header.startsWith('Basic ')) return false;
    return Buffer.from(header.slice(6).trim(), 'base64').toString('utf8') === this.authUserPass;
  }

  requiresAuth(): boolean {
    return this.authUserPass !== undefined || this.cookieFile !== undefined;
  }

  /** The spec as it stands now: current fault and peers. */
  currentSpec(): Readonly<SimNodeSpec> {
    return Object.freeze({
      ...this.spec,
      fault: this.fault,
      peers: Object.freeze({ inbound: this.inbound, outbound: this.outbound }),
    });
  }
}
