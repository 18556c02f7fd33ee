/** The node detail panel: score, trends, peers, changes, drain actions. */
import { DETAIL_POINTS, DETAIL_TRANSITIONS, isState, LABEL, stateLabel } from './constants.js';
import { $, el, fill } from './dom.js';
import { clock, stamp, dur, ago, int, ms, bytes, score, transitionText } from './format.js';
import { creds, setCreds, api, nodePath, statusOf, messageOf, ApiError } from './api.js';
import { st, hooks, hashNode, type Change, type Loaded } from './state.js';
import type {
  DrainResultJson,
  HistoryJson,
  NodeDetailJson,
  NodeJson,
  PeerReportJson,
  TransitionsJson,
  UndrainResultJson,
} from './types.js';
import { badge, spark, sparkPair } from './charts.js';

export function openDetail(id: string, opener: HTMLElement | null): void {
  st.detailId = id;
  st.detail = null;
  st.openerKey = (opener && opener.dataset.fkey) ?? null;
  $('drain-msg').textContent = '';
  $('drain-msg').className = 'msg';
  $('d-reason').value = '';
  for (const sec of ['detail-facts', 'detail-score', 'detail-trends', 'detail-traffic', 'detail-peers'] as const)
    fill($(sec), el('p', { class: 'muted' }, 'Loading…'));
  renderDetailHead();
  renderDetailChanges();
  renderActions();
  const dlg = $('detail');
  if (!dlg.open) dlg.showModal();
  $('detail-close').focus();
  // The node's id in the URL (never a credential), so the view can be shared and reloaded.
  if (hashNode() !== id) history.replaceState(null, '', '#node=' + encodeURIComponent(id));
  void loadDetail(true);
}
export async function loadDetail(first: boolean): Promise<void> {
  const id = st.detailId;
  if (!id) return;
  const [node, peers, hist, trans] = await Promise.allSettled([
    api<NodeDetailJson>(nodePath(id)),
    api<PeerReportJson>(nodePath(id, '/peers')),
    api<HistoryJson>(nodePath(id, '/history?limit=' + DETAIL_POINTS)),
    api<TransitionsJson>(nodePath(id, '/transitions?limit=' + DETAIL_TRANSITIONS)),
  ]);
  if (st.detailId !== id) return;
  const v = <T>(r: PromiseSettledResult<T>): Loaded<T> =>
    r.status === 'fulfilled' ? r.value : { error: r.reason instanceof Error ? r.reason : new Error(String(r.reason)) };
  st.detail = { node: v(node), peers: v(peers), hist: v(hist), transitions: v(trans) };
  renderDetail();
  if (first) $('detail').dataset.loaded = id;
}
/** Whether a detail call failed. */
export const failed = <T extends object>(x: Loaded<T>): x is { readonly error: Error } => 'error' in x;
/** The open node: its detail once loaded, until then its row. */
export function current(): NodeDetailJson | NodeJson | null {
  const d = st.detail;
  if (d && !failed(d.node)) return d.node;
  return (st.detailId !== null && st.byId.get(st.detailId)) || null;
}
export function renderDetailHead(): void {
  const id = st.detailId;
  const n = current();
  $('detail-title').textContent = id;
  fill($('detail-badge'), n ? badge(n.state) : null);
}
export function renderDetail(): void {
  const d = st.detail;
  if (!d) return;
  renderDetailHead();
  renderActions();
  if (failed(d.node)) {
    fill($('detail-state'), el('p', { class: 'msg error' }, 'Cannot load this node: ' + d.node.error.message));
    return;
  }
  const n = d.node;
  const now = Date.now();
  const reasons = n.reasons.map((r) =>
    el(
      'li',
      { 'data-code': r.code },
      el('span', { class: 'mono' }, r.text),
      r.severity ? el('span', { class: 'muted' }, ' — ' + r.severity) : null,
    ),
  );
  const pending = n.hysteresis && n.hysteresis.pending;
  fill(
    $('detail-state'),
    el(
      'div',
      { class: 'state-line' },
      badge(n.state),
      el(
        'span',
        {},
        'since ',
        el('time', { datetime: new Date(n.since).toISOString() }, stamp(n.since)),
        ' (' + ago(now - n.since) + ')',
      ),
    ),
    reasons.length
      ? el('ul', { class: 'reasons' }, ...reasons)
      : el('p', { class: 'muted small' }, 'No reasons: every check passes.'),
    pending
      ? el(
          'p',
          { class: 'small' },
          'Changing toward ' +
            stateLabel(pending.toward) +
            ': ' +
            pending.count +
            ' of ' +
            pending.needed +
            ' samples seen.',
        )
      : null,
    n.drain
      ? el(
          'p',
          { class: 'small' },
          'Drained by ' +
            n.drain.by +
            ' at ' +
            stamp(n.drain.at) +
            (n.drain.reason ? ': ' + n.drain.reason : '') +
            '. Underneath: ' +
            (n.hysteresis && isState(n.hysteresis.tracked) ? LABEL[n.hysteresis.tracked] : 'unknown') +
            '.',
        )
      : null,
  );
  const s: Partial<NonNullable<NodeDetailJson['sample']>> = n.sample || {};
  const f: Partial<NodeDetailJson['freshness']> = n.freshness || {};
  const peers = s.peers
    ? int(s.peers.total) +
      (typeof s.peers.inbound === 'number' ? ' (' + s.peers.inbound + ' in / ' + s.peers.outbound + ' out)' : '') +
      ', from ' +
      s.peers.source
    : 'not reported';
  const facts: [string, string | number][] = [
    ['Chain', n.chain + ' (' + n.family + ')'],
    ['URL', n.url],
    ['Tags', n.tags.join(', ') || 'none'],
    ['Tier', n.tier + (n.tier === 0 ? ' (primary)' : ' (backup)')],
    [
      'Height',
      typeof s.height === 'number'
        ? int(s.height) + (n.lag ? ' (reference ' + int(n.lag.referenceHeight) + ')' : '')
        : '—',
    ],
    ['Lag', n.lag ? int(n.lag.blocks) + ' blocks, ' + dur(n.lag.ms) : '—'],
    [
      'Latency',
      ms(s.latencyMs) +
        (n.stats && typeof n.stats.latencyEwmaMs === 'number' ? ', average ' + ms(n.stats.latencyEwmaMs) : ''),
    ],
    [
      'Errors',
      n.stats && typeof n.stats.errorRate === 'number'
        ? Math.round(n.stats.errorRate * 100) + '% of the last ' + n.stats.samples + ' samples'
        : '—',
    ],
    ['Peers', peers],
    ['Client', s.clientVersion || '—'],
    [
      'Last sample',
      f.observedAt ? stamp(f.observedAt) + ' (' + ago(f.ageMs ?? 0) + (f.stale ? ', stale' : '') + ')' : 'never',
    ],
    ['Polled every', dur(n.intervalMs) + ', timeout ' + dur(n.timeoutMs)],
    ['Auth to node', n.auth],
    ['Missing methods', (n.capabilities && n.capabilities.missingMethods.join(', ')) || 'none'],
  ];
  if (s.error) facts.push(['Last error', s.error.code + ': ' + s.error.message]);
  if (s.warnings && s.warnings.length) facts.push(['Node warnings', s.warnings.join('; ')]);
  const dl = $('detail-facts');
  fill(dl);
  for (const [k, val] of facts) dl.append(el('dt', {}, k), el('dd', {}, String(val)));
  renderScore(n);
  renderTrends(d.hist);
  renderPeers(d.peers);
  renderDetailChanges();
}
export function renderScore(n: NodeDetailJson): void {
  if (!n.score) {
    fill($('detail-score'), el('p', { class: 'muted' }, 'Not scored yet.'));
    return;
  }
  const parts = n.score.parts;
  const rows = Object.entries(parts).map(([k, p]) => {
    return el(
      'tr',
      {},
      el('th', { scope: 'row' }, k),
      el('td', { class: 'num' }, p.grade.toFixed(2)),
      el('td', { class: 'num' }, p.weight.toFixed(2)),
      el('td', {}, p.detail),
    );
  });
  fill(
    $('detail-score'),
    el('p', {}, 'Total ', el('strong', {}, score(n.score.total)), ' of 1.00'),
    el(
      'table',
      { class: 'compact' },
      el('caption', {}, 'Score parts: grade 0..1 times weight'),
      el(
        'thead',
        {},
        el(
          'tr',
          {},
          el('th', { scope: 'col' }, 'Part'),
          el('th', { scope: 'col', class: 'num' }, 'Grade'),
          el('th', { scope: 'col', class: 'num' }, 'Weight'),
          el('th', { scope: 'col' }, 'Detail'),
        ),
      ),
      el('tbody', {}, ...rows),
    ),
  );
}
export function renderTrends(h: Loaded<HistoryJson>): void {
  if (failed(h)) {
    fill($('detail-trends'), el('p', { class: 'msg error' }, 'History unavailable: ' + h.error.message));
    fill($('detail-traffic'), el('p', { class: 'muted' }, 'History unavailable.'));
    return;
  }
  const pts = h.points;
  const newest = pts[0];
  const oldest = pts[pts.length - 1];
  fill(
    $('detail-trends'),
    newest && oldest
      ? el(
          'div',
          {},
          el(
            'p',
            { class: 'small muted' },
            pts.length +
              ' samples from ' +
              clock(oldest.t) +
              ' to ' +
              clock(newest.t) +
              '; red marks are failed probes.',
          ),
          sparkPair(pts, 300, 48, true),
        )
      : el('p', { class: 'muted' }, 'No samples stored yet.'),
  );
  const r = h.rates;
  if (!r) {
    fill($('detail-traffic'), el('p', { class: 'muted' }, h.ratesDetail || 'No traffic rates.'));
    return;
  }
  const dl = el(
    'dl',
    { class: 'facts' },
    el('dt', {}, 'Receiving'),
    el('dd', {}, bytes(r.recvBytesPerSec) + '/s'),
    el('dt', {}, 'Sending'),
    el('dd', {}, bytes(r.sentBytesPerSec) + '/s'),
    el('dt', {}, 'Window'),
    el(
      'dd',
      {},
      dur(r.windowMs) +
        ', ' +
        r.points +
        ' samples' +
        (r.resets ? ', ' + r.resets + ' counter reset(s): node restarted' : '') +
        (r.drops ? ', ' + r.drops + ' counter drop(s) without a restart (uptime kept growing): left out' : ''),
    ),
  );
  const series = r.series.slice().reverse();
  const w = 300;
  const chart = el(
    'div',
    { class: 'sparks chart' },
    el(
      'div',
      { class: 'spark-row' },
      el('span', { class: 'k' }, 'recv'),
      spark(
        series.map((x) => x.recvBytesPerSec),
        series.map((x) => x.reset),
        'peers',
        'Received bytes per second, per interval',
        w,
        36,
      ),
    ),
    el(
      'div',
      { class: 'spark-row' },
      el('span', { class: 'k' }, 'sent'),
      spark(
        series.map((x) => x.sentBytesPerSec),
        series.map((x) => x.reset),
        'latency',
        'Sent bytes per second, per interval',
        w,
        36,
      ),
    ),
  );
  fill($('detail-traffic'), dl, chart);
}
export function renderPeers(p: Loaded<PeerReportJson>): void {
  const box = $('detail-peers');
  if (failed(p)) {
    fill(box, el('p', { class: 'msg error' }, 'Peers unavailable: ' + p.error.message));
    return;
  }
  if (!p.peers || !p.summary) {
    fill(
      box,
      el('p', {}, p.total === null ? 'No peer count reported.' : int(p.total) + ' peers (' + p.source + ').'),
      p.detail ? el('p', { class: 'muted small' }, p.detail) : null,
    );
    return;
  }
  const sm = p.summary;
  const head = el(
    'p',
    {},
    int(sm.total) +
      ' peers: ' +
      sm.inbound +
      ' inbound, ' +
      sm.outbound +
      ' outbound' +
      (sm.pingMs ? '; ping median ' + ms(sm.pingMs.median) + ', p90 ' + ms(sm.pingMs.p90) : '') +
      (sm.heights && typeof sm.heights.peersAhead === 'number'
        ? '; ' + sm.heights.peersAhead + ' ahead of this node'
        : '') +
      '.',
  );
  const versions = el(
    'p',
    { class: 'small muted' },
    'Clients: ' + sm.versions.map((v) => v.subver + ' × ' + v.count).join(', '),
  );
  const shown = p.peers.slice(0, 200);
  const cols = ['Address', 'Direction', 'Client', 'Ping', 'Synced blocks', 'Sent', 'Received', 'Connected'];
  const table = el(
    'table',
    { class: 'compact' },
    el(
      'caption',
      {},
      'Peers from getpeerinfo' +
        (p.observedAt ? ' at ' + clock(p.observedAt) : '') +
        (shown.length < p.peers.length ? ' (first ' + shown.length + ' of ' + p.peers.length + ')' : ''),
    ),
    el('thead', {}, el('tr', {}, ...cols.map((c, i) => el('th', { scope: 'col', class: i >= 3 ? 'num' : null }, c)))),
    el(
      'tbody',
      {},
      ...shown.map((x) =>
        el(
          'tr',
          {},
          el('th', { scope: 'row', class: 'mono' }, String(x.addr)),
          el('td', {}, x.inbound ? 'inbound' : 'outbound'),
          el('td', {}, (typeof x.subver === 'string' && x.subver) || '—'),
          el('td', { class: 'num' }, ms(num(x.pingMs))),
          el('td', { class: 'num' }, int(num(x.syncedBlocks))),
          el('td', { class: 'num' }, bytes(num(x.bytesSent))),
          el('td', { class: 'num' }, bytes(num(x.bytesRecv))),
          el('td', { class: 'num' }, typeof x.connTime === 'number' ? ago(Date.now() - x.connTime * 1000) : '—'),
        ),
      ),
    ),
  );
  fill(box, head, versions, el('div', { class: 'peers-scroll table-wrap' }, table));
}
/** A getpeerinfo field that should be a number. */
const num = (v: unknown): number | null => (typeof v === 'number' ? v : null);
// The node's stored state changes merged with those seen live (SSE), newest first, each once.
export function detailChanges(id: string): Change[] {
  const live = st.changes.filter((c) => c.nodeId === id);
  const t = st.detail && st.detail.transitions;
  const stored = t && !failed(t) && Array.isArray(t.transitions) ? t.transitions : [];
  const key = (at: number, from: string | undefined, to: string | undefined): string => at + '|' + from + '|' + to;
  const seen = new Set<string>();
  const out: Change[] = [];
  for (const x of stored) {
    const reasons: string[] = Array.isArray(x.reasons) ? x.reasons.map(String) : [];
    seen.add(key(x.at, x.from, x.to));
    out.push({
      at: x.at,
      nodeId: id,
      kind: 'transition',
      state: x.to,
      text: transitionText(id, x.from, x.to, reasons),
    });
  }
  for (const c of live) if (c.kind !== 'transition' || !seen.has(key(c.at, c.from, c.to))) out.push(c);
  out.sort((a, b) => b.at - a.at);
  return out;
}
export function renderDetailChanges(): void {
  const id = st.detailId;
  if (id === null) return;
  const mine = detailChanges(id);
  const n = current();
  const t = st.detail && st.detail.transitions;
  const source = !t
    ? 'Loading the state changes nodesentry keeps; until then, those'
    : failed(t)
      ? 'Stored state changes unavailable (' + t.error.message + '); showing those'
      : 'State changes nodesentry keeps for this node (up to ' + DETAIL_TRANSITIONS + '), plus drains and changes';
  fill(
    $('detail-changes'),
    el(
      'p',
      { class: 'note' },
      source +
        ' seen on the event stream since this page opened at ' +
        clock(st.openedAt) +
        '.' +
        (n ? ' In its current state (' + stateLabel(n.state) + ') since ' + stamp(n.since) + '.' : ''),
    ),
    mine.length
      ? el(
          'ol',
          { class: 'changes', reversed: true },
          ...mine.map((c) =>
            el(
              'li',
              {},
              el('time', { datetime: new Date(c.at).toISOString() }, clock(c.at)),
              el('span', { class: 'what' }, c.text),
            ),
          ),
        )
      : el('p', { class: 'muted' }, 'No change seen yet.'),
  );
}
export function renderActions(): void {
  const n = st.detailId ? current() : null;
  const drained = !!(n && n.drained);
  const has = !!(creds.admin || $('d-token').value.trim());
  $('drain-btn').hidden = drained;
  $('undrain-btn').hidden = !drained;
  for (const b of [$('drain-btn'), $('undrain-btn')]) {
    if (has) b.removeAttribute('aria-disabled');
    else b.setAttribute('aria-disabled', 'true');
  }
  $('d-reason').disabled = drained;
  $('drain-help').textContent = has
    ? 'The token is checked by nodesentry on each action; every action is written to its audit log.'
    : 'Drain and undrain need an admin token: without one nothing is sent.';
  if ($('d-token').value !== creds.admin && document.activeElement !== $('d-token')) $('d-token').value = creds.admin;
}
export function msg(kind: 'ok' | 'busy' | 'error', text: string): void {
  const m = $('drain-msg');
  m.className = 'msg ' + kind;
  m.textContent = text;
}
export async function act(drain: boolean): Promise<void> {
  const id = st.detailId;
  const verb = drain ? 'drain' : 'undrain';
  if (!id) return;
  const typed = $('d-token').value.trim();
  if (typed !== creds.admin) setCreds({ admin: typed });
  if (!creds.admin) {
    msg('error', 'Refused: ' + verb + ' needs an admin token. Enter it above; nothing was sent to nodesentry.');
    $('d-token').focus();
    return;
  }
  msg('busy', (drain ? 'Draining ' : 'Undraining ') + id + '…');
  try {
    const reason = $('d-reason').value.trim();
    if (drain) {
      const r = await api<DrainResultJson>(nodePath(id, '/drain'), {
        method: 'POST',
        admin: true,
        body: reason ? { reason } : {},
      });
      msg(
        'ok',
        r.changed
          ? 'Drained ' + id + ': load balancers now see it as down; it is still probed.'
          : id + ' was already drained by ' + r.drain.by + '.',
      );
    } else {
      const r = await api<UndrainResultJson>(nodePath(id, '/drain'), { method: 'DELETE', admin: true });
      msg(
        'ok',
        r.changed ? 'Undrained ' + id + ': it is ' + stateLabel(String(r.state)) + ' again.' : id + ' was not drained.',
      );
    }
    void hooks.refresh();
    void loadDetail(false);
  } catch (e) {
    const status = statusOf(e);
    const problem = e instanceof ApiError ? e.problem : null;
    if (status === 401 || status === 403)
      msg(
        'error',
        'Refused by nodesentry (' +
          status +
          (problem && problem.title ? ' ' + problem.title : '') +
          '): ' +
          messageOf(e) +
          '. Nothing changed.',
      );
    else msg('error', 'Could not ' + verb + ' ' + id + ' (' + (status || 'no connection') + '): ' + messageOf(e));
  }
}
