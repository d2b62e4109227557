import { SignJWT } from 'jose';
import { describe, expect, it, onTestFinished } from 'vitest';
import { startHttpBackend } from './helpers/hook-backend.js';
import { createTestSchema } from './helpers/postgres.js';
import { createRedisPrefix } from './helpers/redis-prefix.js';
import { describeWithServices, serviceUrl } from './helpers/services.js';
import { startTestServer, type TestServer } from './helpers/test-server.js';
import { useWsClients, type WsTestClient } from './helpers/ws-test-client.js';

/**
 * The `info` the app's subscribe hook attaches to a subscription is part of the presence
 * answer (`presence` on /ws, GET /api/channels/:channel/presence), not only of the join
 * frame: on one node (memory presence) and across two nodes (Redis presence).
 */

const SECRET = 'jwt-secret-for-presence-hook-info-0123';
const API_KEY = 'api-key-for-presence-hook-info-0123';

type Nodes = (hookOverrides: Record<string, unknown>) => Promise<readonly [TestServer, TestServer]>;

function token(user: string): Promise<string> {
  return new SignJWT({ sub: user }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('10m').sign(new TextEncoder().encode(SECRET));
}

function presenceHookInfoSuite(nodes: Nodes): void {
  const clients = useWsClients();

  async function wsAs(server: TestServer, user: string): Promise<WsTestClient> {
    const client = clients.open(server.wsUrl, { headers: { authorization: `Bearer ${await token(user)}` } });
    await client.waitFor((f) => f.type === 'welcome');
    return client;
  }

  it("lists each member with the info the subscribe hook gave, on the node they are on and the other; none where it gave none", async () => {
    // carol's subscriptions get no info; everyone else's a seat named after them and their wire.
    const backend = await startHttpBackend((hook, request) =>
      hook === 'subscribe' && request.user !== 'carol' ? { result: { info: { seat: `${String(request.user)}-seat`, rank: 1 } } } : { result: {} },
    );
    const [one, two] = await nodes({
      hooks: { backends: { app: { ...backend.settings, timeoutMs: 10_000 } } },
      namespaces: { room: { hooks: { subscribe: 'app' } } },
    });
    const created = await fetch(`${one.url}/api/channels`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-switchboard-key': API_KEY },
      body: JSON.stringify({ channel: 'room:1', channelType: 'public' }),
    });
    expect(created.status).toBe(201);

    const alice = await wsAs(one, 'alice');
    await alice.ok('subscribe', { channel: 'room:1' });
    const bob = await wsAs(two, 'bob');
    await bob.ok('subscribe', { channel: 'room:1' });
    const carol = await wsAs(two, 'carol');
    await carol.ok('subscribe', { channel: 'room:1' });

    const expected = [
      { user: 'alice', sessions: 1, info: { seat: 'alice-seat', rank: 1 } },
      { user: 'bob', sessions: 1, info: { seat: 'bob-seat', rank: 1 } },
      { user: 'carol', sessions: 1 },
    ];
    // Subscribe answers once presence holds the session: no waiting needed on either node.
    for (const [client, label] of [
      [alice, 'node one'],
      [bob, 'node two'],
    ] as const) {
      const page = await client.ok<{ members: Record<string, unknown>[]; users: number }>('presence', { channel: 'room:1' });
      expect(page.members, label).toEqual(expected);
      expect(page.users).toBe(3);
    }
    const rest = await fetch(`${one.url}/api/channels/room:1/presence`, { headers: { authorization: `Bearer ${await token('dave')}` } });
    expect(((await rest.json()) as { members: unknown[] }).members).toEqual(expected);

    // A second session of bob's, from the other node, with no info of its own (the hook changed its mind):
    // bob keeps the info his first subscription got, and counts two sessions.
    backend.decide = () => ({ result: {} });
    const bobAgain = await wsAs(one, 'bob');
    await bobAgain.ok('subscribe', { channel: 'room:1' });
    const both = await alice.ok<{ members: Record<string, unknown>[] }>('presence', { channel: 'room:1' });
    expect(both.members.find((m) => m.user === 'bob')).toEqual({ user: 'bob', sessions: 2, info: { seat: 'bob-seat', rank: 1 } });

    // Leaving takes the info along: bob's first session gone, his second (no info) stays.
    await bob.ok('unsubscribe', { channel: 'room:1' });
    const after = await alice.ok<{ members: Record<string, unknown>[] }>('presence', { channel: 'room:1' });
    expect(after.members.find((m) => m.user === 'bob')).toEqual({ user: 'bob', sessions: 1 });
  });
}

describe('subscribe-hook info in presence, one node on SQLite', () => {
  presenceHookInfoSuite(async (overrides) => {
    const server = await startTestServer({ overrides: { auth: 'jwt', jwt: { secret: SECRET }, apiKeys: [API_KEY], ...overrides } as never });
    return [server, server] as const;
  });
});

describeWithServices(['TEST_DATABASE_URL', 'TEST_REDIS_URL'], 'subscribe-hook info in presence, two nodes on PostgreSQL and Redis', () => {
  presenceHookInfoSuite(async (overrides) => {
    const schema = await createTestSchema(serviceUrl('TEST_DATABASE_URL')!, 'hookinfo');
    const redis = createRedisPrefix(serviceUrl('TEST_REDIS_URL')!, 'hookinfo');
    onTestFinished(async () => {
      await schema.drop();
      await redis.drop();
    });
    const settings = { auth: 'jwt', jwt: { secret: SECRET }, apiKeys: [API_KEY], redisUrl: redis.url, grpcPort: 0, ...overrides } as never;
    const one = await startTestServer({ databaseUrl: schema.url, overrides: settings });
    const two = await startTestServer({ databaseUrl: schema.url, overrides: settings });
    return [one, two] as const;
  });
});
