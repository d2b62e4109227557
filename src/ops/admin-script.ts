/**
 * The admin console's behaviour (`/admin/console.js`): signs in (an API key, an admin
 * account's password or token; nothing in open mode on loopback), polls the cluster view
 * every second, and drives the users, channels and audit views. Plain browser JavaScript
 * with no build step and nothing external; kept free of backticks and template
 * placeholders so it can live in this String.raw literal unchanged.
 */
export const ADMIN_SCRIPT = String.raw`'use strict';
(function () {
  var KEY = 'switchboard-admin-key';
  var TOKEN = 'switchboard-admin-token';
  var REFRESH = 'switchboard-admin-refresh';

  var state = {
    session: null,
    view: 'overview',
    clusterTimer: null,
    usersTimer: null,
    channelsNext: null,
    channelsLoaded: false,
    selected: null,
    auditBefore: null,
  };

  function $(id) {
    return document.getElementById(id);
  }

  /** An element with attributes (text, class, on<event>, others as attributes) and children. */
  function h(tag, attrs, children) {
    var el = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      var value = attrs[name];
      if (value === undefined || value === null || value === false) return;
      if (name === 'text') el.textContent = String(value);
      else if (name === 'class') el.className = value;
      else if (name.slice(0, 2) === 'on') el.addEventListener(name.slice(2), value);
      else el.setAttribute(name, value === true ? '' : String(value));
    });
    (children || []).forEach(function (child) {
      if (child === null || child === undefined) return;
      el.append(typeof child === 'string' || typeof child === 'number' ? String(child) : child);
    });
    return el;
  }

  // --- formatting ---------------------------------------------------------------------

  function number(value) {
    return Number(value || 0).toLocaleString('en-US', { maximumFractionDigits: 1 });
  }

  function bytes(value) {
    var units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    var n = Number(value || 0);
    var unit = 0;
    while (n >= 1024 && unit < units.length - 1) {
      n /= 1024;
      unit++;
    }
    return (unit === 0 ? String(n) : n.toFixed(n < 10 ? 1 : 0)) + ' ' + units[unit];
  }

  function duration(ms) {
    var s = Math.max(0, Math.floor(ms / 1000));
    var d = Math.floor(s / 86400);
    var hr = Math.floor((s % 86400) / 3600);
    var min = Math.floor((s % 3600) / 60);
    if (d > 0) return d + ' d ' + hr + ' h';
    if (hr > 0) return hr + ' h ' + min + ' min';
    if (min > 0) return min + ' min ' + (s % 60) + ' s';
    return s + ' s';
  }

  function time(ms) {
    return new Date(ms).toLocaleTimeString();
  }

  function dateTime(ms) {
    return new Date(ms).toLocaleString();
  }

  function plural(n, one, many) {
    return number(n) + ' ' + (n === 1 ? one : many);
  }

  // --- the API ------------------------------------------------------------------------

  function authHeaders() {
    var key = sessionStorage.getItem(KEY);
    if (key) return { 'x-switchboard-key': key };
    var token = sessionStorage.getItem(TOKEN);
    if (token) return { authorization: 'Bearer ' + token };
    return {};
  }

  function ApiError(status, code, message) {
    var error = new Error(message);
    error.status = status;
    error.code = code;
    return error;
  }

  /** A call to the console's API (or /api/auth); an error carries the server's code and message. */
  async function api(path, options) {
    options = options || {};
    var init = { method: options.method || 'GET', headers: authHeaders() };
    if (options.body !== undefined) {
      init.headers['content-type'] = 'application/json';
      init.body = JSON.stringify(options.body);
    }
    var response = await fetch(path, init);
    if (response.status === 401 && !options.retried && (await refreshAccount())) {
      return api(path, Object.assign({}, options, { retried: true }));
    }
    var text = await response.text();
    var body = null;
    try {
      body = text ? JSON.parse(text) : null;
    } catch (error) {
      body = null;
    }
    if (!response.ok) {
      if (response.status === 401 && !options.quiet) showSignIn((body && body.message) || 'Sign in again.');
      throw ApiError(response.status, body && body.code, (body && body.message) || response.statusText);
    }
    return body;
  }

  /** Trades the account's refresh token for a new access token; false when there is none or it was refused. */
  async function refreshAccount() {
    var refreshToken = sessionStorage.getItem(REFRESH);
    if (!refreshToken) return false;
    sessionStorage.removeItem(REFRESH);
    try {
      var response = await fetch('/api/auth/refresh', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ refreshToken: refreshToken }),
      });
      if (!response.ok) return false;
      var signedIn = await response.json();
      sessionStorage.setItem(TOKEN, signedIn.accessToken);
      sessionStorage.setItem(REFRESH, signedIn.refreshToken);
      return true;
    } catch (error) {
      return false;
    }
  }

  /** A read for a view: its answer, or null after saying why not (a 401 has shown the sign-in already). */
  async function read(path, what) {
    try {
      return await api(path);
    } catch (error) {
      if (error.status !== 401) toast('Cannot ' + what + ': ' + error.message, true);
      return null;
    }
  }

  function forgetCredentials() {
    sessionStorage.removeItem(KEY);
    sessionStorage.removeItem(TOKEN);
    sessionStorage.removeItem(REFRESH);
  }

  // --- signing in ---------------------------------------------------------------------

  async function start() {
    var session;
    try {
      session = await api('/admin/api/session', { quiet: true });
    } catch (error) {
      showSignIn('The server does not answer: ' + error.message);
      return;
    }
    state.session = session;
    if (session.signedIn) showConsole(session);
    else showSignIn(session.message);
  }

  function showSignIn(message) {
    stopTimers();
    $('console').hidden = true;
    $('sign-in').hidden = false;
    var mode = state.session ? state.session.mode : null;
    $('account-form').hidden = mode !== 'accounts';
    $('token-form').hidden = mode !== 'jwt' && mode !== 'accounts';
    $('sign-in-hint').textContent =
      'Sign in with one of the server\u2019s API keys (apiKeys, SWITCHBOARD_API_KEY)' +
      (mode === 'accounts' || mode === 'jwt' ? ', or as a user with the admin role.' : '.');
    $('sign-in-error').textContent = message && sessionStorageHasCredentials() ? message : '';
    $('key').focus();
  }

  function sessionStorageHasCredentials() {
    return Boolean(sessionStorage.getItem(KEY) || sessionStorage.getItem(TOKEN));
  }

  $('key-form').addEventListener('submit', function (event) {
    event.preventDefault();
    forgetCredentials();
    sessionStorage.setItem(KEY, $('key').value.trim());
    $('key').value = '';
    start();
  });

  $('token-form').addEventListener('submit', function (event) {
    event.preventDefault();
    forgetCredentials();
    sessionStorage.setItem(TOKEN, $('token').value.trim());
    $('token').value = '';
    start();
  });

  $('account-form').addEventListener('submit', async function (event) {
    event.preventDefault();
    forgetCredentials();
    try {
      var signedIn = await api('/api/auth/login', {
        method: 'POST',
        body: { username: $('username').value.trim(), password: $('password').value },
        quiet: true,
      });
      sessionStorage.setItem(TOKEN, signedIn.accessToken);
      sessionStorage.setItem(REFRESH, signedIn.refreshToken);
      $('password').value = '';
      start();
    } catch (error) {
      $('sign-in-error').textContent = error.message;
    }
  });

  $('sign-out').addEventListener('click', function () {
    var refreshToken = sessionStorage.getItem(REFRESH);
    if (refreshToken) {
      fetch('/api/auth/logout', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ refreshToken: refreshToken }) });
    }
    forgetCredentials();
    start();
  });

  function showConsole(session) {
    $('sign-in').hidden = true;
    $('console').hidden = false;
    var operator = session.operator;
    $('who').textContent = operator.kind === 'user' ? operator.actor + ' (admin)' : operator.kind === 'server' ? 'API key' : 'local operator (open mode)';
    $('sign-out').hidden = operator.kind === 'local';
    stopTimers();
    pollCluster();
    state.clusterTimer = setInterval(pollCluster, 1000);
    route();
  }

  function stopTimers() {
    clearInterval(state.clusterTimer);
    clearInterval(state.usersTimer);
    state.clusterTimer = null;
    state.usersTimer = null;
  }

  // --- views --------------------------------------------------------------------------

  var TITLES = { overview: 'Overview', users: 'Users', channels: 'Channels', audit: 'Audit log' };

  function route() {
    var name = location.hash.slice(1);
    setView(TITLES[name] ? name : 'overview');
  }
  window.addEventListener('hashchange', route);

  function setView(name) {
    state.view = name;
    $('view-title').textContent = TITLES[name];
    document.title = TITLES[name] + ' \u00b7 Switchboard admin';
    document.querySelectorAll('.nav-list a').forEach(function (link) {
      if (link.dataset.view === name) link.setAttribute('aria-current', 'page');
      else link.removeAttribute('aria-current');
    });
    Object.keys(TITLES).forEach(function (view) {
      $('view-' + view).hidden = view !== name;
    });
    clearInterval(state.usersTimer);
    state.usersTimer = null;
    if (name === 'users') {
      refreshUsers();
      state.usersTimer = setInterval(refreshUsers, 2000);
    } else if (name === 'channels' && !state.channelsLoaded) {
      loadChannels(true);
    } else if (name === 'audit') {
      loadAudit(true);
    }
  }

  // --- overview: every node's report, every second --------------------------------------

  async function pollCluster() {
    var cluster;
    try {
      cluster = await api('/admin/api/cluster');
    } catch (error) {
      if (error.status === 401) return;
      $('live').className = 'connection reconnecting';
      $('live').textContent = 'Reconnecting\u2026';
      showBanner('The console cannot reach the server: ' + error.message);
      return;
    }
    showBanner(null);
    $('live').className = 'connection connected';
    $('live').textContent = 'Live \u00b7 ' + time(cluster.at);
    var self = cluster.nodes.filter(function (node) {
      return node.self;
    })[0];
    if (self) $('served-by').textContent = self.name;
    renderCards(cluster.totals);
    renderChart(cluster.throughput);
    renderNodes(cluster.nodes);
  }

  function showBanner(message) {
    $('banner').hidden = !message;
    $('banner').textContent = message || '';
  }

  function renderCards(totals) {
    var cards = [
      ['nodes', 'Nodes up', number(totals.nodesUp) + ' / ' + number(totals.nodes), totals.nodesUp < totals.nodes],
      ['connections', 'Connections', number(totals.connections)],
      ['sessions', 'Sessions', number(totals.sessions)],
      ['published-per-second', 'Messages/s', number(totals.publishedPerSecond)],
      ['delivered-per-second', 'Deliveries/s', number(totals.deliveredPerSecond)],
      ['send-queue-bytes', 'Send queues', bytes(totals.sendQueueBytes)],
      ['slow-consumer-cuts', 'Slow-consumer cuts', number(totals.slowConsumerCuts), totals.slowConsumerCuts > 0],
      ['published', 'Messages since start', number(totals.published)],
    ];
    $('cards').replaceChildren.apply(
      $('cards'),
      cards.map(function (card) {
        return h('div', { class: 'card' + (card[3] ? ' alert' : ''), 'data-metric': card[0] }, [
          h('span', { class: 'value', text: card[2] }),
          h('span', { class: 'label', text: card[1] }),
        ]);
      }),
    );
  }

  /** The cluster's last minute, one point a second, as two lines. */
  function renderChart(series) {
    var NS = 'http://www.w3.org/2000/svg';
    var width = 600;
    var height = 110;
    var max = 1;
    series.forEach(function (point) {
      max = Math.max(max, point.published, point.delivered);
    });
    max = Math.ceil(max * 1.1);
    var svg = document.createElementNS(NS, 'svg');
    svg.setAttribute('viewBox', '0 0 ' + width + ' ' + height);
    svg.setAttribute('preserveAspectRatio', 'none');
    var grid = document.createElementNS(NS, 'line');
    grid.setAttribute('class', 'grid');
    grid.setAttribute('x1', '0');
    grid.setAttribute('x2', String(width));
    grid.setAttribute('y1', '10');
    grid.setAttribute('y2', '10');
    svg.append(grid);
    var label = document.createElementNS(NS, 'text');
    label.setAttribute('class', 'axis');
    label.setAttribute('x', '2');
    label.setAttribute('y', '9');
    label.textContent = number(max) + '/s';
    svg.append(label);
    ['published', 'delivered'].forEach(function (field) {
      var points = series.map(function (point, i) {
        var x = (i / Math.max(1, series.length - 1)) * width;
        var y = height - 2 - (point[field] / max) * (height - 14);
        return x.toFixed(1) + ',' + y.toFixed(1);
      });
      var line = document.createElementNS(NS, 'polyline');
      line.setAttribute('class', field);
      line.setAttribute('fill', 'none');
      line.setAttribute('stroke-width', '2');
      line.setAttribute('vector-effect', 'non-scaling-stroke');
      line.setAttribute('points', points.join(' '));
      svg.append(line);
    });
    $('chart').replaceChildren(svg);
    var last = series[series.length - 1];
    if (last) $('chart').setAttribute('aria-label', 'Messages per second ' + number(last.published) + ', deliveries per second ' + number(last.delivered));
  }

  function renderNodes(nodes) {
    var body = $('nodes').tBodies[0];
    body.replaceChildren.apply(
      body,
      nodes.map(function (node) {
        var health =
          node.status === 'silent'
            ? h('span', { class: 'health-silent', text: 'Silent for ' + duration(node.lastSeenMs) })
            : node.problem
              ? h('span', { class: 'health-bad', text: 'Not ready: ' + node.problem })
              : h('span', { class: 'health-ok', text: 'Ready' });
        return h('tr', { 'data-node': node.node }, [
          h('td', {}, [
            h('strong', { text: node.name }),
            node.self ? h('span', { class: 'tag', text: 'this node' }) : null,
            h('div', { class: 'muted small nowrap', text: 'v' + node.version + ' \u00b7 Node.js ' + node.nodeVersion.replace(/^v/, '') }),
            h('div', { class: 'muted small nowrap', text: 'up ' + duration(node.at - node.startedAt) + ' \u00b7 ' + bytes(node.memoryBytes) + ' \u00b7 pid ' + node.pid }),
          ]),
          h('td', {}, [health, h('div', { class: 'muted small nowrap', text: 'loop delay ' + number(node.loopDelayMs) + ' ms' })]),
          h('td', { class: 'num', text: number(node.connections) }),
          h('td', { class: 'num', text: number(node.sessions) }),
          h('td', { class: 'num', text: number(node.publishedPerSecond) }),
          h('td', { class: 'num', text: number(node.deliveredPerSecond) }),
          h('td', { class: 'num', text: bytes(node.sendQueueBytes) }),
          h('td', { class: 'num', text: number(node.slowConsumerCuts) }),
          h('td', { class: 'num', text: node.latencyMs && node.latencyMs.p99 !== null ? '\u2264 ' + number(node.latencyMs.p99) + ' ms' : '\u2013' }),
        ]);
      }),
    );
  }

  // --- users: who is connected, on which nodes ------------------------------------------

  var userQueryTimer = null;
  $('user-query').addEventListener('input', function () {
    clearTimeout(userQueryTimer);
    userQueryTimer = setTimeout(refreshUsers, 250);
  });
  $('user-search').addEventListener('submit', function (event) {
    event.preventDefault();
    refreshUsers();
  });

  async function refreshUsers() {
    var query = $('user-query').value.trim();
    var result;
    try {
      result = await api('/admin/api/users?q=' + encodeURIComponent(query));
    } catch (error) {
      if (error.status !== 401) $('user-count').textContent = 'Cannot list users: ' + error.message;
      return;
    }
    if (query !== $('user-query').value.trim()) return; // a newer query is on its way
    var count = plural(result.users.length, 'user', 'users') + ' connected' + (query ? ' matching \u201c' + query + '\u201d' : '') + (result.truncated ? ' (the first ones shown)' : '');
    if (result.missing.length > 0) count += '; no answer from ' + result.missing.join(', ');
    $('user-count').textContent = count;
    var body = $('users').tBodies[0];
    body.replaceChildren.apply(
      body,
      result.users.map(function (user) {
        return h('tr', { 'data-user': user.user }, [
          h('td', {}, [h('strong', { text: user.user })]),
          h('td', { text: user.name }),
          h('td', { class: 'num', text: number(user.sessions) }),
          h('td', { text: user.transports.join(', ') }),
          h('td', { text: user.nodes.join(', ') }),
          h('td', { class: 'actions' }, [
            h('button', { type: 'button', text: 'Disconnect', 'aria-label': 'Disconnect ' + user.user, onclick: function () { disconnectUser(user.user); } }),
            h('button', { type: 'button', class: 'danger', text: 'Ban', 'aria-label': 'Ban ' + user.user, onclick: function () { banUser(user.user); } }),
          ]),
        ]);
      }),
    );
  }

  $('user-act').addEventListener('submit', function (event) {
    event.preventDefault();
    var user = $('act-user').value.trim();
    var action = event.submitter ? event.submitter.value : 'disconnect';
    if (action === 'ban') banUser(user);
    else if (action === 'unban') unbanUser(user);
    else disconnectUser(user);
  });

  async function disconnectUser(user) {
    var answer = await confirmAction(
      'Disconnect ' + user + ' everywhere?',
      'Every session of ' + user + ' ends, on every node. Their apps are told not to reconnect by themselves; ' + user + ' may sign in again.',
      'Disconnect',
    );
    if (!answer.ok) return;
    await act(async function () {
      var result = await api('/admin/api/users/' + encodeURIComponent(user) + '/disconnect', { method: 'POST' });
      var text = 'Disconnected ' + plural(result.disconnected, 'session', 'sessions') + ' of ' + user + '.';
      if (result.missing) text += ' No answer from ' + result.missing.join(', ') + '.';
      return text;
    });
    if (state.view === 'users') refreshUsers();
  }

  async function banUser(user) {
    var answer = await confirmAction(
      'Ban ' + user + '?',
      'Every session of ' + user + ' ends on every node, and ' + user + ' cannot sign in or connect until unbanned.',
      'Ban',
      true,
    );
    if (!answer.ok) return;
    await act(async function () {
      await api('/admin/api/users/' + encodeURIComponent(user) + '/ban', { method: 'POST', body: answer.reason ? { reason: answer.reason } : {} });
      return 'Banned ' + user + '.';
    });
    if (state.view === 'users') refreshUsers();
  }

  async function unbanUser(user) {
    await act(async function () {
      await api('/admin/api/users/' + encodeURIComponent(user) + '/unban', { method: 'POST' });
      return 'Lifted the ban on ' + user + '.';
    });
  }

  // --- channels: browse, look inside, act ------------------------------------------------

  $('channels-reload').addEventListener('click', function () {
    loadChannels(true);
  });
  $('channels-more').addEventListener('click', function () {
    loadChannels(false);
  });

  async function loadChannels(reset) {
    var list = $('channel-list');
    var after = reset ? null : state.channelsNext;
    var page = await read('/admin/api/channels?limit=100' + (after ? '&after=' + encodeURIComponent(after) : ''), 'list channels');
    if (!page) return;
    state.channelsLoaded = true;
    if (reset) list.replaceChildren();
    page.channels.forEach(function (channel) {
      list.append(
        h('li', {}, [
          h(
            'button',
            {
              type: 'button',
              'data-channel': channel.id,
              'aria-current': state.selected === channel.id ? 'true' : null,
              onclick: function () { selectChannel(channel.id); },
            },
            [h('span', { text: channel.id }), h('span', { class: 'muted small', text: channel.type + ' \u00b7 ' + number(channel.lastSeq) })],
          ),
        ]),
      );
    });
    if (reset && page.channels.length === 0) list.append(h('li', { class: 'muted', text: 'No channels yet.' }));
    state.channelsNext = page.next;
    $('channels-more').hidden = !page.next;
  }

  async function selectChannel(id) {
    state.selected = id;
    document.querySelectorAll('#channel-list button').forEach(function (button) {
      if (button.dataset.channel === id) button.setAttribute('aria-current', 'true');
      else button.removeAttribute('aria-current');
    });
    var detail = $('channel-detail');
    var info;
    var history;
    try {
      var answers = await Promise.all([
        api('/admin/api/channels/' + encodeURIComponent(id)),
        api('/admin/api/channels/' + encodeURIComponent(id) + '/history'),
      ]);
      info = answers[0];
      history = answers[1];
    } catch (error) {
      if (error.status !== 401) detail.replaceChildren(h('p', { class: 'error-text', text: 'Cannot open ' + id + ': ' + error.message }));
      return;
    }
    if (state.selected !== id) return;
    var channel = info.channel;
    var archived = channel.archivedAt !== undefined;
    var facts = [
      ['Type', channel.type],
      ['Who may publish', archived ? 'nobody (archived ' + dateTime(channel.archivedAt) + ')' : channel.publish],
      ['Epoch', String(channel.epoch)],
      ['Newest seq', number(channel.lastSeq)],
      ['Created', dateTime(channel.createdAt) + (channel.createdBy ? ' by ' + channel.createdBy : '')],
    ];
    // Focusable, so the keyboard can scroll it as the mouse can.
    var historyList = h('ol', { class: 'history', 'aria-label': 'History of ' + id, tabindex: '0' });
    var older = h('button', { type: 'button', text: 'Older messages', hidden: !history.hasMore });
    var oldest = null;
    function addEvents(events, atTop) {
      var items = events.map(function (event) {
        var body = event.deletedAt ? h('span', { class: 'tombstone', text: 'deleted' }) : h('span', { class: 'text', text: event.text !== null ? event.text : JSON.stringify(event.data) });
        return h('li', {}, [h('span', { class: 'seq', text: String(event.seq) }), h('span', { class: 'muted small who', text: event.author + ' \u00b7 ' + time(event.createdAt) }), body]);
      });
      if (atTop) historyList.prepend.apply(historyList, items);
      else historyList.append.apply(historyList, items);
      if (events.length > 0) oldest = events[0].seq;
    }
    addEvents(history.events, false);
    if (history.events.length === 0) historyList.append(h('li', { class: 'muted', text: 'No messages.' }));
    older.addEventListener('click', async function () {
      var page = await read('/admin/api/channels/' + encodeURIComponent(id) + '/history?before=' + oldest, 'read older messages');
      if (!page) return;
      addEvents(page.events, true);
      older.hidden = !page.hasMore;
    });
    var members = h('tbody', {}, info.members.map(function (member) {
      return h('tr', { 'data-member': member.user }, [
        h('td', {}, [h('strong', { text: member.user })]),
        h('td', { text: member.role }),
        h('td', { text: dateTime(member.joinedAt) }),
        h('td', { class: 'actions' }, [
          h('button', { type: 'button', text: 'Remove', 'aria-label': 'Remove ' + member.user + ' from ' + id, onclick: function () { removeMember(id, member.user); } }),
        ]),
      ]);
    }));
    detail.replaceChildren(
      h('div', { class: 'panel-head' }, [
        h('h2', { text: id + (channel.title ? ' \u2014 ' + channel.title : '') }),
        h('div', { class: 'channel-actions' }, [
          h('button', { type: 'button', text: archived ? 'Unarchive' : 'Archive', onclick: function () { archiveChannel(id, !archived); } }),
          h('button', { type: 'button', class: 'danger', text: 'Delete channel', onclick: function () { deleteChannel(id); } }),
        ]),
      ]),
      h('div', { class: 'channel-facts' }, facts.map(function (fact) {
        return h('span', {}, [h('span', { class: 'muted', text: fact[0] + ': ' }), fact[1]]);
      })),
      h('h3', { text: 'Online now (' + info.online.length + ')' }),
      h('p', { class: info.online.length ? '' : 'muted', text: info.online.length ? info.online.map(function (p) { return p.user + (p.sessions > 1 ? ' \u00d7' + p.sessions : ''); }).join(', ') : 'Nobody is subscribed.' }),
      h('h3', { text: 'Members (' + info.members.length + ')' }),
      info.members.length
        ? h('div', { class: 'table-wrap' }, [h('table', { 'aria-label': 'Members of ' + id }, [h('thead', {}, [h('tr', {}, [h('th', { text: 'User' }), h('th', { text: 'Role' }), h('th', { text: 'Joined' }), h('th', { text: 'Actions' })])]), members])])
        : h('p', { class: 'muted', text: 'No members.' }),
      h('h3', { text: 'History' }),
      older,
      historyList,
    );
    // The newest messages first in view, as in a chat.
    historyList.scrollTop = historyList.scrollHeight;
  }

  async function deleteChannel(id) {
    var answer = await confirmAction('Delete ' + id + '?', 'The channel and its whole history are deleted, and every subscription to it ends on every node. This cannot be undone.', 'Delete channel');
    if (!answer.ok) return;
    var done = await act(async function () {
      var result = await api('/admin/api/channels/' + encodeURIComponent(id) + '/delete', { method: 'POST' });
      return 'Deleted ' + id + '; ' + plural(result.unsubscribed, 'subscription', 'subscriptions') + ' ended.';
    });
    if (!done) return;
    state.selected = null;
    $('channel-detail').replaceChildren(h('p', { class: 'muted', text: 'Choose a channel to see its members, who is online and its history.' }));
    loadChannels(true);
  }

  async function archiveChannel(id, archive) {
    var answer = archive
      ? await confirmAction('Archive ' + id + '?', 'Its history stays readable and subscribers stay, but nobody may publish, edit, delete or react in it until it is unarchived.', 'Archive')
      : await confirmAction('Unarchive ' + id + '?', 'Its members may publish in it again.', 'Unarchive');
    if (!answer.ok) return;
    if (await act(async function () {
      await api('/admin/api/channels/' + encodeURIComponent(id) + (archive ? '/archive' : '/unarchive'), { method: 'POST' });
      return archive ? 'Archived ' + id + ': it is read-only now.' : 'Unarchived ' + id + ': it is writable again.';
    })) selectChannel(id);
  }

  async function removeMember(id, user) {
    var answer = await confirmAction('Remove ' + user + ' from ' + id + '?', user + ' stops being a member; in a private channel they can no longer read it.', 'Remove');
    if (!answer.ok) return;
    if (await act(async function () {
      await api('/admin/api/channels/' + encodeURIComponent(id) + '/members/' + encodeURIComponent(user), { method: 'DELETE' });
      return 'Removed ' + user + ' from ' + id + '.';
    })) selectChannel(id);
  }

  // --- audit log ----------------------------------------------------------------------

  $('audit-reload').addEventListener('click', function () {
    loadAudit(true);
  });
  $('audit-more').addEventListener('click', function () {
    loadAudit(false);
  });

  async function loadAudit(reset) {
    var before = reset ? null : state.auditBefore;
    var page = await read('/admin/api/audit?limit=50' + (before ? '&before=' + encodeURIComponent(before) : ''), 'read the audit log');
    if (!page) return;
    var body = $('audit').tBodies[0];
    if (reset) body.replaceChildren();
    page.entries.forEach(function (entry) {
      var details = Object.keys(entry.detail).map(function (key) {
        var value = entry.detail[key];
        return key + ': ' + (Array.isArray(value) ? value.join(', ') : String(value));
      });
      body.append(
        h('tr', { 'data-audit': entry.id }, [
          h('td', { text: dateTime(entry.at) }),
          h('td', {}, [entry.actor, entry.actorKind === 'server' ? null : h('span', { class: 'tag', text: entry.actorKind === 'user' ? 'admin' : 'open mode' }), entry.address ? h('div', { class: 'muted small', text: 'from ' + entry.address }) : null]),
          h('td', { text: entry.action }),
          h('td', { text: entry.target }),
          h('td', {}, [h('span', { class: entry.outcome === 'ok' ? 'health-ok' : 'health-bad', text: entry.outcome })]),
          h('td', { text: entry.node }),
          h('td', { class: 'small', text: details.join('; ') }),
        ]),
      );
    });
    if (reset && page.entries.length === 0) body.append(h('tr', {}, [h('td', { colspan: '7', class: 'muted', text: 'Nothing yet: actions taken here are listed with who took them.' })]));
    var last = page.entries[page.entries.length - 1];
    state.auditBefore = last ? last.at + '/' + last.id : null;
    $('audit-more').hidden = page.entries.length < 50;
  }

  // --- confirmations and messages ------------------------------------------------------

  /** Asks before an action; resolves with whether it was confirmed (and the reason typed, if asked). */
  function confirmAction(title, text, okLabel, withReason) {
    return new Promise(function (resolve) {
      var dialog = $('confirm');
      $('confirm-title').textContent = title;
      $('confirm-text').textContent = text;
      $('confirm-ok').textContent = okLabel;
      $('confirm-reason-label').hidden = !withReason;
      $('confirm-reason').hidden = !withReason;
      $('confirm-reason').value = '';
      dialog.returnValue = '';
      dialog.addEventListener(
        'close',
        function () {
          resolve({ ok: dialog.returnValue === 'ok', reason: $('confirm-reason').value.trim() });
        },
        { once: true },
      );
      dialog.showModal();
    });
  }

  /** Runs an action; its sentence (or the refusal) is shown; resolves with whether it worked. */
  async function act(work) {
    try {
      toast(await work(), false);
      if (state.view === 'audit') loadAudit(true);
      return true;
    } catch (error) {
      if (error.status !== 401) toast(error.message, true);
      return false;
    }
  }

  function toast(text, isError) {
    var item = h('div', { class: 'toast' + (isError ? ' error' : ''), text: text });
    $('toasts').append(item);
    setTimeout(function () {
      item.remove();
    }, 8000);
  }

  start();
})();
`;
