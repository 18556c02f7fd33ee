/** Heads and lag of one chain, as a line chart. */
import { HISTORY_EVERY_MS, HISTORY_POINTS, HEAD_NODES, HEAD_STEPS } from './constants.js';
import { $, el, svg, fill } from './dom.js';
import { clock, int } from './format.js';
import { api, nodePath, statusOf } from './api.js';
import { st } from './state.js';
import type { HistoryJson, HistoryPoint } from './types.js';

// The reference head over time is recomputed from the nodes' stored heights as the workers
// do it (the quorum-th highest height of the nodes at each moment), and the current head is
// the one the API reports; each node's lag is that head minus the node's height.
let headsBusy = false;
export async function loadHeads(): Promise<void> {
  if (headsBusy) return;
  const chains = st.chains.map((c) => c.chain);
  const select = $('h-chain');
  if (select.dataset.sig !== chains.join('\u0000')) {
    select.dataset.sig = chains.join('\u0000');
    fill(select, ...chains.map((v) => el('option', { value: v }, v)));
  }
  if (!chains.includes(st.headChain)) st.headChain = chains[0] || '';
  select.value = st.headChain;
  const ids = st.nodes
    .filter((n) => n.chain === st.headChain)
    .slice(0, HEAD_NODES)
    .map((n) => n.id);
  const now = Date.now();
  const missing = ids.filter((id) => {
    const h = st.history.get(id);
    return !h || now - h.at > HISTORY_EVERY_MS;
  });
  headsBusy = true;
  try {
    await Promise.all(
      missing.map(async (id) => {
        try {
          const r = await api<HistoryJson>(nodePath(id, '/history?limit=' + HISTORY_POINTS));
          st.history.set(id, { points: r.points, at: Date.now() });
        } catch (e) {
          if (statusOf(e) !== 0) st.history.set(id, { points: [], at: Date.now() });
        }
      }),
    );
  } finally {
    headsBusy = false;
  }
  renderHeads(ids);
}
export function renderHeads(ids: readonly string[]): void {
  const box = $('heads');
  const c = st.chains.find((x) => x.chain === st.headChain);
  if (!c) {
    fill(box, el('p', { class: 'muted' }, 'No chain yet.'));
    return;
  }
  const series = ids.map((id) => ({
    id,
    pts: (st.history.get(id)?.points ?? [])
      .filter((p) => p.ok && typeof p.height === 'number')
      .slice()
      .reverse(),
  }));
  const all = series.flatMap((x) => x.pts.map((p) => p.t));
  const now = Date.now();
  const quorum = c.reference ? c.reference.quorum : Math.floor(ids.length / 2) + 1;
  const t0 = all.length ? Math.min(...all) : now;
  const steps: number[] = [];
  for (let i = 0; i < HEAD_STEPS; i++) steps.push(t0 + ((now - t0) * i) / (HEAD_STEPS - 1));
  const heightAt = (pts: readonly HistoryPoint[], t: number): number | null => {
    let h: number | null = null;
    for (const p of pts) {
      if (p.t > t) break;
      h = p.height;
    }
    return h;
  };
  const ref = steps.map((t, i): number | null => {
    if (i === steps.length - 1 && c.reference) return c.reference.height;
    const hs = series
      .map((x) => heightAt(x.pts, t))
      .filter((h): h is number => h !== null)
      .sort((a, b) => b - a);
    return hs[quorum - 1] ?? null;
  });
  const lags = series.map((x) => {
    const node = st.byId.get(x.id);
    return {
      id: x.id,
      now: node && node.lag ? node.lag.blocks : null,
      values: steps.map((t, i): number | null => {
        if (i === steps.length - 1) return node && node.lag ? node.lag.blocks : null;
        const h = heightAt(x.pts, t);
        const r = ref[i];
        return h === null || r == null ? null : Math.max(0, r - h);
      }),
    };
  });
  const refNums = ref.filter((v): v is number => typeof v === 'number');
  const caption =
    c.chain +
    ': reference head ' +
    (c.reference ? int(c.reference.height) : 'not corroborated') +
    ', from ' +
    clock(t0) +
    ' to ' +
    clock(now);
  fill(
    box,
    el('p', { class: 'small muted' }, caption + '. Lag: blocks behind the reference head.'),
    el(
      'div',
      { class: 'head-charts' },
      el(
        'figure',
        { class: 'head-chart' },
        el('figcaption', {}, 'Reference head'),
        lineChart(
          [{ cls: 'ref', values: ref }],
          'Reference head of ' +
            c.chain +
            (refNums.length ? ', ' + int(Math.min(...refNums)) + ' to ' + int(Math.max(...refNums)) : ', no data'),
          false,
        ),
      ),
      el(
        'figure',
        { class: 'head-chart' },
        el('figcaption', {}, 'Lag per node (blocks)'),
        lineChart(
          lags.map((l, i) => ({ cls: 's' + (i % 8), values: l.values })),
          'Lag of each node of ' + c.chain + ' behind its reference head',
          true,
        ),
        el(
          'ul',
          { class: 'head-legend' },
          ...lags.map((l, i) =>
            el(
              'li',
              { 'data-node': l.id },
              el('span', { class: 'swatch s' + (i % 8), 'aria-hidden': 'true' }),
              el('a', { href: '#node=' + encodeURIComponent(l.id), class: 'node-link' }, l.id),
              ' ' + (l.now === null ? '—' : int(l.now) + ' blk'),
            ),
          ),
        ),
      ),
    ),
  );
}
export function lineChart(
  lines: readonly { cls: string; values: readonly (number | null)[] }[],
  label: string,
  fromZero?: boolean,
): SVGSVGElement {
  const w = 600;
  const h = 140;
  const s = svg('svg', {
    class: 'linechart',
    viewBox: '0 0 ' + w + ' ' + h,
    preserveAspectRatio: 'none',
    role: 'img',
    'aria-label': label,
  });
  s.append(svg('title', { text: label }));
  const nums = lines.flatMap((l) => l.values.filter((v): v is number => typeof v === 'number'));
  if (!nums.length) {
    s.append(svg('text', { x: 4, y: h / 2, class: 'none', text: 'no data yet' }));
    return s;
  }
  const lo = fromZero ? 0 : Math.min(...nums);
  const hi = Math.max(...nums, lo + 1);
  const py = (v: number): number => h - 14 - ((v - lo) / (hi - lo)) * (h - 24);
  s.append(
    svg('text', { x: 2, y: 10, class: 'axis', text: int(hi) }),
    svg('text', { x: 2, y: h - 2, class: 'axis', text: int(lo) }),
  );
  for (const l of lines) {
    const n = l.values.length;
    let seg: string[] = [];
    const flush = (): void => {
      if (seg.length > 1) s.append(svg('polyline', { class: 'line ' + l.cls, points: seg.join(' ') }));
      seg = [];
    };
    l.values.forEach((v, i) => {
      if (typeof v === 'number') seg.push(((i * w) / (n - 1)).toFixed(1) + ',' + py(v).toFixed(1));
      else flush();
    });
    flush();
  }
  return s;
}
