import { describe, expect, it } from 'vitest';
import {
  ClientError,
  type ChannelEvent,
  type ConnectionState,
  createClient,
  type SwitchboardClient,
  type TypingEvent,
} from '../client/src/index.js';
import { useSdkClients } from './helpers/sdk-clients.js';
import { startTestServer } from './helpers/test-server.js';

const clients = useSdkClients();

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
