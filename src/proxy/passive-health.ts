/**
 * Where the proxy reports what real traffic showed about a node: evidence for the judge, so a
 * node failing requests is re-probed at once rather than at its next interval. The poller
 * implements it for the nodes this replica polls (Poller.recheckSoon).
 */
export interface PassiveHealth {
  /** A request to the node failed before any answer (`code`: an RpcErrorCode). */
  onNodeFailure(nodeId: string, code: string): void;
}

export const NO_PASSIVE_HEALTH: PassiveHealth = Object.freeze({ onNodeFailure: () => {} });
