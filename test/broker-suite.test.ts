import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { ClusterBroker } from '../src/broker/cluster-broker.js';
import { MemoryBroker } from '../src/broker/memory-broker.js';
import { MemoryBus } from '../src/broker/memory-bus.js';
import { RedisBroker } from '../src/broker/redis-broker.js';
import type { BrokerMessage } from '../src/core/broker.js';
import { silentLogger } from '../src/core/logger.js';
import { presenceChangesOf } from '../src/core/presence-frames.js';
import type { ChannelEvent, EphemeralEvent } from '../src/core/types.js';
import { OutageProxy } from './helpers/outage-proxy.js';
import { presenceMembers } from './helpers/presence-members.js';
import { PrivateRedis } from './helpers/private-redis.js';
import { dropRedisPrefix } from './helpers/redis-prefix.js';
import { serviceUrl } from './helpers/services.js';

/**
 * One suite for the Broker seam, run on the in-process bus and on Redis: both are the
 * ClusterBroker protocol over a different wire. Each Redis run uses its own key and topic
 * prefix, so it shares nothing with other runs on the same server.
 */
interface Node {
  readonly broker: ClusterBroker;
  readonly received: BrokerMessage[];
  waitFor(check: (messages: BrokerMessage[]) => boolean, timeoutMs?: number): Promise<void>;
  /** Takes this node's link to the others down (its publishes fail), and brings it back. */
  cut(): void;
  restore(): void;
}

/** A node's connection to the others, for a test to cut. */
interface Link {
  cut(): void;
  restore(): void;
}

interface Kit {
  readonly name: string;
  readonly available: boolean;
  /** A cluster of `count` started nodes; `cuttable`: each with a link a test can cut. */
  cluster(count: number, options?: { cuttable?: boolean }): Promise<Node[]>;
}

const redisUrl = serviceUrl('TEST_REDIS_URL');
const running: ClusterBroker[] = [];
const proxies: OutageProxy[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((broker) => broker.close()));
  await Promise.all(proxies.splice(0).map((proxy) => proxy.close()));
});

const uncuttable: Link = {
  cut: () => expect.unreachable('this node was started without a link to cut'),
  restore: () => expect.unreachable('this node was started without a link to cut'),
};

async function startNode(broker: ClusterBroker, link: Link = uncuttable): Promise<Node> {
  const received: BrokerMessage[] = [];
  const waiters = new Set<() => void>();
  await broker.start((message) => {
    received.push(message);
    for (const wake of [...waiters]) wake();
  });
  running.push(broker);
  return {
    broker,
    received,
    cut: () => link.cut(),
    restore: () => link.restore(),
    waitFor: (check, timeoutMs = 5000) =>
      new Promise((resolve, reject) => {
        const attempt = () => {
          if (!check(received)) return;
          waiters.delete(attempt);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          waiters.delete(attempt);
          reject(new Error(`timed out; received ${JSON.stringify(received.slice(-3))}`));
        }, timeoutMs);
        waiters.add(attempt);
        attempt();
      }),
  };
}

const usedPrefixes: string[] = [];
afterAll(async () => {
  if (redisUrl) await Promise.all(usedPrefixes.map((prefix) => dropRedisPrefix(redisUrl, prefix)));
});

function redisPrefix(): string {
  const prefix = `test-${randomBytes(4).toString('hex')}:`;
  usedPrefixes.push(prefix);
  return prefix;
}

function redisBroker(prefix: string, options: { heartbeatMs?: number; nodeTimeoutMs?: number; url?: string } = {}): RedisBroker {
  const url = new URL(options.url ?? redisUrl!);
  url.searchParams.set('prefix', prefix);
  return new RedisBroker({ logger: silentLogger, ...options, url: url.toString() });
}

/** A Redis node whose connections go through a proxy of its own, to cut. */
async function cuttableRedisNode(prefix: string, timing: { heartbeatMs?: number; nodeTimeoutMs?: number } = {}): Promise<Node> {
  const target = new URL(redisUrl!);
  const proxy = await OutageProxy.start(Number(target.port || 6379));
  proxies.push(proxy);
  return startNode(redisBroker(prefix, { ...timing, url: `redis://127.0.0.1:${proxy.port}/` }), proxy);
}

const kits: Kit[] = [
  {
    name: 'memory',
    available: true,
    async cluster(count) {
      const bus = new MemoryBus();
      const nodes = Array.from({ length: count }, (_, i) => `node-${i}`);
      return Promise.all(
        nodes.map((nodeId) =>
          startNode(new MemoryBroker({ bus, nodeId }), { cut: () => bus.cut(nodeId), restore: () => bus.restore(nodeId) }),
        ),
      );
    },
  },
  {
    name: 'redis',
    available: redisUrl !== undefined,
    async cluster(count, options = {}) {
      const prefix = redisPrefix();
      const start = options.cuttable ? () => cuttableRedisNode(prefix) : () => startNode(redisBroker(prefix));
      return Promise.all(Array.from({ length: count }, start));
    },
  },
];

let nextSeq = 1;
function event(channel: string, text: string): ChannelEvent {
  return {
    channel,
    seq: nextSeq++,
    kind: 'message',
    id: `id-${nextSeq}`,
    author: 'alice',
    text,
    data: { nested: [1, 'two', null] },
    cid: null,
    replyTo: null,
    target: null,
    createdAt: 1_800_000_000_000,
    editedAt: null,
    deletedAt: null,
  };
}

const eventsOf = (messages: BrokerMessage[], channel: string) =>
  messages.flatMap((m) => (m.type === 'event' && m.event.channel === channel ? [m.event] : []));
/** Every presence change announced, one per change: a frame of one change or a batch of a channel's. */
const presenceOf = (messages: BrokerMessage[]) =>
  messages.flatMap((m) => (m.type === 'ephemeral' ? presenceChangesOf(m.event).map((change) => ({ channel: m.event.channel, ...change })) : []));
const resyncsOf = (messages: BrokerMessage[]) => messages.filter((m) => m.type === 'resync' && m.channel === null).length;
const answersPing = (node: Node) => node.broker.ping().then(() => true, () => false);

/** Waits until `node` answers `resync` for the channel: its subscription has taken effect. */
async function watched(node: Node, channel: string): Promise<void> {
  node.broker.watch(channel);
  await node.waitFor((messages) => messages.some((m) => m.type === 'resync' && m.channel === channel));
}

for (const kit of kits) {
  describe.skipIf(!kit.available)(`broker on ${kit.name}`, () => {
    it('carries events and ephemeral events to the other nodes, intact, never back to the sender', async () => {
      const [a, b, c] = await kit.cluster(3);
      await Promise.all([watched(a!, 'room'), watched(b!, 'room'), watched(c!, 'room')]);
      const sent = [event('room', 'one'), event('room', 'two'), event('room', 'three')];
      for (const e of sent) a!.broker.publish({ type: 'event', event: e });
      const typing: EphemeralEvent = { type: 'typing', channel: 'room', user: 'alice', at: 1 };
      b!.broker.publish({ type: 'ephemeral', event: typing });

      for (const node of [b!, c!]) {
        await node.waitFor((messages) => eventsOf(messages, 'room').length === 3);
        expect(eventsOf(node.received, 'room')).toEqual(sent);
      }
      await c!.waitFor((messages) => messages.some((m) => m.type === 'ephemeral'));
      await a!.waitFor((messages) => messages.some((m) => m.type === 'ephemeral'));
      expect(c!.received.find((m) => m.type === 'ephemeral')).toEqual({ type: 'ephemeral', event: typing });
      expect(eventsOf(a!.received, 'room')).toEqual([]);
      expect(b!.received.some((m) => m.type === 'ephemeral')).toBe(false);
    });

    it('carries a module notice to every other node, watched channel or not', async () => {
      const [a, b, c] = await kit.cluster(3);
      const body = { kind: 'status', user: 'alice', audience: ['bob'], at: 1 };
      a!.broker.publish({ type: 'notice', module: 'chat', body });
      for (const node of [b!, c!]) await node.waitFor((messages) => messages.some((m) => m.type === 'notice'));
      expect(b!.received.filter((m) => m.type === 'notice')).toEqual([{ type: 'notice', module: 'chat', body }]);
      expect(a!.received.some((m) => m.type === 'notice')).toBe(false);
    });

    it('routes a channel only to nodes that watch it, and stops after unwatch', async () => {
      const [a, b, c] = await kit.cluster(3);
      await watched(b!, 'only-b');
      a!.broker.publish({ type: 'event', event: event('only-b', 'first') });
      await b!.waitFor((messages) => eventsOf(messages, 'only-b').length === 1);
      b!.broker.unwatch('only-b');
      await watched(c!, 'only-b');
      a!.broker.publish({ type: 'event', event: event('only-b', 'second') });
      await c!.waitFor((messages) => eventsOf(messages, 'only-b').length === 1);
      expect(eventsOf(c!.received, 'only-b').map((e) => e.text)).toEqual(['second']);
      // c got "second" and b unsubscribed before it was sent: b never sees it.
      expect(eventsOf(b!.received, 'only-b').map((e) => e.text)).toEqual(['first']);
    });

    it('counts presence across nodes: join, add, remove, leave', async () => {
      const [a, b] = await kit.cluster(2);
      const pa = a!.broker.presence;
      const pb = b!.broker.presence;
      expect(await pa.add('lobby', 'alice', 's1')).toBe('join');
      expect(await pb.add('lobby', 'alice', 's2')).toBe('add');
      expect(await pb.add('lobby', 'bob', 's3')).toBe('join');
      expect(await presenceMembers(pa, 'lobby')).toEqual([
        { user: 'alice', sessions: 2 },
        { user: 'bob', sessions: 1 },
      ]);
      // One user's entry, from either node, without listing the channel.
      expect([await pb.sessionsOf('lobby', 'alice'), await pa.sessionsOf('lobby', 'bob'), await pa.sessionsOf('lobby', 'carol'), await pa.sessionsOf('elsewhere', 'alice')]).toEqual([2, 1, 0, 0]);
      // Several users' entries in one read, from either node.
      expect([...(await pa.presentAmong('lobby', ['carol', 'bob', 'alice']))].sort()).toEqual(['alice', 'bob']);
      expect([...(await pb.presentAmong('elsewhere', ['alice']))]).toEqual([]);
      expect([...(await pb.presentAmong('lobby', []))]).toEqual([]);
      expect(await pa.remove('lobby', 'alice', 's1')).toBe('remove');
      expect(await pa.remove('lobby', 'alice', 's1')).toBeNull();
      expect(await pb.remove('lobby', 'alice', 's2')).toBe('leave');
      expect(await presenceMembers(pb, 'lobby')).toEqual([{ user: 'bob', sessions: 1 }]);
      expect(await pa.sessionsOf('lobby', 'alice')).toBe(0);
      expect([...(await pa.presentAmong('lobby', ['alice', 'bob']))]).toEqual(['bob']);
      expect(await presenceMembers(pa, 'elsewhere')).toEqual([]);
    });

    it('pages presence in user id order, with counts and infos, from where the last page ended', async () => {
      const [a, b] = await kit.cluster(2);
      const pa = a!.broker.presence;
      const pb = b!.broker.presence;
      await pa.add('hall', 'carol', 's5');
      await pa.add('hall', 'alice', 's1');
      await pb.add('hall', 'alice', 's2');
      await pb.add('hall', 'bob', 's3', { seat: 3 });
      await pa.add('hall', 'bob', 's7', { seat: 7 });
      await pa.add('hall', 'ann', 's4');
      // A user id that extends another's sorts after all of that one's sessions.
      await pb.add('hall', 'ann2', 's0');
      await pb.add('hall', 'dave', 's6', { seat: 6 });
      // Carol's lowest session has no info: her other one's is listed.
      await pb.add('hall', 'carol', 's8', { seat: 8 });
      const first = await pb.page('hall', undefined, 2);
      expect(first).toEqual({ members: [{ user: 'alice', sessions: 2 }, { user: 'ann', sessions: 1 }], more: true, users: 6 });
      // A join after a page is in the next page, and a leave is gone from it (memory sorted the channel for the first).
      await pa.add('hall', 'abby', 's9');
      await pa.add('hall', 'abby', 's9');
      expect((await pb.page('hall', undefined, 2)).members).toEqual([{ user: 'abby', sessions: 1 }, { user: 'alice', sessions: 2 }]);
      expect(await pa.remove('hall', 'abby', 's9')).toBe('leave');
      expect((await pb.page('hall', undefined, 1)).members).toEqual([{ user: 'alice', sessions: 2 }]);
      expect(await pa.page('hall', 'ann', 2)).toEqual({
        members: [{ user: 'ann2', sessions: 1 }, { user: 'bob', sessions: 2, info: { seat: 3 } }],
        more: true,
        users: 6,
      });
      expect(await pb.page('hall', 'bob', 2)).toEqual({ members: [{ user: 'carol', sessions: 2, info: { seat: 8 } }, { user: 'dave', sessions: 1, info: { seat: 6 } }], more: false, users: 6 });
      // After an id that is no member (one that left, a made-up one): from the next one there is.
      expect((await pa.page('hall', 'al', 1)).members).toEqual([{ user: 'alice', sessions: 2 }]);
      expect(await pa.remove('hall', 'ann', 's4')).toBe('leave');
      expect((await pb.page('hall', 'ann', 10)).members.map((m) => m.user)).toEqual(['ann2', 'bob', 'carol', 'dave']);
      expect(await pb.page('hall', 'dave', 10)).toEqual({ members: [], more: false, users: 5 });
      expect(await pa.page('empty', undefined, 10)).toEqual({ members: [], more: false, users: 0 });
    });

    it('answers ping while connected and never throws from publish, even after close', async () => {
      const [a] = await kit.cluster(1);
      await expect(a!.broker.ping()).resolves.toBeUndefined();
      await a!.broker.close();
      running.splice(running.indexOf(a!.broker), 1);
      expect(() => a!.broker.publish({ type: 'event', event: event('room', 'after close') })).not.toThrow();
    });

    it('re-sends the newest event it could not send, and resyncs, once its link is back', async () => {
      const [a, b] = await kit.cluster(2, { cuttable: true });
      await Promise.all([watched(a!, 'room'), watched(b!, 'room')]);
      a!.cut();
      await waitUntil(async () => !(await answersPing(a!)), 3000);
      const resyncsBefore = resyncsOf(a!.received);
      expect(() => a!.broker.publish({ type: 'event', event: event('room', 'older') })).not.toThrow();
      a!.broker.publish({ type: 'event', event: event('room', 'newest') });
      await waitUntil(async () => a!.broker.stats.publishFailures >= 2, 3000);
      expect(eventsOf(b!.received, 'room')).toEqual([]);

      a!.restore();
      // a's hub is asked to compare its channels with the store: it may have missed traffic too.
      await a!.waitFor((messages) => resyncsOf(messages) > resyncsBefore, 10_000);
      // b gets the newest; seeing the gap before it, b's hub reads "older" from the store.
      await b!.waitFor((messages) => eventsOf(messages, 'room').length > 0, 15_000);
      expect(eventsOf(b!.received, 'room').map((e) => e.text)).toEqual(['newest']);
    });
  });
}

describe.skipIf(redisUrl === undefined)('broker on redis: clusters, reaping, outages', () => {
  it('does not hear another cluster that uses a different prefix', async () => {
    const ourPrefix = redisPrefix();
    const [ours, theirs, probe] = await Promise.all(
      [redisBroker(ourPrefix), redisBroker(redisPrefix()), redisBroker(ourPrefix)].map((broker) => startNode(broker)),
    );
    await watched(ours!, 'shared-name');
    await watched(theirs!, 'shared-name');
    theirs!.broker.publish({ type: 'event', event: event('shared-name', 'not for you') });
    expect(await theirs!.broker.presence.add('shared-name', 'eve', 'e1')).toBe('join');
    expect(await presenceMembers(ours!.broker.presence, 'shared-name')).toEqual([]);
    // A message on our own prefix sent after theirs: once it is here, theirs had its chance.
    probe!.broker.publish({ type: 'event', event: event('shared-name', 'probe') });
    await ours!.waitFor((messages) => eventsOf(messages, 'shared-name').length >= 1);
    expect(eventsOf(ours!.received, 'shared-name').map((e) => e.text)).toEqual(['probe']);
  });

  it('pages presence that a node from before the index wrote, and keeps paging it after that node is reaped', async () => {
    const prefix = redisPrefix();
    const timing = { heartbeatMs: 100, nodeTimeoutMs: 400 };
    const [node] = await Promise.all([redisBroker(prefix, timing)].map((broker) => startNode(broker)));
    const raw = new Redis(redisUrl!, { lazyConnect: true });
    await raw.connect();
    try {
      const p = `${prefix}presence:`;
      const presence = node!.broker.presence;
      await presence.add('deck', 'zoe', 'z1');
      await presence.add('deck', 'yan', 'y1');
      await presence.add('deck', 'yan', 'y2');
      // What a node from before the index writes: the hashes only. It adds omar's two
      // sessions and removes yan's two, so the index holds as many entries as there are
      // sessions, and still the wrong ones.
      // Registered until the test says it is dead (a score of 0: its time is up).
      await raw.zadd(`${p}nodes`, Date.now() + 3_600_000, 'old');
      await raw.hset(`${p}sessions:deck`, 'o3', 'omar', 'o1', 'omar');
      await raw.hset(`${p}users:deck`, 'omar', '2');
      await raw.hset(`${p}infos:deck`, 'o3', JSON.stringify('late'), 'o1', JSON.stringify('early'));
      await raw.sadd(`${p}node:old`, 'deck\no1', 'deck\no3');
      await raw.hdel(`${p}sessions:deck`, 'y1', 'y2');
      await raw.hdel(`${p}users:deck`, 'yan');
      await raw.srem(`${p}node:${node!.broker.nodeId}`, 'deck\ny1', 'deck\ny2');
      expect(await raw.zcard(`${p}index:deck`)).toBe(await raw.hlen(`${p}sessions:deck`));
      expect(await presenceMembers(presence, 'deck')).toEqual([
        { user: 'omar', sessions: 2, info: 'early' },
        { user: 'zoe', sessions: 1 },
      ]);
      // Read from the hashes: the index was not written meanwhile.
      expect(await raw.zcard(`${p}index:deck`)).toBe(3);
      // The old node dies: its sessions leave the hashes, and the index is made again from the rest.
      await raw.zadd(`${p}nodes`, 0, 'old');
      await node!.waitFor((messages) => presenceOf(messages).filter((change) => change.channel === 'deck').length === 2, 3000);
      expect(await presenceMembers(presence, 'deck')).toEqual([{ user: 'zoe', sessions: 1 }]);
      expect(await raw.zrange(`${p}index:deck`, '0', '-1')).toEqual(['zoe\nz1']);
    } finally {
      raw.disconnect();
    }
  });

  it('reaps the sessions of a node that stops heartbeating and tells every survivor who left, once', async () => {
    const prefix = redisPrefix();
    const timing = { heartbeatMs: 100, nodeTimeoutMs: 400 };
    const [survivor, bystander] = await Promise.all(
      [redisBroker(prefix, timing), redisBroker(prefix, timing)].map((broker) => startNode(broker)),
    );
    // The doomed node is a raw client that registers like a node, then falls silent.
    const raw = new Redis(redisUrl!, { lazyConnect: true });
    await raw.connect();
    try {
      const p = `${prefix}presence:`;
      const [seconds, micros] = await raw.time();
      const deadline = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000) + 1500;
      await raw.zadd(`${p}nodes`, deadline, 'doomed');
      await raw.hset(`${p}sessions:lobby`, 'd1', 'dora', 'd2', 'dora');
      await raw.hset(`${p}users:lobby`, 'dora', '2');
      // Her status entry: no node watches it as a channel, yet every node must hear her go.
      await raw.hset(`${p}sessions:~online`, 'd1', 'dora');
      await raw.hset(`${p}users:~online`, 'dora', '1');
      await raw.sadd(`${p}node:doomed`, 'lobby\nd1', 'lobby\nd2', '~online\nd1');
      expect(await survivor.broker.presence.add('lobby', 'sam', 's1')).toBe('join');
      expect((await presenceMembers(survivor.broker.presence, 'lobby')).map((m) => m.user)).toEqual(['dora', 'sam']);

      const expected = [
        ['lobby', 'dora', 'leave'],
        ['lobby', 'dora', 'remove'],
        ['~online', 'dora', 'leave'],
      ];
      const changes = (node: Node) => presenceOf(node.received).map((e) => [e.channel, e.user, e.action]).sort();
      for (const node of [survivor, bystander]) {
        await node.waitFor(() => changes(node).length >= 3, 1500 + 100 * 3 + 1000);
      }
      const [nowSeconds, nowMicros] = await raw.time();
      expect(Number(nowSeconds) * 1000 + Math.floor(Number(nowMicros) / 1000)).toBeGreaterThanOrEqual(deadline);
      // One reaper reported it; the other node heard it over pub/sub: each saw it once.
      expect(changes(survivor)).toEqual(expected);
      expect(changes(bystander)).toEqual(expected);
      expect(await presenceMembers(survivor.broker.presence, 'lobby')).toEqual([{ user: 'sam', sessions: 1 }]);
      expect(await presenceMembers(survivor.broker.presence, '~online')).toEqual([]);
      expect(await raw.exists(`${p}node:doomed`)).toBe(0);
      expect(await raw.zscore(`${p}nodes`, 'doomed')).toBeNull();
      expect(await raw.zscore(`${p}nodes`, survivor.broker.nodeId)).not.toBeNull();
    } finally {
      raw.disconnect();
    }
  });

  it('re-registers its presence after Redis forgot it, and announces the join', async () => {
    const prefix = redisPrefix();
    const timing = { heartbeatMs: 100, nodeTimeoutMs: 400 };
    const [a, b] = await Promise.all([redisBroker(prefix, timing), redisBroker(prefix, timing)].map((broker) => startNode(broker)));
    await watched(b!, 'room');
    expect(await a!.broker.presence.add('room', 'alice', 'sa')).toBe('join');
    const raw = new Redis(redisUrl!, { lazyConnect: true });
    await raw.connect();
    try {
      // Redis loses every key of this cluster, as a restart without persistence would.
      await raw.del(...(await raw.keys(`${prefix}*`)));
      expect(await presenceMembers(b!.broker.presence, 'room')).toEqual([]);
      await waitUntil(async () => (await presenceMembers(b!.broker.presence, 'room')).length === 1, 3000);
      expect(await presenceMembers(b!.broker.presence, 'room')).toEqual([{ user: 'alice', sessions: 1 }]);
      // ... and says so, so subscribers that saw her leave (or never saw her) see her back.
      await b!.waitFor((messages) => presenceOf(messages).some((e) => e.user === 'alice' && e.action === 'join'));
    } finally {
      raw.disconnect();
    }
  });

  it('keeps presence changes made while Redis was unreachable and writes them once it answers', async () => {
    const prefix = redisPrefix();
    const timing = { heartbeatMs: 100, nodeTimeoutMs: 2000 };
    const cut = await cuttableRedisNode(prefix, timing);
    const other = await startNode(redisBroker(prefix, timing));
    expect(await cut.broker.presence.add('room', 'alice', 'a1')).toBe('join');
    expect(await cut.broker.presence.add('room', 'carol', 'c1')).toBe('join');

    cut.cut();
    await waitUntil(async () => !(await answersPing(cut)), 3000);
    // Answered from the node's own sessions instead of failing the subscribe.
    expect(await cut.broker.presence.add('room', 'bob', 'b1')).toBe('join');
    expect(await cut.broker.presence.add('room', 'alice', 'a2')).toBe('add');
    expect(await cut.broker.presence.remove('room', 'carol', 'c1')).toBe('leave');
    await expect(presenceMembers(cut.broker.presence, 'room')).rejects.toMatchObject({ code: 'unavailable' });

    cut.restore();
    const expected = [
      { user: 'alice', sessions: 2 },
      { user: 'bob', sessions: 1 },
    ];
    const seen = async () => JSON.stringify(await presenceMembers(other.broker.presence, 'room'));
    await waitUntil(async () => (await seen()) === JSON.stringify(expected), 5000).catch(async (error: Error) => {
      throw new Error(`${error.message}: presence is ${await seen()}`);
    });
    expect(await presenceMembers(other.broker.presence, 'room')).toEqual(expected);
  });

  it('survives a Redis crash: publishes fail without throwing and are counted; resync once back', async () => {
    const redis = await PrivateRedis.start();
    try {
      const url = `${redis.url}/?prefix=${redisPrefix()}`;
      const make = () => new RedisBroker({ url, logger: silentLogger, resyncMs: 60_000 });
      const [a, b] = await Promise.all([make(), make()].map((broker) => startNode(broker)));
      await watched(b!, 'room');
      a!.broker.publish({ type: 'event', event: event('room', 'before') });
      await b!.waitFor((messages) => eventsOf(messages, 'room').length === 1);

      await redis.down();
      await waitUntil(async () => !(await answersPing(a!)), 3000);
      const resyncsBefore = resyncsOf(b!.received);
      const lost = event('room', 'during the outage');
      expect(() => a!.broker.publish({ type: 'event', event: lost })).not.toThrow();
      const stats = a!.broker.stats;
      await waitUntil(async () => stats.publishFailures >= 1, 3000);

      await redis.up();
      // b resubscribes and only then asks its hub to resync: whatever was published before
      // its subscription was back (the lost event, a's re-send of it) the hub reads from
      // the store; everything after arrives over pub/sub.
      await b!.waitFor((messages) => resyncsOf(messages) > resyncsBefore, 10_000);
      await waitUntil(() => answersPing(a!), 5000);
      a!.broker.publish({ type: 'event', event: event('room', 'after') });
      await b!.waitFor((messages) => eventsOf(messages, 'room').some((e) => e.text === 'after'));
      expect(eventsOf(b!.received, 'room').filter((e) => e.text === 'after')).toHaveLength(1);
      expect(stats.publishFailures).toBeGreaterThanOrEqual(1);
    } finally {
      await Promise.all(running.splice(0).map((broker) => broker.close()));
      await redis.stop();
    }
  });
});

async function waitUntil(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
