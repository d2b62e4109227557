import { describe, expect, it, onTestFinished } from 'vitest';
import { createTestSchema } from './helpers/postgres.js';
import { createRedisPrefix } from './helpers/redis-prefix.js';
import { describeWithServices, serviceUrl } from './helpers/services.js';
import { startTestServer, type TestServer } from './helpers/test-server.js';
import { type ServerFrame, type WsTestClient, useWsClients } from './helpers/ws-test-client.js';

/** Profiles (name, avatar URL, status text) as live data: REST changes pushed over /ws, on one node and across two. */
const clients = useWsClients();

const patch = (server: TestServer, as: string, user: string, body: unknown) =>
  fetch(`${server.url}/api/users/${user}`, {
    method: 'PATCH',
    headers: { 'x-switchboard-user': as, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
const getUser = async (server: TestServer, user: string) =>
  (await (await fetch(`${server.url}/api/users/${user}`, { headers: { 'x-switchboard-user': 'reader' } })).json()) as Record<string, unknown>;

const usersListUpdates = (client: WsTestClient) =>
  client.frames.filter((f) => f.type === 'list' && f.list === 'users') as (ServerFrame & { item: Record<string, unknown> })[];
const profileFrames = (client: WsTestClient) => client.frames.filter((f) => f.type === 'profile');

/** bob follows alice in a users list, carol has her as a contact; alice changes her profile by REST. */
async function pushSuite(one: TestServer, two: TestServer): Promise<void> {
  const alice = await clients.connect(one.wsUrl, 'alice');
  const bob = await clients.connect(two.wsUrl, 'bob');
  const carol = await clients.connect(two.wsUrl, 'carol');
  await carol.ok('contacts.add', { user: 'alice' });
  const snapshot = await bob.ok<{ items: Record<string, unknown>[] }>('list.subscribe', { list: 'users', users: ['alice'] });
  expect(snapshot.items).toEqual([expect.objectContaining({ user: 'alice', name: 'alice', avatarUrl: null, statusText: null })]);

  const response = await patch(one, 'alice', 'alice', { name: 'Alice A.', avatarUrl: 'https://img.example/a.png', statusText: 'on holiday' });
  expect(response.status).toBe(200);
  expect(await response.json()).toMatchObject({ id: 'alice', name: 'Alice A.', avatarUrl: 'https://img.example/a.png', statusText: 'on holiday' });

  const update = await bob.waitUntil(() => usersListUpdates(bob).find((f) => f.item.name === 'Alice A.'));
  expect(update).toMatchObject({ action: 'update', item: { user: 'alice', avatarUrl: 'https://img.example/a.png', statusText: 'on holiday' } });
  const pushed = await carol.waitUntil(() => profileFrames(carol).find((f) => f.user === 'alice'));
  expect(pushed).toMatchObject({ name: 'Alice A.', avatarUrl: 'https://img.example/a.png', statusText: 'on holiday', at: expect.any(Number) });
  // Her own other sessions hear it too; bob (no contact) gets the list update only.
  await alice.waitUntil(() => profileFrames(alice).some((f) => f.user === 'alice'));
  expect(profileFrames(bob)).toEqual([]);

  // Removing the status text (an empty one is none) is pushed as null.
  expect((await patch(two, 'alice', 'alice', { statusText: '' })).status).toBe(200);
  await carol.waitUntil(() => profileFrames(carol).some((f) => f.user === 'alice' && f.statusText === null));
  expect((await carol.ok<{ contacts: Record<string, unknown>[] }>('contacts.list')).contacts).toEqual([
    expect.objectContaining({ user: 'alice', name: 'Alice A.', avatarUrl: 'https://img.example/a.png', statusText: null }),
  ]);
}

describe('user profiles on one node', () => {
  it('pushes a REST profile change to a users list and to contacts over /ws', async () => {
    const server = await startTestServer();
    await pushSuite(server, server);
  });

  it('refuses bad profile input with a code and message, and changes nothing', async () => {
    const server = await startTestServer();
    const watcher = await clients.connect(server.wsUrl, 'watcher');
    await clients.connect(server.wsUrl, 'dora');
    await watcher.ok('list.subscribe', { list: 'users', users: ['dora'] });
    const before = await getUser(server, 'dora');
    const bad: [string, unknown][] = [
      ['avatarUrl', { avatarUrl: 'javascript:alert(1)' }],
      ['avatarUrl', { avatarUrl: `https://img.example/${'a'.repeat(2100)}` }],
      ['statusText', { statusText: 'x'.repeat(141) }],
      ['statusText', { statusText: 'two\nlines' }],
      ['name', { name: '' }],
      ['name', {}],
      ['unknown', { avatar: 'https://img.example/a.png' }],
    ];
    for (const [field, body] of bad) {
      const response = await patch(server, 'dora', 'dora', body);
      expect(response.status, field).toBe(400);
      const error = (await response.json()) as { code: string; message: string };
      expect(error.code, field).toBe('bad_request');
      expect(error.message.length, field).toBeGreaterThan(0);
    }
    // Another user's profile is not yours to change.
    expect((await patch(server, 'eve', 'dora', { name: 'Hacked' })).status).toBe(403);
    expect(await getUser(server, 'dora')).toEqual(before);
    // A good change afterwards reaches the watcher; nothing before it carried any of the bad
    // input (dora coming online may be heard first: status changes are batched in a storm).
    expect((await patch(server, 'dora', 'dora', { statusText: 'back' })).status).toBe(200);
    const good = await watcher.waitUntil(() => usersListUpdates(watcher).find((f) => f.item.statusText === 'back'));
    expect(good.item).toMatchObject({ user: 'dora', name: before.name, statusText: 'back' });
    const earlier = usersListUpdates(watcher).slice(0, usersListUpdates(watcher).indexOf(good));
    for (const update of earlier) expect(update.item).toMatchObject({ user: 'dora', name: before.name, avatarUrl: null, statusText: null });
  });

  it('keeps a stored name when the user reconnects in open mode', async () => {
    const server = await startTestServer();
    const first = await clients.connect(server.wsUrl, 'fred');
    expect((await patch(server, 'fred', 'fred', { name: 'Fred Flint' })).status).toBe(200);
    await first.close();
    // A new node's first sight of fred (no cached name) must not overwrite either.
    const restarted = await server.restart();
    await clients.connect(restarted.wsUrl, 'fred');
    await fetch(`${restarted.url}/api/me/contacts`, { headers: { 'x-switchboard-user': 'fred' } });
    expect(await getUser(restarted, 'fred')).toMatchObject({ name: 'Fred Flint' });
    // A user never seen gets their id as name.
    await clients.connect(restarted.wsUrl, 'gina');
    expect(await getUser(restarted, 'gina')).toMatchObject({ name: 'gina', avatarUrl: null, statusText: null });
  });
});

describeWithServices(['TEST_DATABASE_URL', 'TEST_REDIS_URL'], 'user profiles on PostgreSQL and Redis, two nodes', () => {
  it('pushes a profile change made on one node to users lists and contacts on the other', async () => {
    const schema = await createTestSchema(serviceUrl('TEST_DATABASE_URL')!, 'profiles');
    const redis = createRedisPrefix(serviceUrl('TEST_REDIS_URL')!, 'profiles');
    onTestFinished(async () => {
      await schema.drop();
      await redis.drop();
    });
    const one = await startTestServer({ databaseUrl: schema.url, overrides: { redisUrl: redis.url } });
    const two = await startTestServer({ databaseUrl: schema.url, overrides: { redisUrl: redis.url } });
    await pushSuite(one, two);
  });
});
