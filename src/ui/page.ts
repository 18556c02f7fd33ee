/** Where the page finds its assets (content-hashed names, see assets.ts). */
export interface PageAssets {
  readonly script: string;
  readonly style: string;
  readonly icon: string;
}

/** The favicon and header mark: a shield with a pulse line. */
export const ICON_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><path d="M16 2 4 6v9c0 7.4 5.1 13.2 12 15 6.9-1.8 12-7.6 12-15V6z" fill="#1f5fbf"/>' +
  '<path d="M7 17h5l2-5 4 9 2-4h5" fill="none" stroke="#fff" stroke-width="2.4" stroke-linecap="round" stroke-linejoin="round"/></svg>\n';

const STATE_HEADS: ReadonlyArray<readonly [state: string, label: string]> = [
  ['healthy', 'Healthy'],
  ['degraded', 'Degraded'],
  ['unhealthy', 'Unhealthy'],
  ['unknown', 'Unknown'],
  ['maintenance', 'Drained'],
];

/**
 * The dashboard's HTML: structure only. No inline script or style (the page's CSP forbids
 * both); every value from the API is put in by the script with textContent, never as markup.
 */
export function dashboardHtml(a: PageAssets): string {
  const stateHeads = STATE_HEADS.map(
    ([s, label]) => `<th scope="col" class="num" data-state-head="${s}">${label}</th>`,
  ).join('');
  const stateOptions = STATE_HEADS.map(
    ([s, label]) => `<option value="${s}">${label === 'Drained' ? 'Drained (maintenance)' : label}</option>`,
  ).join('');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="referrer" content="no-referrer">
<title>nodesentry — fleet dashboard</title>
<link rel="icon" type="image/svg+xml" href="${a.icon}">
<link rel="stylesheet" href="${a.style}">
<script defer src="${a.script}"></script>
</head>
<body>
<a class="skip" href="#nodes-h">Skip to the nodes table</a>
<header class="top">
  <div class="brand">
    <img src="${a.icon}" alt="" width="28" height="28">
    <h1>nodesentry</h1><span class="sub">fleet dashboard</span>
  </div>
  <div id="status" class="status connecting">
    <span class="dot" aria-hidden="true"></span>
    <span id="status-text" role="status">Connecting to nodesentry…</span>
    <span id="status-age"></span>
  </div>
  <details class="access" id="access">
    <summary>Access</summary>
    <form id="access-form" method="post" action="/" autocomplete="off">
      <p class="note">Kept in this browser tab only (sessionStorage), sent as headers, never put in the address.</p>
      <label for="api-key">API key <span class="muted">(when nodesentry requires one)</span></label>
      <input id="api-key" type="password" autocomplete="off" spellcheck="false">
      <label for="admin-token">Admin token <span class="muted">(enables drain / undrain)</span></label>
      <input id="admin-token" type="password" autocomplete="off" spellcheck="false">
      <label for="operator">Operator name <span class="muted">(for the audit log)</span></label>
      <input id="operator" type="text" maxlength="64" placeholder="admin" autocomplete="off" spellcheck="false">
      <div class="row"><button type="submit" class="primary">Save</button><button type="button" id="access-clear">Forget all</button></div>
      <p id="access-state" class="small" role="status"></p>
    </form>
  </details>
</header>
<main>
  <section aria-labelledby="fleet-h">
    <h2 id="fleet-h" class="visually-hidden">Fleet totals</h2>
    <ul id="totals" class="totals"></ul>
  </section>
  <div class="grid-top">
    <section class="panel" aria-labelledby="chains-h">
      <header><h2 id="chains-h">Chains</h2></header>
      <div class="table-wrap">
        <table id="chains">
          <caption>Node counts by state, the chain's reference head and the node nodesentry currently recommends.</caption>
          <thead><tr><th scope="col">Chain</th><th scope="col" class="num">Reference head</th><th scope="col" class="num">Nodes</th>${stateHeads}<th scope="col">Best node</th><th scope="col">Best since</th></tr></thead>
          <tbody></tbody>
        </table>
      </div>
    </section>
    <section class="panel" aria-labelledby="changes-h">
      <header><h2 id="changes-h">Recent changes</h2></header>
      <p class="note"><span id="changes-source">State changes nodesentry keeps for the fleet, plus</span> drains and best-node changes seen on the event stream since this page opened at <time id="opened"></time>.</p>
      <ol id="changes" class="changes" reversed></ol>
    </section>
  </div>
  <section class="panel" aria-labelledby="heads-h">
    <header class="with-control"><h2 id="heads-h">Heads and lag</h2><label class="inline" for="h-chain">Chain <select id="h-chain"></select></label></header>
    <div id="heads"><p class="muted">Loading…</p></div>
  </section>
  <section class="panel" aria-labelledby="nodes-h">
    <header><h2 id="nodes-h" tabindex="-1">Nodes</h2></header>
    <form id="filters" class="filters" role="search" aria-label="Filter nodes" method="post" action="/">
      <div><label for="f-chain">Chain</label><select id="f-chain"><option value="">All chains</option></select></div>
      <div><label for="f-tag">Tag</label><select id="f-tag"><option value="">All tags</option></select></div>
      <div><label for="f-state">State</label><select id="f-state"><option value="">All states</option>${stateOptions}</select></div>
      <div class="grow"><label for="f-text">Search</label><input id="f-text" type="search" placeholder="id, client, reason" autocomplete="off" spellcheck="false"></div>
      <button type="reset" id="f-reset">Clear filters</button>
      <p id="shown" role="status"></p>
    </form>
    <div class="table-wrap">
      <table id="nodes">
        <caption id="nodes-caption">Every node: state and reasons, peers, lag, latency, client, tier, score, freshness and recent history.</caption>
        <thead><tr>
          <th scope="col" data-sort="id"><button type="button" class="sort">Node<span class="arrow" aria-hidden="true"></span></button></th>
          <th scope="col" data-sort="chain" aria-sort="ascending"><button type="button" class="sort">Chain<span class="arrow" aria-hidden="true"></span></button></th>
          <th scope="col" data-sort="state"><button type="button" class="sort">State and reasons<span class="arrow" aria-hidden="true"></span></button></th>
          <th scope="col" data-sort="peers" class="num"><button type="button" class="sort">Peers<span class="arrow" aria-hidden="true"></span></button></th>
          <th scope="col" data-sort="lag" class="num"><button type="button" class="sort">Lag<span class="arrow" aria-hidden="true"></span></button></th>
          <th scope="col" data-sort="latency" class="num"><button type="button" class="sort">Latency<span class="arrow" aria-hidden="true"></span></button></th>
          <th scope="col" data-sort="client"><button type="button" class="sort">Client<span class="arrow" aria-hidden="true"></span></button></th>
          <th scope="col" data-sort="tier" class="num"><button type="button" class="sort">Tier<span class="arrow" aria-hidden="true"></span></button></th>
          <th scope="col" data-sort="score" class="num"><button type="button" class="sort">Score<span class="arrow" aria-hidden="true"></span></button></th>
          <th scope="col" data-sort="age" class="num"><button type="button" class="sort">Last sample<span class="arrow" aria-hidden="true"></span></button></th>
          <th scope="col">History <span class="legend">(<span class="k-peers">peers</span>, <span class="k-lat">latency</span>)</span></th>
        </tr></thead>
        <tbody></tbody>
      </table>
    </div>
  </section>
</main>
<dialog id="detail" aria-labelledby="detail-title">
  <div class="dlg-head">
    <h2 id="detail-title">Node</h2>
    <span id="detail-badge"></span>
    <span class="spacer"></span>
    <button type="button" id="detail-close">Close <span class="muted">(Esc)</span></button>
  </div>
  <div class="dlg-body">
    <section class="panel wide" aria-labelledby="d-state-h">
      <h3 id="d-state-h">State</h3>
      <div id="detail-state"></div>
    </section>
    <section class="panel wide" aria-labelledby="d-actions-h">
      <h3 id="d-actions-h">Operator actions</h3>
      <form id="drain-form" class="row" method="post" action="/" autocomplete="off">
        <div><label for="d-token">Admin token</label><input id="d-token" type="password" autocomplete="off" spellcheck="false"></div>
        <div class="grow"><label for="d-reason">Reason <span class="muted">(optional)</span></label><input id="d-reason" type="text" maxlength="200" autocomplete="off"></div>
        <button type="submit" id="drain-btn" class="danger" aria-describedby="drain-help">Drain</button>
        <button type="button" id="undrain-btn" class="primary" aria-describedby="drain-help" hidden>Undrain</button>
      </form>
      <p id="drain-help" class="note"></p>
      <p id="drain-msg" class="msg" aria-live="assertive"></p>
    </section>
    <section class="panel" aria-labelledby="d-facts-h"><h3 id="d-facts-h">Summary</h3><dl id="detail-facts" class="facts"></dl></section>
    <section class="panel" aria-labelledby="d-score-h"><h3 id="d-score-h">Score</h3><div id="detail-score"></div></section>
    <section class="panel" aria-labelledby="d-trends-h"><h3 id="d-trends-h">History</h3><div id="detail-trends"></div></section>
    <section class="panel" aria-labelledby="d-traffic-h"><h3 id="d-traffic-h">Traffic</h3><div id="detail-traffic"></div></section>
    <section class="panel wide" aria-labelledby="d-peers-h"><h3 id="d-peers-h">Peers</h3><div id="detail-peers"></div></section>
    <section class="panel wide" aria-labelledby="d-changes-h"><h3 id="d-changes-h">Recent state changes</h3><div id="detail-changes"></div></section>
  </div>
</dialog>
<div id="announcer" class="visually-hidden" aria-live="polite"></div>
</body>
</html>
`;
}
