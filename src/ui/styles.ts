/**
 * The dashboard's one stylesheet, served as `/ui/dashboard.<hash>.css` (see assets.ts). System
 * fonts only (the machines have no internet); light and dark through prefers-color-scheme.
 * State colours always come with an icon shape and a word: colour is never the only carrier.
 */
export const DASHBOARD_CSS = String.raw`
:root {
  color-scheme: light dark;
  --bg: #f4f6f9; --panel: #ffffff; --panel-2: #f8fafc; --text: #1a2230; --muted: #5a6678; --border: #dbe1e8;
  --head: #0f1b2d; --head-text: #e8eef7; --accent: #1f5fbf; --focus: #f0a000;
  --ok: #17803a; --ok-bg: #e6f4ea; --warn: #8a5a00; --warn-bg: #fff3d6; --bad: #c4212f; --bad-bg: #fde8ea;
  --unk: #5d6b7a; --unk-bg: #eef1f4; --drain: #1f5fbf; --drain-bg: #e6eefb;
  --peers: #1f5fbf; --lat: #8a3ffc;
  --font: system-ui, -apple-system, "Segoe UI", Roboto, "Liberation Sans", "DejaVu Sans", Arial, sans-serif;
  --mono: ui-monospace, "SFMono-Regular", "DejaVu Sans Mono", "Liberation Mono", Menlo, monospace;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #0e141c; --panel: #161e29; --panel-2: #1b2431; --text: #e3e9f1; --muted: #9aa7b8; --border: #2b3747;
    --head: #0a0f16; --accent: #7fb0ff;
    --ok: #5cd67e; --ok-bg: #163322; --warn: #f2c14e; --warn-bg: #3a2f12; --bad: #ff7b85; --bad-bg: #3d1a1f;
    --unk: #aab6c4; --unk-bg: #243041; --drain: #7fb0ff; --drain-bg: #1a2c48; --peers: #7fb0ff; --lat: #c29bff;
  }
}
* { box-sizing: border-box; }
html { font-size: 14px; }
body { margin: 0; background: var(--bg); color: var(--text); font-family: var(--font); line-height: 1.4; }
h1, h2, h3 { margin: 0; font-weight: 600; }
h2 { font-size: 1.05rem; }
h3 { font-size: 0.95rem; margin-bottom: 0.4rem; }
a { color: var(--accent); }
:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; border-radius: 3px; }
.visually-hidden { position: absolute !important; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); clip-path: inset(50%); white-space: nowrap; }
.skip { position: absolute; left: 0.5rem; top: -3rem; background: var(--panel); color: var(--text); padding: 0.4rem 0.8rem; z-index: 10; }
.skip:focus { top: 0.5rem; }
.muted, .sub { color: var(--muted); }
small, .small { font-size: 0.82rem; }
.num { font-variant-numeric: tabular-nums; text-align: right; }
.mono { font-family: var(--mono); font-size: 0.86rem; }

/* Header */
.top { display: flex; align-items: center; gap: 1.2rem; flex-wrap: wrap; padding: 0.7rem 1.4rem; background: var(--head); color: var(--head-text); }
.brand { display: flex; align-items: center; gap: 0.6rem; }
.brand h1 { font-size: 1.25rem; letter-spacing: 0.01em; }
.brand .sub { color: #9fb0c8; font-size: 0.9rem; }
.brand svg { flex: none; }
.status { display: flex; align-items: center; gap: 0.45rem; margin-left: auto; padding: 0.3rem 0.75rem; border-radius: 999px; font-weight: 600; background: #22324a; color: #e8eef7; }
.status .dot { width: 0.7rem; height: 0.7rem; border-radius: 50%; background: #9fb0c8; flex: none; }
.status.live .dot, .status.polling .dot { background: #3fd17a; }
.status.stale { background: #5a4311; color: #ffe3a3; }
.status.stale .dot { background: #f2c14e; border-radius: 1px; transform: rotate(45deg); }
.status.lost, .status.auth { background: #6a1f27; color: #ffd9dc; }
.status.lost .dot, .status.auth .dot { background: #ff7b85; border-radius: 0; }
.status #status-age { font-weight: 400; opacity: 0.9; }
.access { position: relative; }
.access > summary { cursor: pointer; list-style: none; padding: 0.3rem 0.75rem; border: 1px solid #3a4b63; border-radius: 6px; color: var(--head-text); user-select: none; }
.access > summary::-webkit-details-marker { display: none; }
.access > summary::after { content: " \25BE"; }
.access[open] > summary { background: #22324a; }
.access form { position: absolute; right: 0; top: calc(100% + 0.4rem); z-index: 5; width: 21rem; padding: 1rem; background: var(--panel); color: var(--text); border: 1px solid var(--border); border-radius: 8px; box-shadow: 0 8px 24px rgba(0, 0, 0, 0.18); display: grid; gap: 0.6rem; }
.access p { margin: 0; }

/* Forms */
label { display: grid; gap: 0.2rem; font-size: 0.85rem; color: var(--muted); font-weight: 600; }
input, select, button { font: inherit; color: inherit; }
input, select { padding: 0.35rem 0.5rem; border: 1px solid var(--border); border-radius: 6px; background: var(--panel); color: var(--text); font-weight: 400; min-width: 0; }
button { cursor: pointer; padding: 0.35rem 0.8rem; border-radius: 6px; border: 1px solid var(--border); background: var(--panel-2); }
button:hover { border-color: var(--accent); }
button.primary { background: var(--accent); border-color: var(--accent); color: #fff; }
button.danger { background: var(--bad); border-color: var(--bad); color: #fff; }
button[aria-disabled="true"] { opacity: 0.55; cursor: not-allowed; }
.row { display: flex; gap: 0.6rem; align-items: end; flex-wrap: wrap; }
.row > div { display: grid; gap: 0.2rem; }
.grow { flex: 1 1 14rem; }

/* Layout */
main { padding: 1rem 1.4rem 2rem; display: grid; gap: 1rem; }
.panel { background: var(--panel); border: 1px solid var(--border); border-radius: 10px; padding: 0.9rem 1rem; min-width: 0; }
.panel > header { display: flex; align-items: baseline; gap: 0.8rem; margin-bottom: 0.6rem; flex-wrap: wrap; }
.grid-top { display: grid; grid-template-columns: minmax(0, 3fr) minmax(18rem, 1fr); gap: 1rem; align-items: start; }
@media (max-width: 1100px) { .grid-top { grid-template-columns: 1fr; } }

/* Totals */
.totals { list-style: none; margin: 0; padding: 0; display: grid; grid-template-columns: repeat(7, minmax(0, 1fr)); gap: 0.8rem; }
@media (max-width: 900px) { .totals { grid-template-columns: repeat(3, minmax(0, 1fr)); } }
.totals li { background: var(--panel); border: 1px solid var(--border); border-left-width: 4px; border-radius: 10px; padding: 0.6rem 0.9rem; display: grid; gap: 0.1rem; }
.totals .n { font-size: 1.7rem; font-weight: 650; font-variant-numeric: tabular-nums; line-height: 1.15; }
.totals .l { display: flex; align-items: center; gap: 0.35rem; color: var(--muted); font-weight: 600; font-size: 0.85rem; }
.totals li.st-healthy { border-left-color: var(--ok); }
.totals li.st-degraded { border-left-color: var(--warn); }
.totals li.st-unhealthy { border-left-color: var(--bad); }
.totals li.st-unknown { border-left-color: var(--unk); }
.totals li.st-maintenance { border-left-color: var(--drain); }
.totals li.zero .n { color: var(--muted); font-weight: 500; }

/* Tables */
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
caption { text-align: left; color: var(--muted); font-size: 0.85rem; padding-bottom: 0.4rem; caption-side: top; }
th, td { padding: 0.42rem 0.55rem; border-bottom: 1px solid var(--border); text-align: left; vertical-align: top; }
thead th { font-size: 0.78rem; text-transform: uppercase; letter-spacing: 0.03em; color: var(--muted); font-weight: 650; background: var(--panel-2); white-space: nowrap; vertical-align: bottom; }
tbody tr:hover { background: var(--panel-2); }
tbody th { font-weight: 600; white-space: nowrap; }
td.num, td.best { white-space: nowrap; }
td.num, th.num { text-align: right; }
.zero { color: var(--muted); }
th .sort { all: unset; cursor: pointer; display: inline-flex; gap: 0.25rem; align-items: center; text-transform: inherit; letter-spacing: inherit; font: inherit; }
th .sort:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
th[aria-sort] .sort { color: var(--text); }
th .arrow::after { content: "\2195"; opacity: 0.35; }
th[aria-sort="ascending"] .arrow::after { content: "\25B2"; opacity: 1; }
th[aria-sort="descending"] .arrow::after { content: "\25BC"; opacity: 1; }
.legend { text-transform: none; letter-spacing: 0; font-weight: 500; }
.legend .k-peers { color: var(--peers); }
.legend .k-lat { color: var(--lat); }
table.compact th, table.compact td { padding: 0.28rem 0.5rem; font-size: 0.88rem; }

/* Nodes */
button.link { all: unset; cursor: pointer; color: var(--accent); font-weight: 600; text-decoration: underline; text-decoration-thickness: 1px; text-underline-offset: 2px; }
button.link:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
.tags { display: flex; gap: 0.2rem; margin-top: 0.2rem; }
.tag { font-size: 0.72rem; font-weight: 500; padding: 0 0.35rem; border-radius: 4px; background: var(--unk-bg); color: var(--muted); }
.reasons { margin: 0.2rem 0 0; padding: 0; list-style: none; font-size: 0.8rem; color: var(--muted); font-family: var(--mono); }
.reasons li { overflow-wrap: anywhere; }
td.client { max-width: 13rem; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; font-size: 0.85rem; }
.stale-mark { display: inline-block; margin-left: 0.3rem; padding: 0 0.3rem; border-radius: 4px; font-size: 0.72rem; font-weight: 700; background: var(--warn-bg); color: var(--warn); }
.scorebar { display: block; margin-top: 0.15rem; }
.scorebar .bg { fill: var(--border); }
.scorebar .fg { fill: var(--accent); }
.filters { display: flex; gap: 0.8rem; align-items: end; flex-wrap: wrap; margin-bottom: 0.7rem; }
.filters label { min-width: 9rem; }
.filters .grow { flex: 1; min-width: 12rem; max-width: 22rem; }
#shown { margin: 0 0 0 auto; color: var(--muted); font-size: 0.85rem; }

/* State badges */
.badge { display: inline-flex; align-items: center; gap: 0.3rem; padding: 0.05rem 0.5rem 0.05rem 0.4rem; border-radius: 999px; font-weight: 650; font-size: 0.82rem; white-space: nowrap; }
.icon { flex: none; }
.st-healthy .icon, .badge.st-healthy { color: var(--ok); }
.st-degraded .icon, .badge.st-degraded { color: var(--warn); }
.st-unhealthy .icon, .badge.st-unhealthy { color: var(--bad); }
.st-unknown .icon, .badge.st-unknown { color: var(--unk); }
.st-maintenance .icon, .badge.st-maintenance { color: var(--drain); }
.badge.st-healthy { background: var(--ok-bg); }
.badge.st-degraded { background: var(--warn-bg); }
.badge.st-unhealthy { background: var(--bad-bg); }
.badge.st-unknown { background: var(--unk-bg); }
.badge.st-maintenance { background: var(--drain-bg); }
thead .icon { vertical-align: -1px; margin-right: 0.2rem; }
.mode { display: inline-block; margin-left: 0.3rem; padding: 0 0.35rem; border-radius: 4px; font-size: 0.75rem; font-weight: 700; background: var(--warn-bg); color: var(--warn); }

/* Sparklines */
.sparks { display: grid; gap: 0.1rem; }
.spark { display: block; overflow: visible; }
.spark .line { fill: none; stroke-width: 1.5; stroke-linejoin: round; stroke-linecap: round; }
.spark.peers .line { stroke: var(--peers); }
.spark.latency .line { stroke: var(--lat); }
.spark .last { stroke: none; }
.spark.peers .last { fill: var(--peers); }
.spark.latency .last { fill: var(--lat); }
.spark .fail { fill: var(--bad); }
.spark .none { fill: var(--muted); font-size: 8px; font-family: var(--font); }
.spark-row { display: flex; align-items: center; gap: 0.3rem; font-size: 0.7rem; color: var(--muted); }
.spark-row .k { width: 3.2rem; text-align: right; }
.sparks.chart { margin-top: 0.6rem; gap: 0.5rem; }
.spark-row .v { min-width: 3.2rem; font-variant-numeric: tabular-nums; }

/* Recent changes */
.changes { list-style: none; margin: 0; padding: 0; display: grid; gap: 0.1rem; max-height: 19rem; overflow-y: auto; }
.changes li { display: grid; grid-template-columns: 4.6rem 1fr; gap: 0.4rem; padding: 0.3rem 0; border-bottom: 1px solid var(--border); font-size: 0.86rem; }
.changes time { color: var(--muted); font-variant-numeric: tabular-nums; }
.changes .what { overflow-wrap: anywhere; }
.note { margin: 0 0 0.5rem; color: var(--muted); font-size: 0.8rem; }

/* Detail dialog */
dialog#detail { width: min(76rem, 96vw); max-height: 92vh; padding: 0; border: 1px solid var(--border); border-radius: 12px; background: var(--bg); color: var(--text); box-shadow: 0 20px 60px rgba(0, 0, 0, 0.35); }
dialog#detail::backdrop { background: rgba(10, 16, 26, 0.55); }
.dlg-head { position: sticky; top: 0; z-index: 2; display: flex; align-items: center; gap: 0.8rem; padding: 0.8rem 1.1rem; background: var(--panel); border-bottom: 1px solid var(--border); }
.dlg-head h2 { font-size: 1.15rem; font-family: var(--mono); }
.dlg-head .spacer { flex: 1; }
.dlg-body { padding: 1rem 1.1rem 1.2rem; display: grid; gap: 0.9rem; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); }
.dlg-body .wide { grid-column: 1 / -1; }
@media (max-width: 800px) { .dlg-body { grid-template-columns: 1fr; } }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 0.25rem 0.9rem; margin: 0; font-size: 0.9rem; }
dl.facts dt { color: var(--muted); font-weight: 600; }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
.msg { margin: 0.5rem 0 0; padding: 0.45rem 0.7rem; border-radius: 6px; font-weight: 600; }
.msg:empty { display: none; }
.msg.ok { background: var(--ok-bg); color: var(--ok); }
.msg.error { background: var(--bad-bg); color: var(--bad); }
.msg.busy { background: var(--unk-bg); color: var(--muted); }
.peers-scroll { max-height: 18rem; overflow: auto; }
.state-line { display: flex; align-items: center; gap: 0.6rem; flex-wrap: wrap; }

/* Chains: fits beside "Recent changes" at 1400 px; a long best-node id wraps rather than scrolling the table. */
#chains th, #chains td { padding-left: 0.45rem; padding-right: 0.45rem; }
#chains td.best { white-space: normal; overflow-wrap: anywhere; min-width: 7rem; }

/* Heads and lag */
.panel > header.with-control { justify-content: space-between; }
label.inline { display: inline-flex; align-items: center; gap: 0.4rem; }
.head-charts { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 1rem; }
@media (max-width: 900px) { .head-charts { grid-template-columns: 1fr; } }
.head-chart { margin: 0; min-width: 0; }
.head-chart figcaption { font-size: 0.8rem; font-weight: 650; color: var(--muted); text-transform: uppercase; letter-spacing: 0.03em; margin-bottom: 0.3rem; }
svg.linechart { width: 100%; height: 9rem; display: block; background: var(--panel-2); border-radius: 6px; }
svg.linechart .line { fill: none; stroke-width: 2; vector-effect: non-scaling-stroke; }
svg.linechart .axis, svg.linechart .none { fill: var(--muted); font-size: 10px; }
.line.ref { stroke: var(--accent); }
.s0 { stroke: #1f77b4; background: #1f77b4; } .s1 { stroke: #d6731f; background: #d6731f; } .s2 { stroke: #2ca02c; background: #2ca02c; } .s3 { stroke: #d62728; background: #d62728; }
.s4 { stroke: #9467bd; background: #9467bd; } .s5 { stroke: #8c564b; background: #8c564b; } .s6 { stroke: #e377c2; background: #e377c2; } .s7 { stroke: #17becf; background: #17becf; }
.head-legend { list-style: none; margin: 0.4rem 0 0; padding: 0; display: flex; flex-wrap: wrap; gap: 0.2rem 0.9rem; font-size: 0.84rem; font-variant-numeric: tabular-nums; }
.swatch { display: inline-block; width: 0.8rem; height: 0.25rem; border-radius: 2px; margin-right: 0.3rem; vertical-align: middle; }
a.node-link { font-weight: 600; }
`;
