import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { describe, expect, it, onTestFinished } from 'vitest';
import { MemoryBroker } from '../src/broker/memory-broker.js';
import { MemoryBus } from '../src/broker/memory-bus.js';
import type { Config, DeepPartial } from '../src/config.js';
import { startTestServer, type TestServer } from './helpers/test-server.js';
import { useWsClients } from './helpers/ws-test-client.js';

// The admin console's API on a cluster of two nodes in one process (a MemoryBus, one
// SQLite file): what each node reports, questions put to every node, actions through the
// command pipeline, and the audit log.

const API_KEY = 'ops-admin-test-key-0123456789';
const KEY = { 'x-switchboard-key': API_KEY };
const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
const clients = useWsClients();

interface NodeView {
  node: string;
  name: string;
  version: string;
  status: 'up' | 'silent';
  self: boolean;
  problem: string | null;
  sessions: number;
  connections: number;
  published: number;
  publishedPerSecond: number;
  deliveredPerSecond: number;
}
interface ClusterView {
  self: string;
  nodes: NodeView[];
  totals: { nodes: number; nodesUp: number; sessions: number; published: number; delivered: number };
  throughput: { at: number; published: number; delivered: number }[];
}

async function cluster(overrides: DeepPartial<Config> = {}): Promise<[TestServer, TestServer]> {
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-ops-admin-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  const databaseUrl = `sqlite:${join(dir, 'shared.db')}`;
  const bus = new MemoryBus();
  const settings = { apiKeys: [API_KEY], ...overrides };
  const a = await startTestServer({ databaseUrl, broker: new MemoryBroker(bus), overrides: settings });
  const b = await startTestServer({ databaseUrl, broker: new MemoryBroker(bus), overrides: settings });
  return [a, b];
}

async function call<T = Record<string, unknown>>(
  server: TestServer,
  path: string,
  init: { method?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: T }> {
  const response = await fetch(`${server.url}${path}`, {
    method: init.method ?? 'GET',
    headers: { ...(init.headers ?? KEY), ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: init.body !== undefined ? JSON.stringify(init.body) : undefined,
  });
  return { status: response.status, body: (await response.json()) as T };
}

/** Re-asks until `check` holds of the answer; each node reports once a second. */
async function until<T>(ask: () => Promise<T>, check: (value: T) => boolean, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T = await ask();
  while (!check(last)) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last: ${JSON.stringify(last)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
    last = await ask();
  }
  return last;
}

/** Connects and resolves `welcome`, or the close code if the server ends the connection first. */
async function attempt(url: string): Promise<'welcome' | number> {
  const client = clients.open(url);
  return client.waitUntil(() => (client.frames.some((frame) => frame.type === 'welcome') ? 'welcome' : (client.closeCode ?? undefined)));
}

const viewOf = async (server: TestServer) => (await call<ClusterView>(server, '/admin/api/cluster')).body;
const nodeNamed = (view: ClusterView, server: TestServer) => view.nodes.find((node) => node.name === `127.0.0.1:${server.port}`);

describe('the admin console, cluster-wide', () => {
  it("shows every node's health, version and live counters on every node", async () => {
    const [a, b] = await cluster();
    const both = await until(() => viewOf(a), (view) => view.nodes.length === 2 && view.nodes.every((node) => node.status === 'up'), 'both nodes on A');
    expect(both.nodes.map((node) => node.name).sort()).toEqual([`127.0.0.1:${a.port}`, `127.0.0.1:${b.port}`].sort());
    expect(nodeNamed(both, a)).toMatchObject({ self: true, version: VERSION, problem: null });
    expect(nodeNamed(both, b)).toMatchObject({ self: false, version: VERSION, problem: null });
    expect(both.totals).toMatchObject({ nodes: 2, nodesUp: 2 });

    // Sessions and messages on B show in A's view within a report or two.
    const writer = await clients.connect(b.wsUrl, 'writer');
    const reader = await clients.connect(b.wsUrl, 'reader');
    await writer.ok('channel.create', { channel: 'busy', channelType: 'public' });
    await reader.ok('subscribe', { channel: 'busy' });
    for (let i = 1; i <= 20; i++) await writer.ok('publish', { channel: 'busy', text: `m${i}` });
    const moved = await until(
      () => viewOf(a),
      (view) => nodeNamed(view, b)?.sessions === 2 && nodeNamed(view, b)?.published === 20,
      "B's sessions and publishes in A's view",
    );
    expect(moved.totals.sessions).toBe(2);
    expect(moved.totals.published).toBe(20);
    expect(moved.totals.delivered).toBeGreaterThanOrEqual(20);
    // Rates are per report interval: B's publishes show as messages/s while they go on.
    const burst = setInterval(() => void writer.request('publish', { channel: 'busy', text: 'more' }), 20);
    try {
      await until(() => viewOf(a), (view) => (nodeNamed(view, b)?.publishedPerSecond ?? 0) > 0 && (nodeNamed(view, b)?.deliveredPerSecond ?? 0) > 0, "B's rates in A's view");
    } finally {
      clearInterval(burst);
    }
    const stopped = await until(() => viewOf(a), (view) => nodeNamed(view, b)?.publishedPerSecond === 0, "B's rate back to 0 once the publisher stopped");
    // The chart's minute: a point a second, and the burst is in it.
    expect(stopped.throughput).toHaveLength(60);
    expect(Math.max(...stopped.throughput.map((point) => point.published))).toBeGreaterThan(0);

    // A node that stops reporting turns silent in the others' view.
    await b.close();
    const after = await until(() => viewOf(a), (view) => nodeNamed(view, b)?.status === 'silent', 'B silent on A', 15_000);
    expect(after.totals).toMatchObject({ nodes: 2, nodesUp: 1 });
  });

  it('lists users across nodes, and disconnects one everywhere from a node they are not on', async () => {
    const [a, b] = await cluster();
    await until(() => viewOf(a), (view) => view.nodes.filter((node) => node.status === 'up').length === 2, 'both nodes on A');
    await clients.connect(a.wsUrl, 'alice');
    const bob1 = await clients.connect(b.wsUrl, 'bob');
    const bob2 = await clients.connect(b.wsUrl, 'bob');

    const users = (await call<{ users: { user: string; sessions: number; nodes: string[]; transports: string[] }[]; missing: string[] }>(a, '/admin/api/users')).body;
    expect(users.missing).toEqual([]);
    expect(users.users).toEqual([
      expect.objectContaining({ user: 'alice', sessions: 1, nodes: [`127.0.0.1:${a.port}`], transports: ['ws'] }),
      expect.objectContaining({ user: 'bob', sessions: 2, nodes: [`127.0.0.1:${b.port}`], transports: ['ws'] }),
    ]);
    const found = (await call<{ users: { user: string }[] }>(a, '/admin/api/users?q=BO')).body.users;
    expect(found.map((user) => user.user)).toEqual(['bob']);

    expect((await call(a, `/admin/api/users/${encodeURIComponent('no spaces')}/disconnect`, { method: 'POST' })).status).toBe(400);
    const disconnected = await call(a, '/admin/api/users/bob/disconnect', { method: 'POST' });
    expect(disconnected).toEqual({ status: 200, body: { user: 'bob', disconnected: 2 } });
    expect(await bob1.closed).toBe(4403);
    expect(await bob2.closed).toBe(4403);
    expect(bob1.frames).toContainEqual(expect.objectContaining({ type: 'close', reconnect: false }));
    const left = (await call<{ users: { user: string }[] }>(a, '/admin/api/users')).body.users;
    expect(left.map((user) => user.user)).toEqual(['alice']);

    const audit = (await call<{ entries: Record<string, unknown>[] }>(b, '/admin/api/audit')).body.entries;
    expect(audit[0]).toMatchObject({
      actor: 'API key',
      actorKind: 'server',
      action: 'users.disconnect',
      target: 'bob',
      outcome: 'ok',
      detail: { disconnected: 2 },
      node: `127.0.0.1:${a.port}`,
    });
  });

  it('acts on channels through the command pipeline, on every node, and audits refusals too', async () => {
    const [a, b] = await cluster();
    await until(() => viewOf(a), (view) => view.nodes.filter((node) => node.status === 'up').length === 2, 'both nodes on A');
    const alice = await clients.connect(a.wsUrl, 'alice');
    const bobOnB = await clients.connect(b.wsUrl, 'bob');
    const carolOnB = await clients.connect(b.wsUrl, 'carol');
    await alice.ok('channel.create', { channel: 'doomed', channelType: 'public' });
    await alice.ok('channel.create', { channel: 'news', channelType: 'public' });
    await alice.ok('channel.create', { channel: 'staff', channelType: 'private', members: ['carol'] });
    await alice.ok('subscribe', { channel: 'doomed' });
    await bobOnB.ok('subscribe', { channel: 'doomed' });
    await carolOnB.ok('subscribe', { channel: 'staff' });
    await alice.ok('publish', { channel: 'news', text: 'first' });

    // The channel browser: the list, one channel with members and who is online, its history.
    const list = (await call<{ channels: { id: string }[] }>(a, '/admin/api/channels')).body.channels.map((channel) => channel.id);
    expect(list).toEqual(expect.arrayContaining(['doomed', 'news', 'staff']));
    const staff = (await call<{ channel: { type: string }; members: { user: string }[]; online: { user: string }[] }>(a, '/admin/api/channels/staff')).body;
    expect(staff.channel.type).toBe('private');
    expect(staff.members.map((member) => member.user).sort()).toEqual(['alice', 'carol']);
    expect(staff.online.map((member) => member.user)).toEqual(['carol']);
    const history = (await call<{ events: { text: string }[] }>(a, '/admin/api/channels/news/history')).body;
    expect(history.events.map((event) => event.text)).toEqual(['first']);

    // Delete: both nodes' subscribers are told, and counted.
    const deleted = await call(a, '/admin/api/channels/doomed/delete', { method: 'POST' });
    expect(deleted).toEqual({ status: 200, body: { channel: 'doomed', closed: true, unsubscribed: 2 } });
    await bobOnB.waitFor((frame) => frame.type === 'channelDeleted' && frame.channel === 'doomed');
    expect((await call(a, '/admin/api/channels/doomed/delete', { method: 'POST' })).status).toBe(404);

    // Archive: read-only from then on, for a publisher on the other node too.
    expect((await call(a, '/admin/api/channels/news/archive', { method: 'POST' })).body).toMatchObject({ id: 'news', archivedAt: expect.any(Number) });
    expect(await bobOnB.request('publish', { channel: 'news', text: 'still open?' })).toMatchObject({ type: 'error', code: 'archived' });

    // Remove a member: gone from the list, and their subscription on B ends.
    expect(await call(a, '/admin/api/channels/staff/members/carol', { method: 'DELETE' })).toEqual({
      status: 200,
      body: { channel: 'staff', user: 'carol', removed: true },
    });
    await carolOnB.waitFor((frame) => frame.type === 'unsubscribed' && frame.channel === 'staff');
    expect((await call<{ members: { user: string }[] }>(a, '/admin/api/channels/staff')).body.members.map((m) => m.user)).toEqual(['alice']);

    const entries = (await call<{ entries: { action: string; target: string; outcome: string }[] }>(b, '/admin/api/audit')).body.entries;
    expect(entries.map(({ action, target, outcome }) => [action, target, outcome])).toEqual([
      ['members.remove', 'carol in staff', 'ok'],
      ['channel.archive', 'news', 'ok'],
      ['channel.delete', 'doomed', 'not_found'],
      ['channel.delete', 'doomed', 'ok'],
    ]);
    // Paging back: the two older entries after the newest two.
    const page = (await call<{ entries: { id: string; at: number }[] }>(b, '/admin/api/audit?limit=2')).body.entries;
    const older = (await call<{ entries: { action: string; outcome: string }[] }>(b, `/admin/api/audit?limit=2&before=${page[1]!.at}/${page[1]!.id}`)).body.entries;
    expect(older.map((entry) => [entry.action, entry.outcome])).toEqual([
      ['channel.delete', 'not_found'],
      ['channel.delete', 'ok'],
    ]);
  });

  it("bans and unbans through users.ban: the user's sessions end on every node and they cannot come back until unbanned", async () => {
    const [a, b] = await cluster();
    await until(() => viewOf(a), (view) => view.nodes.filter((node) => node.status === 'up').length === 2, 'both nodes on A');
    const mallory = await clients.connect(b.wsUrl, 'mallory');
    expect((await call(a, '/admin/api/users/mallory/ban', { method: 'POST', body: { reason: 'spam' } })).body).toMatchObject({
      user: 'mallory',
      reason: 'spam',
    });
    expect(await mallory.closed).toBe(4403);
    expect(await attempt(`${b.wsUrl}?user=mallory`)).toBe(4403);
    expect((await call(a, '/admin/api/users/mallory/unban', { method: 'POST' })).body).toEqual({ user: 'mallory', unbanned: true });
    // The unban reaches B as a notice: a later attempt there is welcomed.
    await until(() => attempt(`${b.wsUrl}?user=mallory`), (outcome) => outcome === 'welcome', 'mallory welcomed on B after the unban');
    const audit = (await call<{ entries: { action: string; detail: Record<string, unknown> }[] }>(a, '/admin/api/audit')).body.entries;
    expect(audit.map((entry) => entry.action)).toEqual(['users.unban', 'users.ban']);
    expect(audit[1]!.detail).toMatchObject({ reason: 'spam' });
  });
});

describe('the admin console, signed in as an admin account', () => {
  const SECRET = 'ops-admin-test-jwt-secret-0123456789ab';
  const token = (sub: string, roles: string[]) =>
    new SignJWT({ sub, roles }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('5m').sign(new TextEncoder().encode(SECRET));

  it("acts with the admin's own principal: channel rules let an admin delete, users.ban wants an API key", async () => {
    const server = await startTestServer({ overrides: { auth: 'jwt', jwt: { secret: SECRET }, apiKeys: [API_KEY] } });
    const root = { authorization: `Bearer ${await token('root', ['admin'])}` };
    const joe = { authorization: `Bearer ${await token('joe', [])}` };
    expect((await call(server, '/api/channels', { method: 'POST', body: { channel: 'lounge', channelType: 'public' }, headers: joe })).status).toBe(201);

    expect(await call(server, '/admin/api/session', { headers: root })).toMatchObject({ body: { signedIn: true, mode: 'jwt', operator: { kind: 'user', actor: 'root' } } });
    expect(await call(server, '/admin/api/session', { headers: {} })).toMatchObject({ body: { signedIn: false, mode: 'jwt', keyless: false, code: 'unauthorized' } });
    expect((await call(server, '/admin/api/cluster', { headers: joe })).status).toBe(403);

    expect((await call(server, '/admin/api/channels/lounge/delete', { method: 'POST', headers: root })).status).toBe(200);
    const ban = await call<{ code: string }>(server, '/admin/api/users/joe/ban', { method: 'POST', headers: root });
    expect(ban).toMatchObject({ status: 403, body: { code: 'forbidden' } });
    // joe is not an operator: his attempt is refused before anything, and not an action to audit.
    expect((await call(server, '/admin/api/users/root/disconnect', { method: 'POST', headers: joe })).status).toBe(403);

    const audit = (await call<{ entries: { actor: string; actorKind: string; action: string; outcome: string }[] }>(server, '/admin/api/audit')).body.entries;
    expect(audit.map(({ actor, actorKind, action, outcome }) => [actor, actorKind, action, outcome])).toEqual([
      ['root', 'user', 'users.ban', 'forbidden'],
      ['root', 'user', 'channel.delete', 'ok'],
    ]);
  });

  it('serves the console page with a policy that allows only its own script, style and API', async () => {
    const server = await startTestServer({ overrides: { apiKeys: [API_KEY] } });
    const page = await fetch(`${server.url}/admin`);
    expect(page.status).toBe(200);
    const policy = page.headers.get('content-security-policy') ?? '';
    expect(policy).toContain("script-src 'self'");
    expect(policy).toContain("frame-ancestors 'none'");
    const html = await page.text();
    expect(html).not.toMatch(/<script>|<style>|\son[a-z]+=/);
    for (const asset of ['/admin/console.js', '/admin/console.css']) {
      const response = await fetch(`${server.url}${asset}`);
      expect(response.status, asset).toBe(200);
    }
    // The script parses (a syntax error would leave the page blank).
    const script = await (await fetch(`${server.url}/admin/console.js`)).text();
    expect(() => new Function(script)).not.toThrow();
  });
});

