/** Rendering the overview: totals, chains, the node table, the change log; deep links. */
import { FLEET_CHANGES, STATES, LABEL, RANK, isState, type ClientState } from './constants.js';
import { $, el, svg, fill, fillFrom } from './dom.js';
import { clock, stamp, dur, ago, int, ms, score } from './format.js';
import { st, hashNode } from './state.js';
import type { NodeJson, ReferenceHeadJson } from './types.js';
import { icon, badge, sparkPair } from './charts.js';
import { openDetail, renderDetailHead } from './detail.js';

export function keepFocus(fn: () => void): void {
  const a = document.activeElement as HTMLElement | null;
  const key = a && a.dataset ? a.dataset.fkey : undefined;
  fn();
  if (!key || (document.activeElement && document.activeElement !== document.body)) return;
  for (const b of document.querySelectorAll<HTMLElement>('[data-fkey]'))
    if (b.dataset.fkey === key) {
      b.focus();
      break;
    }
}
export function render(): void {
  renderTotals();
  keepFocus(() => {
    renderChains();
    renderFilterOptions();
    renderNodes();
  });
  if (st.detailId) renderDetailHead();
}
export function renderTotals(): void {
  const t: Record<ClientState, number> = { healthy: 0, degraded: 0, unhealthy: 0, unknown: 0, maintenance: 0 };
  let nodes = 0;
  for (const c of st.chains) {
    nodes += c.nodes;
    for (const s of STATES) t[s] += (c.counts && c.counts[s]) || 0;
  }
  const tile = (cls: string, n: number, label: string, ic: SVGSVGElement | null): HTMLLIElement =>
    el(
      'li',
      { class: cls + (n ? '' : ' zero'), 'data-total': cls.replace('st-', '') },
      el('span', { class: 'n' }, int(n)),
      el('span', { class: 'l' }, ic, label),
    );
  fill(
    $('totals'),
    tile('all', st.chains.length, 'chains', null),
    tile('nodes', nodes, 'nodes', null),
    ...STATES.map((s) => tile('st-' + s, t[s], LABEL[s], icon(s))),
  );
}
// What the head rests on: its voters, the quorum they met, how far apart they were; a halt says so.
export function headEvidence(ref: ReferenceHeadJson | null | undefined): HTMLDivElement {
  if (!ref || ref.height === null || ref.height === undefined)
    return el('div', { class: 'small muted' }, 'no corroborated head');
  const voters = ref.contributors + (ref.contributors === 1 ? ' voter' : ' voters') + ', quorum ' + ref.quorum;
  const spread = typeof ref.spread === 'number' && ref.spread > 0 ? ', spread ' + int(ref.spread) : '';
  const left = typeof ref.stalled === 'number' && ref.stalled > 0 ? ', ' + ref.stalled + ' stalled' : '';
  const names = Array.isArray(ref.voters) && ref.voters.length > 0 ? 'voters: ' + ref.voters.join(', ') : '';
  const lines = [el('div', { class: 'small muted', title: names }, voters + spread + left)];
  if (ref.basis === 'halted')
    lines.push(
      el(
        'div',
        { class: 'small mode', 'data-halted': '' },
        'chain halted' +
          (typeof ref.haltedForMs === 'number' ? ' for ' + Math.round(ref.haltedForMs / 1000) + ' s' : ''),
      ),
    );
  else if (ref.basis === 'unproven') lines.push(el('div', { class: 'small muted' }, 'no node seen advancing yet'));
  return el('div', {}, ...lines);
}
export function renderChains(): void {
  const now = Date.now();
  const rows = st.chains.map((c) => {
    const ref = c.reference;
    const best = c.best;
    const tr = el('tr', { 'data-chain': c.chain });
    tr.append(
      el(
        'th',
        { scope: 'row' },
        c.chain,
        el('div', { class: 'small muted' }, c.family === 'evm' ? 'EVM' : 'Bitcoin family'),
      ),
    );
    tr.append(
      el(
        'td',
        { class: 'num', 'data-head': ref ? String(ref.basis || '') : 'none' },
        ref && ref.height !== null ? int(ref.height) : '—',
        headEvidence(ref),
      ),
    );
    tr.append(el('td', { class: 'num' }, int(c.nodes)));
    for (const s of STATES) {
      const n = (c.counts && c.counts[s]) || 0;
      tr.append(el('td', { class: 'num' + (n ? '' : ' zero'), 'data-count': s }, String(n)));
    }
    const bestCell = el('td', { class: 'best' });
    if (best.nodeId)
      bestCell.append(
        el(
          'button',
          {
            type: 'button',
            class: 'link',
            'data-open': best.nodeId,
            'data-fkey': 'best:' + c.chain,
            'aria-haspopup': 'dialog',
          },
          best.nodeId,
        ),
      );
    else bestCell.append(el('span', { class: 'muted' }, 'none usable'));
    if (best.mode && best.mode !== 'normal') bestCell.append(el('span', { class: 'mode' }, best.mode));
    if (best.degradedChoice) bestCell.append(el('div', { class: 'small muted' }, 'last resort: not usable'));
    tr.append(bestCell);
    const since = typeof best.since === 'number' ? best.since : null;
    tr.append(
      el(
        'td',
        {},
        since === null
          ? '—'
          : el('time', { datetime: new Date(since).toISOString(), title: stamp(since) }, ago(now - since)),
        best.reason ? el('div', { class: 'small muted' }, best.reason.replace(/_/g, ' ')) : null,
        c.reportFresh === false
          ? el(
              'div',
              { class: 'small' },
              el(
                'span',
                { class: 'stale-mark' },
                'report ' + (c.reportAgeMs == null ? 'missing' : dur(c.reportAgeMs) + ' old'),
              ),
            )
          : null,
      ),
    );
    return tr;
  });
  fillFrom($('chains').tBodies[0] ?? $('chains').createTBody(), rows);
}
export function setOptions(select: HTMLSelectElement, values: readonly string[], allLabel: string): void {
  const sig = values.join('\u0000');
  if (select.dataset.sig === sig) return;
  const cur = select.value;
  select.dataset.sig = sig;
  fill(select, el('option', { value: '' }, allLabel), ...values.map((v) => el('option', { value: v }, v)));
  select.value = values.includes(cur) ? cur : '';
  if (select.value !== cur) readFilters();
}
export function renderFilterOptions(): void {
  setOptions(
    $('f-chain'),
    st.chains.map((c) => c.chain),
    'All chains',
  );
  const tags = new Set<string>();
  for (const n of st.nodes) for (const t of n.tags) tags.add(t);
  setOptions($('f-tag'), [...tags].sort(), 'All tags');
}
export function readFilters(): void {
  st.filter = {
    chain: $('f-chain').value,
    tag: $('f-tag').value,
    state: $('f-state').value,
    text: $('f-text').value.trim().toLowerCase(),
  };
}
export function visible(): NodeJson[] {
  const f = st.filter;
  const list = st.nodes.filter(
    (n) =>
      (!f.chain || n.chain === f.chain) &&
      (!f.tag || n.tags.includes(f.tag)) &&
      (!f.state || n.state === f.state) &&
      (!f.text ||
        [n.id, n.clientVersion || '', n.url, ...n.reasons.map((r) => r.text)].some((s) =>
          s.toLowerCase().includes(f.text),
        )),
  );
  const k = st.sort.key;
  const val = (n: NodeJson): string | number | null | undefined =>
    k === 'id'
      ? n.id
      : k === 'chain'
        ? n.chain
        : k === 'state'
          ? isState(n.state)
            ? RANK[n.state]
            : undefined
          : k === 'peers'
            ? n.peers
              ? n.peers.total
              : null
            : k === 'lag'
              ? n.lag
                ? n.lag.blocks
                : null
              : k === 'latency'
                ? n.latencyMs
                : k === 'client'
                  ? n.clientVersion
                  : k === 'tier'
                    ? n.tier
                    : k === 'score'
                      ? n.score
                      : n.ageMs;
  const base = (a: NodeJson, b: NodeJson): number =>
    a.chain < b.chain ? -1 : a.chain > b.chain ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
  return list.sort((a, b) => {
    const x = val(a);
    const y = val(b);
    if (x === null || x === undefined) return y === null || y === undefined ? base(a, b) : 1;
    if (y === null || y === undefined) return -1;
    const c = typeof x === 'string' ? x.localeCompare(String(y)) : x - Number(y);
    return c !== 0 ? c * st.sort.dir : base(a, b);
  });
}
export function renderNodes(): void {
  const list = visible();
  const now = Date.now();
  st.rows = new Map();
  const rows = list.map((n) => {
    const tr = nodeRow(n, now);
    st.rows.set(n.id, tr);
    return tr;
  });
  if (!rows.length)
    rows.push(
      el(
        'tr',
        {},
        el(
          'td',
          { colspan: 11, class: 'muted' },
          st.nodes.length ? 'No node matches these filters.' : 'No node data yet.',
        ),
      ),
    );
  fillFrom($('nodes').tBodies[0] ?? $('nodes').createTBody(), rows);
  const shown = 'Showing ' + list.length + ' of ' + st.nodes.length + ' nodes';
  if ($('shown').textContent !== shown) $('shown').textContent = shown;
  for (const th of $('nodes').tHead?.rows[0]?.cells ?? []) {
    if (!th.dataset.sort) continue;
    if (th.dataset.sort === st.sort.key) th.setAttribute('aria-sort', st.sort.dir > 0 ? 'ascending' : 'descending');
    else th.removeAttribute('aria-sort');
  }
}
export function nodeRow(n: NodeJson, now: number): HTMLTableRowElement {
  const age = typeof n.ageMs === 'number' ? n.ageMs + (now - st.fetchedAt) : null;
  const tr = el('tr', { 'data-node': n.id, 'data-state': n.state, class: 'st-' + n.state });
  tr.append(
    el(
      'th',
      { scope: 'row' },
      el(
        'button',
        { type: 'button', class: 'link', 'data-open': n.id, 'data-fkey': 'open:' + n.id, 'aria-haspopup': 'dialog' },
        n.id,
      ),
      n.tags.length ? el('div', { class: 'tags' }, ...n.tags.map((t) => el('span', { class: 'tag' }, t))) : null,
    ),
  );
  tr.append(el('td', {}, n.chain));
  tr.append(
    el(
      'td',
      { class: 'state' },
      badge(n.state),
      n.reasons.length
        ? el('ul', { class: 'reasons' }, ...n.reasons.map((r) => el('li', { 'data-code': r.code }, r.text)))
        : null,
    ),
  );
  tr.append(
    el(
      'td',
      { class: 'num' },
      n.peers ? int(n.peers.total) : '—',
      el(
        'div',
        { class: 'small muted' },
        n.peers ? (n.peers.in === null ? 'total only' : n.peers.in + ' in / ' + n.peers.out + ' out') : 'not reported',
      ),
    ),
  );
  tr.append(
    el(
      'td',
      { class: 'num' },
      n.lag ? int(n.lag.blocks) + ' blk' : '—',
      n.lag ? el('div', { class: 'small muted' }, dur(n.lag.ms)) : null,
    ),
  );
  tr.append(el('td', { class: 'num' }, ms(n.latencyMs)));
  tr.append(el('td', { class: 'client', title: n.clientVersion || '' }, n.clientVersion || '—'));
  tr.append(
    el(
      'td',
      { class: 'num' },
      String(n.tier),
      el('div', { class: 'small muted' }, n.tier === 0 ? 'primary' : 'backup'),
    ),
  );
  const sc = el('td', { class: 'num' }, score(n.score));
  if (typeof n.score === 'number') {
    sc.append(
      svg(
        'svg',
        { class: 'scorebar', width: 44, height: 4, viewBox: '0 0 44 4', 'aria-hidden': 'true', focusable: 'false' },
        svg('rect', { class: 'bg', x: 0, y: 0, width: 44, height: 4, rx: 2 }),
        svg('rect', {
          class: 'fg',
          x: 0,
          y: 0,
          width: (44 * Math.max(0, Math.min(1, n.score))).toFixed(1),
          height: 4,
          rx: 2,
        }),
      ),
    );
  }
  tr.append(sc);
  tr.append(
    el(
      'td',
      { class: 'num age' },
      age === null ? 'never' : ago(age),
      n.stale ? el('span', { class: 'stale-mark' }, 'stale') : null,
    ),
  );
  const h = st.history.get(n.id);
  tr.append(el('td', { class: 'hist' }, sparkPair(h ? h.points : null, 84, 18)));
  return tr;
}
export function renderChanges(): void {
  const today = new Date().toDateString();
  const items = st.changes.slice(0, 100).map((c) => {
    // The node's id links to its detail (#node=<id>): a link an operator can share.
    const linked = c.nodeId && c.text.startsWith(c.nodeId);
    return el(
      'li',
      { 'data-kind': c.kind, 'data-node': c.nodeId || null },
      el(
        'time',
        { datetime: new Date(c.at).toISOString(), title: stamp(c.at) },
        new Date(c.at).toDateString() === today ? clock(c.at) : stamp(c.at).slice(5, 16),
      ),
      el(
        'span',
        { class: 'what' + (c.state ? ' st-' + c.state : '') },
        c.state ? icon(c.state) : null,
        c.state ? ' ' : null,
        linked ? el('a', { href: '#node=' + encodeURIComponent(c.nodeId), class: 'node-link' }, c.nodeId) : null,
        linked ? c.text.slice(c.nodeId.length) : c.text,
      ),
    );
  });
  if (!items.length)
    items.push(
      el(
        'li',
        { class: 'muted' },
        el('span', {}, ''),
        el('span', {}, st.changesFrom ? 'No state change recorded yet.' : 'Loading…'),
      ),
    );
  fill($('changes'), ...items);
  $('changes-source').textContent =
    st.changesFrom === 'error'
      ? 'The stored state changes could not be loaded; showing state changes,'
      : 'State changes nodesentry keeps for the fleet (the latest ' + FLEET_CHANGES + '), plus';
}

// Deep links: #node=<id> opens that node.
export function openFromHash(): void {
  const id = hashNode();
  if (id && id !== st.detailId && st.fetchedAt) openDetail(id, null);
}
