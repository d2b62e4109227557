/** The admin console's look: the web app's palette (web/src/styles.css), light and dark, in one small sheet. */
export const ADMIN_STYLE = `:root {
  --bg: #f5f6f8; --panel: #ffffff; --sidebar: #1f2430; --sidebar-text: #e9ecf2; --sidebar-muted: #b4bccb;
  --sidebar-hover: #2d3443; --text: #1d2330; --muted: #56627a; --accent: #2459d6; --accent-text: #ffffff;
  --accent-soft: #e8efff; --border: #dfe3ea; --danger: #b42318; --ok: #067647; --warn: #93370d; --warn-bg: #fff4e5;
  --danger-text: #ffffff; --published: #2459d6; --delivered: #0e9384;
  font-family: system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; font-size: 15px; color: var(--text); background: var(--bg);
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #12161d; --panel: #1a1f29; --sidebar: #0e1117; --text: #e6e8ec; --muted: #a3adbf; --accent: #7aa2ff;
    --accent-text: #0b1020; --accent-soft: #223055; --border: #2b3240; --danger: #ff8a80; --ok: #5fd39b; --warn: #ffb366;
    --warn-bg: #3a2a14; --danger-text: #2a0b08; --published: #7aa2ff; --delivered: #4fd1c5;
  }
}
* { box-sizing: border-box; }
html, body { height: 100%; }
body { margin: 0; }
[hidden] { display: none !important; }
button, input { font: inherit; color: inherit; }
button { border: 1px solid var(--border); background: var(--panel); border-radius: 6px; padding: 0.3rem 0.65rem; cursor: pointer; }
button:disabled { opacity: 0.6; cursor: default; }
button.primary { background: var(--accent); color: var(--accent-text); border-color: var(--accent); }
button.danger { background: var(--danger); color: var(--danger-text); border-color: var(--danger); }
button:focus-visible, input:focus-visible, a:focus-visible, [tabindex]:focus-visible { outline: 2px solid var(--accent); outline-offset: 2px; }
input { border: 1px solid var(--border); background: var(--panel); border-radius: 6px; padding: 0.35rem 0.55rem; }
code { font-size: 0.85em; }
.muted { color: var(--muted); }
.small { font-size: 0.85rem; }
.error-text { color: var(--danger); min-height: 1.2em; }

.sign-in { max-width: 24rem; margin: 12vh auto; padding: 1.5rem; background: var(--panel); border: 1px solid var(--border); border-radius: 10px; }
.sign-in h1 { margin-top: 0; font-size: 1.4rem; }
.sign-in form { display: grid; gap: 0.45rem; margin-top: 0.8rem; }
.sign-in form + form { border-top: 1px solid var(--border); padding-top: 0.8rem; }
.sign-in p { margin: 0; }

.console { display: grid; grid-template-columns: 15rem minmax(0, 1fr); min-height: 100vh; }
.sidebar { background: var(--sidebar); color: var(--sidebar-text); padding: 0.8rem 0.6rem; display: flex; flex-direction: column; gap: 0.3rem; position: sticky; top: 0; height: 100vh; }
.brand { font-weight: 700; font-size: 1.05rem; padding: 0 0.4rem; }
.brand-sub { font-weight: 400; color: var(--sidebar-muted); }
.sidebar-note { font-size: 0.8rem; color: var(--sidebar-muted); margin: 0 0 0.6rem; padding: 0 0.4rem; overflow-wrap: anywhere; }
.nav-list { list-style: none; margin: 0; padding: 0; display: grid; gap: 2px; }
.nav-list a { display: block; padding: 0.38rem 0.6rem; border-radius: 6px; color: inherit; text-decoration: none; }
.nav-list a:hover { background: var(--sidebar-hover); }
.nav-list a[aria-current='page'] { background: #2459d6; color: #fff; }
.me { margin-top: auto; display: flex; justify-content: space-between; align-items: center; gap: 0.4rem; padding: 0 0.4rem; font-size: 0.9rem; }
.me button { background: transparent; border-color: #4a5468; }
.who { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }

.main { min-width: 0; padding: 0 1.2rem 2rem; }
.topbar { display: flex; align-items: center; justify-content: space-between; gap: 0.8rem; min-height: 3.4rem; border-bottom: 1px solid var(--border); margin: 0 -1.2rem 1rem; padding: 0.4rem 1.2rem; background: var(--panel); position: sticky; top: 0; z-index: 5; }
.topbar h1 { font-size: 1.15rem; margin: 0; }
.connection { font-size: 0.8rem; padding: 0.12rem 0.6rem; border-radius: 999px; border: 1px solid var(--border); white-space: nowrap; }
.connection.connected { color: var(--ok); }
.connection.reconnecting { color: var(--warn); }
.banner { padding: 0.5rem 0.8rem; border-radius: 8px; margin-bottom: 1rem; background: var(--warn-bg); color: var(--warn); }

.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(10.5rem, 1fr)); gap: 0.7rem; margin-bottom: 1rem; }
.card { background: var(--panel); border: 1px solid var(--border); border-radius: 10px; padding: 0.6rem 0.8rem; }
.card .value { display: block; font-size: 1.55rem; font-weight: 700; font-variant-numeric: tabular-nums; }
.card .label { color: var(--muted); font-size: 0.85rem; }
.card.alert .value { color: var(--danger); }

.panel { background: var(--panel); border: 1px solid var(--border); border-radius: 10px; padding: 0.7rem 0.9rem; margin-bottom: 1rem; min-width: 0; }
.panel-head { display: flex; align-items: center; justify-content: space-between; gap: 0.6rem; margin-bottom: 0.5rem; }
.panel h2 { font-size: 0.95rem; margin: 0; }
.panel h3 { font-size: 0.9rem; margin: 1rem 0 0.4rem; }
.legend { font-size: 0.8rem; color: var(--muted); display: flex; align-items: center; gap: 0.35rem; }
.swatch { display: inline-block; width: 0.8rem; height: 0.25rem; border-radius: 2px; margin-left: 0.4rem; }
.swatch.published { background: var(--published); }
.swatch.delivered { background: var(--delivered); }
.chart svg { width: 100%; height: 7rem; display: block; }
.chart .published { stroke: var(--published); }
.chart .delivered { stroke: var(--delivered); }
.chart .axis { fill: var(--muted); font-size: 10px; }
.chart .grid { stroke: var(--border); }

.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: 0.9rem; }
th { text-align: left; font-weight: 600; color: var(--muted); font-size: 0.8rem; border-bottom: 1px solid var(--border); padding: 0.35rem 0.5rem; white-space: nowrap; }
td { border-bottom: 1px solid var(--border); padding: 0.4rem 0.5rem; vertical-align: top; }
tr:last-child td { border-bottom: 0; }
.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.nowrap { white-space: nowrap; }
td.actions { white-space: nowrap; display: flex; gap: 0.35rem; }
.tag { font-size: 0.72rem; border: 1px solid var(--border); border-radius: 999px; padding: 0 0.45rem; color: var(--muted); margin-left: 0.3rem; white-space: nowrap; }
.health-ok { color: var(--ok); font-weight: 600; }
.health-bad { color: var(--danger); font-weight: 600; }
.health-silent { color: var(--warn); font-weight: 600; }

.toolbar { display: flex; flex-wrap: wrap; align-items: center; gap: 0.5rem; margin-bottom: 0.6rem; }
.toolbar input { min-width: 14rem; }

.split { display: grid; grid-template-columns: minmax(14rem, 20rem) minmax(0, 1fr); gap: 1rem; align-items: start; }
.pick-list { list-style: none; margin: 0 0 0.5rem; padding: 0; max-height: 70vh; overflow-y: auto; }
.pick-list button { width: 100%; text-align: left; border: 0; border-radius: 6px; padding: 0.35rem 0.5rem; display: flex; justify-content: space-between; gap: 0.5rem; background: transparent; }
.pick-list button:hover { background: var(--bg); }
.pick-list button[aria-current='true'] { background: var(--accent-soft); }
.channel-facts { display: flex; flex-wrap: wrap; gap: 0.4rem 1.2rem; margin: 0.3rem 0 0.6rem; font-size: 0.9rem; }
.channel-actions { display: flex; gap: 0.5rem; flex-wrap: wrap; }
.history { list-style: none; margin: 0.4rem 0 0; padding: 0; max-height: 26rem; overflow-y: auto; border-top: 1px solid var(--border); }
.history li { padding: 0.3rem 0; border-bottom: 1px solid var(--border); display: grid; grid-template-columns: 3.5rem 12rem minmax(0, 1fr); gap: 0.5rem; font-size: 0.9rem; }
.history .who { white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.history li:last-child { border-bottom: 0; }
.history .seq { color: var(--muted); text-align: right; font-variant-numeric: tabular-nums; }
.history .tombstone { color: var(--muted); font-style: italic; }
.history .text { overflow-wrap: anywhere; white-space: pre-wrap; }

.modal { border: 1px solid var(--border); border-radius: 12px; padding: 0; background: var(--panel); color: var(--text); width: min(30rem, calc(100vw - 2rem)); }
.modal::backdrop { background: rgba(10, 14, 22, 0.45); }
.modal-body { padding: 0.9rem 1rem 1rem; display: grid; gap: 0.6rem; }
.modal-body h2 { margin: 0; font-size: 1.1rem; }
.modal-body p { margin: 0; }
.modal-actions { display: flex; justify-content: flex-end; gap: 0.5rem; }

.toasts { position: fixed; bottom: 1rem; right: 1rem; display: grid; gap: 0.4rem; z-index: 30; max-width: min(26rem, calc(100vw - 2rem)); }
.toast { background: #1f2430; color: #fff; padding: 0.5rem 0.8rem; border-radius: 8px; box-shadow: 0 4px 14px rgba(0, 0, 0, 0.2); }
.toast.error { background: var(--danger); color: var(--danger-text); }

@media (max-width: 760px) {
  .console { grid-template-columns: minmax(0, 1fr); }
  .sidebar { position: static; height: auto; }
  .nav-list { grid-auto-flow: column; overflow-x: auto; }
  .me { margin-top: 0.4rem; }
  .split { grid-template-columns: minmax(0, 1fr); }
}
`;
