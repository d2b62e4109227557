import { afterEach, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
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
        const created = await alice('POST', '/api/channels', { id: 'general', type: 'public', title: 'General' });
        expect(created.status).toBe(201);
        expect(created.body).toMatchObject({ id: 'general', type: 'public', title: 'General', publish: 'anyone', createdBy: 'alice', lastSeq: 0 });
        expect((await alice('POST', '/api/channels', { id: 'general', type: 'public' })).body.code).toBe('conflict');
        expect((await alice('POST', '/api/channels', { id: 'user:bob', type: 'public' })).body.code).toBe('bad_request');

        for (const id of ['b-room', 'c-room', 'd-room']) await alice('POST', '/api/channels', { id, type: 'public' });
        await alice('POST', '/api/channels', { id: 'secret', type: 'private' });
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
        const again = await alice('POST', '/api/channels', { id: 'general', type: 'public' });
        expect(again.body.lastSeq).toBe(0);
        expect((await alice('GET', '/api/channels/general/messages')).body.events).toEqual([]);
      });

      it('opens one direct channel for two users whoever asks', async () => {
        const { alice, bob } = await start();
        const first = await alice('POST', '/api/channels', { type: 'direct', members: ['bob'] });
        expect(first.status).toBe(201);
        expect(first.body.id).toBe('dm:alice,bob');
        const second = await bob('POST', '/api/channels', { type: 'direct', members: ['alice'] });
        expect(second.body.id).toBe('dm:alice,bob');
        expect((await alice('PATCH', '/api/channels/dm:alice,bob', { title: 'x' })).status).toBe(403);
      });

      it('adds, lists and removes members; only owners and admins manage them', async () => {
        const { alice, bob, client } = await start();
        const carol = client.as('carol');
        await alice('POST', '/api/channels', { id: 'team', type: 'private' });
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
        await alice('POST', '/api/channels', { id: 'lobby', type: 'public' });
        expect((await bob('POST', '/api/channels/lobby/members', { user: 'bob' })).status).toBe(201);
        expect((await bob('GET', '/api/channels/lobby/members')).body.members).toHaveLength(2);
      });

      it('shows presence of the channel\'s WebSocket subscribers', async () => {
        const { server, alice } = await start();
        await alice('POST', '/api/channels', { id: 'lobby', type: 'public' });
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
        await alice('POST', '/api/channels', { id: 'general', type: 'public' });
        const watcher = await WsTestClient.connect(server.wsUrl, 'carol');
        sockets.push(watcher);
        await watcher.ok('subscribe', { channel: 'general' });

        const first = await alice('POST', '/api/channels/general/messages', { text: 'hello', data: { n: 1 }, cid: 'c-1' });
        expect(first.status).toBe(201);
        expect(first.body).toMatchObject({ seq: 1, duplicate: false, event: { seq: 1, author: 'alice', text: 'hello', data: { n: 1 }, cid: 'c-1' } });
        const retry = await alice('POST', '/api/channels/general/messages', { text: 'hello', data: { n: 1 }, cid: 'c-1' });
        expect(retry.status).toBe(200);
        expect(retry.body).toMatchObject({ seq: 1, duplicate: true });
        // REST publishes reach WebSocket subscribers: one hub, one log.
        await watcher.waitUntil(() => watcher.events('general').length === 1);

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
        expect(edited.body).toMatchObject({ kind: 'edit', target: 1, seq: 13, text: 'hello, world' });
        expect((await alice('PATCH', '/api/channels/general/messages/99', { text: 'x' })).status).toBe(404);

        expect((await client.as('carol')('DELETE', '/api/channels/general/messages/2')).status).toBe(403);
        const removed = await bob('DELETE', '/api/channels/general/messages/2');
        expect(removed.status).toBe(200);
        expect(removed.body).toMatchObject({ kind: 'delete', target: 2 });
        expect((await bob('DELETE', '/api/channels/general/messages/2')).body.code).toBe('conflict');
        const current = await bob('GET', '/api/channels/general/messages?after=0&limit=2');
        expect(current.body.events[0]).toMatchObject({ seq: 1, text: 'hello, world' });
        expect(current.body.events[0].editedAt).not.toBeNull();
        expect(current.body.events[1]).toMatchObject({ seq: 2, text: null });
        expect(current.body.events[1].deletedAt).not.toBeNull();
      });

      it('refuses what the channel rules refuse, with the protocol\'s codes', async () => {
        const { alice, bob, backend } = await start();
        await alice('POST', '/api/channels', { id: 'news', type: 'public', publish: 'server' });
        await alice('POST', '/api/channels', { id: 'team', type: 'private' });
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
        expect(empty.body).toMatchObject({ code: 'bad_request', message: 'A message needs text or data.' });
        expect((await backend('POST', '/api/channels/news/messages', { text: 'from the server' })).status).toBe(201);
        // Nothing refused was stored.
        expect((await alice('GET', '/api/channels/team/messages')).body.events).toEqual([]);
      });

      it('publishes a batch across channels; each message succeeds or fails on its own', async () => {
        const { alice } = await start();
        await alice('POST', '/api/channels', { id: 'a', type: 'public' });
        await alice('POST', '/api/channels', { id: 'b', type: 'public' });
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
        await alice('POST', '/api/channels', { id: 'alerts', type: 'public', publish: 'server' });
        const toChannel = await backend('POST', '/api/events', { channel: 'alerts', data: { level: 'warn' }, cid: 'alert-1' });
        expect(toChannel.status).toBe(201);
        expect(toChannel.body.event).toMatchObject({ channel: 'alerts', seq: 1, author: null, data: { level: 'warn' } });
        expect((await backend('POST', '/api/events', { channel: 'alerts', data: { level: 'warn' }, cid: 'alert-1' })).status).toBe(200);

        const inbox = await WsTestClient.connect(server.wsUrl, 'bob');
        sockets.push(inbox);
        await inbox.ok('subscribe', { channel: 'user:bob' });
        const toUser = await backend('POST', '/api/events', { user: 'bob', text: 'your order shipped' });
        expect(toUser.status).toBe(201);
        expect(toUser.body.event.channel).toBe('user:bob');
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

    describe('REST API: auth and validation', () => {
      const routes: [string, string, unknown?][] = [
        ['POST', '/api/channels', { type: 'public' }],
        ['GET', '/api/channels'],
        ['GET', '/api/channels/general'],
        ['PATCH', '/api/channels/general', { title: 'x' }],
        ['DELETE', '/api/channels/general'],
        ['GET', '/api/channels/general/members'],
        ['POST', '/api/channels/general/members', { user: 'bob' }],
        ['DELETE', '/api/channels/general/members/bob'],
        ['GET', '/api/channels/general/presence'],
        ['POST', '/api/channels/general/messages', { text: 'x' }],
        ['GET', '/api/channels/general/messages'],
        ['PATCH', '/api/channels/general/messages/1', { text: 'x' }],
        ['DELETE', '/api/channels/general/messages/1'],
        ['POST', '/api/messages/batch', { messages: [{ channel: 'general', text: 'x' }] }],
        ['POST', '/api/events', { channel: 'general', text: 'x' }],
        ['GET', '/api/users'],
        ['GET', '/api/users/alice'],
        ['PATCH', '/api/users/alice', { name: 'x' }],
      ];

      it('answers 401 on every endpoint without credentials or with a bad token, and changes nothing', async () => {
        const { alice, client } = await start();
        await alice('POST', '/api/channels', { id: 'general', type: 'public' });
        await alice('POST', '/api/channels/general/messages', { text: 'keep me' });
        const anonymous = client.anonymous();
        const badToken = client.with({ authorization: 'Bearer not-a-valid-token' });
        const badKey = client.with({ 'x-switchboard-key': 'wrong-key-0123456789' });
        const malformed = client.with({ authorization: 'Basic abc' });
        for (const [method, path, body] of routes) {
          for (const caller of [anonymous, badToken, badKey, malformed]) {
            const answer = await caller(method, path, body);
            expect(answer.status, `${method} ${path}`).toBe(401);
            expect(answer.body.code).toBe('unauthorized');
            expect(typeof answer.body.message).toBe('string');
          }
        }
        // Even an invalid body is refused as unauthorized first: nothing about the API leaks.
        expect((await anonymous('POST', '/api/channels', { type: 42 })).status).toBe(401);
        const history = await alice('GET', '/api/channels/general/messages');
        expect(history.body.events.map((e: { text: string }) => e.text)).toEqual(['keep me']);
        expect((await alice('GET', '/api/channels/general')).status).toBe(200);
      });

      it('limits each user to the WebSocket message rate; API keys pass', async () => {
        const server = await startTestServer({ overrides: { apiKeys: [API_KEY], limits: { messagesPerSecond: 1, messageBurst: 3 } } });
        const client = api(server);
        const alice = client.as('alice');
        expect((await alice('POST', '/api/channels', { id: 'general', type: 'public' })).status).toBe(201);
        expect((await alice('POST', '/api/channels/general/messages', { text: 'one' })).status).toBe(201);
        expect((await alice('POST', '/api/channels/general/messages', { text: 'two' })).status).toBe(201);
        const refused = await alice('POST', '/api/channels/general/messages', { text: 'three' });
        expect(refused.status).toBe(429);
        expect(refused.body.code).toBe('rate_limited');
        // Another user has a bucket of their own, and the backend is not limited.
        expect((await client.as('bob')('GET', '/api/channels/general')).status).toBe(200);
        for (let i = 0; i < 5; i++) expect((await client.server()('POST', '/api/events', { channel: 'general', text: `s${i}` })).status).toBe(201);
        expect((await client.server()('GET', '/api/channels/general/messages')).body.events.map((e: { text: string }) => e.text)).toEqual([
          'one',
          'two',
          's0',
          's1',
          's2',
          's3',
          's4',
        ]);
      });

      it('turns malformed requests into bad_request naming the field', async () => {
        const { alice } = await start();
        await alice('POST', '/api/channels', { id: 'general', type: 'public' });
        const cases: [string, string, unknown, string][] = [
          ['POST', '/api/channels', { type: 'castle' }, 'body.type'],
          ['POST', '/api/channels', { type: 'public', id: 'has space' }, 'body.id'],
          ['POST', '/api/channels', { type: 'public', colour: 'red' }, 'body'],
          ['POST', '/api/channels/general/messages', { text: 42 }, 'body.text'],
          ['POST', '/api/channels/general/messages', { text: 'x', replyTo: -1 }, 'body.replyTo'],
          ['GET', '/api/channels/general/messages?limit=0', undefined, 'querystring.limit'],
          ['GET', '/api/channels/general/messages?before=abc', undefined, 'querystring.before'],
          ['PATCH', '/api/channels/general/messages/zero', { text: 'x' }, 'params.seq'],
          ['GET', '/api/channels/bad%20id', undefined, 'params.channel'],
          ['POST', '/api/channels/general/members', { user: '' }, 'body.user'],
          ['PATCH', '/api/users/alice', { name: '' }, 'body.name'],
          ['GET', '/api/users?limit=500', undefined, 'querystring.limit'],
          ['GET', '/api/users/bad%20user', undefined, 'params.user'],
          ['DELETE', '/api/channels/general/members/bad%20user', undefined, 'params.user'],
          ['GET', '/api/channels/bad%20id/presence', undefined, 'params.channel'],
          ['PATCH', '/api/channels/general', { publish: 'everyone' }, 'body.publish'],
          ['POST', '/api/events', { channel: 'general', text: 'x', extra: 1 }, 'body'],
          ['POST', '/api/messages/batch', { messages: [{ channel: 'general', text: 1 }] }, 'body.messages.0.text'],
        ];
        for (const [method, path, body, field] of cases) {
          const answer = await alice(method, path, body);
          expect(answer.status, `${method} ${path}`).toBe(400);
          expect(answer.body.code).toBe('bad_request');
          expect(answer.body.message, `${method} ${path}`).toContain(`Invalid ${field}`);
        }
        const notJson = await alice('POST', '/api/channels', '{"type": "public"');
        expect(notJson).toMatchObject({ status: 400, body: { code: 'bad_request' } });
        expect(notJson.body.message).not.toMatch(/at |\.ts|\.js/);
        // Nothing was created by any of it.
        expect((await alice('GET', '/api/channels')).body.channels.map((c: { id: string }) => c.id)).toEqual(['general']);
        expect((await alice('GET', '/api/channels/general')).body.lastSeq).toBe(0);
      });
    });
  });
}
