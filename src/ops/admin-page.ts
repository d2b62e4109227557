/**
 * The admin console's page: a sign-in card and the console (sidebar, views, a confirm
 * dialog). The behaviour is `/admin/console.js` (admin-script.ts) and the look
 * `/admin/console.css` (admin-style.ts), the web app's colours and shapes; nothing is
 * inline, so the page's Content-Security-Policy allows its own files only.
 */
export const ADMIN_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Switchboard admin</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/admin/console.css">
<script src="/admin/console.js" defer></script>
</head>
<body>
<div id="sign-in" class="sign-in" hidden>
  <h1>Switchboard admin</h1>
  <p id="sign-in-hint" class="muted"></p>
  <form id="key-form">
    <label for="key">API key</label>
    <input id="key" type="password" autocomplete="off" spellcheck="false" required>
    <button class="primary">Sign in with the key</button>
  </form>
  <form id="account-form" hidden>
    <p class="muted">Or an account with the admin role:</p>
    <label for="username">Username</label>
    <input id="username" autocomplete="username" required>
    <label for="password">Password</label>
    <input id="password" type="password" autocomplete="current-password" required>
    <button class="primary">Sign in</button>
  </form>
  <form id="token-form" hidden>
    <p class="muted">Or an access token with the admin role (<code>switchboard token --user ID --roles admin</code>):</p>
    <label for="token">Access token</label>
    <input id="token" type="password" autocomplete="off" spellcheck="false" required>
    <button class="primary">Sign in with the token</button>
  </form>
  <p id="sign-in-error" class="error-text" role="alert"></p>
</div>

<div id="console" class="console" hidden>
  <nav class="sidebar" aria-label="Console">
    <div class="brand">Switchboard <span class="brand-sub">admin</span></div>
    <p class="sidebar-note">Served by <span id="served-by">this node</span></p>
    <ul class="nav-list">
      <li><a href="#overview" data-view="overview">Overview</a></li>
      <li><a href="#users" data-view="users">Users</a></li>
      <li><a href="#channels" data-view="channels">Channels</a></li>
      <li><a href="#audit" data-view="audit">Audit log</a></li>
    </ul>
    <div class="me">
      <span id="who" class="who"></span>
      <button id="sign-out" type="button">Sign out</button>
    </div>
  </nav>

  <main class="main">
    <header class="topbar">
      <h1 id="view-title">Overview</h1>
      <span id="live" class="connection" role="status">Connecting…</span>
    </header>
    <div id="banner" class="banner" role="alert" hidden></div>

    <section id="view-overview" class="view" aria-labelledby="view-title">
      <div class="cards" id="cards"></div>
      <div class="panel">
        <div class="panel-head">
          <h2>Messages and deliveries per second, the last minute</h2>
          <span class="legend"><span class="swatch published"></span>messages <span class="swatch delivered"></span>deliveries</span>
        </div>
        <div id="chart" class="chart" role="img" aria-label="Messages and deliveries per second"></div>
      </div>
      <div class="panel">
        <div class="panel-head"><h2>Nodes</h2></div>
        <div class="table-wrap">
          <table id="nodes">
            <thead><tr>
              <th scope="col">Node</th><th scope="col">Health</th>
              <th scope="col" class="num">Connections</th><th scope="col" class="num">Sessions</th>
              <th scope="col" class="num">Messages/s</th><th scope="col" class="num">Deliveries/s</th>
              <th scope="col" class="num">Send queues</th><th scope="col" class="num">Slow cuts</th>
              <th scope="col" class="num"><abbr title="publish to delivery, 99th percentile">p99 latency</abbr></th>
            </tr></thead>
            <tbody></tbody>
          </table>
        </div>
      </div>
    </section>

    <section id="view-users" class="view" hidden>
      <div class="panel">
        <form id="user-search" class="toolbar" role="search">
          <label for="user-query">Find connected users</label>
          <input id="user-query" type="search" placeholder="user id or name">
          <span id="user-count" class="muted"></span>
        </form>
        <div class="table-wrap">
          <table id="users">
            <thead><tr><th scope="col">User</th><th scope="col">Name</th><th scope="col" class="num">Sessions</th><th scope="col">Transports</th><th scope="col">Nodes</th><th scope="col">Actions</th></tr></thead>
            <tbody></tbody>
          </table>
        </div>
      </div>
      <div class="panel">
        <div class="panel-head"><h2>Any user, connected or not</h2></div>
        <form id="user-act" class="toolbar">
          <label for="act-user">User id</label>
          <input id="act-user" required spellcheck="false">
          <button type="submit" value="disconnect">Disconnect everywhere</button>
          <button type="submit" value="ban" class="danger">Ban</button>
          <button type="submit" value="unban">Unban</button>
        </form>
        <p class="muted small">Disconnect ends every session on every node; the user's apps do not reconnect by themselves, but the user may sign in again. Ban ends the sessions and refuses the user until unbanned.</p>
      </div>
    </section>

    <section id="view-channels" class="view" hidden>
      <div class="split">
        <div class="panel channel-list-panel">
          <div class="panel-head"><h2>Channels</h2><button id="channels-reload" type="button">Reload</button></div>
          <ul id="channel-list" class="pick-list" aria-label="Channels"></ul>
          <button id="channels-more" type="button" hidden>More channels</button>
        </div>
        <div class="panel" id="channel-detail">
          <p class="muted">Choose a channel to see its members, who is online and its history.</p>
        </div>
      </div>
    </section>

    <section id="view-audit" class="view" hidden>
      <div class="panel">
        <div class="panel-head"><h2>Actions taken from this console, newest first</h2><button id="audit-reload" type="button">Reload</button></div>
        <div class="table-wrap">
          <table id="audit">
            <thead><tr><th scope="col">Time</th><th scope="col">Who</th><th scope="col">Action</th><th scope="col">Target</th><th scope="col">Outcome</th><th scope="col">Node</th><th scope="col">Details</th></tr></thead>
            <tbody></tbody>
          </table>
        </div>
        <button id="audit-more" type="button" hidden>Older entries</button>
      </div>
    </section>
  </main>
</div>

<dialog id="confirm" class="modal" aria-labelledby="confirm-title">
  <form method="dialog" class="modal-body">
    <h2 id="confirm-title"></h2>
    <p id="confirm-text"></p>
    <label id="confirm-reason-label" for="confirm-reason" hidden>Reason (kept with the ban, never shown to the user)</label>
    <input id="confirm-reason" hidden maxlength="200">
    <div class="modal-actions">
      <button value="cancel" type="submit">Cancel</button>
      <button value="ok" type="submit" id="confirm-ok" class="danger">Confirm</button>
    </div>
  </form>
</dialog>
<div id="toasts" class="toasts" role="status" aria-live="polite"></div>
</body>
</html>
`;
