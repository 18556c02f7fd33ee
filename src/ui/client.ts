/**
 * The dashboard's script, served as `/ui/dashboard.<hash>.js` (see assets.ts): plain,
 * dependency-free browser JavaScript kept as a string so that `npm run build` (tsc alone)
 * ships it in dist/. Rules for editing it:
 * - no template literals inside (this is one), so no backquote and no dollar-brace;
 * - the DOM is built with createElement and textContent only: nothing from the API (node ids,
 *   reasons, client versions, peer addresses come from nodes) is ever parsed as markup;
 * - no inline style or handler attributes (the page's CSP forbids them).
 * test/ui/ui-route.test.ts parses it and checks these rules.
 */
export const DASHBOARD_JS = String.raw`'use strict';
(() => {
  const REFRESH_MS = 5000;
  const STALE_MS = 15000;
  const REQUEST_TIMEOUT_MS = 10000;
  const HISTORY_EVERY_MS = 30000;
  const HISTORY_POINTS = 60;
  const DETAIL_POINTS = 120;
  const DETAIL_TRANSITIONS = 50;
  const FLEET_CHANGES = 100;
  const HEAD_NODES = 12;
  const HEAD_STEPS = 60;
  const STREAM_IDLE_MS = 25000;
  const STATES = ['healthy', 'degraded', 'unhealthy', 'unknown', 'maintenance'];
  const LABEL = { healthy: 'healthy', degraded: 'degraded', unhealthy: 'unhealthy', unknown: 'unknown', maintenance: 'drained' };
  const RANK = { healthy: 0, degraded: 1, maintenance: 2, unknown: 3, unhealthy: 4 };
  const SVG = 'http://www.w3.org/2000/svg';
  const $ = (id) => document.getElementById(id);

  // ---------- DOM helpers: text only, never markup ----------
  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    setAttrs(e, attrs);
    for (const k of kids) if (k !== null && k !== undefined && k !== false) e.append(typeof k === 'string' || typeof k === 'number' ? String(k) : k);
    return e;
  }
  function svg(tag, attrs, ...kids) {
    const e = document.createElementNS(SVG, tag);
    setAttrs(e, attrs);
    for (const k of kids) if (k) e.append(k);
    return e;
  }
  function setAttrs(e, attrs) {
    if (!attrs) return;
    for (const k of Object.keys(attrs)) {
      const v = attrs[k];
      if (v === null || v === undefined || v === false) continue;
      if (k === 'text') e.textContent = String(v);
      else e.setAttribute(k, v === true ? '' : String(v));
    }
  }
  function fill(node, ...kids) {
    node.replaceChildren();
    for (const k of kids) if (k !== null && k !== undefined && k !== false) node.append(k);
  }

  // ---------- formatting ----------
  const pad = (n) => (n < 10 ? '0' : '') + n;
  function clock(t) { const d = new Date(t); return pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds()); }
  function stamp(t) { const d = new Date(t); return d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate()) + ' ' + clock(t); }
  function dur(ms) {
    const s = Math.max(0, Math.round(ms / 1000));
    if (s < 90) return s + ' s';
    if (s < 5400) return Math.round(s / 60) + ' min';
    if (s < 172800) return Math.round(s / 3600) + ' h';
    return Math.round(s / 86400) + ' d';
  }
  const ago = (ms) => dur(ms) + ' ago';
  const int = (n) => (typeof n === 'number' ? Math.round(n).toLocaleString('en-US') : '—');
  function ms(n) { return typeof n !== 'number' ? '—' : n < 10 ? n.toFixed(1) + ' ms' : Math.round(n) + ' ms'; }
  function bytes(n) {
    if (typeof n !== 'number') return '—';
    const u = ['B', 'kB', 'MB', 'GB', 'TB'];
    let i = 0;
    while (n >= 1000 && i < u.length - 1) { n /= 1000; i++; }
    return (i === 0 ? String(Math.round(n)) : n.toFixed(n < 10 ? 2 : 1)) + ' ' + u[i];
  }
  const score = (s) => (typeof s === 'number' ? s.toFixed(2) : '—');

  // ---------- credentials: this tab only ----------
  const KEYS = { apiKey: 'nodesentry.apiKey', admin: 'nodesentry.adminToken', operator: 'nodesentry.operator' };
  function load(k) { try { return sessionStorage.getItem(k) || ''; } catch (e) { return ''; } }
  function save(k, v) { try { if (v) sessionStorage.setItem(k, v); else sessionStorage.removeItem(k); } catch (e) { /* memory only */ } }
  const creds = { apiKey: load(KEYS.apiKey), admin: load(KEYS.admin), operator: load(KEYS.operator) };
  function setCreds(next) {
    const keyChanged = next.apiKey !== undefined && next.apiKey !== creds.apiKey;
    for (const k of Object.keys(next)) { creds[k] = next[k]; save(KEYS[k], next[k]); }
    $('api-key').value = creds.apiKey;
    $('admin-token').value = creds.admin;
    $('d-token').value = creds.admin;
    $('operator').value = creds.operator;
    renderActions();
    if (keyChanged) { refresh(); restartStream(); }
  }

  // ---------- API ----------
  class ApiError extends Error {
    constructor(status, problem, message) { super(message); this.status = status; this.problem = problem; }
  }
  async function api(path, opts) {
    opts = opts || {};
    const headers = { accept: 'application/json' };
    if (creds.apiKey) headers['x-api-key'] = creds.apiKey;
    if (opts.admin) {
      headers.authorization = 'Bearer ' + creds.admin;
      if (creds.operator) headers['x-operator'] = creds.operator;
    }
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    let res;
    try {
      res = await fetch(path, { method: opts.method || 'GET', headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body), cache: 'no-store', credentials: 'omit', signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    } catch (e) {
      throw new ApiError(0, null, e && e.name === 'TimeoutError' ? 'nodesentry did not answer in time' : 'cannot reach nodesentry');
    }
    let body = null;
    try { body = await res.json(); } catch (e) { body = null; }
    if (!res.ok) {
      const p = body && typeof body === 'object' ? body : null;
      throw new ApiError(res.status, p, (p && (p.detail || p.title)) || 'HTTP ' + res.status);
    }
    return body;
  }
  const nodePath = (id, rest) => '/v1/nodes/' + encodeURIComponent(id) + (rest || '');

  // ---------- state ----------
  const st = {
    chains: [], nodes: [], byId: new Map(), fetchedAt: 0, lastOk: 0, conn: 'connecting', connDetail: '',
    stream: false, history: new Map(), changes: [], sort: { key: 'chain', dir: 1 },
    filter: { chain: '', tag: '', state: '', text: '' }, rows: new Map(),
    detailId: null, detail: null, openerKey: null, openedAt: Date.now(),
    changesFrom: null, headChain: '',
  };

  // ---------- refresh loop ----------
  let inFlight = null;
  let again = false;
  let timer = 0;
  async function refresh() {
    if (inFlight) { again = true; return inFlight; }
    clearTimeout(timer);
    inFlight = (async () => {
      try {
        const [chains, nodes] = await Promise.all([api('/v1/chains'), allNodes()]);
        st.chains = chains.chains || [];
        st.nodes = nodes;
        st.byId = new Map(nodes.map((n) => [n.id, n]));
        st.fetchedAt = Date.now();
        st.lastOk = st.fetchedAt;
        st.conn = 'ok';
        st.connDetail = '';
        render();
        if (st.detailId) loadDetail(false);
        else openFromHash();
        loadHistories();
        loadHeads();
      } catch (e) {
        const was = st.conn;
        st.conn = e.status === 401 || e.status === 403 ? 'auth' : 'lost';
        st.connDetail = e.message;
        if (st.conn === 'auth' && was !== 'auth') $('access').open = true;
      }
      renderStatus();
    })();
    try { await inFlight; } finally {
      inFlight = null;
      timer = setTimeout(refresh, REFRESH_MS);
      if (again) { again = false; refresh(); }
    }
  }
  async function allNodes() {
    let out = [];
    let cursor = null;
    do {
      const page = await api('/v1/nodes?limit=500' + (cursor ? '&cursor=' + encodeURIComponent(cursor) : ''));
      out = out.concat(page.items);
      cursor = page.nextCursor;
    } while (cursor);
    return out;
  }
  let soonTimer = 0;
  function soon() { if (!soonTimer) soonTimer = setTimeout(() => { soonTimer = 0; refresh(); }, 150); }

  // ---------- status banner ----------
  function renderStatus() {
    const age = st.lastOk ? Date.now() - st.lastOk : null;
    const stale = age === null || age > STALE_MS;
    let kind;
    let text;
    if (st.conn === 'auth') { kind = 'auth'; text = 'nodesentry refused the request: ' + st.connDetail + ' (enter the API key under Access)'; }
    else if (st.conn === 'lost') { kind = 'lost'; text = 'Connection to nodesentry lost — retrying'; }
    else if (st.conn === 'connecting') { kind = 'connecting'; text = 'Connecting to nodesentry…'; }
    else if (stale) { kind = 'stale'; text = 'Data stale'; }
    else if (!st.stream) { kind = 'polling'; text = 'Live (polling; event stream reconnecting)'; }
    else { kind = 'live'; text = 'Live'; }
    let ageText = '';
    if (age !== null) ageText = kind === 'live' || kind === 'polling' ? 'updated ' + ago(age) : kind === 'stale' ? '(last update ' + ago(age) + ')' : 'data stale (last update ' + ago(age) + ')';
    else if (kind === 'lost' || kind === 'auth') ageText = 'no data yet';
    const box = $('status');
    box.className = 'status ' + kind;
    box.dataset.kind = kind;
    if ($('status-text').textContent !== text) $('status-text').textContent = text;
    $('status-age').textContent = ageText;
  }

  // ---------- event stream (fetch, so the API key can be sent as a header) ----------
  let streamCtl = null;
  let lastEventId = '';
  function restartStream() { if (streamCtl) streamCtl.abort(); }
  async function runStream() {
    let delay = 1000;
    for (;;) {
      const ctl = new AbortController();
      streamCtl = ctl;
      let idle = 0;
      const arm = () => { clearTimeout(idle); idle = setTimeout(() => ctl.abort(), STREAM_IDLE_MS); };
      try {
        const headers = { accept: 'text/event-stream' };
        if (creds.apiKey) headers['x-api-key'] = creds.apiKey;
        if (lastEventId) headers['last-event-id'] = lastEventId;
        arm();
        const res = await fetch('/v1/events?heartbeat=10', { headers, signal: ctl.signal, cache: 'no-store', credentials: 'omit' });
        if (!res.ok || !res.body) throw new Error('HTTP ' + res.status);
        st.stream = true;
        delay = 1000;
        renderStatus();
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buf = '';
        for (;;) {
          const r = await reader.read();
          if (r.done) break;
          arm();
          buf += r.value;
          let i;
          while ((i = buf.indexOf('\n\n')) >= 0) { onMessage(buf.slice(0, i)); buf = buf.slice(i + 2); }
        }
      } catch (e) { /* ended, aborted or refused: reconnect below */ }
      clearTimeout(idle);
      const was = st.stream;
      st.stream = false;
      renderStatus();
      if (was) refresh();
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 10000);
    }
  }
  function onMessage(block) {
    let event = 'message';
    let data = '';
    for (const line of block.split('\n')) {
      if (line.startsWith('event:')) event = line.slice(6).trim();
      else if (line.startsWith('data:')) data += line.slice(5).trim();
      else if (line.startsWith('id:')) lastEventId = line.slice(3).trim();
    }
    if (!data) return;
    let d;
    try { d = JSON.parse(data); } catch (e) { return; }
    if (event === 'hello') { if (!d.resumed) { soon(); loadChanges(); } return; }
    if (event === 'transition') {
      const reasons = Array.isArray(d.reasons) ? d.reasons.map(String) : [];
      addChange({ at: d.at, nodeId: d.nodeId, chain: d.chain, kind: 'transition', state: d.to, from: d.from, to: d.to, text: transitionText(d.nodeId, d.from, d.to, reasons) });
      announce(d.nodeId + ' is now ' + (LABEL[d.to] || d.to) + (reasons.length ? ': ' + reasons.join(', ') : ''));
      const h = st.history.get(d.nodeId);
      if (h) h.at = 0;
    } else if (event === 'drain') {
      addChange({ at: d.at || Date.now(), nodeId: d.nodeId, chain: d.chain, kind: 'drain', state: d.drained ? 'maintenance' : null, text: d.nodeId + (d.drained ? ' drained by ' + d.by + (d.reason ? ' (' + d.reason + ')' : '') : ' undrained') });
      announce(d.nodeId + (d.drained ? ' drained' : ' undrained'));
    } else if (event === 'selection') {
      addChange({ at: d.at, nodeId: null, chain: d.chain, kind: 'selection', state: null, text: d.chain + ': best node ' + (d.from || 'none') + ' → ' + (d.to || 'none') + (d.mode && d.mode !== 'normal' ? ' (' + d.mode + ')' : '') + (d.reason ? ', ' + d.reason : '') });
    } else return;
    soon();
  }
  function transitionText(nodeId, from, to, reasons) {
    return nodeId + ': ' + (LABEL[from] || from) + ' → ' + (LABEL[to] || to) + (reasons.length ? ' (' + reasons.join(', ') + ')' : '');
  }
  const changeKey = (c) => c.kind + '|' + c.nodeId + '|' + c.at + '|' + (c.from || '') + '|' + (c.to || '');
  function addChange(c) {
    if (st.changes.some((x) => changeKey(x) === changeKey(c))) return;
    st.changes.unshift(c);
    st.changes.sort((a, b) => b.at - a.at);
    if (st.changes.length > 200) st.changes.length = 200;
    renderChanges();
    if (st.detailId && c.nodeId === st.detailId) renderDetailChanges();
  }
  // The fleet's stored state changes (GET /v1/transitions), merged with those seen live.
  async function loadChanges() {
    let r;
    try { r = await api('/v1/transitions?limit=' + FLEET_CHANGES); } catch (e) { st.changesFrom = st.changesFrom || 'error'; renderChanges(); return; }
    const have = new Set(st.changes.map(changeKey));
    for (const x of r.items || []) {
      const reasons = Array.isArray(x.reasons) ? x.reasons.map(String) : [];
      const c = { at: x.at, nodeId: x.nodeId, chain: x.chain, kind: 'transition', state: x.to, from: x.from, to: x.to, text: transitionText(x.nodeId, x.from, x.to, reasons) };
      if (!have.has(changeKey(c))) st.changes.push(c);
    }
    st.changes.sort((a, b) => b.at - a.at);
    if (st.changes.length > 200) st.changes.length = 200;
    st.changesFrom = 'store';
    renderChanges();
  }
  function announce(text) { $('announcer').textContent = text; }

  // ---------- icons: a shape per state, so colour is never the only carrier ----------
  function icon(state) {
    const s = svg('svg', { class: 'icon', viewBox: '0 0 12 12', width: 12, height: 12, 'aria-hidden': 'true', focusable: 'false' });
    if (state === 'healthy') s.append(svg('circle', { cx: 6, cy: 6, r: 5, fill: 'currentColor' }));
    else if (state === 'degraded') s.append(svg('path', { d: 'M6 0.8 11.4 11H0.6Z', fill: 'currentColor' }));
    else if (state === 'unhealthy') s.append(svg('path', { d: 'M2 2 10 10M10 2 2 10', stroke: 'currentColor', 'stroke-width': 3, 'stroke-linecap': 'round' }));
    else if (state === 'maintenance') s.append(svg('rect', { x: 1.5, y: 1, width: 3, height: 10, fill: 'currentColor' }), svg('rect', { x: 7.5, y: 1, width: 3, height: 10, fill: 'currentColor' }));
    else s.append(svg('circle', { cx: 6, cy: 6, r: 4.6, fill: 'none', stroke: 'currentColor', 'stroke-width': 1.6, 'stroke-dasharray': '2.4 1.6' }));
    return s;
  }
  function badge(state) { return el('span', { class: 'badge st-' + state, 'data-state': state }, icon(state), el('span', { class: 'label' }, LABEL[state] || String(state))); }

  // ---------- sparklines ----------
  function spark(values, fails, cls, label, w, h) {
    const s = svg('svg', { class: 'spark ' + cls, viewBox: '0 0 ' + w + ' ' + h, width: w, height: h, role: 'img', 'aria-label': label });
    s.append(svg('title', { text: label }));
    const nums = values.filter((v) => typeof v === 'number');
    if (nums.length < 2) { s.append(svg('text', { x: 0, y: h - 4, class: 'none', text: nums.length ? 'one sample' : 'no data' })); return s; }
    const lo = Math.min(...nums);
    const hi = Math.max(...nums);
    const n = values.length;
    const px = (i) => 1.5 + (i * (w - 3)) / (n - 1);
    const py = (v) => (hi === lo ? h / 2 : h - 3 - ((v - lo) / (hi - lo)) * (h - 6));
    const pts = [];
    let last = null;
    values.forEach((v, i) => { if (typeof v === 'number') { pts.push(px(i).toFixed(1) + ',' + py(v).toFixed(1)); last = [px(i), py(v)]; } });
    s.append(svg('polyline', { class: 'line', points: pts.join(' ') }));
    if (last) s.append(svg('circle', { class: 'last', cx: last[0].toFixed(1), cy: last[1].toFixed(1), r: 2 }));
    fails.forEach((f, i) => { if (f) s.append(svg('rect', { class: 'fail', x: (px(i) - 1).toFixed(1), y: h - 2, width: 2, height: 2 })); });
    return s;
  }
  function sparkPair(points, w, h, labelled) {
    if (!points) return el('span', { class: 'muted small' }, '…');
    const chrono = points.slice().reverse();
    const peers = chrono.map((p) => p.peers);
    const lat = chrono.map((p) => p.latencyMs);
    const fails = chrono.map((p) => !p.ok);
    const nFail = fails.filter(Boolean).length;
    const range = (vals, f) => { const v = vals.filter((x) => typeof x === 'number'); return v.length ? f(Math.min(...v)) + '–' + f(Math.max(...v)) : 'none'; };
    const lastOf = (vals) => { for (let i = vals.length - 1; i >= 0; i--) if (typeof vals[i] === 'number') return vals[i]; return null; };
    const tail = ', last ' + chrono.length + ' samples' + (nFail ? ', ' + nFail + ' failed' : '');
    const pl = 'Peers ' + range(peers, int) + tail;
    const ll = 'Latency ' + range(lat, ms) + tail;
    return el('div', { class: 'sparks' + (labelled ? ' chart' : '') },
      el('div', { class: 'spark-row' }, labelled ? el('span', { class: 'k' }, 'peers') : null, spark(peers, fails, 'peers', pl, w, h), el('span', { class: 'v', 'aria-hidden': 'true' }, lastOf(peers) === null ? '—' : int(lastOf(peers)))),
      el('div', { class: 'spark-row' }, labelled ? el('span', { class: 'k' }, 'latency') : null, spark(lat, fails, 'latency', ll, w, h), el('span', { class: 'v', 'aria-hidden': 'true' }, ms(lastOf(lat)))));
  }
  let historyBusy = false;
  async function loadHistories() {
    if (historyBusy) return;
    historyBusy = true;
    try {
      // Only rows on or near the screen: a fleet of thousands must not cost thousands of calls.
      const now = Date.now();
      const vh = window.innerHeight;
      const near = (id) => { const r = st.rows.get(id); if (!r) return false; const b = r.getBoundingClientRect(); return b.bottom > -vh && b.top < 2 * vh; };
      const ids = [...st.rows.keys()].filter((id) => { const h = st.history.get(id); return (!h || now - h.at > HISTORY_EVERY_MS) && near(id); });
      const worker = async () => {
        for (let id = ids.shift(); id !== undefined; id = ids.shift()) {
          try {
            const r = await api(nodePath(id, '/history?limit=' + HISTORY_POINTS));
            st.history.set(id, { points: r.points, at: Date.now() });
          } catch (e) {
            if (e.status === 0) return;
            st.history.set(id, { points: [], at: Date.now() });
          }
          const row = st.rows.get(id);
          if (row) fill(row.querySelector('td.hist'), sparkPair(st.history.get(id).points, 84, 18));
        }
      };
      await Promise.all([worker(), worker(), worker()]);
    } finally { historyBusy = false; }
  }

  // ---------- rendering ----------
  function keepFocus(fn) {
    const a = document.activeElement;
    const key = a && a.dataset ? a.dataset.fkey : undefined;
    fn();
    if (!key || (document.activeElement && document.activeElement !== document.body)) return;
    for (const b of document.querySelectorAll('[data-fkey]')) if (b.dataset.fkey === key) { b.focus(); break; }
  }
  function render() {
    renderTotals();
    keepFocus(() => { renderChains(); renderFilterOptions(); renderNodes(); });
    if (st.detailId) renderDetailHead();
  }
  function renderTotals() {
    const t = { healthy: 0, degraded: 0, unhealthy: 0, unknown: 0, maintenance: 0 };
    let nodes = 0;
    for (const c of st.chains) { nodes += c.nodes; for (const s of STATES) t[s] += (c.counts && c.counts[s]) || 0; }
    const tile = (cls, n, label, ic) => el('li', { class: cls + (n ? '' : ' zero'), 'data-total': cls.replace('st-', '') }, el('span', { class: 'n' }, int(n)), el('span', { class: 'l' }, ic, label));
    fill($('totals'),
      tile('all', st.chains.length, 'chains', null),
      tile('nodes', nodes, 'nodes', null),
      ...STATES.map((s) => tile('st-' + s, t[s], LABEL[s], icon(s))));
  }
  // What the head rests on: its voters, the quorum they met, how far apart they were; a halt says so.
  function headEvidence(ref) {
    if (!ref || ref.height === null || ref.height === undefined) return el('div', { class: 'small muted' }, 'no corroborated head');
    const voters = ref.contributors + (ref.contributors === 1 ? ' voter' : ' voters') + ', quorum ' + ref.quorum;
    const spread = typeof ref.spread === 'number' && ref.spread > 0 ? ', spread ' + int(ref.spread) : '';
    const left = typeof ref.stalled === 'number' && ref.stalled > 0 ? ', ' + ref.stalled + ' stalled' : '';
    const names = Array.isArray(ref.voters) && ref.voters.length > 0 ? 'voters: ' + ref.voters.join(', ') : '';
    const lines = [el('div', { class: 'small muted', title: names }, voters + spread + left)];
    if (ref.basis === 'halted') lines.push(el('div', { class: 'small mode', 'data-halted': '' }, 'chain halted' + (typeof ref.haltedForMs === 'number' ? ' for ' + Math.round(ref.haltedForMs / 1000) + ' s' : '')));
    else if (ref.basis === 'unproven') lines.push(el('div', { class: 'small muted' }, 'no node seen advancing yet'));
    return el('div', {}, ...lines);
  }
  function renderChains() {
    const now = Date.now();
    const rows = st.chains.map((c) => {
      const ref = c.reference;
      const best = c.best || {};
      const tr = el('tr', { 'data-chain': c.chain });
      tr.append(el('th', { scope: 'row' }, c.chain, el('div', { class: 'small muted' }, c.family === 'evm' ? 'EVM' : 'Bitcoin family')));
      tr.append(el('td', { class: 'num', 'data-head': ref ? String(ref.basis || '') : 'none' }, ref && ref.height !== null ? int(ref.height) : '—', headEvidence(ref)));
      tr.append(el('td', { class: 'num' }, int(c.nodes)));
      for (const s of STATES) {
        const n = (c.counts && c.counts[s]) || 0;
        tr.append(el('td', { class: 'num' + (n ? '' : ' zero'), 'data-count': s }, String(n)));
      }
      const bestCell = el('td', { class: 'best' });
      if (best.nodeId) bestCell.append(el('button', { type: 'button', class: 'link', 'data-open': best.nodeId, 'data-fkey': 'best:' + c.chain, 'aria-haspopup': 'dialog' }, best.nodeId));
      else bestCell.append(el('span', { class: 'muted' }, 'none usable'));
      if (best.mode && best.mode !== 'normal') bestCell.append(el('span', { class: 'mode' }, best.mode));
      if (best.degradedChoice) bestCell.append(el('div', { class: 'small muted' }, 'last resort: not usable'));
      tr.append(bestCell);
      const since = typeof best.since === 'number' ? best.since : null;
      tr.append(el('td', {}, since === null ? '—' : el('time', { datetime: new Date(since).toISOString(), title: stamp(since) }, ago(now - since)),
        best.reason ? el('div', { class: 'small muted' }, best.reason.replace(/_/g, ' ')) : null,
        c.reportFresh === false ? el('div', { class: 'small' }, el('span', { class: 'stale-mark' }, 'report ' + (c.reportAgeMs === null ? 'missing' : dur(c.reportAgeMs) + ' old'))) : null));
      return tr;
    });
    fill($('chains').tBodies[0], ...rows);
  }
  function setOptions(select, values, allLabel) {
    const sig = values.join('\u0000');
    if (select.dataset.sig === sig) return;
    const cur = select.value;
    select.dataset.sig = sig;
    fill(select, el('option', { value: '' }, allLabel), ...values.map((v) => el('option', { value: v }, v)));
    select.value = values.includes(cur) ? cur : '';
    if (select.value !== cur) readFilters();
  }
  function renderFilterOptions() {
    setOptions($('f-chain'), st.chains.map((c) => c.chain), 'All chains');
    const tags = new Set();
    for (const n of st.nodes) for (const t of n.tags) tags.add(t);
    setOptions($('f-tag'), [...tags].sort(), 'All tags');
  }
  function readFilters() {
    st.filter = { chain: $('f-chain').value, tag: $('f-tag').value, state: $('f-state').value, text: $('f-text').value.trim().toLowerCase() };
  }
  function visible() {
    const f = st.filter;
    const list = st.nodes.filter((n) => (!f.chain || n.chain === f.chain) && (!f.tag || n.tags.includes(f.tag)) && (!f.state || n.state === f.state) &&
      (!f.text || [n.id, n.clientVersion || '', n.url, ...n.reasons.map((r) => r.text)].some((s) => s.toLowerCase().includes(f.text))));
    const k = st.sort.key;
    const val = (n) => k === 'id' ? n.id : k === 'chain' ? n.chain : k === 'state' ? RANK[n.state] : k === 'peers' ? (n.peers ? n.peers.total : null) : k === 'lag' ? (n.lag ? n.lag.blocks : null)
      : k === 'latency' ? n.latencyMs : k === 'client' ? n.clientVersion : k === 'tier' ? n.tier : k === 'score' ? n.score : n.ageMs;
    const base = (a, b) => (a.chain < b.chain ? -1 : a.chain > b.chain ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
    return list.sort((a, b) => {
      const x = val(a);
      const y = val(b);
      if (x === null || x === undefined) return y === null || y === undefined ? base(a, b) : 1;
      if (y === null || y === undefined) return -1;
      const c = typeof x === 'string' ? x.localeCompare(y) : x - y;
      return c !== 0 ? c * st.sort.dir : base(a, b);
    });
  }
  function renderNodes() {
    const list = visible();
    const now = Date.now();
    st.rows = new Map();
    const rows = list.map((n) => { const tr = nodeRow(n, now); st.rows.set(n.id, tr); return tr; });
    if (!rows.length) rows.push(el('tr', {}, el('td', { colspan: 11, class: 'muted' }, st.nodes.length ? 'No node matches these filters.' : 'No node data yet.')));
    fill($('nodes').tBodies[0], ...rows);
    const shown = 'Showing ' + list.length + ' of ' + st.nodes.length + ' nodes';
    if ($('shown').textContent !== shown) $('shown').textContent = shown;
    for (const th of $('nodes').tHead.rows[0].cells) {
      if (!th.dataset.sort) continue;
      if (th.dataset.sort === st.sort.key) th.setAttribute('aria-sort', st.sort.dir > 0 ? 'ascending' : 'descending');
      else th.removeAttribute('aria-sort');
    }
  }
  function nodeRow(n, now) {
    const age = typeof n.ageMs === 'number' ? n.ageMs + (now - st.fetchedAt) : null;
    const tr = el('tr', { 'data-node': n.id, 'data-state': n.state, class: 'st-' + n.state });
    tr.append(el('th', { scope: 'row' },
      el('button', { type: 'button', class: 'link', 'data-open': n.id, 'data-fkey': 'open:' + n.id, 'aria-haspopup': 'dialog' }, n.id),
      n.tags.length ? el('div', { class: 'tags' }, ...n.tags.map((t) => el('span', { class: 'tag' }, t))) : null));
    tr.append(el('td', {}, n.chain));
    tr.append(el('td', { class: 'state' }, badge(n.state),
      n.reasons.length ? el('ul', { class: 'reasons' }, ...n.reasons.map((r) => el('li', { 'data-code': r.code }, r.text))) : null));
    tr.append(el('td', { class: 'num' }, n.peers ? int(n.peers.total) : '—',
      el('div', { class: 'small muted' }, n.peers ? (n.peers.in === null ? 'total only' : n.peers.in + ' in / ' + n.peers.out + ' out') : 'not reported')));
    tr.append(el('td', { class: 'num' }, n.lag ? int(n.lag.blocks) + ' blk' : '—', n.lag ? el('div', { class: 'small muted' }, dur(n.lag.ms)) : null));
    tr.append(el('td', { class: 'num' }, ms(n.latencyMs)));
    tr.append(el('td', { class: 'client', title: n.clientVersion || '' }, n.clientVersion || '—'));
    tr.append(el('td', { class: 'num' }, String(n.tier), el('div', { class: 'small muted' }, n.tier === 0 ? 'primary' : 'backup')));
    const sc = el('td', { class: 'num' }, score(n.score));
    if (typeof n.score === 'number') {
      sc.append(svg('svg', { class: 'scorebar', width: 44, height: 4, viewBox: '0 0 44 4', 'aria-hidden': 'true', focusable: 'false' },
        svg('rect', { class: 'bg', x: 0, y: 0, width: 44, height: 4, rx: 2 }), svg('rect', { class: 'fg', x: 0, y: 0, width: (44 * Math.max(0, Math.min(1, n.score))).toFixed(1), height: 4, rx: 2 })));
    }
    tr.append(sc);
    tr.append(el('td', { class: 'num age' }, age === null ? 'never' : ago(age), n.stale ? el('span', { class: 'stale-mark' }, 'stale') : null));
    const h = st.history.get(n.id);
    tr.append(el('td', { class: 'hist' }, sparkPair(h ? h.points : null, 84, 18)));
    return tr;
  }
  function renderChanges() {
    const today = new Date().toDateString();
    const items = st.changes.slice(0, 100).map((c) => {
      // The node's id links to its detail (#node=<id>): a link an operator can share.
      const linked = c.nodeId && c.text.startsWith(c.nodeId);
      return el('li', { 'data-kind': c.kind, 'data-node': c.nodeId || null },
        el('time', { datetime: new Date(c.at).toISOString(), title: stamp(c.at) }, new Date(c.at).toDateString() === today ? clock(c.at) : stamp(c.at).slice(5, 16)),
        el('span', { class: 'what' + (c.state ? ' st-' + c.state : '') }, c.state ? icon(c.state) : null, c.state ? ' ' : null,
          linked ? el('a', { href: '#node=' + encodeURIComponent(c.nodeId), class: 'node-link' }, c.nodeId) : null, linked ? c.text.slice(c.nodeId.length) : c.text));
    });
    if (!items.length) items.push(el('li', { class: 'muted' }, el('span', {}, ''), el('span', {}, st.changesFrom ? 'No state change recorded yet.' : 'Loading…')));
    fill($('changes'), ...items);
    $('changes-source').textContent = st.changesFrom === 'error' ? 'The stored state changes could not be loaded; showing state changes,' : 'State changes nodesentry keeps for the fleet (the latest ' + FLEET_CHANGES + '), plus';
  }

  // ---------- deep links: #node=<id> opens that node ----------
  function hashNode() {
    const m = /^#node=(.+)$/.exec(location.hash);
    if (!m) return null;
    try { return decodeURIComponent(m[1]); } catch (e) { return null; }
  }
  function openFromHash() {
    const id = hashNode();
    if (id && id !== st.detailId && st.fetchedAt) openDetail(id, null);
  }

  // ---------- heads and lag of one chain ----------
  // The reference head over time is recomputed from the nodes' stored heights as the workers
  // do it (the quorum-th highest height of the nodes at each moment), and the current head is
  // the one the API reports; each node's lag is that head minus the node's height.
  let headsBusy = false;
  async function loadHeads() {
    if (headsBusy) return;
    const chains = st.chains.map((c) => c.chain);
    const select = $('h-chain');
    if (select.dataset.sig !== chains.join('\u0000')) {
      select.dataset.sig = chains.join('\u0000');
      fill(select, ...chains.map((v) => el('option', { value: v }, v)));
    }
    if (!chains.includes(st.headChain)) st.headChain = chains[0] || '';
    select.value = st.headChain;
    const ids = st.nodes.filter((n) => n.chain === st.headChain).slice(0, HEAD_NODES).map((n) => n.id);
    const now = Date.now();
    const missing = ids.filter((id) => { const h = st.history.get(id); return !h || now - h.at > HISTORY_EVERY_MS; });
    headsBusy = true;
    try {
      await Promise.all(missing.map(async (id) => {
        try { const r = await api(nodePath(id, '/history?limit=' + HISTORY_POINTS)); st.history.set(id, { points: r.points, at: Date.now() }); }
        catch (e) { if (e.status !== 0) st.history.set(id, { points: [], at: Date.now() }); }
      }));
    } finally { headsBusy = false; }
    renderHeads(ids);
  }
  function renderHeads(ids) {
    const box = $('heads');
    const c = st.chains.find((x) => x.chain === st.headChain);
    if (!c) { fill(box, el('p', { class: 'muted' }, 'No chain yet.')); return; }
    const series = ids.map((id) => ({ id, pts: ((st.history.get(id) || {}).points || []).filter((p) => p.ok && typeof p.height === 'number').slice().reverse() }));
    const all = series.flatMap((x) => x.pts.map((p) => p.t));
    const now = Date.now();
    const quorum = c.reference ? c.reference.quorum : Math.floor(ids.length / 2) + 1;
    const t0 = all.length ? Math.min(...all) : now;
    const steps = [];
    for (let i = 0; i < HEAD_STEPS; i++) steps.push(t0 + ((now - t0) * i) / (HEAD_STEPS - 1));
    const heightAt = (pts, t) => { let h = null; for (const p of pts) { if (p.t > t) break; h = p.height; } return h; };
    const ref = steps.map((t, i) => {
      if (i === steps.length - 1 && c.reference) return c.reference.height;
      const hs = series.map((x) => heightAt(x.pts, t)).filter((h) => h !== null).sort((a, b) => b - a);
      return hs.length >= quorum ? hs[quorum - 1] : null;
    });
    const lags = series.map((x) => {
      const node = st.byId.get(x.id);
      return { id: x.id, now: node && node.lag ? node.lag.blocks : null, values: steps.map((t, i) => {
        if (i === steps.length - 1) return node && node.lag ? node.lag.blocks : null;
        const h = heightAt(x.pts, t);
        return h === null || ref[i] === null ? null : Math.max(0, ref[i] - h);
      }) };
    });
    const refNums = ref.filter((v) => typeof v === 'number');
    const caption = c.chain + ': reference head ' + (c.reference ? int(c.reference.height) : 'not corroborated') + ', from ' + clock(t0) + ' to ' + clock(now);
    fill(box,
      el('p', { class: 'small muted' }, caption + '. Lag: blocks behind the reference head.'),
      el('div', { class: 'head-charts' },
        el('figure', { class: 'head-chart' }, el('figcaption', {}, 'Reference head'), lineChart([{ cls: 'ref', values: ref }], 'Reference head of ' + c.chain + (refNums.length ? ', ' + int(Math.min(...refNums)) + ' to ' + int(Math.max(...refNums)) : ', no data'), false)),
        el('figure', { class: 'head-chart' }, el('figcaption', {}, 'Lag per node (blocks)'), lineChart(lags.map((l, i) => ({ cls: 's' + (i % 8), values: l.values })), 'Lag of each node of ' + c.chain + ' behind its reference head', true),
          el('ul', { class: 'head-legend' }, ...lags.map((l, i) => el('li', { 'data-node': l.id }, el('span', { class: 'swatch s' + (i % 8), 'aria-hidden': 'true' }), el('a', { href: '#node=' + encodeURIComponent(l.id), class: 'node-link' }, l.id), ' ' + (l.now === null ? '—' : int(l.now) + ' blk')))))));
  }
  function lineChart(lines, label, fromZero) {
    const w = 600;
    const h = 140;
    const s = svg('svg', { class: 'linechart', viewBox: '0 0 ' + w + ' ' + h, preserveAspectRatio: 'none', role: 'img', 'aria-label': label });
    s.append(svg('title', { text: label }));
    const nums = lines.flatMap((l) => l.values.filter((v) => typeof v === 'number'));
    if (!nums.length) { s.append(svg('text', { x: 4, y: h / 2, class: 'none', text: 'no data yet' })); return s; }
    const lo = fromZero ? 0 : Math.min(...nums);
    const hi = Math.max(...nums, lo + 1);
    const py = (v) => h - 14 - ((v - lo) / (hi - lo)) * (h - 24);
    s.append(svg('text', { x: 2, y: 10, class: 'axis', text: int(hi) }), svg('text', { x: 2, y: h - 2, class: 'axis', text: int(lo) }));
    for (const l of lines) {
      const n = l.values.length;
      let seg = [];
      const flush = () => { if (seg.length > 1) s.append(svg('polyline', { class: 'line ' + l.cls, points: seg.join(' ') })); seg = []; };
      l.values.forEach((v, i) => { if (typeof v === 'number') seg.push(((i * w) / (n - 1)).toFixed(1) + ',' + py(v).toFixed(1)); else flush(); });
      flush();
    }
    return s;
  }

  // ---------- node detail ----------
  function openDetail(id, opener) {
    st.detailId = id;
    st.detail = null;
    st.openerKey = opener && opener.dataset ? opener.dataset.fkey : null;
    $('drain-msg').textContent = '';
    $('drain-msg').className = 'msg';
    $('d-reason').value = '';
    for (const sec of ['detail-facts', 'detail-score', 'detail-trends', 'detail-traffic', 'detail-peers']) fill($(sec), el('p', { class: 'muted' }, 'Loading…'));
    renderDetailHead();
    renderDetailChanges();
    renderActions();
    const dlg = $('detail');
    if (!dlg.open) dlg.showModal();
    $('detail-close').focus();
    // The node's id in the URL (never a credential), so the view can be shared and reloaded.
    if (hashNode() !== id) history.replaceState(null, '', '#node=' + encodeURIComponent(id));
    loadDetail(true);
  }
  async function loadDetail(first) {
    const id = st.detailId;
    if (!id) return;
    const [node, peers, hist, trans] = await Promise.allSettled([api(nodePath(id)), api(nodePath(id, '/peers')), api(nodePath(id, '/history?limit=' + DETAIL_POINTS)), api(nodePath(id, '/transitions?limit=' + DETAIL_TRANSITIONS))]);
    if (st.detailId !== id) return;
    const v = (r) => (r.status === 'fulfilled' ? r.value : { error: r.reason });
    st.detail = { node: v(node), peers: v(peers), hist: v(hist), transitions: v(trans) };
    renderDetail();
    if (first) $('detail').dataset.loaded = id;
  }
  function current() { return (st.detail && st.detail.node && !st.detail.node.error && st.detail.node) || st.byId.get(st.detailId) || null; }
  function renderDetailHead() {
    const id = st.detailId;
    const n = current();
    $('detail-title').textContent = id;
    fill($('detail-badge'), n ? badge(n.state) : null);
  }
  function renderDetail() {
    const d = st.detail;
    const n = d.node.error ? null : d.node;
    renderDetailHead();
    renderActions();
    if (!n) {
      fill($('detail-state'), el('p', { class: 'msg error' }, 'Cannot load this node: ' + d.node.error.message));
      return;
    }
    const now = Date.now();
    const reasons = n.reasons.map((r) => el('li', { 'data-code': r.code }, el('span', { class: 'mono' }, r.text), r.severity ? el('span', { class: 'muted' }, ' — ' + r.severity) : null));
    const pending = n.hysteresis && n.hysteresis.pending;
    fill($('detail-state'),
      el('div', { class: 'state-line' }, badge(n.state), el('span', {}, 'since ', el('time', { datetime: new Date(n.since).toISOString() }, stamp(n.since)), ' (' + ago(now - n.since) + ')')),
      reasons.length ? el('ul', { class: 'reasons' }, ...reasons) : el('p', { class: 'muted small' }, 'No reasons: every check passes.'),
      pending ? el('p', { class: 'small' }, 'Changing toward ' + (LABEL[pending.toward] || pending.toward) + ': ' + pending.count + ' of ' + pending.needed + ' samples seen.') : null,
      n.drain ? el('p', { class: 'small' }, 'Drained by ' + n.drain.by + ' at ' + stamp(n.drain.at) + (n.drain.reason ? ': ' + n.drain.reason : '') + '. Underneath: ' + (LABEL[n.hysteresis && n.hysteresis.tracked] || 'unknown') + '.') : null);
    const s = n.sample || {};
    const f = n.freshness || {};
    const peers = s.peers ? int(s.peers.total) + (typeof s.peers.inbound === 'number' ? ' (' + s.peers.inbound + ' in / ' + s.peers.outbound + ' out)' : '') + ', from ' + s.peers.source : 'not reported';
    const facts = [
      ['Chain', n.chain + ' (' + n.family + ')'], ['URL', n.url], ['Tags', n.tags.join(', ') || 'none'], ['Tier', n.tier + (n.tier === 0 ? ' (primary)' : ' (backup)')],
      ['Height', typeof s.height === 'number' ? int(s.height) + (n.lag ? ' (reference ' + int(n.lag.referenceHeight) + ')' : '') : '—'],
      ['Lag', n.lag ? int(n.lag.blocks) + ' blocks, ' + dur(n.lag.ms) : '—'],
      ['Latency', ms(s.latencyMs) + (n.stats && typeof n.stats.latencyEwmaMs === 'number' ? ', average ' + ms(n.stats.latencyEwmaMs) : '')],
      ['Errors', n.stats && typeof n.stats.errorRate === 'number' ? Math.round(n.stats.errorRate * 100) + '% of the last ' + n.stats.samples + ' samples' : '—'],
      ['Peers', peers], ['Client', s.clientVersion || '—'],
      ['Last sample', f.observedAt ? stamp(f.observedAt) + ' (' + ago(f.ageMs) + (f.stale ? ', stale' : '') + ')' : 'never'],
      ['Polled every', dur(n.intervalMs) + ', timeout ' + dur(n.timeoutMs)],
      ['Auth to node', n.auth], ['Missing methods', (n.capabilities && n.capabilities.missingMethods.join(', ')) || 'none'],
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
  function renderScore(n) {
    if (!n.score) { fill($('detail-score'), el('p', { class: 'muted' }, 'Not scored yet.')); return; }
    const rows = Object.keys(n.score.parts).map((k) => { const p = n.score.parts[k]; return el('tr', {}, el('th', { scope: 'row' }, k), el('td', { class: 'num' }, p.grade.toFixed(2)), el('td', { class: 'num' }, p.weight.toFixed(2)), el('td', {}, p.detail)); });
    fill($('detail-score'), el('p', {}, 'Total ', el('strong', {}, score(n.score.total)), ' of 1.00'),
      el('table', { class: 'compact' }, el('caption', {}, 'Score parts: grade 0..1 times weight'), el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'Part'), el('th', { scope: 'col', class: 'num' }, 'Grade'), el('th', { scope: 'col', class: 'num' }, 'Weight'), el('th', { scope: 'col' }, 'Detail'))), el('tbody', {}, ...rows)));
  }
  function renderTrends(h) {
    if (h.error) { fill($('detail-trends'), el('p', { class: 'msg error' }, 'History unavailable: ' + h.error.message)); fill($('detail-traffic'), el('p', { class: 'muted' }, 'History unavailable.')); return; }
    const pts = h.points;
    fill($('detail-trends'), pts.length ? el('div', {},
      el('p', { class: 'small muted' }, pts.length + ' samples from ' + clock(pts[pts.length - 1].t) + ' to ' + clock(pts[0].t) + '; red marks are failed probes.'),
      sparkPair(pts, 300, 48, true)) : el('p', { class: 'muted' }, 'No samples stored yet.'));
    const r = h.rates;
    if (!r) { fill($('detail-traffic'), el('p', { class: 'muted' }, h.ratesDetail || 'No traffic rates.')); return; }
    const dl = el('dl', { class: 'facts' },
      el('dt', {}, 'Receiving'), el('dd', {}, bytes(r.recvBytesPerSec) + '/s'),
      el('dt', {}, 'Sending'), el('dd', {}, bytes(r.sentBytesPerSec) + '/s'),
      el('dt', {}, 'Window'), el('dd', {}, dur(r.windowMs) + ', ' + r.points + ' samples' + (r.resets ? ', ' + r.resets + ' counter reset(s): node restarted' : '') + (r.drops ? ', ' + r.drops + ' counter drop(s) without a restart (uptime kept growing): left out' : '')));
    const series = r.series.slice().reverse();
    const w = 300;
    const chart = el('div', { class: 'sparks chart' },
      el('div', { class: 'spark-row' }, el('span', { class: 'k' }, 'recv'), spark(series.map((x) => x.recvBytesPerSec), series.map((x) => x.reset), 'peers', 'Received bytes per second, per interval', w, 36)),
      el('div', { class: 'spark-row' }, el('span', { class: 'k' }, 'sent'), spark(series.map((x) => x.sentBytesPerSec), series.map((x) => x.reset), 'latency', 'Sent bytes per second, per interval', w, 36)));
    fill($('detail-traffic'), dl, chart);
  }
  function renderPeers(p) {
    const box = $('detail-peers');
    if (p.error) { fill(box, el('p', { class: 'msg error' }, 'Peers unavailable: ' + p.error.message)); return; }
    if (!p.peers) {
      fill(box, el('p', {}, p.total === null ? 'No peer count reported.' : int(p.total) + ' peers (' + p.source + ').'), p.detail ? el('p', { class: 'muted small' }, p.detail) : null);
      return;
    }
    const sm = p.summary;
    const head = el('p', {}, int(sm.total) + ' peers: ' + sm.inbound + ' inbound, ' + sm.outbound + ' outbound' +
      (sm.pingMs ? '; ping median ' + ms(sm.pingMs.median) + ', p90 ' + ms(sm.pingMs.p90) : '') +
      (sm.heights && typeof sm.heights.peersAhead === 'number' ? '; ' + sm.heights.peersAhead + ' ahead of this node' : '') + '.');
    const versions = el('p', { class: 'small muted' }, 'Clients: ' + sm.versions.map((v) => v.subver + ' × ' + v.count).join(', '));
    const shown = p.peers.slice(0, 200);
    const cols = ['Address', 'Direction', 'Client', 'Ping', 'Synced blocks', 'Sent', 'Received', 'Connected'];
    const table = el('table', { class: 'compact' },
      el('caption', {}, 'Peers from getpeerinfo' + (p.observedAt ? ' at ' + clock(p.observedAt) : '') + (shown.length < p.peers.length ? ' (first ' + shown.length + ' of ' + p.peers.length + ')' : '')),
      el('thead', {}, el('tr', {}, ...cols.map((c, i) => el('th', { scope: 'col', class: i >= 3 ? 'num' : null }, c)))),
      el('tbody', {}, ...shown.map((x) => el('tr', {},
        el('th', { scope: 'row', class: 'mono' }, String(x.addr)),
        el('td', {}, x.inbound ? 'inbound' : 'outbound'),
        el('td', {}, x.subver || '—'),
        el('td', { class: 'num' }, ms(x.pingMs)),
        el('td', { class: 'num' }, int(x.syncedBlocks)),
        el('td', { class: 'num' }, bytes(x.bytesSent)),
        el('td', { class: 'num' }, bytes(x.bytesRecv)),
        el('td', { class: 'num' }, typeof x.connTime === 'number' ? ago(Date.now() - x.connTime * 1000) : '—')))));
    fill(box, head, versions, el('div', { class: 'peers-scroll table-wrap' }, table));
  }
  // The node's stored state changes merged with those seen live (SSE), newest first, each once.
  function detailChanges(id) {
    const live = st.changes.filter((c) => c.nodeId === id);
    const t = st.detail && st.detail.transitions;
    const stored = t && !t.error && Array.isArray(t.transitions) ? t.transitions : [];
    const key = (at, from, to) => at + '|' + from + '|' + to;
    const seen = new Set();
    const out = [];
    for (const x of stored) {
      const reasons = Array.isArray(x.reasons) ? x.reasons.map(String) : [];
      seen.add(key(x.at, x.from, x.to));
      out.push({ at: x.at, nodeId: id, kind: 'transition', state: x.to, text: transitionText(id, x.from, x.to, reasons) });
    }
    for (const c of live) if (c.kind !== 'transition' || !seen.has(key(c.at, c.from, c.to))) out.push(c);
    out.sort((a, b) => b.at - a.at);
    return out;
  }
  function renderDetailChanges() {
    const id = st.detailId;
    const mine = detailChanges(id);
    const n = current();
    const t = st.detail && st.detail.transitions;
    const source = !t ? 'Loading the state changes nodesentry keeps; until then, those'
      : t.error ? 'Stored state changes unavailable (' + t.error.message + '); showing those'
      : 'State changes nodesentry keeps for this node (up to ' + DETAIL_TRANSITIONS + '), plus drains and changes';
    fill($('detail-changes'),
      el('p', { class: 'note' }, source + ' seen on the event stream since this page opened at ' + clock(st.openedAt) + '.' +
        (n ? ' In its current state (' + (LABEL[n.state] || n.state) + ') since ' + stamp(n.since) + '.' : '')),
      mine.length ? el('ol', { class: 'changes', reversed: true }, ...mine.map((c) => el('li', {}, el('time', { datetime: new Date(c.at).toISOString() }, clock(c.at)), el('span', { class: 'what' }, c.text))))
        : el('p', { class: 'muted' }, 'No change seen yet.'));
  }
  function renderActions() {
    const n = st.detailId ? current() : null;
    const drained = !!(n && n.drained);
    const has = !!(creds.admin || $('d-token').value.trim());
    $('drain-btn').hidden = drained;
    $('undrain-btn').hidden = !drained;
    for (const b of [$('drain-btn'), $('undrain-btn')]) { if (has) b.removeAttribute('aria-disabled'); else b.setAttribute('aria-disabled', 'true'); }
    $('d-reason').disabled = drained;
    $('drain-help').textContent = has ? 'The token is checked by nodesentry on each action; every action is written to its audit log.'
      : 'Drain and undrain need an admin token: without one nothing is sent.';
    if ($('d-token').value !== creds.admin && document.activeElement !== $('d-token')) $('d-token').value = creds.admin;
  }
  function msg(kind, text) { const m = $('drain-msg'); m.className = 'msg ' + kind; m.textContent = text; }
  async function act(drain) {
    const id = st.detailId;
    const verb = drain ? 'drain' : 'undrain';
    if (!id) return;
    const typed = $('d-token').value.trim();
    if (typed !== creds.admin) setCreds({ admin: typed });
    if (!creds.admin) { msg('error', 'Refused: ' + verb + ' needs an admin token. Enter it above; nothing was sent to nodesentry.'); $('d-token').focus(); return; }
    msg('busy', (drain ? 'Draining ' : 'Undraining ') + id + '…');
    try {
      const reason = $('d-reason').value.trim();
      const r = await api(nodePath(id, '/drain'), { method: drain ? 'POST' : 'DELETE', admin: true, body: drain ? (reason ? { reason } : {}) : undefined });
      if (drain) msg('ok', r.changed ? 'Drained ' + id + ': load balancers now see it as down; it is still probed.' : id + ' was already drained by ' + r.drain.by + '.');
      else msg('ok', r.changed ? 'Undrained ' + id + ': it is ' + (LABEL[r.state] || r.state) + ' again.' : id + ' was not drained.');
      refresh();
      loadDetail(false);
    } catch (e) {
      if (e.status === 401 || e.status === 403) msg('error', 'Refused by nodesentry (' + e.status + (e.problem && e.problem.title ? ' ' + e.problem.title : '') + '): ' + e.message + '. Nothing changed.');
      else msg('error', 'Could not ' + verb + ' ' + id + ' (' + (e.status || 'no connection') + '): ' + e.message);
    }
  }

  // ---------- wiring ----------
  function init() {
    $('opened').textContent = clock(st.openedAt);
    $('opened').setAttribute('datetime', new Date(st.openedAt).toISOString());
    $('api-key').value = creds.apiKey;
    $('admin-token').value = creds.admin;
    $('operator').value = creds.operator;
    renderChanges();
    $('access-form').addEventListener('submit', async (e) => {
      e.preventDefault();
      setCreds({ apiKey: $('api-key').value.trim(), admin: $('admin-token').value.trim(), operator: $('operator').value.trim() });
      const out = $('access-state');
      out.textContent = 'Saved for this tab.';
      if (creds.admin) {
        try { await api('/v1/admin/audit?limit=1', { admin: true }); out.textContent = 'Saved for this tab. Admin token accepted by nodesentry.'; }
        catch (err) { out.textContent = 'Saved, but nodesentry refused the admin token (' + (err.status || 'no connection') + '): ' + err.message; }
      }
    });
    $('access-clear').addEventListener('click', () => { setCreds({ apiKey: '', admin: '', operator: '' }); $('access-state').textContent = 'Forgotten.'; });
    $('filters').addEventListener('submit', (e) => e.preventDefault());
    $('filters').addEventListener('reset', (e) => {
      e.preventDefault();
      for (const id of ['f-chain', 'f-tag', 'f-state', 'f-text']) $(id).value = '';
      readFilters();
      renderNodes();
      loadHistories();
    });
    for (const id of ['f-chain', 'f-tag', 'f-state', 'f-text']) {
      $(id).addEventListener(id === 'f-text' ? 'input' : 'change', () => { readFilters(); keepFocus(renderNodes); loadHistories(); });
    }
    $('nodes').tHead.addEventListener('click', (e) => {
      const th = e.target.closest('th[data-sort]');
      if (!th || !e.target.closest('button')) return;
      const key = th.dataset.sort;
      st.sort = { key, dir: st.sort.key === key ? -st.sort.dir : 1 };
      renderNodes();
    });
    document.addEventListener('click', (e) => {
      const b = e.target.closest('[data-open]');
      if (b && !b.closest('dialog')) openDetail(b.dataset.open, b);
    });
    const dlg = $('detail');
    $('detail-close').addEventListener('click', () => dlg.close());
    dlg.addEventListener('click', (e) => { if (e.target === dlg) dlg.close(); });
    dlg.addEventListener('close', () => {
      const key = st.openerKey;
      st.detailId = null;
      st.detail = null;
      delete dlg.dataset.loaded;
      if (hashNode() !== null) history.replaceState(null, '', location.pathname + location.search);
      if (key) for (const b of document.querySelectorAll('[data-fkey]')) if (b.dataset.fkey === key) { b.focus(); break; }
    });
    $('drain-form').addEventListener('submit', (e) => { e.preventDefault(); act(true); });
    $('undrain-btn').addEventListener('click', () => act(false));
    $('d-token').addEventListener('input', renderActions);
    $('d-token').addEventListener('change', () => setCreds({ admin: $('d-token').value.trim() }));
    let scrollTimer = 0;
    window.addEventListener('scroll', () => { if (!scrollTimer) scrollTimer = setTimeout(() => { scrollTimer = 0; loadHistories(); }, 300); }, { passive: true });
    setInterval(renderStatus, 1000);
    window.addEventListener('hashchange', openFromHash);
    $('h-chain').addEventListener('change', () => { st.headChain = $('h-chain').value; loadHeads(); });
    refresh();
    loadChanges();
    runStream();
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
`;
