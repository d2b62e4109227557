import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { describe, expect, it, onTestFinished } from 'vitest';
import { reactionWriter } from '../src/chat/chat-store.js';
import { chatMigrations } from '../src/chat/migrations/index.js';
import { KyselyStore } from '../src/store/kysely-store.js';
import * as initial from '../src/store/migrations/0001-initial.js';
import { logMigrations } from '../src/store/migrations/index.js';
import { openDatabase } from '../src/store/open-database.js';
import { as, call, grpcClient, StreamRecorder } from './helpers/grpc-test-client.js';
import { createTestSchema } from './helpers/postgres.js';
import { restAs } from './helpers/rest-as.js';
import { serviceUrl } from './helpers/services.js';
import { SseClient } from './helpers/sse-client.js';
import { startTestServer, type TestServer } from './helpers/test-server.js';
import { useWsClients } from './helpers/ws-test-client.js';

/**
 * What the web app needs from the server beyond the log itself, on /ws, REST and gRPC, on
 * SQLite and PostgreSQL: a channel's topic, your role in each listed channel, a thread's
 * summary on its root, a newcomer's read position at the newest message, history around a seq.
 */
const clients = useWsClients();
const postgresUrl = serviceUrl('TEST_DATABASE_URL');

async function postgresSchema(): Promise<string> {
  const schema = await createTestSchema(postgresUrl!, 'extras');
  onTestFinished(() => schema.drop());
  return schema.url;
}

/** A fresh, empty database of each kind, gone after the test. */
const databases: { name: string; url: () => Promise<string>; start: () => Promise<TestServer> }[] = [
  {
    name: 'sqlite',
    async url() {
      const dir = mkdtempSync(join(tmpdir(), 'switchboard-extras-'));
      onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
      return `sqlite:${join(dir, 'test.db')}`;
    },
    start: () => startTestServer(),
  },
  ...(postgresUrl
    ? [
        {
          name: 'postgres',
          url: postgresSchema,
          start: async () => startTestServer({ databaseUrl: await postgresSchema() }),
        },
      ]
    : []),
];

const rest = restAs;

describe.each(databases)('channel extras on $name', ({ start, url }) => {
  it('migration 0008 counts the threads a database held before it', async () => {
    const databaseUrl = await url();
    const before = await openDatabase(databaseUrl, [() => ({ '0001-initial': initial }), chatMigrations]);
    const db = before.tables<any>();
    await db.insertInto('channels').values({ id: 'old', type: 'public', title: null, publish: 'anyone', created_by: null, created_at: 1, last_seq: 4 }).execute();
    const row = (seq: number, replyTo: number | null) => ({
      channel: 'old',
      seq,
      kind: 'message',
      id: `e${seq}`,
      author: 'alice',
      text: `m${seq}`,
      data: null,
      cid: null,
      reply_to: replyTo,
      target: null,
      created_at: seq * 1000,
      edited_at: null,
      deleted_at: null,
    });
    await db.insertInto('events').values([row(1, null), row(2, 1), row(3, 1), row(4, null)]).execute();
    await before.close();

    const after = await openDatabase(databaseUrl, [logMigrations, chatMigrations]);
    onTestFinished(() => after.close());
    const events = await new KyselyStore(after, { annotations: [reactionWriter] }).readEvents('old', { after: 0, limit: 10, messagesOnly: true });
    expect(events.map((e) => e.thread ?? null)).toEqual([{ replies: 2, lastReplySeq: 3, lastReplyAt: 3000 }, null, null, null]);
    expect((await new KyselyStore(after, { annotations: [reactionWriter] }).getChannel('old'))?.topic).toBeNull();
  });

  it('a topic is set on create and update, cleared with "", and travels on every wire and in live lists', async () => {
    const server = await start();
    const alice = await clients.connect(server.wsUrl, 'alice');
    const bob = await clients.connect(server.wsUrl, 'bob');
    const created = await alice.ok('channel.create', { channel: 'news', channelType: 'public', title: 'News', topic: 'What shipped' });
    expect(created).toMatchObject({ id: 'news', title: 'News', topic: 'What shipped' });
    await bob.ok('list.subscribe', { list: 'channels' });

    const api = rest(server, 'alice');
    const patched = await api('PATCH', '/api/channels/news', { topic: 'Releases and incidents' });
    expect(patched).toMatchObject({ status: 200, body: { topic: 'Releases and incidents', title: 'News' } });
    const update = await bob.waitFor((f) => f.type === 'list' && f.action === 'update' && (f.item as { topic?: string }).topic === 'Releases and incidents');
    // A change of the channel itself says nothing about bob's membership.
    expect(update.item).not.toHaveProperty('role');

    const client = grpcClient(server);
    expect(await call(client, 'GetChannel', { channel: 'news' }, as('bob'))).toMatchObject({ topic: 'Releases and incidents' });
    expect(await call(client, 'UpdateChannel', { channel: 'news', topic: 'Set over gRPC' }, as('alice'))).toMatchObject({ topic: 'Set over gRPC' });
    // An empty topic is none (gRPC reads '' as unset, so /ws and REST clear it).
    expect(await alice.ok('channel.update', { channel: 'news', topic: '' })).toMatchObject({ topic: null });
    expect(await call(client, 'GetChannel', { channel: 'news' }, as('bob'))).not.toHaveProperty('topic');
    expect(await bob.ok('channel.get', { channel: 'news' })).toMatchObject({ topic: null, title: 'News' });

    // Only owners and admins change it; a topic has a length limit.
    expect((await bob.request('channel.update', { channel: 'news', topic: 'mine now' })).code).toBe('forbidden');
    const tooLong = await api('PATCH', '/api/channels/news', { topic: 'x'.repeat(501) });
    expect(tooLong.status).toBe(400);
    expect(await alice.ok('channel.get', { channel: 'news' })).toMatchObject({ topic: null });
  });

  it('channel.list and the live channel list give the caller role per channel, kept up to date', async () => {
    const server = await start();
    const alice = await clients.connect(server.wsUrl, 'alice');
    const bob = await clients.connect(server.wsUrl, 'bob');
    await alice.ok('channel.create', { channel: 'lobby', channelType: 'public' });
    await alice.ok('channel.create', { channel: 'staff', channelType: 'private', members: ['bob'] });
    await bob.ok('channel.create', { channel: 'bobs', channelType: 'public' });

    const roles = (channels: { id: string; role: string | null }[]) => Object.fromEntries(channels.map((c) => [c.id, c.role]));
    expect(roles((await bob.ok<{ channels: never[] }>('channel.list', {})).channels)).toEqual({ bobs: 'owner', lobby: null, staff: 'member' });
    expect(roles((await rest(server, 'alice')('GET', '/api/channels')).body.channels)).toEqual({ bobs: null, lobby: 'owner', staff: 'owner' });
    const listed = await call<{ channels: { id: string; role?: string }[] }>(grpcClient(server), 'ListChannels', {}, as('bob'));
    expect(Object.fromEntries(listed.channels.map((c) => [c.id, c.role ?? null]))).toEqual({
      bobs: 'MEMBER_ROLE_OWNER',
      lobby: null,
      staff: 'MEMBER_ROLE_MEMBER',
    });

    const snapshot = await bob.ok<{ items: { id: string; role: string | null }[] }>('list.subscribe', { list: 'channels' });
    expect(roles(snapshot.items)).toEqual({ bobs: 'owner', lobby: null, staff: 'member' });
    // Joining a public channel, a new role, leaving: an update to bob alone, with his role.
    await bob.ok('channel.join', { channel: 'lobby' });
    await bob.waitFor((f) => f.type === 'list' && f.action === 'update' && (f.item as { id: string; role?: string }).role === 'member');
    await alice.ok('members.add', { channel: 'staff', user: 'bob', role: 'admin' });
    const promoted = await bob.waitFor((f) => f.type === 'list' && (f.item as { role?: string }).role === 'admin');
    expect(promoted).toMatchObject({ action: 'add', item: { id: 'staff' } });
    await bob.ok('channel.leave', { channel: 'lobby' });
    const left = await bob.waitFor((f) => f.type === 'list' && f.action === 'update' && (f.item as { role?: unknown }).role === null);
    expect(left.item).toMatchObject({ id: 'lobby' });

    // gRPC's FollowList carries the same.
    const recorder = new StreamRecorder(grpcClient(server), { list: 'LIST_NAME_CHANNELS' }, as('bob'), 'FollowList');
    const subscribed = await recorder.live<{ items: { listedChannel: { id: string; role?: string } }[] }>();
    expect(Object.fromEntries(subscribed.items.map((i) => [i.listedChannel.id, i.listedChannel.role ?? null]))).toEqual({
      bobs: 'MEMBER_ROLE_OWNER',
      lobby: null,
      staff: 'MEMBER_ROLE_ADMIN',
    });
    recorder.call.cancel();
  });

  it('a thread root carries its reply count and last reply time in history, thread and search, on every wire', async () => {
    const server = await start();
    const alice = await clients.connect(server.wsUrl, 'alice');
    await alice.ok('channel.create', { channel: 'eng', channelType: 'public' });
    const root = await alice.ok<{ seq: number }>('publish', { channel: 'eng', text: 'deploy plan' });
    const other = await alice.ok<{ seq: number }>('publish', { channel: 'eng', text: 'unrelated' });
    const api = rest(server, 'bob');
    const first = await api('POST', '/api/channels/eng/messages', { text: 'looks good', replyTo: root.seq });
    const client = grpcClient(server);
    const last = await call<{ seq: number; createdAt: number }>(client, 'Publish', { channel: 'eng', text: 'ship it', replyTo: root.seq }, as('carol'));
    // A batch with two replies to one root counts both.
    await alice.ok('publish.batch', {
      messages: [
        { channel: 'eng', text: 'one', replyTo: other.seq },
        { channel: 'eng', text: 'two', replyTo: other.seq },
      ],
    });
    await alice.ok('delete', { channel: 'eng', seq: first.body.seq });

    const history = await alice.ok<{ events: { seq: number; thread?: unknown }[] }>('history', { channel: 'eng' });
    const bySeq = new Map(history.events.map((e) => [e.seq, e]));
    expect(bySeq.get(root.seq)!.thread).toEqual({ replies: 2, lastReplySeq: last.seq, lastReplyAt: last.createdAt });
    expect(bySeq.get(other.seq)!.thread).toMatchObject({ replies: 2 });
    // Replies themselves have none; nor does a message nobody answered.
    expect(bySeq.get(last.seq)).not.toHaveProperty('thread');

    const viaRest = await api('GET', '/api/channels/eng/messages?limit=1&before=' + (root.seq + 1));
    expect(viaRest.body.events[0].thread).toEqual({ replies: 2, lastReplySeq: last.seq, lastReplyAt: last.createdAt });
    const viaGrpc = await call<{ events: { seq: number; thread?: { replies: number } }[] }>(client, 'History', { channel: 'eng' }, as('carol'));
    expect(viaGrpc.events.find((e) => e.seq === root.seq)!.thread).toEqual({ replies: 2, lastReplySeq: last.seq, lastReplyAt: last.createdAt });
    expect(viaGrpc.events.find((e) => e.seq === last.seq)!.thread).toBeUndefined();
    expect((await alice.ok<{ root: { thread: unknown } }>('thread', { channel: 'eng', seq: root.seq })).root.thread).toMatchObject({ replies: 2 });
    // A resume replays the root as stored, summary included: on /ws and over SSE.
    const late = await clients.connect(server.wsUrl, 'dave');
    await late.ok('subscribe', { channel: 'eng', since: 0 });
    expect(late.events('eng').find((e) => e.seq === root.seq)).toMatchObject({ thread: { replies: 2 } });
    const sse = new SseClient(`${server.url}/stream/eng?user=erin`, { headers: { 'last-event-id': '0' } });
    await sse.ready();
    const replayed = sse.events<{ seq: number; thread?: unknown; replyTo: number | null }>();
    expect(replayed.find((e) => e.seq === root.seq)!.thread).toEqual({ replies: 2, lastReplySeq: last.seq, lastReplyAt: last.createdAt });
    // Live, a reply is its own event naming its root; the root is not sent again.
    const reply = await alice.ok<{ seq: number }>('publish', { channel: 'eng', text: 'done', replyTo: root.seq });
    await sse.waitUntil(() => sse.events<{ seq: number }>().some((e) => e.seq === reply.seq), 'the live reply');
    expect(sse.events<{ seq: number; replyTo: number | null }>().at(-1)).toMatchObject({ seq: reply.seq, replyTo: root.seq });
    expect((await alice.ok<{ root: { thread: unknown } }>('thread', { channel: 'eng', seq: root.seq })).root.thread).toMatchObject({
      replies: 3,
      lastReplySeq: reply.seq,
    });
  });

  it('joining starts the read position at the newest message; a position already there stays', async () => {
    const server = await start();
    const alice = await clients.connect(server.wsUrl, 'alice');
    const bob = await clients.connect(server.wsUrl, 'bob');
    await alice.ok('channel.create', { channel: 'old', channelType: 'public' });
    await alice.ok('channel.create', { channel: 'team', channelType: 'private' });
    for (let i = 0; i < 5; i++) {
      await alice.ok('publish', { channel: 'old', text: `before ${i}` });
      await alice.ok('publish', { channel: 'team', text: `before ${i}` });
    }
    await bob.ok('channel.join', { channel: 'old' });
    // Added by an owner (over REST): the same.
    expect((await rest(server, 'alice')('POST', '/api/channels/team/members', { user: 'bob' })).status).toBe(201);
    const catchup = await bob.ok<{ channels: { channel: string }[] }>('catchup');
    expect(catchup.channels.map((c) => c.channel)).not.toContain('old');
    expect(catchup.channels.map((c) => c.channel)).not.toContain('team');
    expect(await bob.ok('read.get', { channel: 'old' })).toMatchObject({ positions: [{ user: 'bob', seq: 5 }] });
    const viaGrpc = await call<{ positions: { user: string; seq: number }[] }>(grpcClient(server), 'GetReadPositions', { channel: 'team' }, as('bob'));
    expect(viaGrpc.positions.find((p) => p.user === 'bob')).toMatchObject({ seq: 5 });

    // What comes after joining is unread.
    await alice.ok('publish', { channel: 'old', text: 'after' });
    const later = await bob.ok<{ channels: { channel: string; unread: number; readSeq: number }[] }>('catchup');
    expect(later.channels.find((c) => c.channel === 'old')).toMatchObject({ unread: 1, readSeq: 5 });

    // Leaving and joining again keeps the position bob had.
    await bob.ok('channel.leave', { channel: 'old' });
    await alice.ok('publish', { channel: 'old', text: 'while away' });
    await bob.ok('channel.join', { channel: 'old' });
    expect((await bob.ok<{ channels: { channel: string; unread: number }[] }>('catchup')).channels.find((c) => c.channel === 'old')).toMatchObject({
      unread: 2,
    });
  });

  it('history around a seq gives the page centred on it, with both directions flagged; bad combinations are refused', async () => {
    const server = await start();
    const alice = await clients.connect(server.wsUrl, 'alice');
    await alice.ok('channel.create', { channel: 'long', channelType: 'public' });
    await alice.ok('publish.batch', { messages: Array.from({ length: 100 }, (_, i) => ({ channel: 'long', text: `m${i + 1}` })) });
    await alice.ok('edit', { channel: 'long', seq: 60, text: 'm60 edited' });

    const page = await alice.ok<{ events: { seq: number; text: string }[]; hasMore: boolean; hasNewer: boolean }>('history', {
      channel: 'long',
      around: 60,
      limit: 10,
    });
    expect(page.events.map((e) => e.seq)).toEqual([56, 57, 58, 59, 60, 61, 62, 63, 64, 65]);
    expect(page.events[4]!.text).toBe('m60 edited');
    expect(page).toMatchObject({ hasMore: true, hasNewer: true });

    const nearEnd = await rest(server, 'alice')('GET', '/api/channels/long/messages?around=99&limit=10');
    expect(nearEnd.body.events.map((e: { seq: number }) => e.seq)).toEqual([95, 96, 97, 98, 99, 100]);
    expect(nearEnd.body).toMatchObject({ hasMore: true, hasNewer: false });

    const client = grpcClient(server);
    const nearStart = await call<{ events: { seq: number }[]; hasMore: boolean; hasNewer: boolean }>(
      client,
      'History',
      { channel: 'long', around: 2, limit: 6 },
      as('bob'),
    );
    expect(nearStart.events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(nearStart.hasMore).toBe(false);
    expect(nearStart.hasNewer).toBe(true);

    // Paging without around has no hasNewer.
    expect(await alice.ok('history', { channel: 'long', limit: 1 })).not.toHaveProperty('hasNewer');
    const both = await alice.request('history', { channel: 'long', around: 5, before: 10 });
    expect(both).toMatchObject({ code: 'bad_request' });
    expect(String(both.message)).toContain('around');
    expect((await rest(server, 'alice')('GET', '/api/channels/long/messages?around=0')).status).toBe(400);
    await expect(call(client, 'History', { channel: 'long', around: 5, after: 1 }, as('bob'))).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
    });
  });
});
