import { expect, it, onTestFinished } from 'vitest';
import { OutageProxy } from './helpers/outage-proxy.js';
import { createTestSchema } from './helpers/postgres.js';
import { createRedisPrefix } from './helpers/redis-prefix.js';
import { describeWithServices, serviceUrl } from './helpers/services.js';
import { startTestServer } from './helpers/test-server.js';
import { useWsClients } from './helpers/ws-test-client.js';

/**
 * `memory` and `none` channels in a cluster need Redis, not PostgreSQL: with the database
 * cut off, publishes to them are still acknowledged on one node and delivered on the
 * other, in seq order, while a durable channel answers `unavailable` and stores nothing.
 */
const clients = useWsClients();

describeWithServices(['TEST_DATABASE_URL', 'TEST_REDIS_URL'], 'volatile channels through a database outage', () => {
  it('acknowledges and delivers memory and none publishes across nodes while PostgreSQL is unreachable', async () => {
    const base = serviceUrl('TEST_DATABASE_URL')!;
    const schema = await createTestSchema(base, 'volatile');
    const redis = createRedisPrefix(serviceUrl('TEST_REDIS_URL')!, 'volatile');
    onTestFinished(async () => {
      await schema.drop();
      await redis.drop();
    });
    const proxy = await OutageProxy.start(Number(new URL(base).port || 5432));
    onTestFinished(() => proxy.close());
    const databaseUrl = new URL(schema.url);
    databaseUrl.hostname = '127.0.0.1';
    databaseUrl.port = String(proxy.port);
    const overrides = {
      redisUrl: redis.url,
      namespaces: {
        ring: { retention: { mode: 'memory' as const, maxCount: 50 }, autoCreate: true },
        ticker: { retention: { mode: 'none' as const }, autoCreate: true },
      },
    };
    const one = await startTestServer({ databaseUrl: databaseUrl.toString(), overrides });
    const two = await startTestServer({ databaseUrl: databaseUrl.toString(), overrides });

    const alice = await clients.connect(one.wsUrl, 'alice');
    const bob = await clients.connect(two.wsUrl, 'bob');
    await alice.ok('channel.create', { channel: 'room', channelType: 'public' });
    for (const channel of ['ring:r', 'ticker:t', 'room']) {
      await bob.ok('subscribe', { channel });
      await alice.ok('publish', { channel, text: 'before' });
    }
    await bob.waitFor((f) => f.type === 'event' && f.channel === 'room');

    proxy.cut();
    for (const channel of ['ring:r', 'ticker:t']) {
      for (let seq = 2; seq <= 4; seq++) expect(await alice.ok('publish', { channel, text: `during ${seq}` })).toMatchObject({ seq });
      await bob.waitFor((f) => f.type === 'event' && f.channel === channel && f.seq === 4);
      expect(bob.events(channel).map((e) => e.seq)).toEqual([1, 2, 3, 4]);
    }
    expect(await alice.request('publish', { channel: 'room', text: 'during' })).toMatchObject({ type: 'error', code: 'unavailable' });
    // The ring answers a resume on the other node without the database.
    await bob.ok('unsubscribe', { channel: 'ring:r' });
    const before = bob.events('ring:r').length;
    expect(await bob.ok('subscribe', { channel: 'ring:r', since: 1 })).toEqual({ channel: 'ring:r', seq: 4, epoch: 1 });
    expect(bob.events('ring:r').slice(before).map((e) => e.seq)).toEqual([2, 3, 4]);
    proxy.restore();
  });
});
