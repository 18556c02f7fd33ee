/** The page state: the latest fleet view, filters, the open node. */
import type {
  ChainJson,
  HistoryJson,
  HistoryPoint,
  NodeDetailJson,
  NodeJson,
  PeerReportJson,
  TransitionsJson,
} from './types.js';

/** A line of the change logs: a state change, a drain or a new best node. */
export interface Change {
  readonly at: number;
  readonly nodeId: string | null;
  readonly chain?: string | null;
  readonly kind: 'transition' | 'drain' | 'selection';
  /** The state it shows (its icon and colour), if any. */
  readonly state: string | null;
  readonly from?: string;
  readonly to?: string;
  readonly text: string;
}
/** An answer the detail panel asked for, or why it has none. */
export type Loaded<T> = T | { readonly error: Error };
export interface Detail {
  readonly node: Loaded<NodeDetailJson>;
  readonly peers: Loaded<PeerReportJson>;
  readonly hist: Loaded<HistoryJson>;
  readonly transitions: Loaded<TransitionsJson>;
}
export interface PageState {
  chains: readonly ChainJson[];
  nodes: readonly NodeJson[];
  byId: Map<string, NodeJson>;
  fetchedAt: number;
  lastOk: number;
  conn: 'connecting' | 'ok' | 'auth' | 'lost';
  connDetail: string;
  stream: boolean;
  /** Each node's recent samples, and when they were fetched (0: fetch again). */
  history: Map<string, { points: readonly HistoryPoint[]; at: number }>;
  changes: Change[];
  sort: { key: string; dir: number };
  filter: { chain: string; tag: string; state: string; text: string };
  rows: Map<string, HTMLTableRowElement>;
  detailId: string | null;
  detail: Detail | null;
  openerKey: string | null;
  openedAt: number;
  changesFrom: 'store' | 'error' | null;
  headChain: string;
}

export const st: PageState = {
  chains: [],
  nodes: [],
  byId: new Map(),
  fetchedAt: 0,
  lastOk: 0,
  conn: 'connecting',
  connDetail: '',
  stream: false,
  history: new Map(),
  changes: [],
  sort: { key: 'chain', dir: 1 },
  filter: { chain: '', tag: '', state: '', text: '' },
  rows: new Map(),
  detailId: null,
  detail: null,
  openerKey: null,
  openedAt: Date.now(),
  changesFrom: null,
  headChain: '',
};

// Deep links: #node=<id> names the open node (never a credential), so a view can be shared.
export function hashNode(): string | null {
  const m = /^#node=(.+)$/.exec(location.hash);
  if (!m || m[1] === undefined) return null;
  try {
    return decodeURIComponent(m[1]);
  } catch {
    return null;
  }
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
const unwired = (name: string) => (): never => {
  throw new Error('dashboard: hooks.' + name + ' called before main.ts wired it');
};
export const hooks: Hooks = {
  refresh: unwired('refresh'),
  restartStream: unwired('restartStream'),
  renderActions: unwired('renderActions'),
};
