import { expect, it, onTestFinished } from 'vitest';
import { RedisBroker } from '../src/broker/redis-broker.js';
import { silentLogger } from '../src/core/logger.js';
import { createTestSchema } from './helpers/postgres.js';
import { createRedisPrefix } from './helpers/redis-prefix.js';
import { restAs } from './helpers/rest-as.js';
import { describeWithServices, serviceUrl } from './helpers/services.js';
import { startTestServer } from './helpers/test-server.js';
import { refusalWithDetails, STREAM_WIRES, subscribeOn } from './helpers/wire-subscribers.js';
import { useWsClients } from './helpers/ws-test-client.js';

/**
 * The channel lifecycle on two nodes over PostgreSQL and Redis: a channel deleted through
 * node A ends its subscriptions on node B (`channel-deleted` through the broker), the id
 * created again is a new epoch on both nodes, and a resume into the old epoch is refused
 * on B as on A. Skipped, saying why, without TEST_DATABASE_URL and TEST_REDIS_URL.
 */
const clients = useWsClients();

describeWithServices(['TEST_DATABASE_URL', 'TEST_REDIS_URL'], 'channel lifecycle on PostgreSQL and Redis, two nodes', () => {
  /** `brokerOfA`: node A runs on this broker (made here), so a test can send through it what A's hub never would. */
  const nodes = async (brokerOfA?: (url: string) => RedisBroker) => {
    const schema = await createTestSchema(serviceUrl('TEST_DATABASE_URL')!, 'lifecycle');
    const redis = createRedisPrefix(serviceUrl('TEST_REDIS_URL')!, 'lifecycle');
    onTestFinished(async () => {
      await schema.drop();
      await redis.drop();
    });
    const overrides = { redisUrl: redis.url, grpcPort: 0 };
    const a = await startTestServer({ databaseUrl: schema.url, overrides, broker: brokerOfA?.(redis.url) });
    const b = await startTestServer({ databaseUrl: schema.url, overrides });
    return [a, b] as const;
  };

  for (const wire of STREAM_WIRES) {
    it(`${wire}: a subscriber on node B is told when A deletes the channel, and gets all of the channel made again`, async () => {
      const [a, b] = await nodes();
      const alice = await clients.connect(a.wsUrl, 'alice');
      await alice.ok('channel.create', { channel: 'reborn', channelType: 'public' });
      await alice.ok('channel.create', { channel: 'lobby', channelType: 'public' });
      const wes = await subscribeOn(wire, b, { user: 'wes' }, 'reborn', { sentinel: 'lobby' });
      for (const text of ['one', 'two', 'three']) await alice.ok('publish', { channel: 'reborn', text });
      await wes.waitForSeq(3);

      const rest = restAs(a, 'alice');
      const deletedAt = Date.now();
      expect((await rest('DELETE', '/api/channels/reborn')).status).toBe(204);
      const deleted = await wes.deleted();
      expect(deleted).toMatchObject({ channel: 'reborn', epoch: 1 });
      expect(deleted.arrivedAt - deletedAt).toBeLessThan(1000);

      expect((await rest('POST', '/api/channels', { channel: 'reborn', channelType: 'public' })).body).toMatchObject({ epoch: 2 });
      for (const text of ['new 1', 'new 2', 'new 3', 'new 4']) await alice.ok('publish', { channel: 'reborn', text });
      expect(wes.seqs()).toEqual([1, 2, 3]);

      // B knows the new epoch: the old position is stale there too, the new one resumes from its start.
      const stale = await refusalWithDetails(wire, b, { user: 'wes' }, 'reborn', { since: 3, epoch: 1 });
      expect(stale).toMatchObject({ code: 'stale_epoch', details: { epoch: 2 } });
      const again = await subscribeOn(wire, b, { user: 'wes' }, 'reborn', { since: 0, epoch: 2 });
      await again.waitForSeq(4);
      expect(again.seqs()).toEqual([1, 2, 3, 4]);
      expect(again.event(4)).toMatchObject({ text: 'new 4' });
    });
  }

  it('an event of the old epoch reaching node B late is dropped: its subscribers of the new epoch get every new event in order', async () => {
    let broker: RedisBroker | undefined;
    const [a, b] = await nodes((url) => (broker = new RedisBroker({ url, logger: silentLogger })));
    const alice = await clients.connect(a.wsUrl, 'alice');
    await alice.ok('channel.create', { channel: 'reborn', channelType: 'public' });
    for (const text of ['old 1', 'old 2', 'old 3']) await alice.ok('publish', { channel: 'reborn', text });
    const oldEvents = await a.store.readEvents('reborn', { after: 0, limit: 10 });
    expect(oldEvents.map((e) => e.text)).toEqual(['old 1', 'old 2', 'old 3']);

    const rest = restAs(a, 'alice');
    expect((await rest('DELETE', '/api/channels/reborn')).status).toBe(204);
    expect((await rest('POST', '/api/channels', { channel: 'reborn', channelType: 'public' })).body).toMatchObject({ epoch: 2 });
    const wes = await clients.connect(b.wsUrl, 'wes');
    expect(await wes.ok('subscribe', { channel: 'reborn' })).toMatchObject({ epoch: 2 });
    for (const text of ['new 1', 'new 2']) await alice.ok('publish', { channel: 'reborn', text });
    await wes.waitUntil(() => wes.events('reborn').length >= 2);

    // Epoch 1's seq 3, as a broker re-sending what it could not send earlier would: seq 3 is
    // next on B, so a feed that took it would deliver it and drop the real seq 3 as a repeat.
    const staleBefore = b.hub.staleEvents;
    broker!.publish({ type: 'event', event: oldEvents[2]!, epoch: 1 });
    // Sent after it on the same connection and topic: Redis hands them to B in this order.
    for (const text of ['new 3', 'new 4']) await alice.ok('publish', { channel: 'reborn', text });
    await wes.waitUntil(() => wes.events('reborn').length >= 4);
    expect(wes.events('reborn').map((e) => [e.seq, e.text])).toEqual([
      [1, 'new 1'],
      [2, 'new 2'],
      [3, 'new 3'],
      [4, 'new 4'],
    ]);
    expect(b.hub.staleEvents).toBe(staleBefore + 1);
  });

  it('an event of a newer epoch than node B\'s feed ends that feed as deleted, though the deletion was never heard of', async () => {
    let broker: RedisBroker | undefined;
    const [a, b] = await nodes((url) => (broker = new RedisBroker({ url, logger: silentLogger })));
    const alice = await clients.connect(a.wsUrl, 'alice');
    await alice.ok('channel.create', { channel: 'reborn', channelType: 'public' });
    const wes = await clients.connect(b.wsUrl, 'wes');
    await wes.ok('subscribe', { channel: 'reborn' });
    await alice.ok('publish', { channel: 'reborn', text: 'old 1' });
    await wes.waitUntil(() => wes.events('reborn').length >= 1);
    const [event] = await a.store.readEvents('reborn', { after: 0, limit: 1 });

    // As if epoch 2 existed and its seq 1 came while B's channel-deleted for epoch 1 was lost.
    broker!.publish({ type: 'event', event: { ...event!, seq: 1, text: 'from epoch 2' }, epoch: 2 });
    const deleted = await wes.waitFor((f) => f.type === 'channelDeleted');
    expect(deleted).toMatchObject({ channel: 'reborn', epoch: 1 });
    expect(wes.events('reborn').map((e) => e.text)).toEqual(['old 1']);
  });

  it('archiving on A makes the channel read-only for a publisher on B, whose subscription goes on', async () => {
    const [a, b] = await nodes();
    const alice = await clients.connect(a.wsUrl, 'alice');
    await alice.ok('channel.create', { channel: 'notes', channelType: 'public' });
    const bob = await clients.connect(b.wsUrl, 'bob');
    await bob.ok('subscribe', { channel: 'notes' });
    await bob.ok('publish', { channel: 'notes', text: 'before' });
    await alice.ok('channel.update', { channel: 'notes', archived: true });
    // B drops its cached copy on the broker's channel-changed: the refusal follows within moments.
    await expect
      .poll(async () => ((await bob.request('publish', { channel: 'notes', text: 'after' })) as { code?: string }).code)
      .toBe('archived');
    await alice.ok('channel.update', { channel: 'notes', archived: false });
    await expect.poll(async () => (await bob.request('publish', { channel: 'notes', text: 'again' })).type).toBe('ok');
    await bob.waitFor((f) => f.type === 'event' && f.text === 'again');
  });
});
