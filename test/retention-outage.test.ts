import { expect, it } from 'vitest';
import { clusterBehindOutageProxy } from './helpers/outage-proxy.js';
import { describeWithServices } from './helpers/services.js';
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
    const { proxy, proxiedUrl, redisUrl } = await clusterBehindOutageProxy('volatile');
    const overrides = {
      redisUrl,
      namespaces: {
        ring: { retention: { mode: 'memory' as const, maxCount: 50 }, autoCreate: true },
        ticker: { retention: { mode: 'none' as const }, autoCreate: true },
      },
    };
    const one = await startTestServer({ databaseUrl: proxiedUrl, overrides });
    const two = await startTestServer({ databaseUrl: proxiedUrl, overrides });

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
