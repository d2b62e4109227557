import { describe, expect, it } from 'vitest';
import { startTestServer } from './helpers/test-server.js';
import { useWsClients } from './helpers/ws-test-client.js';

const clients = useWsClients();

describe('chat over /ws', () => {
  it('lets two users chat in a channel and pages history back', async () => {
    const server = await startTestServer();
    const alice = await clients.connect(server.wsUrl, 'alice');
    const bob = await clients.connect(server.wsUrl, 'bob');

    const created = await alice.ok('channel.create', { channel: 'general', channelType: 'public', title: 'General' });
    expect(created).toMatchObject({ id: 'general', type: 'public', publish: 'anyone', createdBy: 'alice' });
    await bob.ok('channel.join', { channel: 'general' });
    await alice.ok('subscribe', { channel: 'general' });
    await bob.ok('subscribe', { channel: 'general' });

    const first = await alice.ok<{ seq: number }>('publish', { channel: 'general', text: 'hi bob' });
    const second = await bob.ok<{ seq: number }>('publish', { channel: 'general', text: 'hi alice' });
    expect([first.seq, second.seq]).toEqual([1, 2]);
    await alice.waitUntil(() => alice.events('general').length === 2);
    await bob.waitUntil(() => bob.events('general').length === 2);
    expect(bob.events('general').map((e) => [e.seq, e.author, e.text])).toEqual([
      [1, 'alice', 'hi bob'],
      [2, 'bob', 'hi alice'],
    ]);

    for (let i = 3; i <= 25; i++) await alice.ok('publish', { channel: 'general', text: `m${i}` });
    const newest = await bob.ok<{ events: { seq: number }[]; hasMore: boolean }>('history', {
      channel: 'general',
      limit: 10,
    });
    expect(newest.events.map((e) => e.seq)).toEqual([16, 17, 18, 19, 20, 21, 22, 23, 24, 25]);
    expect(newest.hasMore).toBe(true);
    const older = await bob.ok<{ events: { seq: number }[]; hasMore: boolean }>('history', {
      channel: 'general',
      before: 16,
      limit: 10,
    });
    expect(older.events.map((e) => e.seq)).toEqual([6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
    const oldest = await bob.ok<{ events: { seq: number; text: string }[]; hasMore: boolean }>('history', {
      channel: 'general',
      before: 6,
      limit: 10,
    });
    expect(oldest.events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(oldest.hasMore).toBe(false);
    expect(oldest.events[0]!.text).toBe('hi bob');
    const forward = await bob.ok<{ events: { seq: number }[] }>('history', { channel: 'general', after: 20, limit: 3 });
    expect(forward.events.map((e) => e.seq)).toEqual([21, 22, 23]);
    expect(await bob.ok('channel.get', { channel: 'general' })).toMatchObject({ lastSeq: 25 });
  });

  it('reports join then add for a second session, and remove then leave', async () => {
    const server = await startTestServer();
    const observer = await clients.connect(server.wsUrl, 'olga');
    await observer.ok('channel.create', { channel: 'lobby', channelType: 'public' });
    await observer.ok('subscribe', { channel: 'lobby' });

    const phone = await clients.connect(server.wsUrl, 'alice');
    const laptop = await clients.connect(server.wsUrl, 'alice');
    await phone.ok('subscribe', { channel: 'lobby' });
    await laptop.ok('subscribe', { channel: 'lobby' });
    const aliceActions = () =>
      observer.frames.filter((f) => f.type === 'presence' && f.user === 'alice').map((f) => f.action);
    await observer.waitUntil(() => aliceActions().length === 2);
    expect(aliceActions()).toEqual(['join', 'add']);

    const presence = await observer.ok<{ members: { user: string; sessions: number }[] }>('presence', {
      channel: 'lobby',
    });
    expect(presence.members).toContainEqual({ user: 'alice', sessions: 2 });

    await laptop.close();
    await observer.waitUntil(() => aliceActions().length === 3);
    await phone.ok('unsubscribe', { channel: 'lobby' });
    await observer.waitUntil(() => aliceActions().length === 4);
    expect(aliceActions()).toEqual(['join', 'add', 'remove', 'leave']);
    const after = await observer.ok<{ members: { user: string }[] }>('presence', { channel: 'lobby' });
    expect(after.members.map((m) => m.user)).toEqual(['olga']);
  });

  it('spares a subscriber that asks for no presence events, and still delivers its messages', async () => {
    const server = await startTestServer();
    const quiet = await clients.connect(server.wsUrl, 'quiet');
    await quiet.ok('channel.create', { channel: 'big', channelType: 'public' });
    await quiet.ok('subscribe', { channel: 'big', presence: false });
    const loud = await clients.connect(server.wsUrl, 'loud');
    await loud.ok('subscribe', { channel: 'big' });
    await loud.waitFor((f) => f.type === 'presence' && f.user === 'loud');
    await loud.ok('publish', { channel: 'big', text: 'after the join' });
    await quiet.waitUntil(() => quiet.events('big').length === 1);
    expect(quiet.frames.filter((f) => f.type === 'presence')).toEqual([]);
    const members = await quiet.ok<{ members: { user: string }[] }>('presence', { channel: 'big' });
    expect(members.members.map((m) => m.user).sort()).toEqual(['loud', 'quiet']);
  });

  it('stores a publish retried with the same cid once and answers both with one seq', async () => {
    const server = await startTestServer();
    const alice = await clients.connect(server.wsUrl, 'alice');
    await alice.ok('channel.create', { channel: 'orders', channelType: 'public' });
    const [a, b] = await Promise.all([
      alice.ok<{ seq: number; duplicate: boolean }>('publish', { channel: 'orders', text: 'once', cid: 'c-1' }),
      alice.ok<{ seq: number; duplicate: boolean }>('publish', { channel: 'orders', text: 'once', cid: 'c-1' }),
    ]);
    const later = await alice.ok<{ seq: number; duplicate: boolean }>('publish', {
      channel: 'orders',
      text: 'once',
      cid: 'c-1',
    });
    expect(a.seq).toBe(1);
    expect(b.seq).toBe(1);
    expect(later).toMatchObject({ seq: 1, duplicate: true });
    const history = await alice.ok<{ events: unknown[] }>('history', { channel: 'orders' });
    expect(history.events).toHaveLength(1);
  });

  it('resumes a subscriber with exactly what it missed while three publishers sent 500', async () => {
    const server = await startTestServer();
    const owner = await clients.connect(server.wsUrl, 'owner');
    await owner.ok('channel.create', { channel: 'busy', channelType: 'public' });
    const publishers = await Promise.all(['p1', 'p2', 'p3'].map((user) => clients.connect(server.wsUrl, user)));
    const reader = await clients.connect(server.wsUrl, 'reader');
    await reader.ok('subscribe', { channel: 'busy' });

    const total = 500;
    let sent = 0;
    let disconnected: Promise<number> | null = null;
    const sends = publishers.map(async (publisher, index) => {
      for (let i = index; i < total; i += publishers.length) {
        await publisher.ok('publish', { channel: 'busy', text: `m${i}`, cid: `busy-${i}` });
        sent++;
        if (sent === 100) disconnected = reader.close();
      }
    });
    await reader.waitUntil(() => disconnected !== null, 20_000);
    await disconnected;
    const seen = reader.events('busy').map((e) => e.seq);
    const lastSeen = seen.at(-1) ?? 0;

    const resumed = await clients.connect(server.wsUrl, 'reader');
    await resumed.ok('subscribe', { channel: 'busy', since: lastSeen });
    await Promise.all(sends);
    const live = await resumed.ok<{ seq: number }>('publish', { channel: 'busy', text: 'after' });
    await resumed.waitUntil(() => resumed.events('busy').some((e) => e.seq === live.seq), 20_000);

    const resumedSeqs = resumed.events('busy').map((e) => e.seq);
    const expected = Array.from({ length: total + 1 - lastSeen }, (_, i) => lastSeen + 1 + i);
    expect(seen).toEqual(Array.from({ length: seen.length }, (_, i) => i + 1));
    expect(resumedSeqs).toEqual(expected);
    expect(new Set(resumed.events('busy').map((e) => e.text)).size).toBe(resumedSeqs.length);
  });

  it('sends edits and deletes live and keeps a deleted message as a tombstone', async () => {
    const server = await startTestServer();
    const alice = await clients.connect(server.wsUrl, 'alice');
    const bob = await clients.connect(server.wsUrl, 'bob');
    await alice.ok('channel.create', { channel: 'team', channelType: 'public' });
    await bob.ok('subscribe', { channel: 'team' });
    await alice.ok('publish', { channel: 'team', text: 'helo' });
    await alice.ok('publish', { channel: 'team', text: 'oops' });
    // Publish, edit and delete answer one ack: where the new event sits in the log.
    const ack = { channel: 'team', id: expect.any(String), createdAt: expect.any(Number), duplicate: false };
    const published = await alice.ok('publish', { channel: 'team', text: 'helo again' });
    expect(published).toEqual({ ...ack, seq: 3, target: null });
    const edit = await alice.ok('edit', { channel: 'team', seq: 1, text: 'hello' });
    const removal = await alice.ok('delete', { channel: 'team', seq: 2 });
    expect(edit).toEqual({ ...ack, seq: 4, target: 1 });
    expect(removal).toEqual({ ...ack, seq: 5, target: 2 });

    await bob.waitUntil(() => bob.events('team').length === 5);
    expect(bob.events('team').map((e) => [e.seq, e.kind, e.target ?? null, e.text ?? null])).toEqual([
      [1, 'message', null, 'helo'],
      [2, 'message', null, 'oops'],
      [3, 'message', null, 'helo again'],
      [4, 'edit', 1, 'hello'],
      [5, 'delete', 2, null],
    ]);
    expect(bob.events('team')[3]!.id).toBe(edit.id);

    const history = await bob.ok<{ events: Record<string, unknown>[] }>('history', { channel: 'team' });
    expect(history.events).toHaveLength(3);
    expect(history.events[0]).toMatchObject({ seq: 1, text: 'hello', deletedAt: null });
    expect(history.events[0]!.editedAt).toEqual(expect.any(Number));
    expect(history.events[1]).toMatchObject({ seq: 2, text: null, data: null });
    expect(history.events[1]!.deletedAt).toEqual(expect.any(Number));

    const notYours = await bob.request('edit', { channel: 'team', seq: 1, text: 'mine now' });
    expect(notYours).toMatchObject({ type: 'error', code: 'forbidden' });
    const again = await alice.request('delete', { channel: 'team', seq: 2 });
    expect(again).toMatchObject({ type: 'error', code: 'conflict' });
    const missing = await alice.request('edit', { channel: 'team', seq: 99, text: 'x' });
    expect(missing).toMatchObject({ type: 'error', code: 'not_found' });
  });

  it('keeps a private channel from non-members on subscribe, publish and history', async () => {
    const server = await startTestServer();
    const alice = await clients.connect(server.wsUrl, 'alice');
    const mallory = await clients.connect(server.wsUrl, 'mallory');
    const bob = await clients.connect(server.wsUrl, 'bob');
    await alice.ok('channel.create', { channel: 'secret', channelType: 'private' });
    await alice.ok('publish', { channel: 'secret', text: 'classified' });

    for (const [type, fields] of [
      ['subscribe', { channel: 'secret' }],
      ['publish', { channel: 'secret', text: 'let me in' }],
      ['history', { channel: 'secret' }],
      ['channel.join', { channel: 'secret' }],
      ['members.add', { channel: 'secret', user: 'mallory' }],
    ] as const) {
      const reply = await mallory.request(type, fields);
      expect(reply, type).toMatchObject({ type: 'error', code: 'forbidden' });
    }
    const list = await mallory.ok<{ channels: { id: string }[]; next: string | null }>('channel.list');
    expect(list.channels.map((c) => c.id)).not.toContain('secret');
    expect(list.next).toBeNull();

    await alice.ok('members.add', { channel: 'secret', user: 'bob' });
    await bob.ok('subscribe', { channel: 'secret', since: 0 });
    await bob.waitUntil(() => bob.events('secret').length === 1);
    const history = await alice.ok<{ events: unknown[] }>('history', { channel: 'secret' });
    expect(history.events).toHaveLength(1);
  });

  it('opens one direct channel per pair whoever starts it, and keeps inboxes private', async () => {
    const server = await startTestServer();
    const alice = await clients.connect(server.wsUrl, 'alice');
    const bob = await clients.connect(server.wsUrl, 'bob');
    const eve = await clients.connect(server.wsUrl, 'eve');
    const fromAlice = await alice.ok<{ id: string }>('channel.create', { channelType: 'direct', members: ['bob'] });
    const fromBob = await bob.ok<{ id: string }>('channel.create', { channelType: 'direct', members: ['alice'] });
    expect(fromAlice.id).toBe('dm:alice,bob');
    expect(fromBob.id).toBe(fromAlice.id);
    await bob.ok('publish', { channel: fromAlice.id, text: 'psst' });
    expect(await eve.request('history', { channel: fromAlice.id })).toMatchObject({ code: 'forbidden' });

    await bob.ok('subscribe', { channel: 'user:bob' });
    expect(await alice.request('subscribe', { channel: 'user:bob' })).toMatchObject({ code: 'forbidden' });
    expect(await alice.request('publish', { channel: 'user:bob', text: 'hi' })).toMatchObject({ code: 'forbidden' });
  });
});
