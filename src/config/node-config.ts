// NodeConfig, one validated node as the rest of nodesentry sees it, and the node defaults.
import type { ChainSpec } from '../chains/chain-spec.js';
import type { Credentials } from '../rpc/credentials.js';
import type { SecretUrl } from '../rpc/secret-url.js';

/** One node as the rest of nodesentry sees it: validated, resolved, credential-free URL. */
export interface NodeConfig {
  readonly id: string;
  /** Resolved chain: built-in spec, or the generic family with the expectations from config. */
  readonly chain: ChainSpec;
  /**
   * The node's URL with any `user:pass@` removed, and `${VAR}` placeholders kept as written:
   * safe to log and to serve. Requests go to `requestUrl` when it is set.
   */
  readonly url: string;
  /**
   * The URL requests really go to, when it differs from `url`: a secret taken from the
   * environment through a `${VAR}` placeholder (provider tokens in the path, as in
   * `https://go.getblock.io/${GETBLOCK_TOKEN}/`). Never logged, never served.
   */
  readonly requestUrl?: SecretUrl;
  readonly credentials?: Credentials;
  readonly tags: readonly string[];
  /** 0 = primary; higher tiers are backups, used only while no lower tier is healthy. */
  readonly tier: number;
  readonly intervalMs: number;
  readonly timeoutMs: number;
}

/** Timing defaults for nodes that do not override them. */
export interface NodeDefaults {
  readonly intervalMs: number;
  readonly timeoutMs: number;
}

export const NODE_DEFAULTS: NodeDefaults = Object.freeze({
  // HAProxy's inter. A killed node is seen at its next probe (<= 2 s, 1 s on average) and
  // confirmed by two fast re-checks (fall 3): out of /best in ~1.5 s median, < 4 s at worst.
  // Paid providers can set their own (slower) intervalMs per node.
  intervalMs: 2_000,
  // Below the interval, so a hung node never makes its rounds overlap; 3 timeouts (fall 3)
  // plus the wait for the first probe keep a hung node's failover under 8 s.
  timeoutMs: 1_500,
});
