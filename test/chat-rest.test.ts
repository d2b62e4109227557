import { describe, expect, it } from 'vitest';
import { restAs } from './helpers/rest-as.js';
import { startTestServer } from './helpers/test-server.js';
import { useWsClients } from './helpers/ws-test-client.js';

/** The chat features over REST (/api), through a real server; permission checks as on /ws. */
const clients = useWsClients();

const api = restAs;

describe('chat features over REST', () => {
  it('contacts, status, DMs, read state, reactions, threads, search and catch-up', async () => {
    const server = await startTestServer();
    const alice = api(server, 'alice');
    const bob = api(server, 'bob');
    const eve = api(server, 'eve');
    // Users exist once they have made a request.
    for (const who of [alice, bob, eve]) expect((await who('GET', '/api/me/contacts')).status).toBe(200);

    expect(await alice('PUT', '/api/me/contacts/bob')).toMatchObject({ status: 200, body: { user: 'bob' } });
    expect((await bob('GET', '/api/me/contacts')).body.contacts.map((c: { user: string }) => c.user)).toEqual(['alice']);
    expect((await alice('PUT', '/api/me/contacts/ghost')).status).toBe(404);
    expect((await alice('DELETE', '/api/me/contacts/bob')).status).toBe(204);
    expect((await alice('DELETE', '/api/me/contacts/bob')).status).toBe(404);
    // Status follows connections: with none, there is nothing to set.
    expect(await bob('PUT', '/api/me/status', { status: 'away' })).toMatchObject({ status: 409, body: { code: 'conflict' } });
    const bobOnline = await clients.connect(server.wsUrl, 'bob');
    expect(await bob('PUT', '/api/me/status', { status: 'away' })).toMatchObject({ status: 200, body: { status: 'away' } });
    expect((await bob('PUT', '/api/me/status', { status: 'offline' })).status).toBe(400);
    await bobOnline.close();

    // A private channel with a watcher on /ws: eve's REST calls never reach it.
    const watcher = await clients.connect(server.wsUrl, 'alice');
    await watcher.ok('channel.create', { channel: 'staff', channelType: 'private', members: ['bob'] });
    await watcher.ok('subscribe', { channel: 'staff' });
    const root = await alice('POST', '/api/channels/staff/messages', { text: 'budget for the banana stand' });
    expect(root.status).toBe(201);
    const seq = root.body.seq as number;
    await bob('POST', '/api/channels/staff/messages', { text: 'looks fine', replyTo: seq });

    const reacted = await bob('PUT', `/api/channels/staff/messages/${seq}/reactions/${encodeURIComponent('👍')}`);
    expect(reacted).toMatchObject({ status: 200, body: { target: seq, changed: true } });
    await watcher.waitUntil(() => watcher.events('staff').some((e) => e.kind === 'reaction'));
    expect((await eve('PUT', `/api/channels/staff/messages/${seq}/reactions/x`)).status).toBe(403);
    // A list in the query is comma-separated; numbers arrive as text and are read as the input asks.
    const counts = await alice('GET', `/api/channels/staff/reactions?seqs=${seq},${seq + 1}`);
    expect(counts.body.reactions).toEqual({ [seq]: [{ emoji: '👍', count: 1, users: ['bob'] }] });
    expect((await bob('DELETE', `/api/channels/staff/messages/${seq}/reactions/${encodeURIComponent('👍')}`)).body.changed).toBe(true);

    const thread = await alice('GET', `/api/channels/staff/messages/${seq}/thread?limit=10`);
    expect(thread.body.replies.map((r: { text: string }) => r.text)).toEqual(['looks fine']);
    expect((await eve('GET', `/api/channels/staff/messages/${seq}/thread`)).status).toBe(403);

    expect(await bob('PUT', '/api/channels/staff/read', { seq: 1 })).toMatchObject({ status: 200, body: { seq: 1 } });
    await watcher.waitFor((f) => f.type === 'receipt' && f.user === 'bob');
    expect((await eve('PUT', '/api/channels/staff/read', { seq: 1 })).status).toBe(403);
    expect((await alice('GET', '/api/channels/staff/read')).body.positions).toMatchObject([{ user: 'bob', seq: 1 }]);
    // Bob has read past alice's message; alice has not read bob's reply.
    expect((await bob('GET', '/api/me/catchup')).body.channels).toEqual([]);
    const caughtUp = await alice('GET', '/api/me/catchup');
    expect(caughtUp.body.channels).toEqual([{ channel: 'staff', type: 'private', lastSeq: 4, readSeq: 0, unread: 1 }]);

    await watcher.ok('channel.create', { channel: 'lobby', channelType: 'public' });
    await alice('POST', '/api/channels/lobby/messages', { text: 'banana split party' });
    await alice('POST', '/api/channels/lobby/messages', { text: 'another banana' });
    const asEve = await eve('GET', '/api/search?text=banana');
    expect(asEve.body.results.map((r: { channel: string }) => r.channel)).toEqual(['lobby', 'lobby']);
    const asBob = await bob('GET', '/api/search?text=banana&limit=2');
    expect(asBob.body.results).toHaveLength(2);
    const more = await bob('GET', `/api/search?text=banana&limit=2&cursor=${asBob.body.next}`);
    expect(more.body.results.map((r: { text: string }) => r.text)).toEqual(['budget for the banana stand']);
    expect(more.body.next).toBeNull();
    expect((await eve('GET', '/api/search?text=banana&channel=staff')).status).toBe(403);
    expect((await eve('GET', '/api/search?text=banana&cursor=nonsense')).body).toMatchObject({ code: 'bad_request', message: expect.stringContaining('cursor') });
    expect((await eve('GET', '/api/search?q=banana')).body).toMatchObject({ code: 'bad_request', message: 'Invalid text: Invalid input: expected string, received undefined.' });

    const dm = await bob('POST', '/api/channels', { channelType: 'direct', members: ['alice'] });
    expect([200, 201]).toContain(dm.status);
    await bob('POST', `/api/channels/${encodeURIComponent(dm.body.id)}/messages`, { text: 'ping' });
    const directs = await alice('GET', '/api/me/directs');
    expect(directs.body.directs.map((d: { channel: { id: string }; latest: { text: string } }) => [d.channel.id, d.latest.text])).toEqual([
      ['dm:alice,bob', 'ping'],
    ]);
  });
});
