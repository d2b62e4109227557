import { describe, expect, it } from 'vitest';
import {
  ClientError,
  type ChannelEvent,
  type ConnectionState,
  createClient,
  type SwitchboardClient,
  type TypingEvent,
} from '../client/src/index.js';
import { TEST_BACKOFF, useSdkClients } from './helpers/sdk-clients.js';
import { startTestServer } from './helpers/test-server.js';

const clients = useSdkClients();
const API_KEY = 'test-api-key-0123456789';

/** Resolves when `check` passes, re-checked on every `event` the client emits. */
function until(client: SwitchboardClient, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  return new Promise((resolve, reject) => {
    if (check()) return resolve();
    const stop = () => {
      offEvent();
      offTyping();
      clearTimeout(timer);
    };
    const test = () => {
      if (!check()) return;
      stop();
      resolve();
    };
    const offEvent = client.on('event', test);
    const offTyping = client.on('typing', test);
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`condition not met within ${timeoutMs} ms`));
    }, timeoutMs);
  });
}

describe('client SDK: commands', () => {
  it('covers every protocol command with typed results', async () => {
    const server = await startTestServer();
    const alice = clients.connect(server.url, 'alice');
    const bob = clients.connect(server.wsUrl, 'bob');
    const states: ConnectionState[] = [];
    alice.on('state', ({ state }) => states.push(state));

    // Requests made before the connection is up wait for it.
    const created = await alice.createChannel({ channel: 'general', type: 'public', title: 'General' });
    expect(created).toMatchObject({ id: 'general', type: 'public', title: 'General', createdBy: 'alice', lastSeq: 0 });
    expect(states).toEqual(['connected']);
    expect(alice.welcome).toMatchObject({ user: 'alice', name: 'alice' });
    expect((await alice.ping()).at).toBeGreaterThan(0);

    expect(await bob.joinChannel('general')).toMatchObject({ channel: 'general', user: 'bob', role: 'member' });
    expect((await alice.getChannel('general')).id).toBe('general');
    expect((await bob.listChannels()).channels.map((c) => c.id)).toEqual(['general']);
    expect((await alice.listMembers('general')).map((m) => m.user)).toEqual(['alice', 'bob']);

    const seen: ChannelEvent[] = [];
    const typing: TypingEvent[] = [];
    await alice.subscribe('general', { onEvent: (e) => seen.push(e), onTyping: (t) => typing.push(t) });
    await bob.subscribe('general', () => {});
    const first = await bob.publish('general', 'hello');
    expect(first).toMatchObject({ channel: 'general', seq: 1, duplicate: false });
    const again = await bob.publish('general', { text: 'hello', cid: 'fixed-cid' });
    const retry = await bob.publish('general', { text: 'hello', cid: 'fixed-cid' });
    expect(retry).toMatchObject({ seq: again.seq, duplicate: true });
    const edited = await bob.editMessage('general', first.seq, 'hello!');
    expect(edited).toMatchObject({ seq: 3, target: 1 });
    const deleted = await bob.deleteMessage('general', again.seq);
    expect(deleted).toMatchObject({ seq: 4, target: 2 });
    await bob.typing('general');
    await until(alice, () => seen.length === 4 && typing.length === 1);
    expect(seen.map((e) => [e.seq, e.kind])).toEqual([
      [1, 'message'],
      [2, 'message'],
      [3, 'edit'],
      [4, 'delete'],
    ]);
    expect(typing[0]).toMatchObject({ channel: 'general', user: 'bob' });

    const page = await alice.history('general', { limit: 10 });
    expect(page.events.map((e) => [e.seq, e.text])).toEqual([
      [1, 'hello!'],
      [2, null],
    ]);
    expect(page.hasMore).toBe(false);
    expect(await alice.presence('general')).toEqual(
      expect.arrayContaining([
        { user: 'alice', sessions: 1 },
        { user: 'bob', sessions: 1 },
      ]),
    );

    await alice.createChannel({ channel: 'staff', type: 'private' });
    expect(await alice.addMember('staff', 'bob')).toMatchObject({ user: 'bob', role: 'member' });
    await alice.removeMember('staff', 'bob');
    await bob.leaveChannel('general');
    const dm = await alice.createChannel({ type: 'direct', members: ['bob'] });
    expect(dm.id).toBe('dm:alice,bob');
  });

  it('rejects with a typed error carrying the server code, and changes nothing', async () => {
    const server = await startTestServer();
    const alice = clients.connect(server.wsUrl, 'alice');
    const missing = await alice.publish('nowhere', 'hi').catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(ClientError);
    expect(missing).toMatchObject({ code: 'not_found', request: 'publish' });

    await alice.createChannel({ channel: 'news', type: 'public', publish: 'members' });
    const bob = clients.connect(server.wsUrl, 'bob');
    await expect(bob.publish('news', 'spam')).rejects.toMatchObject({ code: 'forbidden' });
    await expect(alice.createChannel({ channel: 'news', type: 'public' })).rejects.toMatchObject({ code: 'conflict' });
    await expect(alice.subscribe('nowhere', () => {})).rejects.toMatchObject({ code: 'not_found' });
    // A failed subscribe leaves nothing behind: the channel can be subscribed once it exists.
    expect(alice.subscription('nowhere')).toBeUndefined();
    await alice.subscribe('news', () => {});
    await expect(alice.subscribe('news', () => {})).rejects.toMatchObject({ code: 'conflict' });
    expect((await alice.history('news')).events).toEqual([]);
  });

  it('speaks the protocol shapes: paged channel lists, and one ack for publish, edit and delete', async () => {
    const server = await startTestServer();
    const alice = clients.connect(server.wsUrl, 'alice');
    for (const channel of ['a', 'b', 'c']) await alice.createChannel({ channel, type: 'public' });
    const first = await alice.listChannels({ limit: 2 });
    expect(first.channels.map((c) => c.id)).toEqual(['a', 'b']);
    expect(first.next).toBe('b');
    const last = await alice.listChannels({ after: first.next!, limit: 2 });
    expect(last.channels.map((c) => c.id)).toEqual(['c']);
    expect(last.next).toBeNull();

    const ack = { id: expect.any(String), createdAt: expect.any(Number), duplicate: false };
    expect(await alice.publish('a', 'hello')).toEqual({ channel: 'a', seq: 1, target: null, ...ack });
    expect(await alice.editMessage('a', 1, 'hello!')).toEqual({ channel: 'a', seq: 2, target: 1, ...ack });
    expect(await alice.deleteMessage('a', 1)).toEqual({ channel: 'a', seq: 3, target: 1, ...ack });
  });

  it('reaches the commands every transport serves: channel update and delete, batches, push, users, tickets', async () => {
    const server = await startTestServer({ overrides: { apiKeys: [API_KEY] } });
    const alice = clients.connect(server.wsUrl, 'alice');
    const bob = clients.connect(server.wsUrl, 'bob');
    const backend = clients.track(createClient({ url: server.wsUrl, token: API_KEY, backoff: TEST_BACKOFF }));
    await alice.createChannel({ channel: 'room', type: 'public', title: 'Room' });

    expect(await alice.updateChannel('room', { title: 'Team room', publish: 'members' })).toMatchObject({
      id: 'room',
      title: 'Team room',
      publish: 'members',
    });
    await expect(bob.publish('room', 'not a member')).rejects.toMatchObject({ code: 'forbidden' });
    await expect(bob.updateChannel('room', { title: 'Mine' })).rejects.toMatchObject({ code: 'forbidden' });

    const batch = await alice.publishBatch([
      { channel: 'room', text: 'one' },
      { channel: 'nowhere', text: 'two' },
      { channel: 'room', text: 'three', cid: 'three' },
    ]);
    expect(batch).toMatchObject([
      { ok: true, channel: 'room', seq: 1, duplicate: false },
      { ok: false, code: 'not_found' },
      { ok: true, channel: 'room', seq: 2, duplicate: false },
    ]);
    expect(await alice.publishBatch([{ channel: 'room', text: 'three', cid: 'three' }])).toMatchObject([
      { ok: true, seq: 2, duplicate: true },
    ]);

    const inbox: ChannelEvent[] = [];
    await bob.subscribe('user:bob', (event) => inbox.push(event));
    const pushed = await backend.push({ user: 'bob', text: 'your order shipped', data: { order: 42 } });
    expect(pushed).toMatchObject({ channel: 'user:bob', seq: 1, duplicate: false });
    await until(bob, () => inbox.length === 1);
    expect(inbox[0]).toMatchObject({ author: null, text: 'your order shipped', data: { order: 42 } });
    await expect(bob.push({ user: 'alice', text: 'spoof' })).rejects.toMatchObject({ code: 'forbidden' });

    expect(await bob.getUser('alice')).toMatchObject({ id: 'alice', name: 'alice' });
    await expect(bob.getUser('nobody')).rejects.toMatchObject({ code: 'not_found' });
    const users = await bob.listUsers({ limit: 1 });
    expect(users.users.map((u) => u.id)).toEqual(['alice']);
    expect(users.next).toBe('alice');
    expect((await bob.listUsers({ after: users.next! })).users.map((u) => u.id)).toEqual(['bob']);
    expect(await alice.updateUser('alice', { name: 'Alice Liddell' })).toMatchObject({ id: 'alice', name: 'Alice Liddell' });
    await expect(bob.updateUser('alice', { name: 'Mallory' })).rejects.toMatchObject({ code: 'forbidden' });

    const ticket = await bob.createTicket();
    expect(ticket.expiresAt).toBeGreaterThan(Date.now());
    const byTicket = clients.track(createClient({ url: server.wsUrl, ticket: ticket.ticket, backoff: TEST_BACKOFF }));
    expect(await byTicket.ready()).toMatchObject({ user: 'bob' });
    await expect(bob.createTicket({ user: 'alice' })).rejects.toMatchObject({ code: 'forbidden' });

    await expect(bob.deleteChannel('room')).rejects.toMatchObject({ code: 'forbidden' });
    await alice.deleteChannel('room');
    await expect(alice.getChannel('room')).rejects.toMatchObject({ code: 'not_found' });
  });

  it('registers users as the app backend (users.register) and the token signs the user in', async () => {
    const server = await startTestServer({ overrides: { auth: 'accounts', apiKeys: [API_KEY] } });
    const backend = clients.track(createClient({ url: server.wsUrl, token: API_KEY, backoff: TEST_BACKOFF }));
    const registered = await backend.registerUser({ user: 'ann', name: 'Ann' });
    expect(registered).toMatchObject({ user: { id: 'ann', name: 'Ann' }, inbox: 'user:ann', created: true });
    expect((await backend.registerUser({ user: 'ann' })).created).toBe(false);
    const ann = clients.track(createClient({ url: server.wsUrl, token: registered.token, backoff: TEST_BACKOFF }));
    expect(await ann.ready()).toMatchObject({ user: 'ann', name: 'Ann' });
    await expect(ann.registerUser({ user: 'eve' })).rejects.toMatchObject({ code: 'forbidden' });
  });

  it('times a request out with code timeout', async () => {
    const server = await startTestServer();
    await server.close();
    // Nothing listens: the request waits for a connection that never comes.
    const client = createClient({
      url: server.wsUrl,
      user: 'alice',
      requestTimeoutMs: 200,
      backoff: { initialDelayMs: 20, maxDelayMs: 50 },
    });
    clients.track(client);
    const started = Date.now();
    await expect(client.ping()).rejects.toMatchObject({ code: 'timeout', request: 'ping' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    expect(client.state).toBe('reconnecting');
  });
});
