/** Keeping the view live: the refresh loop, the status banner, the event stream, the change log. */
import { REFRESH_MS, STALE_MS, FLEET_CHANGES, STREAM_IDLE_MS, stateLabel } from './constants.js';
import { $ } from './dom.js';
import { ago, transitionText } from './format.js';
import { creds, api, statusOf, messageOf } from './api.js';
import { st, type Change } from './state.js';
import type {
  ChainsJson,
  DrainEvent,
  FleetTransitionsJson,
  HelloEvent,
  NodeJson,
  NodeListJson,
  SelectionEvent,
  TransitionEvent,
} from './types.js';
import { loadHistories } from './charts.js';
import { render, renderChanges, openFromHash } from './render.js';
import { loadHeads } from './heads.js';
import { loadDetail, renderDetailChanges } from './detail.js';

let inFlight: Promise<void> | null = null;
let again = false;
let timer = 0;
export async function refresh(): Promise<void> {
  if (inFlight) {
    again = true;
    return inFlight;
  }
  clearTimeout(timer);
  inFlight = (async () => {
    try {
      const [chains, nodes] = await Promise.all([api<ChainsJson>('/v1/chains'), allNodes()]);
      st.chains = chains.chains || [];
      st.nodes = nodes;
      st.byId = new Map(nodes.map((n) => [n.id, n]));
      st.fetchedAt = Date.now();
      st.lastOk = st.fetchedAt;
      st.conn = 'ok';
      st.connDetail = '';
      render();
      if (st.detailId) void loadDetail(false);
      else openFromHash();
      void loadHistories();
      void loadHeads();
    } catch (e) {
      const was = st.conn;
      const status = statusOf(e);
      st.conn = status === 401 || status === 403 ? 'auth' : 'lost';
      st.connDetail = messageOf(e);
      if (st.conn === 'auth' && was !== 'auth') $('access').open = true;
    }
    renderStatus();
  })();
  try {
    await inFlight;
  } finally {
    inFlight = null;
    timer = setTimeout(refresh, REFRESH_MS);
    if (again) {
      again = false;
      void refresh();
    }
  }
}
export async function allNodes(): Promise<NodeJson[]> {
  let out: NodeJson[] = [];
  let cursor: string | null = null;
  do {
    const page: NodeListJson = await api<NodeListJson>(
      '/v1/nodes?limit=500' + (cursor ? '&cursor=' + encodeURIComponent(cursor) : ''),
    );
    out = out.concat(page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return out;
}
let soonTimer = 0;
export function soon(): void {
  if (!soonTimer)
    soonTimer = setTimeout(() => {
      soonTimer = 0;
      void refresh();
    }, 150);
}

// The status banner.
export function renderStatus(): void {
  const age = st.lastOk ? Date.now() - st.lastOk : null;
  const stale = age === null || age > STALE_MS;
  let kind: string;
  let text: string;
  if (st.conn === 'auth') {
    kind = 'auth';
    text = 'nodesentry refused the request: ' + st.connDetail + ' (enter the API key under Access)';
  } else if (st.conn === 'lost') {
    kind = 'lost';
    text = 'Connection to nodesentry lost — retrying';
  } else if (st.conn === 'connecting') {
    kind = 'connecting';
    text = 'Connecting to nodesentry…';
  } else if (stale) {
    kind = 'stale';
    text = 'Data stale';
  } else if (!st.stream) {
    kind = 'polling';
    text = 'Live (polling; event stream reconnecting)';
  } else {
    kind = 'live';
    text = 'Live';
  }
  let ageText = '';
  if (age !== null)
    ageText =
      kind === 'live' || kind === 'polling'
        ? 'updated ' + ago(age)
        : kind === 'stale'
          ? '(last update ' + ago(age) + ')'
          : 'data stale (last update ' + ago(age) + ')';
  else if (kind === 'lost' || kind === 'auth') ageText = 'no data yet';
  const box = $('status');
  box.className = 'status ' + kind;
  box.dataset.kind = kind;
  if ($('status-text').textContent !== text) $('status-text').textContent = text;
  $('status-age').textContent = ageText;
}

// The event stream: read with fetch, so the API key can be sent as a header.
let streamCtl: AbortController | null = null;
let lastEventId = '';
export function restartStream(): void {
  if (streamCtl) streamCtl.abort();
}
export async function runStream(): Promise<void> {
  let delay = 1000;
  for (;;) {
    const ctl = new AbortController();
    streamCtl = ctl;
    let idle = 0;
    const arm = (): void => {
      clearTimeout(idle);
      idle = setTimeout(() => ctl.abort(), STREAM_IDLE_MS);
    };
    try {
      const headers: Record<string, string> = { accept: 'text/event-stream' };
      if (creds.apiKey) headers['x-api-key'] = creds.apiKey;
      if (lastEventId) headers['last-event-id'] = lastEventId;
      arm();
      const res = await fetch('/v1/events?heartbeat=10', {
        headers,
        signal: ctl.signal,
        cache: 'no-store',
        credentials: 'omit',
      });
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
        while ((i = buf.indexOf('\n\n')) >= 0) {
          onMessage(buf.slice(0, i));
          buf = buf.slice(i + 2);
        }
      }
    } catch (e) {
      /* ended, aborted or refused: reconnect below */
    }
    clearTimeout(idle);
    const was = st.stream;
    st.stream = false;
    renderStatus();
    if (was) void refresh();
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 10000);
  }
}
export function onMessage(block: string): void {
  let event = 'message';
  let data = '';
  for (const line of block.split('\n')) {
    if (line.startsWith('event:')) event = line.slice(6).trim();
    else if (line.startsWith('data:')) data += line.slice(5).trim();
    else if (line.startsWith('id:')) lastEventId = line.slice(3).trim();
  }
  if (!data) return;
  let parsed: unknown;
  try {
    parsed = JSON.parse(data);
  } catch (e) {
    return;
  }
  if (!parsed || typeof parsed !== 'object') return;
  if (event === 'hello') {
    if (!(parsed as HelloEvent).resumed) {
      soon();
      void loadChanges();
    }
    return;
  }
  if (event === 'transition') {
    const d = parsed as TransitionEvent;
    const reasons = Array.isArray(d.reasons) ? d.reasons.map(String) : [];
    addChange({
      at: d.at,
      nodeId: d.nodeId,
      chain: d.chain,
      kind: 'transition',
      state: d.to,
      from: d.from,
      to: d.to,
      text: transitionText(d.nodeId, d.from, d.to, reasons),
    });
    announce(d.nodeId + ' is now ' + stateLabel(d.to) + (reasons.length ? ': ' + reasons.join(', ') : ''));
    const h = st.history.get(d.nodeId);
    if (h) h.at = 0;
  } else if (event === 'drain') {
    const d = parsed as DrainEvent;
    addChange({
      at: d.at || Date.now(),
      nodeId: d.nodeId,
      chain: d.chain,
      kind: 'drain',
      state: d.drained ? 'maintenance' : null,
      text: d.nodeId + (d.drained ? ' drained by ' + d.by + (d.reason ? ' (' + d.reason + ')' : '') : ' undrained'),
    });
    announce(d.nodeId + (d.drained ? ' drained' : ' undrained'));
  } else if (event === 'selection') {
    const d = parsed as SelectionEvent;
    addChange({
      at: d.at,
      nodeId: null,
      chain: d.chain,
      kind: 'selection',
      state: null,
      text:
        d.chain +
        ': best node ' +
        (d.from || 'none') +
        ' → ' +
        (d.to || 'none') +
        (d.mode && d.mode !== 'normal' ? ' (' + d.mode + ')' : '') +
        (d.reason ? ', ' + d.reason : ''),
    });
  } else return;
  soon();
}
export const changeKey = (c: Change): string =>
  c.kind + '|' + c.nodeId + '|' + c.at + '|' + (c.from || '') + '|' + (c.to || '');
export function addChange(c: Change): void {
  if (st.changes.some((x) => changeKey(x) === changeKey(c))) return;
  st.changes.unshift(c);
  st.changes.sort((a, b) => b.at - a.at);
  if (st.changes.length > 200) st.changes.length = 200;
  renderChanges();
  if (st.detailId && c.nodeId === st.detailId) renderDetailChanges();
}
// The fleet's stored state changes (GET /v1/transitions), merged with those seen live.
export async function loadChanges(): Promise<void> {
  let r: FleetTransitionsJson;
  try {
    r = await api<FleetTransitionsJson>('/v1/transitions?limit=' + FLEET_CHANGES);
  } catch (e) {
    st.changesFrom = st.changesFrom || 'error';
    renderChanges();
    return;
  }
  const have = new Set(st.changes.map(changeKey));
  for (const x of r.items || []) {
    const reasons: string[] = Array.isArray(x.reasons) ? x.reasons.map(String) : [];
    const c: Change = {
      at: x.at,
      nodeId: x.nodeId,
      chain: x.chain,
      kind: 'transition',
      state: x.to,
      from: x.from,
      to: x.to,
      text: transitionText(x.nodeId, x.from, x.to, reasons),
    };
    if (!have.has(changeKey(c))) st.changes.push(c);
  }
  st.changes.sort((a, b) => b.at - a.at);
  if (st.changes.length > 200) st.changes.length = 200;
  st.changesFrom = 'store';
  renderChanges();
}
export function announce(text: string): void {
  $('announcer').textContent = text;
}
