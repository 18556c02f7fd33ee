/** Icons (a shape per state) and sparklines of peers and latency. */
import { HISTORY_EVERY_MS, HISTORY_POINTS, stateLabel } from './constants.js';
import { el, svg, fill } from './dom.js';
import { int, ms } from './format.js';
import { api, nodePath, statusOf } from './api.js';
import { st } from './state.js';
import type { HistoryJson, HistoryPoint } from './types.js';

export function icon(state: string): SVGSVGElement {
  const s = svg('svg', {
    class: 'icon',
    viewBox: '0 0 12 12',
    width: 12,
    height: 12,
    'aria-hidden': 'true',
    focusable: 'false',
  });
  if (state === 'healthy') s.append(svg('circle', { cx: 6, cy: 6, r: 5, fill: 'currentColor' }));
  else if (state === 'degraded') s.append(svg('path', { d: 'M6 0.8 11.4 11H0.6Z', fill: 'currentColor' }));
  else if (state === 'unhealthy')
    s.append(
      svg('path', { d: 'M2 2 10 10M10 2 2 10', stroke: 'currentColor', 'stroke-width': 3, 'stroke-linecap': 'round' }),
    );
  else if (state === 'maintenance')
    s.append(
      svg('rect', { x: 1.5, y: 1, width: 3, height: 10, fill: 'currentColor' }),
      svg('rect', { x: 7.5, y: 1, width: 3, height: 10, fill: 'currentColor' }),
    );
  else
    s.append(
      svg('circle', {
        cx: 6,
        cy: 6,
        r: 4.6,
        fill: 'none',
        stroke: 'currentColor',
        'stroke-width': 1.6,
        'stroke-dasharray': '2.4 1.6',
      }),
    );
  return s;
}
export function badge(state: string): HTMLSpanElement {
  return el(
    'span',
    { class: 'badge st-' + state, 'data-state': state },
    icon(state),
    el('span', { class: 'label' }, stateLabel(state)),
  );
}

// Sparklines.
export function spark(
  values: readonly (number | null)[],
  fails: readonly boolean[],
  cls: string,
  label: string,
  w: number,
  h: number,
): SVGSVGElement {
  const s = svg('svg', {
    class: 'spark ' + cls,
    viewBox: '0 0 ' + w + ' ' + h,
    width: w,
    height: h,
    role: 'img',
    'aria-label': label,
  });
  s.append(svg('title', { text: label }));
  const nums = values.filter((v): v is number => typeof v === 'number');
  if (nums.length < 2) {
    s.append(svg('text', { x: 0, y: h - 4, class: 'none', text: nums.length ? 'one sample' : 'no data' }));
    return s;
  }
  const lo = Math.min(...nums);
  const hi = Math.max(...nums);
  const n = values.length;
  const px = (i: number): number => 1.5 + (i * (w - 3)) / (n - 1);
  const py = (v: number): number => (hi === lo ? h / 2 : h - 3 - ((v - lo) / (hi - lo)) * (h - 6));
  const pts: string[] = [];
  let last: [number, number] | null = null;
  values.forEach((v, i) => {
    if (typeof v === 'number') pts.push(px(i).toFixed(1) + ',' + py(v).toFixed(1));
  });
  for (let i = n - 1; i >= 0 && !last; i--) {
    const v = values[i];
    if (typeof v === 'number') last = [px(i), py(v)];
  }
  s.append(svg('polyline', { class: 'line', points: pts.join(' ') }));
  if (last) s.append(svg('circle', { class: 'last', cx: last[0].toFixed(1), cy: last[1].toFixed(1), r: 2 }));
  fails.forEach((f, i) => {
    if (f) s.append(svg('rect', { class: 'fail', x: (px(i) - 1).toFixed(1), y: h - 2, width: 2, height: 2 }));
  });
  return s;
}
export function sparkPair(
  points: readonly HistoryPoint[] | null,
  w: number,
  h: number,
  labelled?: boolean,
): HTMLElement {
  if (!points) return el('span', { class: 'muted small' }, '…');
  const chrono = points.slice().reverse();
  const peers = chrono.map((p) => p.peers);
  const lat = chrono.map((p) => p.latencyMs);
  const fails = chrono.map((p) => !p.ok);
  const nFail = fails.filter(Boolean).length;
  const range = (vals: readonly (number | null)[], f: (n: number) => string): string => {
    const v = vals.filter((x): x is number => typeof x === 'number');
    return v.length ? f(Math.min(...v)) + '–' + f(Math.max(...v)) : 'none';
  };
  const lastOf = (vals: readonly (number | null)[]): number | null => {
    for (let i = vals.length - 1; i >= 0; i--) {
      const v = vals[i];
      if (typeof v === 'number') return v;
    }
    return null;
  };
  const tail = ', last ' + chrono.length + ' samples' + (nFail ? ', ' + nFail + ' failed' : '');
  const pl = 'Peers ' + range(peers, int) + tail;
  const ll = 'Latency ' + range(lat, ms) + tail;
  return el(
    'div',
    { class: 'sparks' + (labelled ? ' chart' : '') },
    el(
      'div',
      { class: 'spark-row' },
      labelled ? el('span', { class: 'k' }, 'peers') : null,
      spark(peers, fails, 'peers', pl, w, h),
      el('span', { class: 'v', 'aria-hidden': 'true' }, lastOf(peers) === null ? '—' : int(lastOf(peers))),
    ),
    el(
      'div',
      { class: 'spark-row' },
      labelled ? el('span', { class: 'k' }, 'latency') : null,
      spark(lat, fails, 'latency', ll, w, h),
      el('span', { class: 'v', 'aria-hidden': 'true' }, ms(lastOf(lat))),
    ),
  );
}
let historyBusy = false;
export async function loadHistories(): Promise<void> {
  if (historyBusy) return;
  historyBusy = true;
  try {
    // Only rows on or near the screen: a fleet of thousands must not cost thousands of calls.
    const now = Date.now();
    const vh = window.innerHeight;
    const near = (id: string): boolean => {
      const r = st.rows.get(id);
      if (!r) return false;
      const b = r.getBoundingClientRect();
      return b.bottom > -vh && b.top < 2 * vh;
    };
    const ids = [...st.rows.keys()].filter((id) => {
      const h = st.history.get(id);
      return (!h || now - h.at > HISTORY_EVERY_MS) && near(id);
    });
    const worker = async (): Promise<void> => {
      for (let id = ids.shift(); id !== undefined; id = ids.shift()) {
        try {
          const r = await api<HistoryJson>(nodePath(id, '/history?limit=' + HISTORY_POINTS));
          st.history.set(id, { points: r.points, at: Date.now() });
        } catch (e) {
          if (statusOf(e) === 0) return;
          st.history.set(id, { points: [], at: Date.now() });
        }
        const row = st.rows.get(id);
        const cell = row && row.querySelector('td.hist');
        if (cell) fill(cell, sparkPair(st.history.get(id)?.points ?? null, 84, 18));
      }
    };
    await Promise.all([worker(), worker(), worker()]);
  } finally {
    historyBusy = false;
  }
}
