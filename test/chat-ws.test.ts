import { describe, expect, it, onTestFinished } from 'vitest';
import { WebSocket } from 'ws';
import { ChatStore } from '../src/chat/chat-store.js';
import { startTestServer } from './helpers/test-server.js';
import { type ServerFrame, WsTestClient, useWsClients } from './helpers/ws-test-client.js';

/** The chat features through a real server and real WebSocket clients. */
const clients = useWsClients();

type Event = { channel: string; seq: number; kind: string; text: string | null; author: string | null; target: number | null; data: unknown };

const statusOf = (client: WsTestClient, user: string) =>
  client.frames.filter((f) => f.type === 'status' && f.user === user).map((f) => f.status);

/** A request the server handles after everything the client sent before it: a sync point. */
async function roundTrip(client: WsTestClient): Promise<void> {
  await client.ok('ping');
}

describe('direct messages and contacts', () => {
  it('finds one DM whoever starts it and lists DMs with their newest message', async () => {
    const server = await startTestServer();
    const alice = await clients.connect(server.wsUrl, 'alice');
    const bob = await clients.connect(server.wsUrl, 'bob');
    const carol = await clients.connect(server.wsUrl, 'carol');

    const fromAlice = await alice.ok<{ id: string }>('channel.create', { channelType: 'direct', members: ['bob'] });
    const fromBob = await bob.ok<{ id: string }>('channel.create', { channelType: 'direct', members: ['alice'] });
    expect(fromBob.id).toBe(fromAlice.id);
    const group = await carol.ok<{ id: string }>('channel.create', { channelType: 'direct', members: ['alice', 'bob'] });
    await alice.ok('publish', { channel: fromAlice.id, text: 'first' });
    await bob.ok('publish', { channel: fromAlice.id, text: 'hi alice' });
    await carol.ok('publish', { channel: group.id, text: 'group hello' });

    const list = await alice.ok<{ directs: { channel: { id: string }; members: string[]; latest: Event | null }[] }>(
      'dm.list',
    );
    expect(list.directs.map((d) => [d.channel.id, d.members, d.latest?.text])).toEqual([
      ['dm:alice,bob,carol', ['alice', 'bob', 'carol'], 'group hello'],
      ['dm:alice,bob', ['alice', 'bob'], 'hi alice'],
    ]);
    const forCarol = await carol.ok<{ directs: { channel: { id: string } }[] }>('dm.list');
    expect(forCarol.directs.map((d) => d.channel.id)).toEqual(['dm:alice,bob,carol']);
  });

  it('adds contacts both ways, refuses unknown users and yourself, and lists contacts with their state', async () => {
    const server = await startTestServer();
    const alice = await clients.connect(server.wsUrl, 'alice');
    const bob = await clients.connect(server.wsUrl, 'bob');
    expect(await alice.ok('contacts.add', { user: 'bob' })).toMatchObject({ user: 'bob', status: 'online' });
    expect(await alice.request('contacts.add', { user: 'ghost' })).toMatchObject({ type: 'error', code: 'not_found' });
    expect(await alice.request('contacts.add', { user: 'alice' })).toMatchObject({ type: 'error', code: 'bad_request' });
    expect(await alice.request('contacts.add', { user: 'b o b' })).toMatchObject({
      type: 'error',
      code: 'bad_request',
      message: expect.stringMatching(/^Invalid user: /),
    });
    const bobs = await bob.ok<{ contacts: { user: string; status: string }[] }>('contacts.list');
    expect(bobs.contacts).toEqual([{ user: 'alice', name: 'alice', avatarUrl: null, statusText: null, status: 'online', lastSeen: null }]);
    await bob.ok('contacts.remove', { user: 'alice' });
    expect((await alice.ok<{ contacts: unknown[] }>('contacts.list')).contacts).toEqual([]);
    expect(await bob.request('contacts.remove', { user: 'alice' })).toMatchObject({ type: 'error', code: 'not_found' });
  });
});

describe('user status fan-out', () => {
  it('pushes online, away and offline (with last seen) to contacts and channel mates, not to strangers', async () => {
    const server = await startTestServer();
    const alice = await clients.connect(server.wsUrl, 'alice');
    let bob = await clients.connect(server.wsUrl, 'bob');
    const carol = await clients.connect(server.wsUrl, 'carol');
    const dave = await clients.connect(server.wsUrl, 'dave');
    await alice.ok('contacts.add', { user: 'bob' });
    await carol.ok('channel.create', { channel: 'team', channelType: 'private', members: ['bob'] });
    await bob.close();
    await alice.waitUntil(() => statusOf(alice, 'bob').includes('offline'));
    await carol.waitUntil(() => statusOf(carol, 'bob').includes('offline'));
    const offline = alice.frames.find((f) => f.type === 'status' && f.user === 'bob' && f.status === 'offline')!;
    expect(typeof offline.lastSeen).toBe('number');

    bob = await clients.connect(server.wsUrl, 'bob');
    // On connect bob gets his contacts' current states.
    const contacts = await bob.waitFor((f) => f.type === 'contacts');
    expect(contacts.contacts).toEqual([{ user: 'alice', name: 'alice', avatarUrl: null, statusText: null, status: 'online', lastSeen: null }]);
    await alice.waitUntil(() => statusOf(alice, 'bob').at(-1) === 'online');
    await bob.ok('status.set', { status: 'away' });
    await alice.waitUntil(() => statusOf(alice, 'bob').at(-1) === 'away');
    await carol.waitUntil(() => statusOf(carol, 'bob').at(-1) === 'away');
    expect((await alice.ok<{ contacts: { status: string }[] }>('contacts.list')).contacts[0]!.status).toBe('away');

    // A second device does not make bob "online" twice; closing one of two keeps him on.
    const phone = await clients.connect(server.wsUrl, 'bob');
    await phone.close();
    await bob.ok('status.set', { status: 'online' });
    await alice.waitUntil(() => statusOf(alice, 'bob').at(-1) === 'online');
    expect(statusOf(alice, 'bob')).toEqual(['offline', 'online', 'away', 'online']);

    await roundTrip(dave);
    expect(statusOf(dave, 'bob')).toEqual([]);
    expect(await bob.request('status.set', { status: 'offline' })).toMatchObject({
      type: 'error',
      code: 'bad_request',
      message: expect.stringMatching(/^Invalid status: /),
    });
  });

  it('carries status in channels of up to presence.occupancyAbove members; in larger ones members follow users lists', async () => {
    const server = await startTestServer({ overrides: { presence: { occupancyAbove: 3 } } });
    const alice = await clients.connect(server.wsUrl, 'alice');
    const bob = await clients.connect(server.wsUrl, 'bob');
    const carol = await clients.connect(server.wsUrl, 'carol');
    const dave = await clients.connect(server.wsUrl, 'dave');
    const erin = await clients.connect(server.wsUrl, 'erin');
    // 'pair' has 2 members (bob shares it with alice); 'crowd' has 4, one more than the limit.
    await alice.ok('channel.create', { channel: 'pair', channelType: 'private', members: ['bob'] });
    await alice.ok('channel.create', { channel: 'crowd', channelType: 'private', members: ['carol', 'dave', 'erin'] });
    await erin.ok('list.subscribe', { list: 'users', users: ['alice'] });

    await alice.ok('status.set', { status: 'away' });
    await bob.waitUntil(() => statusOf(bob, 'alice').at(-1) === 'away');
    const follows = (client: WsTestClient) => client.frames.filter((f) => f.type === 'list' && f.list === 'users');
    await erin.waitUntil(() => follows(erin).length === 1);
    expect(follows(erin)[0]).toMatchObject({ action: 'update', item: { user: 'alice', status: 'away' } });
    await Promise.all([roundTrip(carol), roundTrip(dave), roundTrip(erin)]);
    expect([statusOf(carol, 'alice'), statusOf(dave, 'alice'), statusOf(erin, 'alice')]).toEqual([[], [], []]);

    // A member who leaves the crowd brings it to the limit: from then on it carries status.
    await dave.ok('channel.leave', { channel: 'crowd' });
    await alice.ok('status.set', { status: 'online' });
    await carol.waitUntil(() => statusOf(carol, 'alice').at(-1) === 'online');
    await roundTrip(dave);
    expect(statusOf(dave, 'alice')).toEqual([]);
  });

  it('tells a channel mate who connects later that a user came back, and the user of their own return', async () => {
    const server = await startTestServer();
    let bob = await clients.connect(server.wsUrl, 'bob');
    let carol = await clients.connect(server.wsUrl, 'carol');
    await carol.ok('channel.create', { channel: 'team', channelType: 'private', members: ['bob'] });
    await carol.close();
    // Dave watches bob in the users list: a live list, not a status audience.
    const dave = await clients.connect(server.wsUrl, 'dave');
    await dave.ok('list.subscribe', { list: 'users', users: ['bob'] });
    // Bob leaves while carol is away: no session in his audience hears him go.
    await bob.close();
    await dave.waitFor((f) => f.type === 'list' && f.list === 'users' && (f.item as { status: string }).status === 'offline');

    carol = await clients.connect(server.wsUrl, 'carol');
    await roundTrip(carol);
    bob = await clients.connect(server.wsUrl, 'bob');
    await carol.waitUntil(() => statusOf(carol, 'bob').at(-1) === 'online');
    await bob.waitUntil(() => statusOf(bob, 'bob').at(-1) === 'online');
    expect(statusOf(carol, 'bob')).toEqual(['online']);
    expect(statusOf(dave, 'bob')).toEqual([]);
  });

  it('marks a client that stops answering heartbeats offline within the stated timeout', async () => {
    const heartbeatMs = 150;
    const server = await startTestServer({ overrides: { heartbeatMs } });
    const alice = await clients.connect(server.wsUrl, 'alice');
    const bob = await clients.connect(server.wsUrl, 'bob');
    await alice.ok('contacts.add', { user: 'bob' });

    // Bob's second device whose network goes silent: it never answers pings, never closes.
    const silent = new WebSocket(`${server.wsUrl}?user=bob`, { autoPong: false });
    const silentClosed = new Promise<void>((resolve) => silent.once('close', () => resolve()));
    await new Promise<void>((resolve) =>
      silent.on('message', (data) => {
        if ((JSON.parse(String(data)) as ServerFrame).type === 'welcome') resolve();
      }),
    );
    await bob.close();
    const lostAt = Date.now();
    await alice.waitUntil(() => statusOf(alice, 'bob').at(-1) === 'offline', 5000);
    // Dropped after missing two pings: at most about 2 x heartbeat (plus scheduling slack).
    expect(Date.now() - lostAt).toBeLessThan(heartbeatMs * 2 + 1000);
    // The server cut the silent socket itself; bob went offline once, not when his first device left.
    await silentClosed;
    expect(statusOf(alice, 'bob').filter((s) => s === 'offline')).toHaveLength(1);
  });
});

describe('the publish path', () => {
  it('makes no chat-store query for a message without a mention, and one lookup for a mention', async () => {
    const server = await startTestServer();
    const alice = await clients.connect(server.wsUrl, 'alice');
    const bob = await clients.connect(server.wsUrl, 'bob');
    await alice.ok('channel.create', { channel: 'hot', channelType: 'public' });
    await alice.ok('subscribe', { channel: 'hot' });
    await bob.ok('subscribe', { channel: 'user:bob' });

    // Count every call into the chat tables from here on (the real queries still run).
    const calls: string[] = [];
    const queries = ChatStore.prototype as unknown as Record<string, (...args: unknown[]) => unknown>;
    for (const name of Object.getOwnPropertyNames(queries)) {
      const original = Object.getOwnPropertyDescriptor(queries, name)?.value as ((...args: unknown[]) => unknown) | undefined;
      if (name === 'constructor' || typeof original !== 'function') continue;
      queries[name] = function (this: unknown, ...args: unknown[]) {
        calls.push(name);
        return original.apply(this, args);
      };
      onTestFinished(() => {
        queries[name] = original;
      });
    }
    for (let i = 0; i < 50; i++) await alice.ok('publish', { channel: 'hot', text: `plain message ${i}, mail a@b.example` });
    await alice.waitUntil(() => alice.events('hot').length === 50);
    expect(calls).toEqual([]);

    await alice.ok('publish', { channel: 'hot', text: 'now @bob' });
    await bob.waitUntil(() => bob.events('user:bob').length === 1);
    expect(calls).toEqual(['findUsers']);
  });
});
