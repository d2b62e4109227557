import * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { BINDINGS, isServed } from '../protocol/bindings.js';
import { COMMAND_NAMES } from '../protocol/commands.js';
import { loadSwitchboardProtos, SWITCHBOARD_SERVICE } from '../src/transports/grpc/proto-definition.js';
import {
  as,
  call,
  type EventMessage,
  failure,
  grpcClient,
  type Message,
  StreamRecorder,
  withApiKey,
} from './helpers/grpc-test-client.js';
import { startTestServer } from './helpers/test-server.js';
import { Waiters } from './helpers/waiters.js';
import { useWsClients } from './helpers/ws-test-client.js';

/**
 * Every command with a gRPC binding is served by the one generic adapter, the chat
 * features included; effects are checked from the other wires (/ws, REST).
 */
const ws = useWsClients();
const API_KEY = 'grpc-commands-api-key-0123456789';

describe('gRPC serves every bound command', () => {
  it('offers exactly the rpcs of protocol/bindings.ts, and none answers UNIMPLEMENTED', async () => {
    const bound = COMMAND_NAMES.flatMap((name) => {
      const grpcBinding = BINDINGS[name].grpc;
      return isServed(grpcBinding) ? [{ rpc: grpcBinding.rpc, stream: grpcBinding.stream === true }] : [];
    });
    const service = loadSwitchboardProtos()[SWITCHBOARD_SERVICE] as grpc.ServiceDefinition;
    expect(Object.keys(service).sort()).toEqual(bound.map((b) => b.rpc).sort());
    for (const { rpc, stream } of bound) expect(service[rpc]!.responseStream, rpc).toBe(stream);

    const server = await startTestServer({ overrides: { apiKeys: [API_KEY] } });
    const client = grpcClient(server);
    const statuses: Record<string, number> = {};
    for (const { rpc, stream } of bound) {
      if (stream) {
        // Ends by itself when refused; cancelled once it runs (the result comes as `subscribed`).
        const recorder = new StreamRecorder(client, {}, as('alice'), rpc);
        await recorder.waitUntil(() => recorder.messages.some((m) => m.subscribed)).then(
          () => recorder.call.cancel(),
          () => {},
        );
        statuses[rpc] = (await recorder.ended).code;
      } else {
        statuses[rpc] = await call(client, rpc, {}, as('alice')).then(
          () => grpc.status.OK,
          (error: grpc.ServiceError) => error.code,
        );
      }
    }
    expect(Object.keys(statuses)).toHaveLength(bound.length);
    for (const [rpc, code] of Object.entries(statuses)) expect(code, rpc).not.toBe(grpc.status.UNIMPLEMENTED);
    // Empty requests are refused by the pipeline's validation, not by a missing handler.
    expect(statuses).toMatchObject({ Ping: grpc.status.OK, Subscribe: grpc.status.INVALID_ARGUMENT, FollowList: grpc.status.INVALID_ARGUMENT });
  });
});

describe('chat over gRPC', () => {
  it('reacts, threads, marks read, searches and reads reactions, with the effects seen on /ws', async () => {
    const server = await startTestServer();
    const client = grpcClient(server);
    const alice = await ws.connect(server.wsUrl, 'alice');
    await alice.ok('channel.create', { channel: 'chat', channelType: 'public' });
    await alice.ok('subscribe', { channel: 'chat' });
    const root = await call<{ seq: number }>(client, 'Publish', { channel: 'chat', text: 'lunch at noon?' }, as('alice'));

    const added = await call(client, 'AddReaction', { channel: 'chat', seq: root.seq, emoji: '👍' }, as('bob'));
    expect(added).toEqual({ channel: 'chat', target: root.seq, seq: root.seq + 1, changed: true });
    expect(await alice.ok('reactions.get', { channel: 'chat', seqs: [root.seq] })).toEqual({
      reactions: { [root.seq]: [{ emoji: '👍', count: 1, users: ['bob'] }] },
    });
    await alice.waitUntil(() => alice.events('chat').some((e) => e.kind === 'reaction' && e.text === '👍'));
    expect(await call(client, 'GetReactions', { channel: 'chat', seqs: [root.seq] }, as('carol'))).toEqual({
      reactions: { [root.seq]: { items: [{ emoji: '👍', count: 1, users: ['bob'] }] } },
    });
    // Twice with one emoji is once: nothing new is stored.
    expect(await call(client, 'AddReaction', { channel: 'chat', seq: root.seq, emoji: '👍' }, as('bob'))).toEqual({
      channel: 'chat',
      target: root.seq,
      changed: false,
    });
    expect(await call(client, 'RemoveReaction', { channel: 'chat', seq: root.seq, emoji: '👍' }, as('bob'))).toMatchObject({ changed: true });
    expect(await alice.ok('reactions.get', { channel: 'chat', seqs: [root.seq] })).toEqual({ reactions: {} });

    const reply = await alice.ok<{ seq: number }>('publish', { channel: 'chat', text: 'yes, the usual place', replyTo: root.seq });
    const thread = await call<{ root: EventMessage; replies: EventMessage[]; hasMore?: boolean }>(
      client,
      'GetThread',
      { channel: 'chat', seq: root.seq },
      as('bob'),
    );
    expect(thread.root).toMatchObject({ seq: root.seq, text: 'lunch at noon?', kind: 'EVENT_KIND_MESSAGE' });
    expect(thread.replies.map((e) => [e.seq, e.text, e.replyTo])).toEqual([[reply.seq, 'yes, the usual place', root.seq]]);
    expect(thread.hasMore).toBe(false);

    expect(await call(client, 'MarkRead', { channel: 'chat', seq: reply.seq }, as('bob'))).toEqual({ channel: 'chat', seq: reply.seq });
    const bobOnWs = await ws.connect(server.wsUrl, 'bob');
    expect(await bobOnWs.ok('read.get', { channel: 'chat' })).toEqual({
      positions: [{ user: 'bob', seq: reply.seq, at: expect.any(Number) }],
    });
    expect(await call(client, 'GetReadPositions', { channel: 'chat' }, as('bob'))).toEqual({
      positions: [{ user: 'bob', seq: reply.seq, at: expect.any(Number) }],
    });

    const found = await call<{ results: EventMessage[]; next?: string }>(client, 'Search', { text: 'lunch' }, as('bob'));
    expect(found.results.map((e) => [e.channel, e.seq])).toEqual([['chat', root.seq]]);
    expect(found.next).toBeUndefined();
    const none = await call<{ results?: EventMessage[] }>(client, 'Search', { text: 'dinner' }, as('bob'));
    expect(none.results ?? []).toEqual([]);
  });

  it('catches up on direct messages, keeps contacts and pushes status, receipts and typing to gRPC streams', async () => {
    const server = await startTestServer();
    const client = grpcClient(server);

    // bob's stream: a session of its own, carrying every push the session gets.
    await call(client, 'CreateChannel', { channel: 'team', channelType: 'CHANNEL_TYPE_PRIVATE', members: ['bob', 'carol'] }, as('alice'));
    const dm = await call<Message>(client, 'CreateChannel', { channelType: 'CHANNEL_TYPE_DIRECT', members: ['bob'] }, as('alice'));
    expect(dm).toMatchObject({ id: 'dm:alice,bob', type: 'CHANNEL_TYPE_DIRECT' });
    const hi = await call<{ seq: number }>(client, 'Publish', { channel: 'dm:alice,bob', text: 'hi bob' }, as('alice'));

    const caughtUp = await call<{ channels: Message[]; directs: Message[]; mentions?: unknown[] }>(client, 'CatchUp', {}, as('bob'));
    expect(caughtUp.channels).toEqual(
      expect.arrayContaining([expect.objectContaining({ channel: 'dm:alice,bob', type: 'CHANNEL_TYPE_DIRECT', lastSeq: hi.seq, unread: 1 })]),
    );
    expect(caughtUp.directs).toEqual([
      expect.objectContaining({
        channel: expect.objectContaining({ id: 'dm:alice,bob' }),
        members: ['alice', 'bob'],
        latest: expect.objectContaining({ seq: hi.seq, text: 'hi bob', author: 'alice' }),
      }),
    ]);
    const directs = await call<{ directs: Message[] }>(client, 'ListDirects', {}, as('bob'));
    expect(directs.directs.map((d) => (d.channel as Message).id)).toEqual(['dm:alice,bob']);

    const carolOnWs = await ws.connect(server.wsUrl, 'carol');
    expect(await call(client, 'AddContact', { user: 'carol' }, as('bob'))).toMatchObject({ user: 'carol', status: 'USER_STATUS_ONLINE' });
    expect(await carolOnWs.ok('contacts.list')).toMatchObject({ contacts: [expect.objectContaining({ user: 'bob' })] });

    // carol's gRPC stream opens with her contacts (bob), then sees bob's status change.
    const carol = new StreamRecorder(client, { channel: 'team' }, as('carol'));
    await carol.live();
    await carol.waitUntil(() => carol.of<{ contacts: Message[] }>('contacts').some((c) => c.contacts.some((s) => s.user === 'bob')));
    // Status follows connections: bob needs one somewhere to set his.
    await expect(call(client, 'SetStatus', { status: 'USER_STATUS_AWAY' }, as('bob'))).rejects.toThrow(/connect first/);
    const bobOnWs = await ws.connect(server.wsUrl, 'bob');
    expect(await call(client, 'SetStatus', { status: 'USER_STATUS_AWAY' }, as('bob'))).toMatchObject({ user: 'bob', status: 'USER_STATUS_AWAY' });
    await carol.waitUntil(() => carol.of<Message>('status').some((s) => s.user === 'bob' && s.status === 'USER_STATUS_AWAY'));

    // A receipt in a private channel reaches its members' streams; typing too.
    const note = await call<{ seq: number }>(client, 'Publish', { channel: 'team', text: 'standup moved' }, as('alice'));
    await carol.waitUntil(() => carol.seqs().includes(note.seq));
    await call(client, 'MarkRead', { channel: 'team', seq: note.seq }, as('bob'));
    await carol.waitUntil(() => carol.of<Message>('receipt').some((r) => r.user === 'bob' && r.seq === note.seq && r.channel === 'team'));
    expect(await call(client, 'Typing', { channel: 'team' }, as('alice'))).toEqual({});
    await carol.waitUntil(() => carol.of<Message>('typing').some((t) => t.user === 'alice' && t.channel === 'team'));
    // Typing is for readers only, over a unary call as on a stream.
    expect((await failure(call(client, 'Typing', { channel: 'team' }, as('mallory')))).code).toBe(grpc.status.PERMISSION_DENIED);

    expect(await call(client, 'RemoveContact', { user: 'carol' }, as('bob'))).toEqual({});
    expect(await call(client, 'ListContacts', {}, as('bob'))).toEqual({});
  });

  it('lists users, publishes batches, pushes to inboxes and hands out tickets that /ws accepts', async () => {
    const server = await startTestServer({ overrides: { apiKeys: [API_KEY] } });
    const client = grpcClient(server);
    const bob = await ws.connect(server.wsUrl, 'bob');
    await ws.connect(server.wsUrl, 'alice');
    await bob.ok('channel.create', { channel: 'news', channelType: 'public' });
    await bob.ok('channel.create', { channel: 'closed', channelType: 'private' });
    await bob.ok('subscribe', { channel: 'news' });
    await bob.ok('subscribe', { channel: 'user:bob' });

    const users = await call<{ users: Message[]; next?: string }>(client, 'ListUsers', { limit: 1 }, as('carol'));
    expect(users.users.map((u) => u.id)).toEqual(['alice']);
    expect(users.next).toBe('alice');
    const rest = await call<{ users: Message[] }>(client, 'ListUsers', { after: users.next }, as('carol'));
    expect(rest.users.map((u) => u.id)).toEqual(expect.arrayContaining(['bob']));
    expect(await call(client, 'GetUser', { user: 'bob' }, as('carol'))).toMatchObject({ id: 'bob', name: 'bob' });

    const batch = await call<{ results: Message[] }>(
      client,
      'PublishBatch',
      { messages: [{ channel: 'news', text: 'one', cid: 'b-1' }, { channel: 'closed', text: 'not mine' }, { channel: 'news', text: 'two' }] },
      as('alice'),
    );
    expect(batch.results).toEqual([
      expect.objectContaining({ ok: true, channel: 'news', seq: 1, duplicate: false }),
      { ok: false, code: 'ERROR_CODE_FORBIDDEN', message: expect.any(String) },
      expect.objectContaining({ ok: true, channel: 'news', seq: 2 }),
    ]);
    await bob.waitUntil(() => bob.events('news').length === 2);
    expect(bob.events('news').map((e) => e.text)).toEqual(['one', 'two']);
    expect((await server.store.getChannel('closed'))?.lastSeq).toBe(0);

    const pushed = await call(client, 'Push', { user: 'bob', text: 'your order shipped', data: { structValue: { fields: { order: { numberValue: 981 } } } } }, withApiKey(API_KEY));
    expect(pushed).toMatchObject({ channel: 'user:bob', seq: 1 });
    await bob.waitUntil(() => bob.events('user:bob').length === 1);
    expect(bob.events('user:bob')[0]).toMatchObject({ text: 'your order shipped', data: { order: 981 } });
    // The server's event has no author: a pushed frame leaves the null out.
    expect(bob.frames.find((f) => f.type === 'event' && f.channel === 'user:bob')).not.toHaveProperty('author');
    expect((await failure(call(client, 'Push', { user: 'bob', text: 'x' }, as('bob')))).code).toBe(grpc.status.PERMISSION_DENIED);

    const { ticket } = await call<{ ticket: string; expiresAt: number }>(client, 'CreateTicket', {}, as('dave'));
    const viaTicket = ws.open(`${server.wsUrl}?ticket=${encodeURIComponent(ticket)}`);
    expect(await viaTicket.waitFor((f) => f.type === 'welcome' || f.type === 'error')).toMatchObject({ type: 'welcome', user: 'dave' });
  });

  it('follows a live list: the snapshot as `subscribed`, then changes as `list` pushes', async () => {
    const server = await startTestServer();
    const client = grpcClient(server);
    await call(client, 'CreateChannel', { channel: 'alpha', channelType: 'CHANNEL_TYPE_PUBLIC' }, as('alice'));

    const channels = new StreamRecorder(client, { list: 'LIST_NAME_CHANNELS' }, as('bob'), 'FollowList');
    const snapshot = await channels.live<{ list: string; items: Message[] }>();
    expect(snapshot.list).toBe('LIST_NAME_CHANNELS');
    // Bob's role: none (a role absent on the wire is null).
    expect(snapshot.items).toEqual([
      { listedChannel: expect.not.objectContaining({ role: expect.anything() }), kind: 'listedChannel' },
    ]);
    expect(snapshot.items[0]!.listedChannel).toMatchObject({ id: 'alpha', type: 'CHANNEL_TYPE_PUBLIC' });

    const members = new StreamRecorder(client, { list: 'LIST_NAME_MEMBERS', channel: 'alpha' }, as('bob'), 'FollowList');
    expect((await members.live<{ items: Message[] }>()).items).toEqual([
      { member: expect.objectContaining({ channel: 'alpha', user: 'alice', role: 'MEMBER_ROLE_OWNER' }), kind: 'member' },
    ]);

    const alice = await ws.connect(server.wsUrl, 'alice');
    await alice.ok('channel.create', { channel: 'beta', channelType: 'public' });
    await channels.waitUntil(() => channels.of<Message>('list').length > 0);
    expect(channels.of('list')[0]).toEqual({
      list: 'LIST_NAME_CHANNELS',
      action: 'LIST_ACTION_ADD',
      item: { listedChannel: expect.objectContaining({ id: 'beta' }), kind: 'listedChannel' },
    });
    await call(client, 'JoinChannel', { channel: 'alpha' }, as('carol'));
    await members.waitUntil(() => members.of<Message>('list').length > 0);
    expect(members.of('list')[0]).toMatchObject({
      list: 'LIST_NAME_MEMBERS',
      channel: 'alpha',
      action: 'LIST_ACTION_ADD',
      item: { member: expect.objectContaining({ user: 'carol' }) },
    });

    await call(client, 'DeleteChannel', { channel: 'beta' }, as('alice'));
    await channels.waitUntil(() => channels.of<Message>('list').some((l) => l.action === 'LIST_ACTION_REMOVE'));
    // A deleted channel is named by its id only.
    expect(channels.of<Message>('list').find((l) => l.action === 'LIST_ACTION_REMOVE')!.item).toEqual({ listedChannel: { id: 'beta' }, kind: 'listedChannel' });

    // Cancelling the call ends its session: nobody is left following.
    const closed = new Waiters();
    server.hub.observe({ sessionClosed: closed.wake });
    const open = server.hub.sessionCount;
    channels.call.cancel();
    members.call.cancel();
    expect((await channels.ended).code).toBe(grpc.status.CANCELLED);
    await closed.until(() => server.hub.sessionCount === open - 2, 5000, 'the cancelled calls left their sessions open');
  });
});
