import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { MemoryBroker } from '../src/broker/memory-broker.js';
import { MemoryBus } from '../src/broker/memory-bus.js';
import { startTestServer } from './helpers/test-server.js';
import { type ServerFrame, WsTestClient, useWsClients } from './helpers/ws-test-client.js';

/** Live lists, offline catch-up, and chat notices across two nodes. */
const clients = useWsClients();

const listFrames = (client: WsTestClient, list: string) =>
  client.frames.filter((f) => f.type === 'list' && f.list === list) as (ServerFrame & {
    action: string;
    channel?: string;
    item: Record<string, unknown>;
  })[];

describe('live lists', () => {
  it('sends the channel list as a snapshot, then adds and removals the user may see', async () => {
    const server = await startTestServer();
    const alice = await clients.connect(server.wsUrl, 'alice');
    const bob = await clients.connect(server.wsUrl, 'bob');
    await bob.ok('channel.create', { channel: 'old-news', channelType: 'public' });
    const snapshot = await alice.ok<{ list: string; items: { id: string }[] }>('list.subscribe', { list: 'channels' });
    expect(snapshot.items.map((c) => c.id)).toEqual(['old-news']);

    await bob.ok('channel.create', { channel: 'hidden', channelType: 'private' });
    await bob.ok('channel.create', { channel: 'fresh', channelType: 'public' });
    await alice.waitUntil(() => listFrames(alice, 'channels').length === 1);
    expect(listFrames(alice, 'channels')[0]).toMatchObject({ action: 'add', item: { id: 'fresh', type: 'public' } });

    // Being added to the private channel makes it appear; being removed makes it go.
    await bob.ok('members.add', { channel: 'hidden', user: 'alice' });
    await alice.waitUntil(() => listFrames(alice, 'channels').length === 2);
    expect(listFrames(alice, 'channels')[1]).toMatchObject({ action: 'add', item: { id: 'hidden' } });
    await bob.ok('members.remove', { channel: 'hidden', user: 'alice' });
    await alice.waitUntil(() => listFrames(alice, 'channels').length === 3);
    expect(listFrames(alice, 'channels')[2]).toMatchObject({ action: 'remove', item: { id: 'hidden' } });

    // A DM between others never shows up for alice.
    await bob.ok('channel.create', { channelType: 'direct', members: ['carol'] });
    await bob.ok('channel.create', { channel: 'last', channelType: 'public' });
    await alice.waitUntil(() => listFrames(alice, 'channels').length === 4);
    expect(listFrames(alice, 'channels').map((f) => f.item.id)).toEqual(['fresh', 'hidden', 'hidden', 'last']);

    // Renames and deletions (REST) reach the sessions whose list holds the channel, and no one else.
    const asBob = (method: string, path: string, body?: unknown) =>
      fetch(`${server.url}${path}`, {
        method,
        headers: { 'x-switchboard-user': 'bob', ...(body ? { 'content-type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      });
    expect((await asBob('PATCH', '/api/channels/fresh', { title: 'Fresh news' })).status).toBe(200);
    await alice.waitUntil(() => listFrames(alice, 'channels').length === 5);
    expect(listFrames(alice, 'channels')[4]).toMatchObject({ action: 'update', item: { id: 'fresh', title: 'Fresh news' } });
    expect((await asBob('DELETE', '/api/channels/hidden')).status).toBe(204);
    expect((await asBob('DELETE', '/api/channels/fresh')).status).toBe(204);
    await alice.waitUntil(() => listFrames(alice, 'channels').length === 6);
    expect(listFrames(alice, 'channels')[5]).toMatchObject({ action: 'remove', item: { id: 'fresh' } });

    await alice.ok('list.unsubscribe', { list: 'channels' });
    await bob.ok('channel.create', { channel: 'after', channelType: 'public' });
    await alice.ok('ping');
    expect(listFrames(alice, 'channels').map((f) => f.item.id)).not.toContain('after');
    expect(await alice.request('list.unsubscribe', { list: 'channels' })).toMatchObject({ code: 'not_found' });
  });

  it("follows a channel's members and users' profiles, and refuses lists the user may not read", async () => {
    const server = await startTestServer();
    const alice = await clients.connect(server.wsUrl, 'alice');
    const bob = await clients.connect(server.wsUrl, 'bob');
    const eve = await clients.connect(server.wsUrl, 'eve');
    await alice.ok('channel.create', { channel: 'room', channelType: 'public' });
    await alice.ok('channel.create', { channel: 'secret', channelType: 'private' });
    const members = await alice.ok<{ items: { user: string }[] }>('list.subscribe', { list: 'members', channel: 'room' });
    expect(members.items.map((m) => m.user)).toEqual(['alice']);
    expect(await eve.request('list.subscribe', { list: 'members', channel: 'secret' })).toMatchObject({
      code: 'forbidden',
    });
    expect(await eve.request('list.subscribe', { list: 'members' })).toMatchObject({ code: 'bad_request' });

    await bob.ok('channel.join', { channel: 'room' });
    await alice.waitUntil(() => listFrames(alice, 'members').length === 1);
    await bob.ok('channel.leave', { channel: 'room' });
    await alice.waitUntil(() => listFrames(alice, 'members').length === 2);
    expect(listFrames(alice, 'members').map((f) => [f.action, f.channel, f.item.user])).toEqual([
      ['add', 'room', 'bob'],
      ['remove', 'room', 'bob'],
    ]);

    const users = await eve.ok<{ items: { user: string; status: string }[] }>('list.subscribe', {
      list: 'users',
      users: ['bob', 'nobody'],
    });
    expect(users.items).toEqual([{ user: 'bob', name: 'bob', avatarUrl: null, statusText: null, status: 'online', lastSeen: null }]);
    await bob.ok('status.set', { status: 'away' });
    await eve.waitUntil(() => listFrames(eve, 'users').length === 1);
    expect(listFrames(eve, 'users')[0]).toMatchObject({ action: 'update', item: { user: 'bob', status: 'away' } });
    // Nothing about the private channel reached eve on any list.
    expect(eve.frames.filter((f) => f.type === 'list' && JSON.stringify(f).includes('secret'))).toEqual([]);
  });

  it('sends each change once to each list that holds it, after follows again, unfollows and closes', async () => {
    const server = await startTestServer();
    const alice = await clients.connect(server.wsUrl, 'alice');
    const bob = await clients.connect(server.wsUrl, 'bob');
    const eve = await clients.connect(server.wsUrl, 'eve');
    const eveElsewhere = await clients.connect(server.wsUrl, 'eve');
    // Carol follows everything too: once her frame is in, every list's frame of that change
    // was written; a reply on another socket comes after what that socket was sent before it.
    const carol = await clients.connect(server.wsUrl, 'carol');
    const fence = (...sessions: WsTestClient[]) => Promise.all(sessions.map((session) => session.ok('contacts.list')));
    await carol.ok('list.subscribe', { list: 'users', users: ['bob'] });
    await carol.ok('list.subscribe', { list: 'channels' });
    const bobChanges = (client: WsTestClient) => listFrames(client, 'users').filter((f) => f.item.user === 'bob').length;
    const setBob = async (status: 'away' | 'online', seen: number) => {
      await bob.ok('status.set', { status });
      await carol.waitUntil(() => bobChanges(carol) === seen);
    };

    // Followed twice, and from two sessions: one frame per change on each session.
    await eve.ok('list.subscribe', { list: 'users', users: ['bob'] });
    await eve.ok('list.subscribe', { list: 'users', users: ['bob', 'alice'] });
    await eveElsewhere.ok('list.subscribe', { list: 'users', users: ['bob'] });
    await setBob('away', 1);
    await fence(eve, eveElsewhere);
    expect([bobChanges(eve), bobChanges(eveElsewhere)]).toEqual([1, 1]);

    // Unfollowed on one session, closed on the other: neither hears the next change.
    await eve.ok('list.unsubscribe', { list: 'users', users: ['bob'] });
    await eveElsewhere.close();
    await setBob('online', 2);
    await fence(eve);
    expect(bobChanges(eve)).toBe(1);
    // Followed again: heard again, once.
    await eve.ok('list.subscribe', { list: 'users', users: ['bob'] });
    await setBob('away', 3);
    await fence(eve);
    expect(bobChanges(eve)).toBe(2);

    // A channel list unfollowed hears no update; followed again, it holds the channel once more.
    await alice.ok('channel.create', { channel: 'room', channelType: 'public' });
    await alice.ok('list.subscribe', { list: 'channels' });
    await alice.ok('list.unsubscribe', { list: 'channels' });
    await alice.ok('list.subscribe', { list: 'channels' });
    await alice.ok('list.subscribe', { list: 'members', channel: 'room' });
    const roomUpdates = (client: WsTestClient) => listFrames(client, 'channels').filter((f) => f.item.id === 'room' && f.action === 'update');
    await alice.ok('channel.update', { channel: 'room', title: 'The room' });
    await carol.waitUntil(() => roomUpdates(carol).length === 1);
    await fence(alice);
    expect(roomUpdates(alice)).toHaveLength(1);

    // A deleted channel leaves every list: its members list no longer hears of it.
    await bob.ok('channel.join', { channel: 'room' });
    await alice.waitUntil(() => listFrames(alice, 'members').length === 1);
    await alice.ok('channel.delete', { channel: 'room' });
    await carol.waitUntil(() => listFrames(carol, 'channels').some((f) => f.item.id === 'room' && f.action === 'remove'));
    await fence(alice);
    expect(listFrames(alice, 'channels').filter((f) => f.item.id === 'room' && f.action === 'remove')).toHaveLength(1);
    await alice.ok('channel.create', { channel: 'room', channelType: 'public' });
    await bob.ok('channel.join', { channel: 'room' });
    await carol.waitUntil(() => listFrames(carol, 'channels').filter((f) => f.item.id === 'room' && f.action === 'add').length === 2);
    await fence(alice);
    expect(listFrames(alice, 'members')).toHaveLength(1);
  });
});

describe('offline catch-up', () => {
  it('tells a returning user what changed since they were last seen: unread channels, DMs, mentions', async () => {
    const server = await startTestServer();
    const alice = await clients.connect(server.wsUrl, 'alice');
    let bob = await clients.connect(server.wsUrl, 'bob');
    await alice.ok('channel.create', { channel: 'news', channelType: 'public' });
    await bob.ok('channel.join', { channel: 'news' });
    await alice.ok('publish', { channel: 'news', text: 'seen before' });
    await bob.ok('read.mark', { channel: 'news', seq: 1 });
    await alice.ok('contacts.add', { user: 'bob' });
    await bob.close();
    await alice.waitUntil(() => alice.frames.some((f) => f.type === 'status' && f.user === 'bob' && f.status === 'offline'));

    const dm = await alice.ok<{ id: string }>('channel.create', { channelType: 'direct', members: ['bob'] });
    await alice.ok('publish', { channel: dm.id, text: 'are you there?' });
    await alice.ok('publish', { channel: 'news', text: 'news one' });
    await alice.ok('publish', { channel: 'news', text: 'news two for @bob' });
    bob = await clients.connect(server.wsUrl, 'bob');
    await bob.ok('subscribe', { channel: 'user:bob', since: 0 });
    await bob.waitUntil(() => bob.events('user:bob').length === 1);

    type CatchUp = {
      lastSeen: number | null;
      channels: { channel: string; unread: number }[];
      directs: { channel: { id: string }; latest: { text: string } }[];
      mentions: { data: { channel: string; text: string } }[];
    };
    const caughtUp = await bob.ok<CatchUp>('catchup');
    expect(typeof caughtUp.lastSeen).toBe('number');
    expect(caughtUp.channels.map((c) => [c.channel, c.unread])).toEqual([
      [dm.id, 1],
      ['news', 2],
      ['user:bob', 1],
    ]);
    expect(caughtUp.directs.map((d) => [d.channel.id, d.latest.text])).toEqual([[dm.id, 'are you there?']]);
    expect(caughtUp.mentions.map((m) => [m.data.channel, m.data.text])).toEqual([['news', 'news two for @bob']]);
  });
});

describe('chat notices across nodes', () => {
  /** Two servers on one SQLite file and one in-process bus, removed when the test finishes. */
  async function twoNodes() {
    const dir = mkdtempSync(join(tmpdir(), 'switchboard-chat-nodes-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const databaseUrl = `sqlite:${join(dir, 'shared.db')}`;
    const bus = new MemoryBus();
    const one = await startTestServer({ databaseUrl, broker: new MemoryBroker(bus, 'one') });
    const two = await startTestServer({ databaseUrl, broker: new MemoryBroker(bus, 'two') });
    return { bus, one, two };
  }

  it('carries status and live-list changes to sessions on another node', async () => {
    const { one, two } = await twoNodes();

    const alice = await clients.connect(one.wsUrl, 'alice');
    const bob = await clients.connect(two.wsUrl, 'bob');
    await alice.ok('contacts.add', { user: 'bob' });
    await alice.ok('list.subscribe', { list: 'channels' });
    await bob.ok('status.set', { status: 'away' });
    await alice.waitUntil(() => alice.frames.some((f) => f.type === 'status' && f.user === 'bob' && f.status === 'away'));
    await bob.ok('channel.create', { channel: 'from-two', channelType: 'public' });
    await alice.waitUntil(() => listFrames(alice, 'channels').some((f) => f.item.id === 'from-two'));
    await bob.close();
    await alice.waitUntil(() => alice.frames.some((f) => f.type === 'status' && f.user === 'bob' && f.status === 'offline'));
  });

  it('pushes a profile change to a contact added on the other node, even when that node never heard of the contact', async () => {
    const { bus, one, two } = await twoNodes();
    const alice = await clients.connect(one.wsUrl, 'alice');
    const carol = await clients.connect(two.wsUrl, 'carol');
    // Node one learns of carol's new contact by a notice: lost here, as it may still be in
    // flight when alice changes her profile a moment later.
    bus.failing = true;
    await carol.ok('contacts.add', { user: 'alice' });
    bus.failing = false;
    await alice.ok('users.update', { user: 'alice', name: 'Alice Liddell' });
    const pushed = await carol.waitFor((f) => f.type === 'profile' && f.user === 'alice');
    expect(pushed).toMatchObject({ name: 'Alice Liddell' });
  });

  it("shows the users of a node that died offline once the broker removes that node's sessions", async () => {
    const { bus, one, two } = await twoNodes();
    const alice = await clients.connect(one.wsUrl, 'alice');
    const bob = await clients.connect(two.wsUrl, 'bob');
    await alice.ok('contacts.add', { user: 'bob' });
    const session = bob.frames.find((f) => f.type === 'welcome')!.session as string;

    // What a Redis broker on node one does when bob's node stops heartbeating: it drops that
    // node's sessions from the registry, tells its own hub so, and announces the departure to
    // every node (where nobody watches '~online' as a channel).
    await bus.presence.remove('~online', 'bob', session);
    const left = { type: 'presence', channel: '~online', id: 'dead.1', action: 'leave', user: 'bob', session, at: Date.now() } as const;
    bus.sendTo('one', { type: 'registry-changed', event: left });
    bus.send('one', { type: 'ephemeral', event: left });
    await alice.waitUntil(() => alice.frames.some((f) => f.type === 'status' && f.user === 'bob' && f.status === 'offline'));
    const [state] = (await alice.ok<{ contacts: { status: string; lastSeen: number | null }[] }>('contacts.list')).contacts;
    expect(state).toMatchObject({ status: 'offline', lastSeen: expect.any(Number) });

    // The node was only cut off: it writes its sessions back and announces them.
    await bus.presence.add('~online', 'bob', session);
    const back = { type: 'presence', channel: '~online', id: 'dead.2', action: 'join', user: 'bob', session, at: Date.now() } as const;
    bus.sendTo('two', { type: 'registry-changed', event: back });
    bus.send('two', { type: 'ephemeral', event: back });
    await alice.waitUntil(() => alice.frames.filter((f) => f.type === 'status' && f.user === 'bob').at(-1)?.status === 'online');
  });
});
