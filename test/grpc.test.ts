import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { afterEach, describe, expect, it, onTestFinished } from 'vitest';
import { MemoryBroker } from '../src/broker/memory-broker.js';
import { MemoryBus } from '../src/broker/memory-bus.js';
import { ConfigError, loadConfig } from '../src/config.js';
import { LOADER_OPTIONS } from '../src/transports/grpc/proto-definition.js';
import {
  as,
  call,
  type EventMessage,
  failure,
  grpcClient,
  type Message,
  packageObject,
  StreamRecorder as Subscription,
  track,
  withApiKey as withKey,
} from './helpers/grpc-test-client.js';
import { startTestServer, type TestServer } from './helpers/test-server.js';
import { WsTestClient } from './helpers/ws-test-client.js';

const reflectionPackage = grpc.loadPackageDefinition(
  loadSync('grpc/reflection/v1/reflection.proto', {
    ...LOADER_OPTIONS,
    includeDirs: [new URL('../node_modules/@grpc/reflection/build/proto/', import.meta.url).pathname],
  }),
) as unknown as { grpc: { reflection: { v1: { ServerReflection: grpc.ServiceClientConstructor } } } };

const API_KEY = 'grpc-test-api-key-0123456789';
const withApiKey = () => withKey(API_KEY);
const wsClients: WsTestClient[] = [];
afterEach(async () => {
  await Promise.all(wsClients.splice(0).map((c) => c.close()));
});

async function wsConnect(server: TestServer, user: string): Promise<WsTestClient> {
  const client = await WsTestClient.connect(server.wsUrl, user);
  wsClients.push(client);
  return client;
}

describe('gRPC transport', () => {
  it('delivers a gRPC publish to a WebSocket subscriber and a WebSocket publish to a gRPC stream', async () => {
    const server = await startTestServer();
    const client = grpcClient(server);
    const channel = await call(client, 'CreateChannel', { channel: 'bridge', channelType: 'CHANNEL_TYPE_PUBLIC', title: 'Bridge' }, as('alice'));
    expect(channel).toMatchObject({ id: 'bridge', type: 'CHANNEL_TYPE_PUBLIC', publish: 'PUBLISH_POLICY_ANYONE', createdBy: 'alice', title: 'Bridge' });

    const bob = await wsConnect(server, 'bob');
    await bob.ok('subscribe', { channel: 'bridge' });
    const stream = new Subscription(client, { channel: 'bridge' }, as('alice'));
    expect(await stream.live()).toMatchObject({ channel: 'bridge', seq: 0 });

    const published = await call<{ seq: number; duplicate: boolean }>(
      client,
      'Publish',
      { channel: 'bridge', text: 'from grpc', data: { structValue: { fields: { order: { numberValue: 42 } } } }, cid: 'g-1' },
      as('alice'),
    );
    // The one ack of every wire (EventAck); a null target is unset.
    expect(published).toEqual({ channel: 'bridge', seq: 1, id: expect.any(String), createdAt: expect.any(Number), duplicate: false });
    await bob.waitUntil(() => bob.events('bridge').length === 1);
    expect(bob.events('bridge')[0]).toMatchObject({ seq: 1, author: 'alice', text: 'from grpc', data: { order: 42 }, cid: 'g-1' });

    await bob.ok('publish', { channel: 'bridge', text: 'from ws', data: { tags: ['a', true, null] } });
    await stream.waitUntil(() => stream.events().length === 2);
    expect(stream.events()).toEqual([
      expect.objectContaining({ seq: 1, kind: 'EVENT_KIND_MESSAGE', author: 'alice', text: 'from grpc' }),
      expect.objectContaining({ seq: 2, kind: 'EVENT_KIND_MESSAGE', author: 'bob', text: 'from ws' }),
    ]);
    expect(stream.events()[1]!.data).toEqual({
      structValue: {
        fields: {
          tags: {
            listValue: { values: [{ stringValue: 'a', kind: 'stringValue' }, { boolValue: true, kind: 'boolValue' }, { nullValue: 'NULL_VALUE', kind: 'nullValue' }] },
            kind: 'listValue',
          },
        },
      },
      kind: 'structValue',
    });
    // The stream's session is present, like a WebSocket's; bob sees alice join.
    await bob.waitFor((f) => f.type === 'presence' && f.user === 'alice' && f.action === 'join');
  });

  it('resumes a cancelled Subscribe stream with since and misses nothing while others publish', async () => {
    const server = await startTestServer();
    const client = grpcClient(server);
    await call(client, 'CreateChannel', { channel: 'busy', channelType: 'CHANNEL_TYPE_PUBLIC' }, as('owner'));
    const total = 300;
    const first = new Subscription(client, { channel: 'busy', presence: false }, as('reader'));
    await first.live();

    let sent = 0;
    const publishers = ['p1', 'p2', 'p3'].map(async (user, index) => {
      for (let i = index; i < total; i += 3) {
        await call(client, 'Publish', { channel: 'busy', text: `m${i}`, cid: `busy-${i}` }, as(user));
        sent++;
      }
    });
    await first.waitUntil(() => first.events().length >= 60);
    first.call.cancel();
    const status = await first.ended;
    expect(status.code).toBe(grpc.status.CANCELLED);
    expect(sent).toBeLessThan(total); // cancelled mid-stream, with publishes still to come
    const seen = first.seqs();
    const lastSeen = seen.at(-1)!;

    const resumed = new Subscription(client, { channel: 'busy', since: lastSeen, presence: false }, as('reader'));
    await Promise.all(publishers);
    await resumed.waitUntil(() => resumed.seqs().at(-1) === total, 20_000);

    expect(seen).toEqual(Array.from({ length: seen.length }, (_, i) => i + 1));
    expect(resumed.seqs()).toEqual(Array.from({ length: total - lastSeen }, (_, i) => lastSeen + 1 + i));
    expect(resumed.messages.filter((m) => m.presence || m.typing)).toEqual([]);
    const texts = new Set([...first.events(), ...resumed.events()].map((e) => e.text));
    expect(texts.size).toBe(total);
  });

  it('replays from since: 0, stores a cid once, and edits, deletes and pages history', async () => {
    const server = await startTestServer();
    const client = grpcClient(server);
    const alice = as('alice');
    await call(client, 'CreateChannel', { channel: 'log', channelType: 'CHANNEL_TYPE_PUBLIC' }, alice);
    const a = await call<{ seq: number; duplicate: boolean }>(client, 'Publish', { channel: 'log', text: 'helo', cid: 'c1' }, alice);
    const again = await call<{ seq: number; duplicate: boolean }>(client, 'Publish', { channel: 'log', text: 'helo', cid: 'c1' }, alice);
    expect(a).toMatchObject({ seq: 1 });
    expect(again).toMatchObject({ seq: 1, duplicate: true });
    await call(client, 'Publish', { channel: 'log', text: 'oops', replyTo: 1 }, alice);
    expect(await call(client, 'Edit', { channel: 'log', seq: 1, text: 'hello' }, alice)).toMatchObject({ seq: 3, target: 1 });
    expect(await call(client, 'Delete', { channel: 'log', seq: 2 }, alice)).toMatchObject({ seq: 4, target: 2 });

    const replay = new Subscription(client, { channel: 'log', since: 0 }, as('bob'));
    expect(await replay.live()).toMatchObject({ seq: 4 });
    expect(replay.events().map((e) => [e.seq, e.kind])).toEqual([
      [1, 'EVENT_KIND_MESSAGE'],
      [2, 'EVENT_KIND_MESSAGE'],
      [3, 'EVENT_KIND_EDIT'],
      [4, 'EVENT_KIND_DELETE'],
    ]);

    const history = await call<{ events: (EventMessage & Message)[]; hasMore?: boolean }>(client, 'History', { channel: 'log' }, alice);
    expect(history.events.map((e) => [e.seq, e.text])).toEqual([[1, 'hello'], [2, undefined]]);
    expect(history.events[0]!.editedAt).toEqual(expect.any(Number));
    expect(history.events[1]).toMatchObject({ replyTo: 1, deletedAt: expect.any(Number) });
    const page = await call<{ events: EventMessage[]; hasMore?: boolean }>(client, 'History', { channel: 'log', after: 0, limit: 1 }, alice);
    expect(page.events.map((e) => e.seq)).toEqual([1]);
    expect(page.hasMore).toBe(true);
  });

  it('manages channels and members, and reports presence', async () => {
    const server = await startTestServer();
    const client = grpcClient(server);
    const alice = as('alice');
    await call(client, 'CreateChannel', { channel: 'staff', channelType: 'CHANNEL_TYPE_PRIVATE', members: ['bob'] }, alice);
    expect(await call(client, 'AddMember', { channel: 'staff', user: 'carol', role: 'MEMBER_ROLE_ADMIN' }, alice)).toMatchObject({
      channel: 'staff',
      user: 'carol',
      role: 'MEMBER_ROLE_ADMIN',
      joinedAt: expect.any(Number),
    });
    const members = await call<{ members: Message[] }>(client, 'ListMembers', { channel: 'staff' }, as('bob'));
    expect(members.members.map((m) => [m.user, m.role])).toEqual([
      ['alice', 'MEMBER_ROLE_OWNER'],
      ['bob', 'MEMBER_ROLE_MEMBER'],
      ['carol', 'MEMBER_ROLE_ADMIN'],
    ]);
    expect(await call(client, 'RemoveMember', { channel: 'staff', user: 'carol' }, alice)).toEqual({});

    await call(client, 'CreateChannel', { channel: 'lobby', channelType: 'CHANNEL_TYPE_PUBLIC' }, alice);
    expect(await call(client, 'JoinChannel', { channel: 'lobby' }, as('dave'))).toMatchObject({ user: 'dave', role: 'MEMBER_ROLE_MEMBER' });
    expect(await call(client, 'LeaveChannel', { channel: 'lobby' }, as('dave'))).toEqual({});
    const direct = await call<Message>(client, 'CreateChannel', { channelType: 'CHANNEL_TYPE_DIRECT', members: ['bob'] }, alice);
    expect(direct).toMatchObject({ id: 'dm:alice,bob', type: 'CHANNEL_TYPE_DIRECT', publish: 'PUBLISH_POLICY_MEMBERS' });
    expect(await call(client, 'GetChannel', { channel: 'lobby' }, as('dave'))).toMatchObject({ id: 'lobby', lastSeq: 0 });

    const listed = await call<{ channels: Message[] }>(client, 'ListChannels', {}, as('dave'));
    expect(listed.channels.map((c) => c.id)).toEqual(['lobby']);
    const paged = await call<{ channels: Message[] }>(client, 'ListChannels', { after: 'dm:alice,bob', limit: 1 }, alice);
    expect(paged.channels.map((c) => c.id)).toEqual(['lobby']);

    const phone = new Subscription(client, { channel: 'lobby' }, as('erin'));
    const laptop = new Subscription(client, { channel: 'lobby' }, as('erin'));
    await Promise.all([phone.live(), laptop.live()]);
    const presence = await call<{ members: Message[] }>(client, 'Presence', { channel: 'lobby' }, alice);
    expect(presence).toMatchObject({ members: [{ user: 'erin', sessions: 2 }], users: 1, mode: 'MODE_MEMBERS' });
    // Both subscribed in one tick or not: one `presence` per change, or one `presenceBatch` for the tick's.
    const changes = (m: Message) => [m.presence as Message | undefined, ...(((m.presenceBatch as Message | undefined)?.changes as Message[]) ?? [])];
    await phone.waitUntil(() => phone.messages.some((m) => changes(m).some((c) => c?.action === 'PRESENCE_ACTION_ADD')));
  });

  it('lets an API key in metadata publish to a user inbox, which the user reads on /ws', async () => {
    const server = await startTestServer({ overrides: { apiKeys: [API_KEY] } });
    const client = grpcClient(server);
    const bob = await wsConnect(server, 'bob');
    await bob.ok('subscribe', { channel: 'user:bob' });
    const pushed = await call(client, 'Publish', { channel: 'user:bob', text: 'your order shipped' }, withApiKey());
    expect(pushed).toMatchObject({ channel: 'user:bob', seq: 1 });
    await bob.waitUntil(() => bob.events('user:bob').length === 1);
    expect(bob.events('user:bob')[0]).toMatchObject({ text: 'your order shipped' });
    // The server's event has no author: a pushed frame leaves the null out.
    expect(bob.frames.find((f) => f.type === 'event' && f.channel === 'user:bob')).not.toHaveProperty('author');

    const bearer = new grpc.Metadata();
    bearer.set('authorization', `Bearer ${API_KEY}`);
    expect(await call(client, 'Publish', { channel: 'user:bob', text: 'again' }, bearer)).toMatchObject({ seq: 2 });
    const wrong = new grpc.Metadata();
    wrong.set('x-switchboard-key', 'not-the-key-at-all-0000');
    expect((await failure(call(client, 'Publish', { channel: 'user:bob', text: 'x' }, wrong))).code).toBe(grpc.status.UNAUTHENTICATED);
    // A user may read their inbox but not publish there: only the server does.
    const denied = await failure(call(client, 'Publish', { channel: 'user:bob', text: 'me' }, as('bob')));
    expect(denied.code).toBe(grpc.status.PERMISSION_DENIED);
    expect((await server.store.getChannel('user:bob'))?.lastSeq).toBe(2);
  });
});

describe('gRPC auth and limits', () => {
  it('takes a user token as authorization: Bearer, the same as the WebSocket, and refuses a forged one', async () => {
    const server = await startTestServer({ overrides: { auth: 'accounts' } });
    const register = await fetch(`${server.url}/api/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'alice', password: 'correct horse battery staple' }),
    });
    expect(register.status).toBe(201);
    const { accessToken } = (await register.json()) as { accessToken: string };
    const client = grpcClient(server);
    const bearer = (token: string) => {
      const metadata = new grpc.Metadata();
      metadata.set('authorization', `Bearer ${token}`);
      return metadata;
    };
    expect(await call(client, 'CreateChannel', { channel: 'tokens', channelType: 'CHANNEL_TYPE_PUBLIC' }, bearer(accessToken))).toMatchObject({
      createdBy: 'alice',
    });
    const forged = `${accessToken.slice(0, -4)}AAAA`;
    for (const metadata of [bearer(forged), as('alice'), new grpc.Metadata()]) {
      const error = await failure(call(client, 'Publish', { channel: 'tokens', text: 'x' }, metadata));
      expect(error.code).toBe(grpc.status.UNAUTHENTICATED);
    }
    const malformed = new grpc.Metadata();
    malformed.set('authorization', `Token ${accessToken}`);
    expect((await failure(call(client, 'Publish', { channel: 'tokens', text: 'x' }, malformed))).code).toBe(grpc.status.UNAUTHENTICATED);
    expect((await server.store.getChannel('tokens'))?.lastSeq).toBe(0);
  });

  it("holds a user to the pipeline's per-user budget, as on every wire, but not an API key", async () => {
    const server = await startTestServer({ overrides: { apiKeys: [API_KEY], limits: { messagesPerSecond: 1, messageBurst: 3 } } });
    const client = grpcClient(server);
    await call(client, 'CreateChannel', { channel: 'calm', channelType: 'CHANNEL_TYPE_PUBLIC' }, withApiKey());
    const results = await Promise.allSettled(
      Array.from({ length: 6 }, (_, i) => call(client, 'Publish', { channel: 'calm', text: `m${i}` }, as('alice'))),
    );
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(results.filter((r) => r.status === 'fulfilled').length).toBeLessThanOrEqual(4);
    expect(refused.length).toBeGreaterThanOrEqual(2);
    for (const { reason } of refused) {
      expect((reason as grpc.ServiceError).code).toBe(grpc.status.RESOURCE_EXHAUSTED);
      expect((reason as grpc.ServiceError).metadata.get('x-switchboard-error')).toEqual(['rate_limited']);
    }
    const stored = (await server.store.getChannel('calm'))?.lastSeq;
    expect(stored).toBe(6 - refused.length);
    for (let i = 0; i < 10; i++) await call(client, 'Publish', { channel: 'calm', text: `push ${i}` }, withApiKey());
    expect((await server.store.getChannel('calm'))?.lastSeq).toBe(stored! + 10);
  });
});

describe('gRPC errors', () => {
  it('maps auth, permission, lookup, conflict and size errors to their status codes and stores nothing', async () => {
    const server = await startTestServer();
    const client = grpcClient(server);
    await call(client, 'CreateChannel', { channel: 'secret', channelType: 'CHANNEL_TYPE_PRIVATE' }, as('alice'));
    await call(client, 'Publish', { channel: 'secret', text: 'classified' }, as('alice'));

    const cases: [string, Promise<unknown>, grpc.status, string][] = [
      ['no credentials', call(client, 'Publish', { channel: 'secret', text: 'x' }), grpc.status.UNAUTHENTICATED, 'unauthorized'],
      ['non-member publish', call(client, 'Publish', { channel: 'secret', text: 'x' }, as('mallory')), grpc.status.PERMISSION_DENIED, 'forbidden'],
      ['non-member history', call(client, 'History', { channel: 'secret' }, as('mallory')), grpc.status.PERMISSION_DENIED, 'forbidden'],
      ['non-member add', call(client, 'AddMember', { channel: 'secret', user: 'mallory' }, as('mallory')), grpc.status.PERMISSION_DENIED, 'forbidden'],
      ['edit of another', call(client, 'Edit', { channel: 'secret', seq: 1, text: 'mine' }, as('mallory')), grpc.status.PERMISSION_DENIED, 'forbidden'],
      ['missing channel', call(client, 'GetChannel', { channel: 'nowhere' }, as('alice')), grpc.status.NOT_FOUND, 'not_found'],
      ['existing channel', call(client, 'CreateChannel', { channel: 'secret', channelType: 'CHANNEL_TYPE_PUBLIC' }, as('bob')), grpc.status.ALREADY_EXISTS, 'conflict'],
      ['text too long', call(client, 'Publish', { channel: 'secret', text: 'x'.repeat(4001) }, as('alice')), grpc.status.RESOURCE_EXHAUSTED, 'too_large'],
    ];
    for (const [name, promise, code, switchboardCode] of cases) {
      const error = await failure(promise);
      expect(error.code, name).toBe(code);
      expect(error.metadata.get('x-switchboard-error'), name).toEqual([switchboardCode]);
      expect(error.details, name).not.toMatch(/at .*\.ts/);
    }

    const subscribe = new Subscription(client, { channel: 'secret' }, as('mallory'));
    const status = await subscribe.ended;
    expect(status.code).toBe(grpc.status.PERMISSION_DENIED);
    // Nothing of the channel; at most the session's own notices: mallory's contacts and own status.
    expect(subscribe.messages.filter((m) => !m.contacts && (m.status as { user?: string } | undefined)?.user !== 'mallory')).toEqual([]);
    expect((await server.store.getChannel('secret'))?.lastSeq).toBe(1);
  });

  it('answers invalid input with INVALID_ARGUMENT naming the field, and changes nothing', async () => {
    const server = await startTestServer();
    const client = grpcClient(server);
    const alice = as('alice');
    await call(client, 'CreateChannel', { channel: 'room', channelType: 'CHANNEL_TYPE_PUBLIC' }, alice);

    const cases: [string, Message, RegExp][] = [
      // The pipeline's messages, in the protocol's field names, as on /ws and REST.
      ['Publish', { text: 'no channel' }, /^Invalid channel: a channel id is 1-128/],
      ['Publish', { channel: 'bad channel!', text: 'x' }, /^Invalid channel: a channel id is 1-128/],
      ['Publish', { channel: 'room' }, /needs text, data or attachments/],
      ['Publish', { channel: 'room', text: 'x', cid: 'c'.repeat(129) }, /^Invalid cid: .*128/],
      ['Publish', { channel: 'room', data: { numberValue: Number.NaN } }, /^Invalid data: .*finite/],
      ['Edit', { channel: 'room', text: 'x' }, /^Invalid seq: .*>0/],
      ['History', { channel: 'room', limit: 5000 }, /^Invalid limit: .*200/],
      ['CreateChannel', { channel: 'x' }, /^Invalid channelType: .*"public"\|"private"\|"direct"/],
      ['CreateChannel', { channel: 'inbox-ish', channelType: 'CHANNEL_TYPE_INBOX' }, /^Invalid channelType: .*"public"\|"private"\|"direct"/],
      ['CreateChannel', { channel: 'user:me', channelType: 'CHANNEL_TYPE_PUBLIC' }, /reserved/],
      ['AddMember', { channel: 'room', user: 'no spaces allowed' }, /^Invalid user: a user id is 1-64/],
      ['ListChannels', { limit: 501 }, /^Invalid limit: .*500/],
      ['PublishBatch', { messages: [] }, /^Invalid messages: /],
      ['GetReactions', { channel: 'room', seqs: [1, 0] }, /^Invalid seqs\.1: .*>0/],
      ['SetStatus', { status: 'USER_STATUS_OFFLINE' }, /^Invalid status: .*"online"\|"away"/],
    ];
    for (const [method, request, message] of cases) {
      const error = await failure(call(client, method, request, alice));
      expect(error.code, `${method} ${JSON.stringify(request)}`).toBe(grpc.status.INVALID_ARGUMENT);
      expect(error.details, method).toMatch(message);
    }
    const badName = await failure(call(client, 'Publish', { channel: 'room', text: 'x' }, as('not a name')));
    expect(badName.code).toBe(grpc.status.INVALID_ARGUMENT);

    const badSubscribe = new Subscription(client, { channel: '???' }, alice);
    expect(await badSubscribe.ended).toMatchObject({ code: grpc.status.INVALID_ARGUMENT });

    // A request larger than the frame limit is refused by gRPC itself before it is decoded.
    const huge = await failure(call(client, 'Publish', { channel: 'room', text: 'x'.repeat(70 * 1024) }, alice));
    expect(huge.code).toBe(grpc.status.RESOURCE_EXHAUSTED);

    expect((await server.store.getChannel('room'))?.lastSeq).toBe(0);
    expect(await call(client, 'Publish', { channel: 'room', text: 'still serving' }, alice)).toMatchObject({ seq: 1 });
  });
});

describe('gRPC health, reflection and shutdown', () => {
  it('answers health checks and lists its services through reflection', async () => {
    const server = await startTestServer();
    const health = new packageObject.grpc.health.v1.Health(`127.0.0.1:${server.grpcPort}`, grpc.credentials.createInsecure());
    track(health);
    expect(await call(health, 'Check', {})).toEqual({ status: 'SERVING' });
    expect(await call(health, 'Check', { service: 'switchboard.v1.Switchboard' })).toEqual({ status: 'SERVING' });
    expect((await failure(call(health, 'Check', { service: 'nope.v1.Nope' }))).code).toBe(grpc.status.NOT_FOUND);

    const reflection = new reflectionPackage.grpc.reflection.v1.ServerReflection(
      `127.0.0.1:${server.grpcPort}`,
      grpc.credentials.createInsecure(),
    );
    track(reflection);
    const info = (reflection as unknown as Record<string, Function>).ServerReflectionInfo!.call(reflection) as grpc.ClientDuplexStream<Message, Message>;
    const next = () =>
      new Promise<Message>((resolve, reject) => {
        info.once('data', resolve);
        info.once('error', reject);
      });
    let reply = next();
    info.write({ listServices: '' });
    const services = ((await reply).listServicesResponse as { service: { name: string }[] }).service.map((s) => s.name);
    expect(services).toEqual(expect.arrayContaining(['switchboard.v1.Switchboard', 'grpc.health.v1.Health']));
    // What `grpcurl describe` asks for: the generated file, with its nested types and proto3 optionals.
    reply = next();
    info.write({ fileContainingSymbol: 'switchboard.v1.FollowListResult.Item' });
    const files = ((await reply).fileDescriptorResponse as { fileDescriptorProto: Buffer[] }).fileDescriptorProto.map(String);
    info.end();
    expect(files.some((file) => file.includes('switchboard.v1') && file.includes('FollowListResult') && /user_?[sS]tate/.test(file))).toBe(true);
  });

  it('ends the stream of a session an administrator disconnects with PERMISSION_DENIED', async () => {
    const server = await startTestServer({ overrides: { apiKeys: [API_KEY] } });
    const client = grpcClient(server);
    await call(client, 'CreateChannel', { channel: 'watched', channelType: 'CHANNEL_TYPE_PUBLIC' }, as('alice'));
    const stream = new Subscription(client, { channel: 'watched' }, as('mallory'));
    await stream.live();
    const response = await fetch(`${server.url}/admin/api/users/mallory/disconnect`, { method: 'POST', headers: { 'x-switchboard-key': API_KEY } });
    expect(await response.json()).toEqual({ user: 'mallory', disconnected: 1 });
    const status = await stream.ended;
    expect(status.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(status.details).toBe('disconnected by an administrator');
    expect(status.metadata.get('x-switchboard-error')).toEqual(['forbidden']);
  });

  it('ends open Subscribe streams with UNAVAILABLE and where to resume when the server closes', async () => {
    const server = await startTestServer();
    const client = grpcClient(server);
    await call(client, 'CreateChannel', { channel: 'news', channelType: 'CHANNEL_TYPE_PUBLIC' }, as('alice'));
    await call(client, 'Publish', { channel: 'news', text: 'one' }, as('alice'));
    const stream = new Subscription(client, { channel: 'news', since: 0 }, as('bob'));
    await stream.live();
    const health = new packageObject.grpc.health.v1.Health(`127.0.0.1:${server.grpcPort}`, grpc.credentials.createInsecure());
    track(health);
    const watch = new Subscription(health, {}, new grpc.Metadata(), 'Watch');
    await watch.waitUntil(() => watch.messages.length === 1);

    await server.close('maintenance');
    await watch.ended;
    expect(watch.messages).toEqual([{ status: 'SERVING' }, { status: 'NOT_SERVING' }]);
    const status = await stream.ended;
    expect(status.code).toBe(grpc.status.UNAVAILABLE);
    expect(status.details).toBe('maintenance: reconnect and subscribe again with since=1.');
    expect(status.metadata.get('x-switchboard-error')).toEqual(['unavailable']);
    expect(status.metadata.get('x-switchboard-reconnect-spread-ms')).toEqual([String(loadConfig().drain.reconnectSpreadMs)]);
  });

  it('lets a stream ended by a node shutting down resume on another node with nothing missed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'switchboard-grpc-nodes-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const databaseUrl = `sqlite:${join(dir, 'shared.db')}`;
    const bus = new MemoryBus();
    const one = await startTestServer({ databaseUrl, broker: new MemoryBroker(bus) });
    const two = await startTestServer({ databaseUrl, broker: new MemoryBroker(bus) });
    const publisher = await wsConnect(two, 'writer');
    await publisher.ok('channel.create', { channel: 'relay', channelType: 'public' });

    const first = new Subscription(grpcClient(one), { channel: 'relay', presence: false }, as('reader'));
    await first.live();
    for (let i = 1; i <= 20; i++) await publisher.ok('publish', { channel: 'relay', text: `m${i}` });
    await first.waitUntil(() => first.seqs().length === 20);
    const publishing = (async () => {
      for (let i = 21; i <= 60; i++) await publisher.ok('publish', { channel: 'relay', text: `m${i}` });
    })();
    await one.close('node one draining');
    const status = await first.ended;
    expect(status.code).toBe(grpc.status.UNAVAILABLE);
    const since = Number(/since=(\d+)/.exec(status.details)![1]);
    expect(since).toBe(first.seqs().at(-1));

    const resumed = new Subscription(grpcClient(two), { channel: 'relay', since, presence: false }, as('reader'));
    await publishing;
    await resumed.waitUntil(() => resumed.seqs().at(-1) === 60);
    expect([...first.seqs(), ...resumed.seqs()]).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
  });
});

describe('choosing transports', () => {
  it('serves gRPC but refuses WebSocket upgrades on a node started with --transports grpc', async () => {
    const server = await startTestServer({ overrides: { transports: loadConfig({ flags: { transports: 'grpc' } }).transports } });
    expect(server.grpcPort).toEqual(expect.any(Number));
    const ws = new WsTestClient(`${server.wsUrl}?user=alice`);
    await expect(ws.opened).rejects.toThrow(/404/);
    const client = grpcClient(server);
    expect(await call(client, 'CreateChannel', { channel: 'only-grpc', channelType: 'CHANNEL_TYPE_PUBLIC' }, as('alice'))).toMatchObject({ id: 'only-grpc' });
  });

  it('opens no gRPC port on a node started with --transports ws', async () => {
    const port = await freePort();
    const server = await startTestServer({ overrides: { grpcPort: port, transports: loadConfig({ flags: { transports: 'ws' } }).transports } });
    expect(server.grpcPort).toBeNull();
    const client = grpcClient(server, port);
    const error = await new Promise<Error | undefined>((resolve) => client.waitForReady(Date.now() + 1000, resolve));
    expect(error?.message).toMatch(/Failed to connect|deadline/i);
    const ws = await wsConnect(server, 'alice');
    expect(await ws.ok('ping')).toHaveProperty('at');
  });

  it('takes grpc in the transport list and GRPC_PORT from the environment, and names an unknown transport', () => {
    expect(loadConfig({ env: {} }).transports).toContain('grpc');
    expect(loadConfig({ env: { GRPC_PORT: '6000' } }).grpcPort).toBe(6000);
    expect(loadConfig({ env: {} }).grpcPort).toBe(50051);
    expect(loadConfig({ flags: { transports: 'ws,grpc' } }).transports).toEqual(['ws', 'grpc']);
    expect(() => loadConfig({ flags: { transports: 'ws,grcp' } })).toThrow(ConfigError);
    expect(() => loadConfig({ flags: { transports: 'ws,grcp' } })).toThrow(/Invalid setting transports\.1/);
    expect(() => loadConfig({ env: { PORT: '9000', GRPC_PORT: '9000' } })).toThrow(/gRPC needs a port of its own/);
    expect(loadConfig({ env: { PORT: '9000', GRPC_PORT: '9000' }, flags: { transports: 'ws' } }).transports).toEqual(['ws']);
  });
});

/** A port nothing listens on right now (bound, then released). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

describe('gRPC flow control', () => {
  it('paces a catch-up several times larger than the send queue instead of cutting the reader off', async () => {
    const sendQueueBytes = 128 * 1024;
    const server = await startTestServer({ overrides: { apiKeys: [API_KEY], limits: { sendQueueBytes } } });
    const client = grpcClient(server);
    await call(client, 'CreateChannel', { channel: 'firehose', channelType: 'CHANNEL_TYPE_PUBLIC' }, as('alice'));
    const text = 'x'.repeat(1000);
    const backlog = 600; // ~600 KB: several times the queue bound
    for (let i = 0; i < backlog; i += 50) {
      await Promise.all(
        Array.from({ length: 50 }, (_, j) => call(client, 'Publish', { channel: 'firehose', text, cid: `b${i + j}` }, withApiKey())),
      );
    }
    const reader = new Subscription(client, { channel: 'firehose', since: 0, presence: false }, as('reader'));
    await reader.live();
    expect(reader.seqs()).toEqual(Array.from({ length: backlog }, (_, i) => i + 1));

  });
});
