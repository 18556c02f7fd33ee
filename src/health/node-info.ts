/** What the health core needs to know about a node besides its samples. */
export interface NodeInfo {
  readonly id: string;
  /** 0 = primary; higher tiers are backups (see `NodeConfig.tier`). */
  readonly tier: number;
  readonly tags: readonly string[];
  /** The node's poll interval, ms: staleness is measured in intervals as well as in ms. */
  readonly intervalMs: number;
}
