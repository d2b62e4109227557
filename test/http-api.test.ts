import { afterEach, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { BINDINGS, isServed } from '../protocol/bindings.js';
import { ERROR_CODES, type ErrorCode } from '../protocol/codes.js';
import { COMMAND_NAMES, type CommandName } from '../protocol/commands.js';
import { createTestSchema } from './helpers/postgres.js';
import { startTestServer, type TestServer } from './helpers/test-server.js';
import { WsTestClient } from './helpers/ws-test-client.js';

const API_KEY = 'test-api-key-0123456789';

interface Answer<T = any> {
  status: number;
  body: T;
}

/** A REST client for one server: `as(user)` in open mode, `server()` with the API key. */
function api(server: TestServer) {
  async function call<T = any>(headers: Record<string, string>, method: string, path: string, body?: unknown): Promise<Answer<T>> {
    const response = await fetch(`${server.url}${path}`, {
      method,
      headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : null };
  }
  return {
    as: (user: string) => (method: string, path: string, body?: unknown) =>
      call({ 'x-switchboard-user': user }, method, path, body),
    server: () => (method: string, path: string, body?: unknown) => call({ 'x-switchboard-key': API_KEY }, method, path, body),
    anonymous: () => (method: string, path: string, body?: unknown) => call({}, method, path, body),
    with: (headers: Record<string, string>) => (method: string, path: string, body?: unknown) => call(headers, method, path, body),
  };
}

const postgresUrl = process.env.TEST_DATABASE_URL;
if (!postgresUrl) console.warn('REST API on PostgreSQL skipped: TEST_DATABASE_URL is not set');
/** Every test runs on SQLite, and again on PostgreSQL when TEST_DATABASE_URL is set. */
const DATABASES = ['sqlite', ...(postgresUrl ? ['postgres'] : [])] as const;
let database: (typeof DATABASES)[number] = 'sqlite';

async function start() {
  let databaseUrl: string | undefined;
  if (database === 'postgres') {
    const schema = await createTestSchema(postgresUrl!, 'http_api');
    onTestFinished(() => schema.drop());
    databaseUrl = schema.url;
  }
  const server = await startTestServer({ databaseUrl, overrides: { apiKeys: [API_KEY] } });
  const client = api(server);
  return { server, alice: client.as('alice'), bob: client.as('bob'), backend: client.server(), client };
}

const sockets: WsTestClient[] = [];
afterEach(async () => {
  await Promise.all(sockets.splice(0).map((s) => s.close()));
});

for (const db of DATABASES) {
  describe(`on ${db}`, () => {
    beforeAll(() => {
      database = db;
    });

    describe('REST API: channels', () => {
      it('creates, reads, lists with pages, updates and deletes channels with the hub\'s rules', async () => {
        const { alice, bob } = await start();
        const created = await alice('POST', '/api/channels', { channel: 'general', channelType: 'public', title: 'General' });
        expect(created.status).toBe(201);
        expect(created.body).toMatchObject({ id: 'general', type: 'public', title: 'General', publish: 'anyone', createdBy: 'alice', lastSeq: 0 });
        expect((await alice('POST', '/api/channels', { channel: 'general', channelType: 'public' })).body.code).toBe('conflict');
        expect((await alice('POST', '/api/channels', { channel: 'user:bob', channelType: 'public' })).body.code).toBe('bad_request');

        for (const id of ['b-room', 'c-room', 'd-room']) await alice('POST', '/api/channels', { channel: id, channelType: 'public' });
        await alice('POST', '/api/channels', { channel: 'secret', channelType: 'private' });
        const page1 = await bob('GET', '/api/channels?limit=2');
        expect(page1.status).toBe(200);
        expect(page1.body.channels.map((c: { id: string }) => c.id)).toEqual(['b-room', 'c-room']);
        const page2 = await bob('GET', `/api/channels?limit=2&after=${page1.body.next}`);
        expect(page2.body.channels.map((c: { id: string }) => c.id)).toEqual(['d-room', 'general']);
        const page3 = await bob('GET', `/api/channels?limit=2&after=${page2.body.next}`);
        // The private channel is invisible to bob: the last page is empty.
        expect(page3.body).toEqual({ channels: [], next: null });
        expect((await alice('GET', '/api/channels?limit=50')).body.channels.map((c: { id: string }) => c.id)).toContain('secret');

        expect((await bob('GET', '/api/channels/general')).body.title).toBe('General');
        expect((await bob('GET', '/api/channels/secret')).status).toBe(403);
        expect((await bob('GET', '/api/channels/nowhere')).body.code).toBe('not_found');

        const byBob = await bob('PATCH', '/api/channels/general', { title: 'Mine now' });
        expect(byBob.status).toBe(403);
        expect(byBob.body.code).toBe('forbidden');
        const updated = await alice('PATCH', '/api/channels/general', { title: 'Town square', publish: 'members' });
        expect(updated.status).toBe(200);
        expect(updated.body).toMatchObject({ id: 'general', title: 'Town square', publish: 'members' });
        expect((await bob('GET', '/api/channels/general')).body.title).toBe('Town square');

        expect((await bob('DELETE', '/api/channels/general')).status).toBe(403);
        await alice('POST', '/api/channels/general/messages', { text: 'soon gone' });
        const deleted = await alice('DELETE', '/api/channels/general');
        expect(deleted.status).toBe(204);
        expect((await alice('GET', '/api/channels/general')).status).toBe(404);
        expect((await alice('DELETE', '/api/channels/general')).status).toBe(404);
        // The id is free again, with an empty log.
        const again = await alice('POST', '/api/channels', { channel: 'general', channelType: 'public' });
        expect(again.body.lastSeq).toBe(0);
        expect((await alice('GET', '/api/channels/general/messages')).body.events).toEqual([]);
      });

      it('opens one direct channel for two users whoever asks', async () => {
        const { alice, bob } = await start();
        const first = await alice('POST', '/api/channels', { channelType: 'direct', members: ['bob'] });
        expect(first.status).toBe(201);
        expect(first.body.id).toBe('dm:alice,bob');
        const second = await bob('POST', '/api/channels', { channelType: 'direct', members: ['alice'] });
        expect(second.body.id).toBe('dm:alice,bob');
        expect((await alice('PATCH', '/api/channels/dm:alice,bob', { title: 'x' })).status).toBe(403);
      });

      it('adds, lists and removes members; only owners and admins manage them', async () => {
        const { alice, bob, client } = await start();
        const carol = client.as('carol');
        await alice('POST', '/api/channels', { channel: 'team', channelType: 'private' });
        expect((await bob('GET', '/api/channels/team/members')).status).toBe(403);
        // Bob cannot let himself into a private channel.
        expect((await bob('POST', '/api/channels/team/members', { user: 'bob' })).body.code).toBe('forbidden');

        const added = await alice('POST', '/api/channels/team/members', { user: 'bob' });
        expect(added.status).toBe(201);
        expect(added.body).toMatchObject({ channel: 'team', user: 'bob', role: 'member' });
        expect((await bob('POST', '/api/channels/team/members', { user: 'carol' })).status).toBe(403);
        await alice('POST', '/api/channels/team/members', { user: 'carol', role: 'admin' });
        expect((await carol('POST', '/api/channels/team/members', { user: 'dave' })).status).toBe(201);
        // A channel admin cannot make owners.
        expect((await carol('POST', '/api/channels/team/members', { user: 'erin', role: 'owner' })).status).toBe(403);

        const listed = await bob('GET', '/api/channels/team/members');
        expect(listed.body.members.map((m: { user: string; role: string }) => [m.user, m.role])).toEqual([
          ['alice', 'owner'],
          ['bob', 'member'],
          ['carol', 'admin'],
          ['dave', 'member'],
        ]);
        expect((await bob('DELETE', '/api/channels/team/members/dave')).status).toBe(403);
        expect((await carol('DELETE', '/api/channels/team/members/dave')).status).toBe(204);
        expect((await bob('DELETE', '/api/channels/team/members/bob')).status).toBe(204);
        expect((await alice('DELETE', '/api/channels/team/members/bob')).body.code).toBe('not_found');
        const after = await alice('GET', '/api/channels/team/members');
        expect(after.body.members.map((m: { user: string }) => m.user)).toEqual(['alice', 'carol']);

        // Anyone joins a public channel by adding themselves.
        await alice('POST', '/api/channels', { channel: 'lobby', channelType: 'public' });
        expect((await bob('POST', '/api/channels/lobby/members', { user: 'bob' })).status).toBe(201);
        expect((await bob('GET', '/api/channels/lobby/members')).body.members).toHaveLength(2);
      });

      it('shows presence of the channel\'s WebSocket subscribers', async () => {
        const { server, alice } = await start();
        await alice('POST', '/api/channels', { channel: 'lobby', channelType: 'public' });
        const phone = await WsTestClient.connect(server.wsUrl, 'bob');
        const laptop = await WsTestClient.connect(server.wsUrl, 'bob');
        sockets.push(phone, laptop);
        await phone.ok('subscribe', { channel: 'lobby' });
        await laptop.ok('subscribe', { channel: 'lobby' });
        const presence = await alice('GET', '/api/channels/lobby/presence');
        expect(presence.status).toBe(200);
        expect(presence.body.members).toEqual([{ user: 'bob', sessions: 2 }]);
        expect((await alice('GET', '/api/channels/nowhere/presence')).status).toBe(404);
      });
    });

    describe('REST API: messages', () => {
      it('publishes with cid once, pages history by seq, edits and deletes', async () => {
        const { server, alice, bob, client } = await start();
        await alice('POST', '/api/channels', { channel: 'general', channelType: 'public' });
        const watcher = await WsTestClient.connect(server.wsUrl, 'carol');
        sockets.push(watcher);
        await watcher.ok('subscribe', { channel: 'general' });

        const first = await alice('POST', '/api/channels/general/messages', { text: 'hello', data: { n: 1 }, cid: 'c-1' });
        expect(first.status).toBe(201);
        // The one ack of every stored write, on every wire.
        expect(first.body).toEqual({ channel: 'general', seq: 1, id: expect.any(String), createdAt: expect.any(Number), target: null, duplicate: false });
        const retry = await alice('POST', '/api/channels/general/messages', { text: 'hello', data: { n: 1 }, cid: 'c-1' });
        expect(retry.status).toBe(200);
        expect(retry.body).toEqual({ ...first.body, duplicate: true });
        // REST publishes reach WebSocket subscribers: one hub, one log.
        await watcher.waitUntil(() => watcher.events('general').length === 1);
        expect(watcher.events('general')[0]).toMatchObject({ seq: 1, id: first.body.id, author: 'alice', text: 'hello', data: { n: 1 }, cid: 'c-1' });

        for (let i = 2; i <= 12; i++) await bob('POST', '/api/channels/general/messages', { text: `m${i}`, replyTo: 1 });
        const newest = await bob('GET', '/api/channels/general/messages?limit=5');
        expect(newest.body.events.map((e: { seq: number }) => e.seq)).toEqual([8, 9, 10, 11, 12]);
        expect(newest.body.hasMore).toBe(true);
        const older = await bob('GET', '/api/channels/general/messages?limit=5&before=8');
        expect(older.body.events.map((e: { seq: number }) => e.seq)).toEqual([3, 4, 5, 6, 7]);
        const oldest = await bob('GET', '/api/channels/general/messages?limit=5&before=3');
        expect(oldest.body).toMatchObject({ hasMore: false });
        expect(oldest.body.events.map((e: { seq: number }) => e.seq)).toEqual([1, 2]);
        const forward = await bob('GET', '/api/channels/general/messages?after=10&limit=5');
        expect(forward.body.events.map((e: { seq: number }) => e.seq)).toEqual([11, 12]);

        expect((await bob('PATCH', '/api/channels/general/messages/1', { text: 'not mine' })).status).toBe(403);
        const edited = await alice('PATCH', '/api/channels/general/messages/1', { text: 'hello, world' });
        expect(edited.status).toBe(200);
        expect(edited.body).toMatchObject({ channel: 'general', seq: 13, target: 1, duplicate: false });
        expect((await alice('PATCH', '/api/channels/general/messages/99', { text: 'x' })).status).toBe(404);

        expect((await client.as('carol')('DELETE', '/api/channels/general/messages/2')).status).toBe(403);
        const removed = await bob('DELETE', '/api/channels/general/messages/2');
        expect(removed.status).toBe(200);
        expect(removed.body).toMatchObject({ channel: 'general', seq: 14, target: 2, duplicate: false });
        await watcher.waitUntil(() => watcher.events('general').some((e) => e.seq === 14));
        expect(watcher.events('general').filter((e) => e.seq >= 13).map((e) => [e.kind, e.target])).toEqual([
          ['edit', 1],
          ['delete', 2],
        ]);
        expect((await bob('DELETE', '/api/channels/general/messages/2')).body.code).toBe('conflict');
        const current = await bob('GET', '/api/channels/general/messages?after=0&limit=2');
        expect(current.body.events[0]).toMatchObject({ seq: 1, text: 'hello, world' });
        expect(current.body.events[0].editedAt).not.toBeNull();
        expect(current.body.events[1]).toMatchObject({ seq: 2, text: null });
        expect(current.body.events[1].deletedAt).not.toBeNull();
      });

      it('refuses what the channel rules refuse, with the protocol\'s codes', async () => {
        const { alice, bob, backend } = await start();
        await alice('POST', '/api/channels', { channel: 'news', channelType: 'public', publish: 'server' });
        await alice('POST', '/api/channels', { channel: 'team', channelType: 'private' });
        const notAllowed = await alice('POST', '/api/channels/news/messages', { text: 'hi' });
        expect(notAllowed.status).toBe(403);
        expect(notAllowed.body.code).toBe('forbidden');
        expect((await bob('POST', '/api/channels/team/messages', { text: 'hi' })).status).toBe(403);
        expect((await bob('GET', '/api/channels/team/messages')).status).toBe(403);
        expect((await bob('POST', '/api/channels/nowhere/messages', { text: 'hi' })).body.code).toBe('not_found');
        const tooLong = await alice('POST', '/api/channels/team/messages', { text: 'x'.repeat(4001) });
        expect(tooLong.status).toBe(413);
        expect(tooLong.body.code).toBe('too_large');
        const empty = await alice('POST', '/api/channels/team/messages', {});
        expect(empty.body).toMatchObject({ code: 'bad_request', message: 'A message needs text, data or attachments.' });
        expect((await backend('POST', '/api/channels/news/messages', { text: 'from the server' })).status).toBe(201);
        // Nothing refused was stored.
        expect((await alice('GET', '/api/channels/team/messages')).body.events).toEqual([]);
      });

      it('publishes a batch across channels; each message succeeds or fails on its own', async () => {
        const { alice } = await start();
        await alice('POST', '/api/channels', { channel: 'a', channelType: 'public' });
        await alice('POST', '/api/channels', { channel: 'b', channelType: 'public' });
        const batch = await alice('POST', '/api/messages/batch', {
          messages: [
            { channel: 'a', text: 'one', cid: 'x1' },
            { channel: 'b', text: 'two' },
            { channel: 'nowhere', text: 'lost' },
            { channel: 'a', text: 'three' },
            { channel: 'a', text: 'one again', cid: 'x1' },
          ],
        });
        expect(batch.status).toBe(200);
        const results = batch.body.results;
        expect(results.map((r: { ok: boolean; seq?: number; code?: string }) => (r.ok ? r.seq : r.code))).toEqual([
          1,
          1,
          'not_found',
          2,
          1,
        ]);
        expect(results[4].duplicate).toBe(true);
        expect((await alice('GET', '/api/channels/a/messages')).body.events.map((e: { text: string }) => e.text)).toEqual(['one', 'three']);
        expect((await alice('POST', '/api/messages/batch', { messages: [] })).body.code).toBe('bad_request');
      });
    });

    describe('REST API: server events', () => {
      it('lets an API key push to a server-only channel or to one user\'s inbox', async () => {
        const { server, alice, backend } = await start();
        await alice('POST', '/api/channels', { channel: 'alerts', channelType: 'public', publish: 'server' });
        const toChannel = await backend('POST', '/api/events', { channel: 'alerts', data: { level: 'warn' }, cid: 'alert-1' });
        expect(toChannel.status).toBe(201);
        expect(toChannel.body).toMatchObject({ channel: 'alerts', seq: 1, duplicate: false });
        const again = await backend('POST', '/api/events', { channel: 'alerts', data: { level: 'warn' }, cid: 'alert-1' });
        expect(again).toMatchObject({ status: 200, body: { seq: 1, duplicate: true } });
        expect((await alice('GET', '/api/channels/alerts/messages')).body.events).toMatchObject([
          { channel: 'alerts', seq: 1, author: null, data: { level: 'warn' }, cid: 'alert-1' },
        ]);

        const inbox = await WsTestClient.connect(server.wsUrl, 'bob');
        sockets.push(inbox);
        await inbox.ok('subscribe', { channel: 'user:bob' });
        const toUser = await backend('POST', '/api/events', { user: 'bob', text: 'your order shipped' });
        expect(toUser.status).toBe(201);
        expect(toUser.body).toMatchObject({ channel: 'user:bob', seq: 1 });
        await inbox.waitUntil(() => inbox.events('user:bob').length === 1);
        expect(inbox.events('user:bob')[0]!.text).toBe('your order shipped');
        // Alice reads only her own inbox.
        expect((await alice('GET', '/api/channels/user:bob/messages')).status).toBe(403);

        const byUser = await alice('POST', '/api/events', { user: 'bob', text: 'spoof' });
        expect(byUser.status).toBe(403);
        expect(byUser.body.code).toBe('forbidden');
        const both = await backend('POST', '/api/events', { channel: 'alerts', user: 'bob', text: 'x' });
        expect(both.status).toBe(400);
        expect(both.body.message).toContain('channel');
      });
    });

    describe('REST API: users', () => {
      it('lists, reads and renames users; only yourself unless you hold the API key', async () => {
        const { alice, bob, backend } = await start();
        // Users appear when they first act (an API key is no user).
        await alice('GET', '/api/channels');
        await bob('GET', '/api/channels');
        await backend('GET', '/api/channels');
        expect(await userIds(alice)).toEqual(['alice', 'bob']);

        const got = await bob('GET', '/api/users/alice');
        expect(got.status).toBe(200);
        expect(got.body).toMatchObject({ id: 'alice', name: 'alice' });
        expect((await bob('GET', '/api/users/nobody')).body.code).toBe('not_found');

        expect((await bob('PATCH', '/api/users/alice', { name: 'Mallory' })).status).toBe(403);
        const renamed = await alice('PATCH', '/api/users/alice', { name: 'Alice Liddell' });
        expect(renamed.status).toBe(200);
        expect(renamed.body.name).toBe('Alice Liddell');
        expect((await backend('PATCH', '/api/users/bob', { name: 'Robert' })).body.name).toBe('Robert');
        expect((await backend('PATCH', '/api/users/nobody', { name: 'X' })).status).toBe(404);

        const page = await alice('GET', '/api/users?limit=1');
        expect(page.body.users).toHaveLength(1);
        expect(page.body.next).toBe(page.body.users[0].id);
      });
    });

    async function userIds(call: (method: string, path: string) => Promise<Answer>): Promise<string[]> {
      const answer = await call('GET', '/api/users?limit=200');
      expect(answer.status).toBe(200);
      return answer.body.users.map((u: { id: string }) => u.id);
    }

    describe('REST API: commands without a REST route of their own before', () => {
      it('pings, joins and leaves a channel, and sends typing to the channel\'s subscribers', async () => {
        const { server, alice, bob, client } = await start();
        const ping = await bob('GET', '/api/ping');
        expect(ping.status).toBe(200);
        expect(ping.body.at).toBeGreaterThan(Date.now() - 60_000);

        await alice('POST', '/api/channels', { channel: 'lobby', channelType: 'public' });
        await alice('POST', '/api/channels', { channel: 'team', channelType: 'private' });
        const joined = await bob('POST', '/api/channels/lobby/join');
        expect(joined).toMatchObject({ status: 200, body: { channel: 'lobby', user: 'bob', role: 'member' } });
        expect((await bob('POST', '/api/channels/team/join')).body.code).toBe('forbidden');
        expect((await bob('POST', '/api/channels/nowhere/join')).body.code).toBe('not_found');
        const members = async (channel: string) =>
          (await alice('GET', `/api/channels/${channel}/members`)).body.members.map((m: { user: string }) => m.user);
        expect(await members('lobby')).toEqual(['alice', 'bob']);
        expect(await members('team')).toEqual(['alice']);
        const left = await bob('POST', '/api/channels/lobby/leave');
        expect(left).toEqual({ status: 204, body: null });
        expect(await members('lobby')).toEqual(['alice']);
        // Joining is a user's act: an API key is no member.
        expect((await client.server()('POST', '/api/channels/lobby/join')).body.code).toBe('bad_request');

        const watcher = await WsTestClient.connect(server.wsUrl, 'alice');
        sockets.push(watcher);
        await watcher.ok('subscribe', { channel: 'lobby' });
        await watcher.ok('subscribe', { channel: 'team' });
        expect((await client.as('eve')('POST', '/api/channels/team/typing')).body.code).toBe('forbidden');
        expect(await bob('POST', '/api/channels/lobby/typing')).toEqual({ status: 204, body: null });
        expect(await watcher.waitFor((f) => f.type === 'typing')).toMatchObject({ type: 'typing', channel: 'lobby', user: 'bob' });
        // Eve's refused typing reached nobody: the only typing frame is bob's.
        expect(watcher.frames.filter((f) => f.type === 'typing').map((f) => f.user)).toEqual(['bob']);
      });
    });

    describe('REST API: auth and validation', () => {
      it('answers 401 on every route without credentials or with a bad token, and changes nothing', async () => {
        const { alice, client } = await start();
        await alice('POST', '/api/channels', { channel: 'general', channelType: 'public' });
        await alice('POST', '/api/channels/general/messages', { text: 'keep me' });
        const anonymous = client.anonymous();
        const badToken = client.with({ authorization: 'Bearer not-a-valid-token' });
        const badKey = client.with({ 'x-switchboard-key': 'wrong-key-0123456789' });
        const malformed = client.with({ authorization: 'Basic abc' });
        const routes = restRoutes();
        expect(routes.length).toBeGreaterThan(30);
        for (const { method, path } of routes) {
          const sample = path.replace(/:channel/g, 'general').replace(/:seq/g, '1').replace(/:\w+/g, 'alice');
          // A body that would be refused anyway: credentials are checked first, so its shape leaks nothing.
          const body = method === 'GET' || method === 'DELETE' ? undefined : { channelType: 42 };
          for (const caller of [anonymous, badToken, badKey, malformed]) {
            const answer = await caller(method, sample, body);
            expect(answer.status, `${method} ${sample}`).toBe(401);
            expect(answer.body.code).toBe('unauthorized');
            expect(typeof answer.body.message).toBe('string');
          }
        }
        // Even a body that is not JSON is refused as unauthorized first.
        expect((await anonymous('POST', '/api/channels', '{"channelType": ')).status).toBe(401);
        const history = await alice('GET', '/api/channels/general/messages');
        expect(history.body.events.map((e: { text: string }) => e.text)).toEqual(['keep me']);
        expect((await alice('GET', '/api/channels/general')).body.title).toBeNull();
      });

      it('serves every command that has a REST binding: no route is written by hand', async () => {
        const { alice } = await start();
        const routes = restRoutes();
        expect(routes.map((r) => r.name)).toEqual(
          COMMAND_NAMES.filter((name) => isServed(BINDINGS[name].rest)),
        );
        for (const { name, method, path } of routes) {
          const sample = path.replace(/:\w+/g, 'nowhere');
          const answer = await alice(method, sample, method === 'GET' || method === 'DELETE' ? undefined : {});
          const what = `${name}: ${method} ${sample} -> ${answer.status} ${JSON.stringify(answer.body)}`;
          expect(isRouteMiss(answer), what).toBe(false);
          if (answer.status >= 400) {
            // The command answered: the protocol's error envelope, with the code's own status.
            expect(Object.keys(answer.body).sort(), what).toEqual(['code', 'message']);
            expect(Object.keys(ERROR_CODES), what).toContain(answer.body.code);
            expect(answer.status, what).toBe(ERROR_CODES[answer.body.code as ErrorCode].http);
          }
        }
        // The check above can fail: a method no binding names is Fastify's own route miss.
        expect(isRouteMiss(await alice('PUT', '/api/ping'))).toBe(true);
      });

      it('counts every command against the user\'s budget, a batch once per message; API keys pass', async () => {
        const server = await startTestServer({ overrides: { apiKeys: [API_KEY], limits: { messagesPerSecond: 1, messageBurst: 4 } } });
        const client = api(server);
        const alice = client.as('alice');
        expect((await alice('POST', '/api/channels', { channel: 'general', channelType: 'public' })).status).toBe(201);
        const batch = (n: number) => ({ messages: Array.from({ length: n }, (_, i) => ({ channel: 'general', text: `b${i}` })) });
        // Three tokens left: a batch of four costs four, so it is refused whole; nothing is stored.
        const tooBig = await alice('POST', '/api/messages/batch', batch(4));
        expect(tooBig).toMatchObject({ status: 429, body: { code: 'rate_limited' } });
        expect((await alice('POST', '/api/messages/batch', batch(2))).status).toBe(200);
        expect((await alice('POST', '/api/channels/general/messages', { text: 'one' })).status).toBe(201);
        const refused = await alice('GET', '/api/channels/general');
        expect(refused.status).toBe(429);
        expect(refused.body.code).toBe('rate_limited');
        // Another user has a budget of their own, and the backend is not limited.
        expect((await client.as('bob')('GET', '/api/channels/general')).status).toBe(200);
        for (let i = 0; i < 6; i++) expect((await client.server()('POST', '/api/events', { channel: 'general', text: `s${i}` })).status).toBe(201);
        expect((await client.server()('GET', '/api/channels/general/messages')).body.events.map((e: { text: string }) => e.text)).toEqual([
          'b0',
          'b1',
          'one',
          's0',
          's1',
          's2',
          's3',
          's4',
          's5',
        ]);
      });

      it('turns malformed requests into bad_request naming the field, in the words of every wire', async () => {
        const { server, alice, backend } = await start();
        await alice('POST', '/api/channels', { channel: 'general', channelType: 'public' });
        await alice('POST', '/api/channels/general/messages', { text: 'first' });
        const cases: [string, string, unknown, string][] = [
          ['POST', '/api/channels', { channelType: 'castle' }, 'Invalid channelType:'],
          ['POST', '/api/channels', { channelType: 'public', channel: 'has space' }, 'Invalid channel:'],
          ['POST', '/api/channels', { channelType: 'public', colour: 'red' }, 'Invalid request: Unrecognized key: "colour"'],
          ['POST', '/api/channels', [{ channelType: 'public' }], 'Invalid request: send the body as a JSON object.'],
          ['POST', '/api/channels/general/messages', { text: 42 }, 'Invalid text:'],
          ['POST', '/api/channels/general/messages', { text: 'x', replyTo: -1 }, 'Invalid replyTo:'],
          ['POST', '/api/channels/general/messages', { channel: 'other', text: 'x' }, 'Invalid channel: it is given in the path'],
          ['GET', '/api/channels/general/messages?limit=0', undefined, 'Invalid limit:'],
          ['GET', '/api/channels/general/messages?before=abc', undefined, 'Invalid before:'],
          ['GET', '/api/channels/general/messages?before=', undefined, 'Invalid before:'],
          ['GET', '/api/channels/general/messages?limit=5&limit=6', undefined, 'Invalid limit:'],
          ['GET', '/api/channels/general/messages?colour=red', undefined, 'Invalid request: Unrecognized key: "colour"'],
          ['PATCH', '/api/channels/general/messages/zero', { text: 'x' }, 'Invalid seq:'],
          ['GET', '/api/channels/bad%20id', undefined, 'Invalid channel:'],
          ['POST', '/api/channels/general/members', { user: '' }, 'Invalid user:'],
          ['PATCH', '/api/users/alice', { name: '' }, 'Invalid name:'],
          ['GET', '/api/users?limit=500', undefined, 'Invalid limit:'],
          ['GET', '/api/users/bad%20user', undefined, 'Invalid user:'],
          ['DELETE', '/api/channels/general/members/bad%20user', undefined, 'Invalid user:'],
          ['GET', '/api/channels/bad%20id/presence', undefined, 'Invalid channel:'],
          ['PATCH', '/api/channels/general', { publish: 'everyone' }, 'Invalid publish:'],
          ['GET', '/api/channels/general/reactions?seqs=1,x', undefined, 'Invalid seqs.1:'],
          ['POST', '/api/messages/batch', { messages: {} }, 'Invalid messages:'],
        ];
        for (const [method, path, body, message] of cases) {
          const answer = await alice(method, path, body);
          expect(answer.status, `${method} ${path}`).toBe(400);
          expect(answer.body.code).toBe('bad_request');
          expect(answer.body.message, `${method} ${path}`).toContain(message);
        }
        const extra = await backend('POST', '/api/events', { channel: 'general', text: 'x', extra: 1 });
        expect(extra).toMatchObject({ status: 400, body: { code: 'bad_request', message: 'Invalid request: Unrecognized key: "extra".' } });
        // Numbers and lists in the path and query arrive as text and are read as the input asks.
        expect((await alice('GET', '/api/channels/general/reactions?seqs=1,1')).body).toEqual({ reactions: {} });
        expect((await alice('GET', '/api/channels/general/reactions?seqs=1&seqs=1')).status).toBe(200);
        expect((await alice('GET', '/api/channels/general/messages?after=0&limit=1')).body.events).toHaveLength(1);

        // One validation for every wire: /ws refuses the same input in the same words.
        const socket = await WsTestClient.connect(server.wsUrl, 'alice');
        sockets.push(socket);
        const overWs = await socket.request('publish', { channel: 'general', text: 42 });
        const overRest = await alice('POST', '/api/channels/general/messages', { text: 42 });
        expect(overWs).toMatchObject({ type: 'error', code: 'bad_request', message: overRest.body.message });

        const notJson = await alice('POST', '/api/channels', '{"channelType": "public"');
        expect(notJson).toMatchObject({ status: 400, body: { code: 'bad_request', message: 'The body is not valid JSON.' } });
        // Nothing was created by any of it.
        expect((await alice('GET', '/api/channels')).body.channels.map((c: { id: string }) => c.id)).toEqual(['general']);
        expect((await alice('GET', '/api/channels/general')).body.lastSeq).toBe(1);
      });
    });
  });
}

/** Every REST route protocol/bindings.ts gives a command, in the protocol's order. */
function restRoutes(): { name: CommandName; method: string; path: string }[] {
  return COMMAND_NAMES.flatMap((name) => {
    const route = BINDINGS[name].rest;
    return isServed(route) ? [{ name, method: route.method, path: route.path }] : [];
  });
}

/** Fastify's own 404 for a method and path no route matches (not a command's `not_found`). */
function isRouteMiss(answer: Answer): boolean {
  return answer.status === 404 && /^Route \w+:\S+ not found$/.test(String(answer.body?.message));
}
