import { beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { createTestSchema } from './helpers/postgres.js';
import { serviceUrl } from './helpers/services.js';
import { startTestServer } from './helpers/test-server.js';
import { useWsClients } from './helpers/ws-test-client.js';

/**
 * Read state, receipts, reactions, threads, mentions and search through a real server,
 * on SQLite and (with TEST_DATABASE_URL) on PostgreSQL: search is the one dialect-specific query.
 */
const postgresUrl = serviceUrl('TEST_DATABASE_URL');
const databases = [
  { name: 'sqlite', available: true, url: async (): Promise<string | undefined> => undefined },
  {
    name: 'postgres',
    available: postgresUrl !== undefined,
    async url(): Promise<string | undefined> {
      const schema = await createTestSchema(postgresUrl!, 'chatws');
      onTestFinished(() => schema.drop());
      return schema.url;
    },
  },
];
let databaseUrl: () => Promise<string | undefined> = databases[0]!.url;
const clients = useWsClients();

interface Event {
  channel: string;
  seq: number;
  kind: string;
  text: string | null;
  author: string | null;
  target: number | null;
  data: unknown;
}

/** Alice owns private "staff" with bob; eve is an outsider who subscribes to public "lobby". */
async function cast() {
  const server = await startTestServer({ databaseUrl: await databaseUrl() });
  const alice = await clients.connect(server.wsUrl, 'alice');
  const bob = await clients.connect(server.wsUrl, 'bob');
  const eve = await clients.connect(server.wsUrl, 'eve');
  await alice.ok('channel.create', { channel: 'staff', channelType: 'private', members: ['bob'] });
  await alice.ok('channel.create', { channel: 'lobby', channelType: 'public' });
  for (const client of [alice, bob]) await client.ok('subscribe', { channel: 'staff' });
  for (const client of [alice, bob, eve]) await client.ok('subscribe', { channel: 'lobby' });
  return { server, alice, bob, eve };
}

for (const database of databases) {
  describe.skipIf(!database.available)(`on ${database.name}`, () => {
    beforeAll(() => {
      databaseUrl = database.url;
    });

    describe('read state and receipts', () => {
      it('sends receipts to members of a private channel only, keeps positions monotonic, counts unread', async () => {
        const { alice, bob, eve } = await cast();
        for (const text of ['one', 'two', 'three']) await alice.ok('publish', { channel: 'staff', text });
        expect(await bob.ok('read.mark', { channel: 'staff', seq: 2 })).toEqual({ channel: 'staff', seq: 2 });
        const receipt = await alice.waitFor((f) => f.type === 'receipt');
        expect(receipt).toMatchObject({ channel: 'staff', user: 'bob', seq: 2 });
        // An older mark (another device, late) never moves the position back, and sends nothing.
        expect(await bob.ok('read.mark', { channel: 'staff', seq: 1 })).toEqual({ channel: 'staff', seq: 2 });
        expect(await bob.request('read.mark', { channel: 'staff', seq: 99 })).toMatchObject({ code: 'bad_request' });
        const positions = await alice.ok<{ positions: { user: string; seq: number }[] }>('read.get', { channel: 'staff' });
        expect(positions.positions.map((p) => [p.user, p.seq])).toEqual([['bob', 2]]);

        const catchUp = await bob.ok<{ channels: { channel: string; unread: number; readSeq: number }[] }>('catchup');
        expect(catchUp.channels.find((c) => c.channel === 'staff')).toMatchObject({ unread: 1, readSeq: 2, lastSeq: 3 });

        // The outsider can neither mark nor read positions, and never saw a receipt.
        expect(await eve.request('read.mark', { channel: 'staff', seq: 1 })).toMatchObject({ code: 'forbidden' });
        expect(await eve.request('read.get', { channel: 'staff' })).toMatchObject({ code: 'forbidden' });
        await eve.ok('ping');
        expect(eve.frames.filter((f) => f.type === 'receipt')).toEqual([]);
        expect(alice.frames.filter((f) => f.type === 'receipt')).toHaveLength(1);
      });

      it('keeps read positions private in public channels', async () => {
        const { alice, bob, eve } = await cast();
        await alice.ok('publish', { channel: 'lobby', text: 'hello all' });
        await eve.ok('read.mark', { channel: 'lobby', seq: 1 });
        await bob.ok('read.mark', { channel: 'lobby', seq: 1 });
        const seen = await bob.ok<{ positions: { user: string }[] }>('read.get', { channel: 'lobby' });
        expect(seen.positions.map((p) => p.user)).toEqual(['bob']);
        await alice.ok('ping');
        expect(alice.frames.filter((f) => f.type === 'receipt')).toEqual([]);
      });
    });

    describe('reactions', () => {
      it('adds and removes reactions live, counts them per emoji, and resumes them in order', async () => {
        const { server, alice, bob, eve } = await cast();
        const { seq } = await alice.ok<{ seq: number }>('publish', { channel: 'staff', text: 'ship it?' });
        const added = await bob.ok('reaction.add', { channel: 'staff', seq, emoji: '👍' });
        expect(added).toMatchObject({ channel: 'staff', target: seq, seq: seq + 1, changed: true });
        // Twice is once: nothing new is stored or sent.
        expect(await bob.ok('reaction.add', { channel: 'staff', seq, emoji: '👍' })).toMatchObject({ changed: false, seq: null });
        await alice.ok('reaction.add', { channel: 'staff', seq, emoji: '👍' });
        await alice.ok('reaction.add', { channel: 'staff', seq, emoji: ':shipit:' });
        await alice.ok('reaction.remove', { channel: 'staff', seq, emoji: ':shipit:' });
        await alice.waitUntil(() => alice.events('staff').length === 5);
        expect(alice.events('staff').map((e) => [e.kind, e.author, e.text, (e as unknown as Event).target ?? null])).toEqual([
          ['message', 'alice', 'ship it?', null],
          ['reaction', 'bob', '👍', seq],
          ['reaction', 'alice', '👍', seq],
          ['reaction', 'alice', ':shipit:', seq],
          ['unreaction', 'alice', ':shipit:', seq],
        ]);
        const summary = await bob.ok<{ reactions: Record<string, unknown> }>('reactions.get', { channel: 'staff', seqs: [seq] });
        expect(summary.reactions).toEqual({ [seq]: [{ emoji: '👍', count: 2, users: ['bob', 'alice'] }] });

        // Resume carries reactions like any other event.
        const late = await clients.connect(server.wsUrl, 'bob');
        await late.ok('subscribe', { channel: 'staff', since: seq });
        expect(late.events('staff').map((e) => e.kind)).toEqual(['reaction', 'reaction', 'reaction', 'unreaction']);

        // A non-member cannot react, read the counts, or see any of it.
        expect(await eve.request('reaction.add', { channel: 'staff', seq, emoji: '👎' })).toMatchObject({ code: 'forbidden' });
        expect(await eve.request('reactions.get', { channel: 'staff', seqs: [seq] })).toMatchObject({ code: 'forbidden' });
        expect(await eve.request('subscribe', { channel: 'staff' })).toMatchObject({ code: 'forbidden' });
        expect(eve.events('staff')).toEqual([]);
        // Bad input changes nothing.
        expect(await bob.request('reaction.add', { channel: 'staff', seq, emoji: 'two words' })).toMatchObject({
          code: 'bad_request',
          message: 'Invalid emoji: an emoji is 1-32 characters without spaces.',
        });
        expect(await bob.request('reaction.add', { channel: 'staff', seq: 999, emoji: '👍' })).toMatchObject({ code: 'not_found' });
        await alice.ok('delete', { channel: 'staff', seq });
        expect(await bob.request('reaction.add', { channel: 'staff', seq, emoji: '🎉' })).toMatchObject({ code: 'conflict' });
      });
    });

    describe('threads', () => {
      it('pages the replies to a message on their own', async () => {
        const { alice, bob, eve } = await cast();
        const root = await alice.ok<{ seq: number }>('publish', { channel: 'staff', text: 'root' });
        for (let i = 1; i <= 5; i++) {
          await bob.ok('publish', { channel: 'staff', text: `reply ${i}`, replyTo: root.seq });
          await alice.ok('publish', { channel: 'staff', text: `elsewhere ${i}` });
        }
        type Page = { root: Event; replies: Event[]; hasMore: boolean };
        const first = await alice.ok<Page>('thread', { channel: 'staff', seq: root.seq, limit: 2 });
        expect(first.root.text).toBe('root');
        expect(first.replies.map((r) => r.text)).toEqual(['reply 1', 'reply 2']);
        expect(first.hasMore).toBe(true);
        const next = await alice.ok<Page>('thread', { channel: 'staff', seq: root.seq, after: first.replies[1]!.seq, limit: 10 });
        expect(next.replies.map((r) => r.text)).toEqual(['reply 3', 'reply 4', 'reply 5']);
        expect(next.hasMore).toBe(false);
        expect(await eve.request('thread', { channel: 'staff', seq: root.seq })).toMatchObject({ code: 'forbidden' });
        expect(await alice.request('thread', { channel: 'staff', seq: 999 })).toMatchObject({ code: 'not_found' });
      });
    });

    describe('mentions', () => {
      it("notifies a mentioned user's inbox, only if they may read the message", async () => {
        const { alice, bob, eve } = await cast();
        await bob.ok('subscribe', { channel: 'user:bob' });
        await eve.ok('subscribe', { channel: 'user:eve' });
        await alice.ok('publish', { channel: 'lobby', text: 'no mention here, mail me at alice@example.com' });
        const { seq } = await alice.ok<{ seq: number }>('publish', { channel: 'lobby', text: 'hey @bob and @eve, look' });
        await bob.waitUntil(() => bob.events('user:bob').length === 1);
        expect(bob.events('user:bob')[0]).toMatchObject({
          kind: 'message',
          data: { type: 'mention', channel: 'lobby', seq, author: 'alice', text: 'hey @bob and @eve, look' },
        });
        // The server wrote it: no author, left out of the pushed frame (absent means null).
        expect(bob.events('user:bob')[0]!.author).toBeNull();
        expect(bob.frames.find((f) => f.type === 'event' && f.channel === 'user:bob')).not.toHaveProperty('author');
        await eve.waitUntil(() => eve.events('user:eve').length === 1);

        // In a private channel the outsider's inbox gets nothing; the member's does.
        await alice.ok('publish', { channel: 'staff', text: 'secret for @bob, not @eve' });
        await bob.waitUntil(() => bob.events('user:bob').length === 2);
        const eveInbox = await eve.ok<{ events: Event[] }>('history', { channel: 'user:eve' });
        expect(eveInbox.events).toHaveLength(1);
        expect(eve.events('user:eve')).toHaveLength(1);
        // Mentioning yourself, or nobody who exists, notifies nobody; a later mention shows that.
        await bob.ok('publish', { channel: 'lobby', text: '@bob talks to @nobody' });
        await alice.ok('publish', { channel: 'lobby', text: 'last one, @bob' });
        await bob.waitUntil(() => bob.events('user:bob').length === 3);
        const caughtUp = await bob.ok<{ mentions: { data: { text: string } }[] }>('catchup');
        expect(caughtUp.mentions.map((m) => m.data.text)).toEqual([
          'hey @bob and @eve, look',
          'secret for @bob, not @eve',
          'last one, @bob',
        ]);
      });
    });

    describe('search', () => {
      it('finds messages only in channels the user may read, with filters and pages', async () => {
        const { alice, bob, eve } = await cast();
        await alice.ok('publish', { channel: 'staff', text: 'the banana budget is secret' });
        await alice.ok('publish', { channel: 'lobby', text: 'Banana party on Friday' });
        await bob.ok('publish', { channel: 'lobby', text: 'bring a banana' });
        await bob.ok('publish', { channel: 'lobby', text: 'apples only' });
        type Found = { results: Event[]; next: string | null };

        const asEve = await eve.ok<Found>('search', { text: 'banana' });
        expect(asEve.results.map((r) => r.channel)).toEqual(['lobby', 'lobby']);
        expect(asEve.results.map((r) => r.text)).toEqual(['bring a banana', 'Banana party on Friday']);
        const asBob = await bob.ok<Found>('search', { text: 'banana' });
        expect(asBob.results).toHaveLength(3);
        expect(await eve.request('search', { text: 'banana', channel: 'staff' })).toMatchObject({ code: 'forbidden' });
        expect((await bob.ok<Found>('search', { text: 'banana', channel: 'staff' })).results.map((r) => r.text)).toEqual([
          'the banana budget is secret',
        ]);
        expect((await bob.ok<Found>('search', { text: 'banana', author: 'bob' })).results.map((r) => r.text)).toEqual([
          'bring a banana',
        ]);

        // Pages are joined by an opaque cursor: `next` goes back unchanged as `cursor`.
        const page1 = await bob.ok<Found>('search', { text: 'banana', limit: 2 });
        expect(page1.results).toHaveLength(2);
        expect(page1.next).toEqual(expect.any(String));
        const page2 = await bob.ok<Found>('search', { text: 'banana', limit: 2, cursor: page1.next });
        expect(page2.results).toHaveLength(1);
        expect(page2.next).toBeNull();
        const all = [...page1.results, ...page2.results].map((r) => `${r.channel}/${r.seq}`);
        expect(new Set(all).size).toBe(3);

        expect(await bob.request('search', { text: '  ' })).toMatchObject({ code: 'bad_request' });
        expect(await bob.request('search', { text: 'x', limit: 0 })).toMatchObject({
          code: 'bad_request',
          message: expect.stringMatching(/^Invalid limit: /),
        });
        expect(await bob.request('search', { text: 'banana', cursor: 'not-a-cursor' })).toMatchObject({
          code: 'bad_request',
          message: expect.stringMatching(/^Invalid cursor: /),
        });
      });
    });
  });
}
