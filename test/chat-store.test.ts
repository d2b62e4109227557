import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChatStore, reactionWriter } from '../src/chat/chat-store.js';
import { chatMigrations } from '../src/chat/migrations/index.js';
import type { AppendRequest, AppendResult, NewChannel, Store } from '../src/core/store.js';
import type { ChannelEvent } from '../src/core/types.js';
import type { Database } from '../src/store/database.js';
import { KyselyStore } from '../src/store/kysely-store.js';
import { logMigrations } from '../src/store/migrations/index.js';
import { openPostgresDatabase } from '../src/store/postgres-database.js';
import { openSqliteDatabase } from '../src/store/sqlite-database.js';
import { createTestSchema } from './helpers/postgres.js';
import { serviceUrl } from './helpers/services.js';

/** The chat module's tables and queries (ChatStore, reactions in the log), run against every database. */
const postgresUrl = serviceUrl('TEST_DATABASE_URL');
const MODULES = [logMigrations, chatMigrations];

const backends = [
  {
    name: 'sqlite',
    available: true,
    async setUp(): Promise<{ database: Database; tearDown(): Promise<void> }> {
      const dir = mkdtempSync(join(tmpdir(), 'switchboard-chat-'));
      const database = await openSqliteDatabase({ path: join(dir, 'chat.db') }, MODULES);
      return { database, tearDown: async () => rmSync(dir, { recursive: true, force: true }) };
    },
  },
  {
    name: 'postgres',
    available: postgresUrl !== undefined,
    async setUp(): Promise<{ database: Database; tearDown(): Promise<void> }> {
      const schema = await createTestSchema(postgresUrl!, 'chat');
      const database = await openPostgresDatabase({ url: schema.url }, MODULES);
      return { database, tearDown: () => schema.drop() };
    },
  },
];

function channel(id: string, extra: Partial<NewChannel> = {}): NewChannel {
  return { id, type: 'public', title: null, publish: 'anyone', createdBy: null, members: [], ...extra };
}

function message(channelId: string, author: string, text: string, replyTo: number | null = null): AppendRequest {
  return { kind: 'message', channel: channelId, author, text, data: null, cid: null, replyTo };
}

function ok(result: AppendResult | undefined): ChannelEvent {
  if (!result?.ok) throw new Error(`expected ok, got ${JSON.stringify(result)}`);
  return result.event;
}

for (const backend of backends) {
  describe.skipIf(!backend.available)(`chat store on ${backend.name}`, () => {
    let store: Store;
    let chat: ChatStore;
    let tearDown: () => Promise<void> = async () => {};

    beforeAll(async () => {
      const setUp = await backend.setUp();
      store = new KyselyStore(setUp.database, { annotations: [reactionWriter] });
      chat = new ChatStore(setUp.database);
      tearDown = setUp.tearDown;
      for (const id of ['alice', 'bob', 'carol', 'dave']) await store.upsertUser({ id, name: id.toUpperCase() });
    });
    afterAll(async () => {
      await store?.close();
      await tearDown();
    });

    const append = async (...requests: AppendRequest[]) => (await store.appendBatch(requests)).map(ok);

    it('adds contacts both ways, once, and lists them with their status', async () => {
      expect(await chat.addContact('alice', 'bob')).toBe(true);
      expect(await chat.addContact('bob', 'alice')).toBe(false);
      await chat.setStatus('bob', 'online', 1000);
      expect(await chat.listContacts('alice')).toEqual([{ user: 'bob', name: 'BOB', avatarUrl: null, statusText: null, status: 'online', lastSeen: null }]);
      await chat.setStatus('bob', 'offline', 2000);
      expect(await chat.listContacts('alice')).toEqual([{ user: 'bob', name: 'BOB', avatarUrl: null, statusText: null, status: 'offline', lastSeen: 2000 }]);
      // Going online again keeps "last seen" (when they were last online before now).
      await chat.setStatus('bob', 'away', 3000);
      expect((await chat.userStates(['bob']))[0]).toMatchObject({ status: 'away', lastSeen: 2000 });
      // Changes of one tick are one write: the last status wins, the last offline sets "last seen".
      await Promise.all([chat.setStatus('dave', 'offline', 4000), chat.setStatus('dave', 'online', 4500), chat.setStatus('carol', 'away', 4600)]);
      expect(await chat.userStates(['dave', 'carol'])).toMatchObject([
        { user: 'dave', status: 'online', lastSeen: 4000 },
        { user: 'carol', status: 'away', lastSeen: null },
      ]);
      await chat.setStatus('dave', 'offline', 5000);
      await chat.setStatus('carol', 'offline', 5000);
      expect((await chat.listContacts('bob')).map((c) => c.user)).toEqual(['alice']);
      expect(await chat.userStates(['nobody', 'alice'])).toEqual([
        { user: 'alice', name: 'ALICE', avatarUrl: null, statusText: null, status: 'offline', lastSeen: null },
      ]);
      expect(await chat.removeContact('bob', 'alice')).toBe(true);
      expect(await chat.listContacts('alice')).toEqual([]);
      expect(await chat.removeContact('bob', 'alice')).toBe(false);
    });

    it("ends a user's away from before their return, and not one set since", async () => {
      for (const id of ['ret-stale', 'ret-fresh', 'ret-offline']) await store.upsertUser({ id, name: id });
      await chat.setStatus('ret-stale', 'away', 1000);
      await chat.setStatus('ret-fresh', 'away', 9000);
      await chat.setStatus('ret-offline', 'offline', 1000);
      // One batch: padded on SQLite, a user twice, one never stored.
      await Promise.all(['ret-stale', 'ret-fresh', 'ret-offline', 'ret-stale', 'ret-nobody'].map((user) => chat.userReturned(user, 5000)));
      expect(await chat.userStates(['ret-stale', 'ret-fresh', 'ret-offline', 'ret-nobody'])).toMatchObject([
        { user: 'ret-stale', status: 'online' },
        { user: 'ret-fresh', status: 'away' },
        { user: 'ret-offline', status: 'offline', lastSeen: 1000 },
      ]);
    });

    it('reads the status audience in batches: contacts, channels but inboxes, members; each key answered in order', async () => {
      await store.createChannel(
        channel('aud-room', { type: 'private', members: [{ user: 'carol', role: 'owner' }, { user: 'dave', role: 'member' }] }),
      );
      await chat.addContact('carol', 'alice');
      await store.createChannel(channel('user:carol', { type: 'inbox', members: [{ user: 'carol', role: 'member' }] }));
      expect(await chat.contactIdsOf(['bob', 'carol', 'carol'])).toEqual([[], ['alice'], ['alice']]);
      expect(await chat.statusChannelsOf(['carol', 'bob'])).toEqual([['aud-room'], []]);
      expect((await chat.memberIdsOf(['aud-room', 'nowhere'], 200)).map((members) => [...members].sort())).toEqual([['carol', 'dave'], []]);
      // A channel over the limit is read as having no members (it carries no status).
      expect((await chat.memberIdsOf(['aud-room', 'nowhere'], 1)).map((members) => [...members].sort())).toEqual([[], []]);
      expect((await chat.memberIdsOf(['aud-room'], 2))[0]!.length).toBe(2);
      expect(await chat.statesOf(['nobody', 'dave'])).toEqual([null, { user: 'dave', name: 'DAVE', avatarUrl: null, statusText: null, status: 'offline', lastSeen: 5000 }]);
      // More keys than one query takes (500) come back whole and in order.
      const many = Array.from({ length: 1203 }, (_, k) => (k === 1202 ? 'carol' : `ghost-${k}`));
      expect((await chat.contactIdsOf(many)).at(-1)).toEqual(['alice']);
      expect((await chat.findUsers(['carol', 'DAVE', 'zed'])).map((u) => u.id).sort()).toEqual(['carol', 'dave']);
      expect(await chat.membersAmong('aud-room', ['alice', 'dave'])).toEqual(['dave']);
    });

    it('keeps read positions monotonic and counts unread messages from others', async () => {
      await store.createChannel(
        channel('rs', { type: 'private', members: [{ user: 'alice', role: 'owner' }, { user: 'bob', role: 'member' }] }),
      );
      await append(message('rs', 'alice', 'one'), message('rs', 'bob', 'two'), message('rs', 'alice', 'three'));
      await append(message('rs', 'alice', 'four'));
      expect(await chat.markRead('rs', 'bob', 2, 10)).toBe(2);
      expect(await chat.markRead('rs', 'bob', 1, 11)).toBe(2);
      expect(await chat.readPositions('rs')).toEqual([{ user: 'bob', seq: 2, at: 11 }]);
      const unread = (await chat.unreadChannels('bob')).find((c) => c.channel === 'rs');
      expect(unread).toEqual({ channel: 'rs', type: 'private', lastSeq: 4, readSeq: 2, unread: 2 });
      // Alice's own messages never count as unread for her; bob's one does.
      expect((await chat.unreadChannels('alice')).find((c) => c.channel === 'rs')?.unread).toBe(1);
      await chat.markRead('rs', 'bob', 4, 12);
      expect((await chat.unreadChannels('bob')).find((c) => c.channel === 'rs')).toBeUndefined();
    });

    it('lists direct conversations with their newest message, newest first', async () => {
      const pair = (a: string, b: string) =>
        channel(`dm:${a},${b}`, { type: 'direct', members: [{ user: a, role: 'member' }, { user: b, role: 'member' }] });
      await store.createChannel(pair('alice', 'bob'));
      await store.createChannel(pair('alice', 'dave'));
      await append(message('dm:alice,bob', 'bob', 'hey'), message('dm:alice,bob', 'alice', 'hi bob'));
      // Activity is ordered by millisecond timestamps: the later message needs a later one.
      const sent = Date.now();
      while (Date.now() === sent) await new Promise((resolve) => setImmediate(resolve));
      await append(message('dm:alice,dave', 'dave', 'later one'));
      const directs = await chat.directConversations('alice', 10);
      expect(directs.map((d) => [d.channel.id, d.members, d.latest?.text])).toEqual([
        ['dm:alice,dave', ['alice', 'dave'], 'later one'],
        ['dm:alice,bob', ['alice', 'bob'], 'hi bob'],
      ]);
      expect((await chat.directConversations('carol', 10)).length).toBe(0);
    });

    it('stores reactions as log events and keeps the per-emoji aggregate in step', async () => {
      await store.createChannel(channel('rx'));
      const [target] = await append(message('rx', 'alice', 'react to me'));
      const react = (author: string, emoji: string, kind: 'reaction' | 'unreaction' = 'reaction'): AppendRequest => ({
        kind,
        channel: 'rx',
        author,
        target: target!.seq,
        text: emoji,
      });
      const events = await append(react('bob', '👍'), react('carol', '👍'), react('bob', '🎉'));
      expect(events.map((e) => [e.seq, e.kind, e.target, e.text, e.author])).toEqual([
        [2, 'reaction', 1, '👍', 'bob'],
        [3, 'reaction', 1, '👍', 'carol'],
        [4, 'reaction', 1, '🎉', 'bob'],
      ]);
      expect(await chat.hasReaction('rx', 1, '👍', 'bob')).toBe(true);
      await append(react('bob', '👍', 'unreaction'));
      expect(await chat.hasReaction('rx', 1, '👍', 'bob')).toBe(false);
      const aggregate = await chat.reactionsOf('rx', [1, 99]);
      expect([...aggregate.keys()]).toEqual([1]);
      expect(aggregate.get(1)!.sort((x, y) => x.emoji.localeCompare(y.emoji))).toEqual(
        [
          { emoji: '👍', count: 1, users: ['carol'] },
          { emoji: '🎉', count: 1, users: ['bob'] },
        ].sort((x, y) => x.emoji.localeCompare(y.emoji)),
      );
      // The history view (messages only) is unchanged; resume reads every entry.
      expect((await store.readEvents('rx', { limit: 10, messagesOnly: true })).map((e) => e.seq)).toEqual([1]);
      expect((await store.readEvents('rx', { after: 0, limit: 10 })).map((e) => e.kind)).toEqual([
        'message',
        'reaction',
        'reaction',
        'reaction',
        'unreaction',
      ]);
      // Twice is once: a repeat changes nothing and takes no seq, also within one batch.
      const [again, twin] = await store.appendBatch([react('carol', '👍'), react('dave', '🚀', 'unreaction')]);
      expect(again).toMatchObject({ ok: false, unchanged: true });
      expect(twin).toMatchObject({ ok: false, unchanged: true });
      const [first, second] = await store.appendBatch([react('dave', '🚀'), react('dave', '🚀')]);
      expect(first).toMatchObject({ ok: true, event: { seq: 6 } });
      expect(second).toMatchObject({ ok: false, unchanged: true });
      // A reaction to a deleted message is refused and takes no seq.
      await append({ kind: 'delete', channel: 'rx', author: 'alice', target: 1 });
      const [refused] = await store.appendBatch([react('dave', '👀')]);
      expect(refused).toMatchObject({ ok: false, code: 'conflict' });
      expect((await store.getChannel('rx'))!.lastSeq).toBe(7);
    });

    it('pages a thread of replies', async () => {
      await store.createChannel(channel('th'));
      const [root] = await append(message('th', 'alice', 'root'));
      for (let i = 1; i <= 5; i++) await append(message('th', 'bob', `reply ${i}`, root!.seq), message('th', 'carol', `noise ${i}`));
      const first = await chat.thread('th', root!.seq, { limit: 3 });
      expect(first.map((e) => e.text)).toEqual(['reply 1', 'reply 2', 'reply 3']);
      const rest = await chat.thread('th', root!.seq, { after: first.at(-1)!.seq, limit: 3 });
      expect(rest.map((e) => e.text)).toEqual(['reply 4', 'reply 5']);
    });

    it('searches whole words in readable channels, with filters, edits, deletes and pages', async () => {
      await store.createChannel(channel('s-pub'));
      await store.createChannel(channel('s-priv', { type: 'private', members: [{ user: 'alice', role: 'owner' }] }));
      await append(
        message('s-pub', 'alice', 'Banana bread recipe'),
        message('s-pub', 'bob', 'I like bananas and banana splits'),
        message('s-priv', 'alice', 'secret banana plan'),
        message('s-pub', 'carol', 'nothing to see'),
      );
      const texts = (events: ChannelEvent[]) => events.map((e) => e.text);
      const asBob = await chat.search({ text: 'banana', readableBy: 'bob', limit: 10 });
      expect(texts(asBob).sort()).toEqual(['Banana bread recipe', 'I like bananas and banana splits']);
      const asAlice = await chat.search({ text: 'BANANA', readableBy: 'alice', limit: 10 });
      expect(asAlice.map((e) => e.channel).sort()).toEqual(['s-priv', 's-pub', 's-pub']);
      expect(texts(await chat.search({ text: 'banana', readableBy: null, author: 'bob', limit: 10 }))).toEqual([
        'I like bananas and banana splits',
      ]);
      expect(await chat.search({ text: 'banana', readableBy: 'alice', channel: 's-priv', limit: 10 })).toHaveLength(1);
      // Every word must match; query syntax is not interpreted (quotes, NOT, stars are just text).
      expect(texts(await chat.search({ text: 'banana recipe', readableBy: 'bob', limit: 10 }))).toEqual([
        'Banana bread recipe',
      ]);
      expect(await chat.search({ text: '"banana" NOT * OR', readableBy: 'bob', limit: 10 })).toEqual([]);
      expect(await chat.search({ text: '!!!', readableBy: 'bob', limit: 10 })).toEqual([]);

      const page1 = await chat.search({ text: 'banana', readableBy: 'alice', limit: 2 });
      const last = page1.at(-1)!;
      const page2 = await chat.search({
        text: 'banana',
        readableBy: 'alice',
        limit: 2,
        before: { createdAt: last.createdAt, channel: last.channel, seq: last.seq },
      });
      expect(page1).toHaveLength(2);
      expect(page2).toHaveLength(1);
      expect(new Set([...page1, ...page2].map((e) => `${e.channel}/${e.seq}`)).size).toBe(3);

      // Edits re-index the message; deletes drop it.
      const bread = asBob.find((e) => e.text === 'Banana bread recipe')!;
      await append({ kind: 'edit', channel: 's-pub', author: 'alice', target: bread.seq, text: 'Cherry pie recipe', data: null });
      expect(texts(await chat.search({ text: 'cherry', readableBy: 'bob', limit: 10 }))).toEqual(['Cherry pie recipe']);
      expect(texts(await chat.search({ text: 'bread', readableBy: 'bob', limit: 10 }))).toEqual([]);
      await append({ kind: 'delete', channel: 's-pub', author: 'alice', target: bread.seq });
      expect(await chat.search({ text: 'cherry', readableBy: 'bob', limit: 10 })).toEqual([]);
    });

    it('stores and reads a storm of connects in batches of any size, names and statuses as given', async () => {
      const odd = ['O\'Brien "Bob"', 'Zoë 🚀', 'back\\slash; drop table users', 'x'.repeat(200)];
      const ids = Array.from({ length: 620 }, (_, k) => `storm-${String(k).padStart(3, '0')}`);
      // One tick: 620 users seen at once (two statements of up to 500), the first four oddly named.
      const renamed = await Promise.all(ids.map((id, k) => store.rememberUser({ id, name: odd[k] ?? `Storm ${k}` })));
      expect(renamed.every((r) => r === false)).toBe(true);
      for (const [k, name] of odd.entries()) expect((await store.getUser(ids[k]!))?.name).toBe(name);
      // A rename says so; a name that only fills in replaces the placeholder (the id) alone.
      await store.rememberUser({ id: 'storm-ph', name: 'storm-ph' });
      expect(
        await Promise.all([
          store.rememberUser({ id: ids[4]!, name: 'Renamed' }),
          store.rememberUser({ id: ids[5]!, name: 'Storm 5' }),
          store.rememberUser({ id: ids[6]!, name: 'Copy', fillsIn: true }),
          store.rememberUser({ id: 'storm-ph', name: 'Filled', fillsIn: true }),
        ]),
      ).toEqual([true, false, false, true]);
      expect((await store.getUser(ids[6]!))?.name).toBe('Storm 6');
      expect((await store.getUser('storm-ph'))?.name).toBe('Filled');

      await Promise.all(ids.map((id, k) => chat.setStatus(id, k % 2 === 0 ? 'online' : 'offline', 10_000 + k)));
      await store.createChannel(channel('storm-room', { members: [{ user: ids[0]!, role: 'member' }, { user: ids[619]!, role: 'member' }] }));
      await chat.addContact(ids[1]!, ids[618]!);
      const [states, contacts, channels, members] = await Promise.all([
        chat.statesOf([...ids, 'storm-nobody']),
        chat.contactIdsOf(ids),
        chat.statusChannelsOf(ids),
        chat.memberIdsOf(['storm-room', 'storm-none'], 10_000),
      ]);
      expect(states.at(-1)).toBeNull();
      expect(states[0]).toMatchObject({ user: ids[0], name: odd[0], status: 'online', lastSeen: null });
      expect(states[1]).toMatchObject({ user: ids[1], name: odd[1], status: 'offline', lastSeen: 10_001 });
      expect(states[619]).toMatchObject({ user: ids[619], status: 'offline', lastSeen: 10_619 });
      expect(states.filter((state) => state?.status === 'online').length).toBe(310);
      expect(contacts[1]).toEqual([ids[618]]);
      expect(contacts[618]).toEqual([ids[1]]);
      expect(contacts.filter((list) => list.length > 0).length).toBe(2);
      expect(channels[0]).toEqual(['storm-room']);
      expect(channels[619]).toEqual(['storm-room']);
      expect(channels.filter((list) => list.length > 0).length).toBe(2);
      expect(members[0]!.sort()).toEqual([ids[0], ids[619]]);
      expect(members[1]).toEqual([]);
    });
  });
}
