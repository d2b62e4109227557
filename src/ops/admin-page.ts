/**
 * The admin view: one static page that asks for an API key (kept in sessionStorage, sent
 * as `X-Switchboard-Key`) or uses a stored admin token, polls /admin/api/stats every two
 * seconds and offers the two actions. No build step, no framework, nothing external.
 */
export const ADMIN_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Switchboard admin</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 2rem; color: #222; max-width: 60rem; }
  h1 { font-size: 1.3rem; }
  .grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(11rem, 1fr)); gap: .75rem; }
  .card { border: 1px solid #ddd; border-radius: 6px; padding: .6rem .8rem; }
  .card b { display: block; font-size: 1.4rem; }
  form { margin: .5rem 0; }
  #error { color: #b00; }
  table { border-collapse: collapse; margin-top: .5rem; }
  td, th { border-bottom: 1px solid #eee; padding: .2rem .8rem .2rem 0; text-align: left; }
</style>
</head>
<body>
<h1>Switchboard admin</h1>
<form id="login"><label>API key <input id="key" type="password" autocomplete="off" size="40"></label> <button>Use</button></form>
<p id="error" role="alert"></p>
<div class="grid" id="figures"></div>
<h2>Actions</h2>
<form id="disconnect"><label>Disconnect user <input id="user" required></label> <button>Disconnect</button></form>
<form id="close"><label>Close (delete) channel <input id="channel" required></label> <button>Close</button></form>
<h2>Nodes</h2><table id="nodes"></table>
<h2>Connected users</h2><table id="users"></table>
<script>
const $ = (id) => document.getElementById(id);
let last = null;
function headers() {
  const key = sessionStorage.getItem('switchboard-admin-key');
  return key ? { 'x-switchboard-key': key } : {};
}
async function call(path, method = 'GET') {
  const response = await fetch(path, { method, headers: headers() });
  const body = await response.json();
  if (!response.ok) throw new Error(body.message || response.statusText);
  return body;
}
function card(label, value) {
  const div = document.createElement('div');
  div.className = 'card';
  const b = document.createElement('b');
  b.textContent = value;
  div.append(b, label);
  return div;
}
function rows(table, items, columns) {
  table.replaceChildren();
  for (const item of items) {
    const tr = document.createElement('tr');
    for (const column of columns) {
      const td = document.createElement('td');
      td.textContent = String(item[column]);
      tr.append(td);
    }
    table.append(tr);
  }
}
async function refresh() {
  try {
    const stats = await call('/admin/api/stats');
    const now = Date.now();
    const seconds = last ? (now - last.at) / 1000 : 0;
    const rate = (field) => (last && seconds > 0 ? ((stats[field] - last[field]) / seconds).toFixed(1) : '-');
    const connections = Object.entries(stats.connections).map(([t, n]) => t + ' ' + n).join(', ') || '0';
    $('figures').replaceChildren(
      card('connections', connections),
      card('sessions', stats.sessions),
      card('subscriptions', stats.subscriptions),
      card('channels with subscribers', stats.channels),
      card('publishes / s', rate('published')),
      card('deliveries / s', rate('delivered')),
      card('latency p50 (ms)', stats.latencyMs.p50 ?? '-'),
      card('latency p99 (ms)', stats.latencyMs.p99 ?? '-'),
      card('send queues (bytes)', stats.sendQueueBytes),
      card('uptime (s)', stats.node.uptimeSeconds),
    );
    rows($('nodes'), stats.nodes, ['host', 'pid']);
    rows($('users'), (await call('/admin/api/users')).users, ['user', 'sessions', 'transports']);
    last = { ...stats, at: now };
    $('error').textContent = '';
  } catch (error) {
    $('error').textContent = error.message;
  }
}
$('login').onsubmit = (event) => {
  event.preventDefault();
  sessionStorage.setItem('switchboard-admin-key', $('key').value);
  $('key').value = '';
  refresh();
};
$('disconnect').onsubmit = async (event) => {
  event.preventDefault();
  try {
    const result = await call('/admin/api/users/' + encodeURIComponent($('user').value) + '/disconnect', 'POST');
    $('error').textContent = 'Disconnected ' + result.disconnected + ' session(s).';
  } catch (error) { $('error').textContent = error.message; }
};
$('close').onsubmit = async (event) => {
  event.preventDefault();
  if (!confirm('Delete channel ' + $('channel').value + ' and its history?')) return;
  try {
    const result = await call('/admin/api/channels/' + encodeURIComponent($('channel').value) + '/close', 'POST');
    $('error').textContent = 'Closed; ' + result.unsubscribed + ' subscription(s) ended on this node.';
  } catch (error) { $('error').textContent = error.message; }
};
refresh();
setInterval(refresh, 2000);
</script>
</body>
</html>
`;
