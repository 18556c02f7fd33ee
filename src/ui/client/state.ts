/** The page state: the latest fleet view, filters, the open node. */

export const st = {
  chains: [], nodes: [], byId: new Map(), fetchedAt: 0, lastOk: 0, conn: 'connecting', connDetail: '',
  stream: false, history: new Map(), changes: [], sort: { key: 'chain', dir: 1 },
  filter: { chain: '', tag: '', state: '', text: '' }, rows: new Map(),
  detailId: null, detail: null, openerKey: null, openedAt: Date.now(),
  changesFrom: null, headChain: '',
};
