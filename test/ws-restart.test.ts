import { describe, expect, it } from 'vitest';
import { startTestServer } from './helpers/test-server.js';
import { useWsClients } from './helpers/ws-test-client.js';

const clients = useWsClients();

describe('restart', () => {
  it('tells sessions to reconnect, keeps channels and history, and lets clients resume', async () => {
    const server = await startTestServer();
    const alice = await clients.connect(server.wsUrl, 'alice');
    const bob = await clients.connect(server.wsUrl, 'bob');
    await alice.ok('channel.create', { channel: 'kept', channelType: 'public', title: 'Kept' });
    await alice.ok('channel.create', { channel: 'hidden', channelType: 'private', members: ['bob'] });
    await bob.ok('subscribe', { channel: 'kept' });
    for (let i = 1; i <= 30; i++) await alice.ok('publish', { channel: 'kept', text: `before ${i}` });
    await bob.waitUntil(() => bob.events('kept').length === 30);

    await server.restart();
    expect(await bob.closed).toBe(4503);
    expect(bob.frames.find((f) => f.type === 'close')).toMatchObject({ reconnect: true });

    const writer = await clients.connect(server.wsUrl, 'alice');
    expect(await server.store.getUser('alice')).toMatchObject({ id: 'alice', name: 'alice' });
    for (let i = 31; i <= 40; i++) await writer.ok('publish', { channel: 'kept', text: `after ${i}` });
    const resumed = await clients.connect(server.wsUrl, 'bob');
    const lastSeen = bob.events('kept').at(-1)!.seq;
    await resumed.ok('subscribe', { channel: 'kept', since: lastSeen });
    expect(resumed.events('kept').map((e) => e.seq)).toEqual(Array.from({ length: 10 }, (_, i) => 31 + i));

    const channels = await resumed.ok<{ channels: { id: string; title: string | null }[]; next: string | null }>('channel.list');
    expect(channels.channels.map((c) => c.id)).toEqual(['hidden', 'kept']);
    expect(channels.next).toBeNull();
    const history = await resumed.ok<{ events: { seq: number; text: string }[] }>('history', {
      channel: 'kept',
      limit: 200,
    });
    expect(history.events).toHaveLength(40);
    expect(history.events[0]).toMatchObject({ seq: 1, text: 'before 1' });
    const members = await resumed.ok<{ members: { user: string }[] }>('members.list', { channel: 'hidden' });
    expect(members.members.map((m) => m.user)).toEqual(['alice', 'bob']);
  });
});
