/** The page state: the latest fleet view, filters, the open node. */

export const st = {
  chains: [], nodes: [], byId: new Map(), fetchedAt: 0, lastOk: 0, conn: 'connecting', connDetail: '',
  stream: false, history: new Map(), changes: [], sort: { key: 'chain', dir: 1 },
  filter: { chain: '', tag: '', state: '', text: '' }, rows: new Map(),
  detailId: null, detail: null, openerKey: null, openedAt: Date.now(),
  changesFrom: null, headChain: '',
};

// Deep links: #node=<id> names the open node (never a credential), so a view can be shared.
export function hashNode() {
  const m = /^#node=(.+)$/.exec(location.hash);
  if (!m) return null;
  try { return decodeURIComponent(m[1]); } catch (e) { return null; }
}

/**
 * Calls that run against the module order (constants < dom < format < state < api < charts <
 * heads < detail < render < live < main): a lower module that must trigger a higher one's work
 * (new credentials refresh the view; a drain reloads it) calls it through here. main.ts fills
 * these in before anything runs, so the modules import each other only downward.
 */
export interface Hooks {
  /** live.ts: reload the fleet now. */
  refresh(): Promise<void>;
  /** live.ts: drop the event stream so it reconnects (with a new API key). */
  restartStream(): void;
  /** detail.ts: redraw the drain buttons for the current credentials. */
  renderActions(): void;
}
const unwired = (name: string) => (): never => { throw new Error('dashboard: hooks.' + name + ' called before main.ts wired it'); };
export const hooks: Hooks = { refresh: unwired('refresh'), restartStream: unwired('restartStream'), renderActions: unwired('renderActions') };
