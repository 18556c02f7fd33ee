/** Wiring: the page's controls, timers and the first load. */
import { $ } from './dom.js';
import { clock } from './format.js';
import { creds, setCreds, api, statusOf, messageOf } from './api.js';
import { st, hooks, hashNode } from './state.js';
import { refresh, restartStream, renderStatus, runStream, loadChanges } from './live.js';
import { loadHistories } from './charts.js';
import { keepFocus, readFilters, renderNodes, renderChanges, openFromHash } from './render.js';
import { loadHeads } from './heads.js';
import { openDetail, renderActions, act } from './detail.js';

// The calls lower modules make upward (state.ts `hooks`), wired before anything can call them.
hooks.refresh = refresh;
hooks.restartStream = restartStream;
hooks.renderActions = renderActions;

export function init() {
  $('opened').textContent = clock(st.openedAt);
  $('opened').setAttribute('datetime', new Date(st.openedAt).toISOString());
  $('api-key').value = creds.apiKey;
  $('admin-token').value = creds.admin;
  $('operator').value = creds.operator;
  renderChanges();
  $('access-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    setCreds({
      apiKey: $('api-key').value.trim(),
      admin: $('admin-token').value.trim(),
      operator: $('operator').value.trim(),
    });
    const out = $('access-state');
    out.textContent = 'Saved for this tab.';
    if (creds.admin) {
      try {
        await api('/v1/admin/audit?limit=1', { admin: true });
        out.textContent = 'Saved for this tab. Admin token accepted by nodesentry.';
      } catch (err) {
        out.textContent =
          'Saved, but nodesentry refused the admin token (' +
          (statusOf(err) || 'no connection') +
          '): ' +
          messageOf(err);
      }
    }
  });
  $('access-clear').addEventListener('click', () => {
    setCreds({ apiKey: '', admin: '', operator: '' });
    $('access-state').textContent = 'Forgotten.';
  });
  $('filters').addEventListener('submit', (e) => e.preventDefault());
  $('filters').addEventListener('reset', (e) => {
    e.preventDefault();
    for (const id of ['f-chain', 'f-tag', 'f-state', 'f-text'] as const) $(id).value = '';
    readFilters();
    renderNodes();
    void loadHistories();
  });
  for (const id of ['f-chain', 'f-tag', 'f-state', 'f-text'] as const) {
    $(id).addEventListener(id === 'f-text' ? 'input' : 'change', () => {
      readFilters();
      keepFocus(renderNodes);
      void loadHistories();
    });
  }
  $('nodes').tHead?.addEventListener('click', (e) => {
    const t = e.target instanceof Element ? e.target : null;
    const th = t && t.closest<HTMLElement>('th[data-sort]');
    if (!t || !th || !t.closest('button')) return;
    const key = th.dataset.sort ?? '';
    st.sort = { key, dir: st.sort.key === key ? -st.sort.dir : 1 };
    renderNodes();
  });
  document.addEventListener('click', (e) => {
    const b = e.target instanceof Element ? e.target.closest<HTMLElement>('[data-open]') : null;
    if (b && b.dataset.open !== undefined && !b.closest('dialog')) openDetail(b.dataset.open, b);
  });
  const dlg = $('detail');
  $('detail-close').addEventListener('click', () => dlg.close());
  dlg.addEventListener('click', (e) => {
    if (e.target === dlg) dlg.close();
  });
  dlg.addEventListener('close', () => {
    const key = st.openerKey;
    st.detailId = null;
    st.detail = null;
    delete dlg.dataset.loaded;
    if (hashNode() !== null) history.replaceState(null, '', location.pathname + location.search);
    if (key)
      for (const b of document.querySelectorAll<HTMLElement>('[data-fkey]'))
        if (b.dataset.fkey === key) {
          b.focus();
          break;
        }
  });
  $('drain-form').addEventListener('submit', (e) => {
    e.preventDefault();
    void act(true);
  });
  $('undrain-btn').addEventListener('click', () => void act(false));
  $('d-token').addEventListener('input', renderActions);
  $('d-token').addEventListener('change', () => setCreds({ admin: $('d-token').value.trim() }));
  let scrollTimer = 0;
  window.addEventListener(
    'scroll',
    () => {
      if (!scrollTimer)
        scrollTimer = setTimeout(() => {
          scrollTimer = 0;
          void loadHistories();
        }, 300);
    },
    { passive: true },
  );
  setInterval(renderStatus, 1000);
  window.addEventListener('hashchange', openFromHash);
  $('h-chain').addEventListener('change', () => {
    st.headChain = $('h-chain').value;
    void loadHeads();
  });
  void refresh();
  void loadChanges();
  void runStream();
}
if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
else init();
