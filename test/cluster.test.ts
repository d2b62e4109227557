import { afterEach, expect, it, onTestFinished } from 'vitest';
import { openPostgresStore } from '../src/store/postgres-store.js';
import { LeanClient, NodeProcess, range } from './helpers/cluster.js';
import { OutageProxy } from './helpers/outage-proxy.js';
import { createTestSchema } from './helpers/postgres.js';
import { PrivateRedis } from './helpers/private-redis.js';
import { createRedisPrefix } from './helpers/redis-prefix.js';
import { describeWithServices, serviceUrl } from './helpers/services.js';
import { startTestServer } from './helpers/test-server.js';

/**
 * Several Switchboard processes sharing PostgreSQL and Redis, as operators run them.
 * Each test gets its own PostgreSQL schema and Redis prefix (or its own redis-server).
 */
const NODE_TIMEOUT_MS = 5000;
const HEARTBEAT_MS = 1000;
/** Publishers here send far faster than a person; the per-connection limits would refuse them. */
const FAST = { limits: { messagesPerSecond: 1_000_000, messageBurst: 1_000_000, floodCloseAfter: 1_000_000 } };

const clients: LeanClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
});

async function connect(node: NodeProcess, user: string): Promise<LeanClient> {
  const client = await LeanClient.connect(node.wsUrl, user);
  clients.push(client);
  return client;
}

/** A fresh schema and `count` nodes on it; all torn down when the test finishes. */
async function cluster(count: number, redisUrl?: string): Promise<{ nodes: NodeProcess[]; databaseUrl: string }> {
  const schema = await createTestSchema(serviceUrl('TEST_DATABASE_URL')!, 'cluster');
  const redisBase = redisUrl ?? serviceUrl('TEST_REDIS_URL')!;
  const redis = createRedisPrefix(redisBase);
  const nodes: NodeProcess[] = [];
  onTestFinished(async () => {
    await Promise.all(clients.splice(0).map((client) => client.close()));
    await Promise.all(nodes.map((node) => node.kill()));
    await schema.drop();
    // A private redis-server may already be stopped by its own teardown.
    if (!redisUrl) await redis.drop();
  });
  const options = { databaseUrl: schema.url, redisUrl: redis.url, config: FAST };
  // The first node migrates the schema; the others then start side by side.
  nodes.push(await NodeProcess.start(options));
  nodes.push(...(await Promise.all(range(count - 1).map(() => NodeProcess.start(options)))));
  return { nodes, databaseUrl: schema.url };
}

function waitFor(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return (async () => {
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  })();
}

describeWithServices(['TEST_DATABASE_URL', 'TEST_REDIS_URL'], 'a cluster of three processes', () => {
  it('delivers 3 x 1,000 concurrent publishes from three nodes to every subscriber once, in one order', async () => {
    const { nodes } = await cluster(3);
    const owner = await connect(nodes[0]!, 'owner');
    await owner.ok('channel.create', { channel: 'fan', channelType: 'public' });
    const subscribers: LeanClient[] = [];
    for (const [n, node] of nodes.entries()) {
      for (const i of range(2)) {
        const subscriber = await connect(node, `sub-${n}-${i}`);
        await subscriber.ok('subscribe', { channel: 'fan' });
        subscribers.push(subscriber);
      }
    }
    const publishers = await Promise.all(nodes.map((node, n) => connect(node, `pub-${n}`)));

    const acks = await Promise.all(
      publishers.map((publisher, n) =>
        Promise.all(
          range(1000).map((i) => publisher.ok<{ seq: number }>('publish', { channel: 'fan', text: `p${n}-${i}`, cid: `p${n}-${i}` })),
        ),
      ),
    );
    const ackedSeqs = acks.flat().map((ack) => ack.seq);
    expect([...ackedSeqs].sort((a, b) => a - b)).toEqual(range(3000));

    await Promise.all(
      subscribers.map((s) => s.waitUntil(() => s.seqsOf('fan').length >= 3000, 60_000, '3,000 events')),
    );
    const expectedTexts = publishers.flatMap((_, n) => range(1000).map((i) => `p${n}-${i}`)).sort();
    const reference = subscribers[0]!.texts.get('fan')!;
    for (const subscriber of subscribers) {
      expect(subscriber.seqsOf('fan')).toEqual(range(3000));
      expect([...subscriber.texts.get('fan')!].sort()).toEqual(expectedTexts);
      expect(subscriber.texts.get('fan')).toEqual(reference);
    }
    // Each publisher's own messages keep the order it sent them in.
    for (const n of range(3, 0)) {
      const own = reference.filter((text) => text.startsWith(`p${n}-`));
      expect(own).toEqual(range(1000).map((i) => `p${n}-${i}`));
    }
  }, 120_000);

  it('shares presence across nodes; after kill -9 its users leave within the heartbeat timeout and resume elsewhere', async () => {
    const { nodes } = await cluster(3);
    const [a, b, c] = nodes as [NodeProcess, NodeProcess, NodeProcess];
    const alice = await connect(a, 'alice');
    await alice.ok('channel.create', { channel: 'lobby', channelType: 'public' });
    await alice.ok('subscribe', { channel: 'lobby' });
    const bob = await connect(b, 'bob');
    await bob.ok('subscribe', { channel: 'lobby' });
    const carol = await connect(c, 'carol');
    await carol.ok('subscribe', { channel: 'lobby' });
    const sawJoin = (client: LeanClient, user: string) =>
      client.presence.some((p) => p.user === user && p.action === 'join');
    await alice.waitUntil(() => sawJoin(alice, 'bob') && sawJoin(alice, 'carol'), 10_000, 'joins at alice');
    await bob.waitUntil(() => sawJoin(bob, 'carol'), 10_000, 'carol joining at bob');
    for (const client of [alice, bob, carol]) {
      const { members } = await client.ok<{ members: { user: string; sessions: number }[] }>('presence', { channel: 'lobby' });
      expect(members).toEqual([
        { user: 'alice', sessions: 1 },
        { user: 'bob', sessions: 1 },
        { user: 'carol', sessions: 1 },
      ]);
    }

    const writer = await connect(b, 'writer');
    const publish = async (from: number, count: number) => {
      for (const i of range(count, from)) await writer.ok('publish', { channel: 'lobby', text: `m${i}`, cid: `m${i}` });
    };
    await publish(1, 20);
    await carol.waitUntil(() => carol.seqsOf('lobby').length === 20, 10_000, 'carol to see 20');

    await c.kill();
    const killedAt = Date.now();
    expect(await carol.closed).toBe(1006);
    await publish(21, 20); // while carol is away
    const sawLeave = (client: LeanClient) => client.presence.some((p) => p.user === 'carol' && p.action === 'leave');
    await Promise.all([
      alice.waitUntil(() => sawLeave(alice), NODE_TIMEOUT_MS + HEARTBEAT_MS * 3, 'carol to leave at alice'),
      bob.waitUntil(() => sawLeave(bob), NODE_TIMEOUT_MS + HEARTBEAT_MS * 3, 'carol to leave at bob'),
    ]);
    const leftAfter = Date.now() - killedAt;
    expect(leftAfter).toBeLessThanOrEqual(NODE_TIMEOUT_MS + HEARTBEAT_MS * 2);
    const { members } = await bob.ok<{ members: { user: string }[] }>('presence', { channel: 'lobby' });
    expect(members.map((m) => m.user)).toEqual(['alice', 'bob']);

    // carol's client reconnects to a surviving node and resumes from the last seq it saw.
    const resumed = await connect(a, 'carol');
    await resumed.ok('subscribe', { channel: 'lobby', since: carol.lastSeq('lobby') });
    await publish(41, 10);
    await resumed.waitUntil(() => resumed.seqsOf('lobby').length === 30, 10_000, 'carol to catch up');
    expect([...carol.seqsOf('lobby'), ...resumed.seqsOf('lobby')]).toEqual(range(50));
    await alice.waitUntil(
      () => alice.presence.filter((p) => p.user === 'carol' && p.action === 'join').length === 2,
      10_000,
      'carol to join again',
    );
  }, 120_000);

  it('heals a pub/sub message that never arrived, mid-stream and at the tail', async () => {
    const { nodes, databaseUrl } = await cluster(2);
    const [a, b] = nodes as [NodeProcess, NodeProcess];
    const writer = await connect(a, 'writer');
    await writer.ok('channel.create', { channel: 'holes', channelType: 'public' });
    const reader = await connect(b, 'reader');
    await reader.ok('subscribe', { channel: 'holes' });
    for (const i of range(5)) await writer.ok('publish', { channel: 'holes', text: `m${i}` });
    await reader.waitUntil(() => reader.seqsOf('holes').length === 5, 10_000, 'the first five');

    // A commit whose pub/sub message is lost: written straight to the store, never published.
    const store = await openPostgresStore({ url: databaseUrl, maxConnections: 1 });
    onTestFinished(() => store.close());
    const silent = (text: string) =>
      store.appendBatch([{ kind: 'message', channel: 'holes', author: 'ghost', text, data: null, cid: null, replyTo: null }]);
    await silent('never on pub/sub');
    for (const i of range(5, 7)) await writer.ok('publish', { channel: 'holes', text: `m${i}` });
    await reader.waitUntil(() => reader.seqsOf('holes').length === 11, 10_000, 'the healed gap');
    expect(reader.seqsOf('holes')).toEqual(range(11));
    expect(reader.texts.get('holes')![5]).toBe('never on pub/sub');

    // Lost at the tail: nothing later reveals the gap; the periodic resync (10 s) does.
    await silent('the last word');
    await reader.waitUntil(() => reader.seqsOf('holes').length === 12, 15_000, 'the lost tail');
    expect(reader.seqsOf('holes')).toEqual(range(12));
  }, 120_000);

  it('loses no acknowledged message when Redis crashes and restarts mid-stream', async () => {
    const redis = await PrivateRedis.start();
    onTestFinished(() => redis.stop());
    const { nodes } = await cluster(3, redis.url);
    const owner = await connect(nodes[0]!, 'owner');
    await owner.ok('channel.create', { channel: 'stream', channelType: 'public' });
    const subscribers = await Promise.all(nodes.map((node, n) => connect(node, `sub-${n}`)));
    for (const subscriber of subscribers) await subscriber.ok('subscribe', { channel: 'stream' });
    const publishers = await Promise.all([nodes[0]!, nodes[1]!].map((node, n) => connect(node, `pub-${n}`)));

    const acked: number[] = [];
    let sent = 0;
    let outage: Promise<void> | null = null;
    let recovery: Promise<void> | null = null;
    const perPublisher = 300;
    await Promise.all(
      publishers.map(async (publisher, n) => {
        for (const i of range(perPublisher)) {
          sent++;
          // Redis dies a third of the way in and comes back two thirds of the way in.
          if (sent === perPublisher * 2 / 3) {
            outage = (async () => {
              await redis.down();
              await waitFor(async () => (await nodes[2]!.readyStatus()) === 503, 10_000, '/readyz to report 503');
            })();
          }
          if (sent === (perPublisher * 4) / 3) {
            recovery = (async () => {
              await outage;
              await redis.up();
            })();
          }
          const ack = await publisher.ok<{ seq: number }>('publish', { channel: 'stream', text: `p${n}-${i}`, cid: `p${n}-${i}` });
          acked.push(ack.seq);
        }
      }),
    );
    await outage;
    await recovery;
    const total = perPublisher * 2;
    expect([...acked].sort((x, y) => x - y)).toEqual(range(total));
    await Promise.all(
      subscribers.map((s) => s.waitUntil(() => s.seqsOf('stream').length >= total, 30_000, `${total} events`)),
    );
    for (const subscriber of subscribers) expect(subscriber.seqsOf('stream')).toEqual(range(total));
    await waitFor(async () => (await nodes[2]!.readyStatus()) === 200, 10_000, '/readyz to recover');
  }, 120_000);
});

describeWithServices(['TEST_DATABASE_URL'], 'PostgreSQL outage', () => {
  it('fails publishes with unavailable and reports 503 on /readyz while the database is away', async () => {
    const schema = await createTestSchema(serviceUrl('TEST_DATABASE_URL')!, 'outage');
    onTestFinished(() => schema.drop());
    const target = new URL(serviceUrl('TEST_DATABASE_URL')!);
    const proxy = await OutageProxy.start(Number(target.port || 5432));
    onTestFinished(() => proxy.close());
    const viaProxy = new URL(schema.url);
    viaProxy.hostname = '127.0.0.1';
    viaProxy.port = String(proxy.port);
    const server = await startTestServer({ databaseUrl: viaProxy.toString() });
    const client = await LeanClient.connect(server.wsUrl, 'alice');
    clients.push(client);
    await client.ok('channel.create', { channel: 'pg', channelType: 'public' });
    await client.ok('subscribe', { channel: 'pg' });
    expect(await client.ok<{ seq: number }>('publish', { channel: 'pg', text: 'one', cid: 'one' })).toMatchObject({ seq: 1 });

    proxy.cut();
    const failed = await client.request('publish', { channel: 'pg', text: 'two', cid: 'two' });
    expect(failed).toMatchObject({ type: 'error', code: 'unavailable' });
    // Reads say so too, rather than an internal error.
    expect(await client.request('history', { channel: 'pg' })).toMatchObject({ type: 'error', code: 'unavailable' });
    expect(await client.request('channel.get', { channel: 'not-cached' })).toMatchObject({ code: 'unavailable' });
    const ready = await fetch(`${server.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ code: 'unavailable' });

    proxy.restore();
    // The client retries with the same cid: stored once, as seq 2, and delivered.
    const retried = await client.ok<{ seq: number; duplicate: boolean }>('publish', { channel: 'pg', text: 'two', cid: 'two' });
    expect(retried).toMatchObject({ seq: 2, duplicate: false });
    await client.waitUntil(() => client.seqsOf('pg').length === 2, 10_000, 'both events');
    expect(client.seqsOf('pg')).toEqual([1, 2]);
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
  }, 60_000);
});
