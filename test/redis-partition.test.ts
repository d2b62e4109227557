import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { expect, it, onTestFinished } from 'vitest';
import { RedisBroker, type RedisBrokerOptions } from '../src/broker/redis-broker.js';
import type { BrokerMessage } from '../src/core/broker.js';
import type { Logger } from '../src/core/logger.js';
import type { PresenceChange } from '../protocol/frames.js';
import { presenceChangesOf } from '../src/core/presence-frames.js';
import { BlackholeProxy } from './helpers/blackhole-proxy.js';
import { presenceMembers } from './helpers/presence-members.js';
import { createRedisPrefix } from './helpers/redis-prefix.js';
import { describeWithServices, serviceUrl } from './helpers/services.js';
import { type TestServer, startTestServer } from './helpers/test-server.js';
import { Waiters } from './helpers/waiters.js';
import { type ServerFrame, type WsTestClient, useWsClients } from './helpers/ws-test-client.js';

/**
 * A node cut off from Redis for longer than the presence timeout, silently (a blackhole:
 * its connections stay open and no byte moves either way) or loudly (its connections
 * are destroyed and new ones refused). The other nodes reap its sessions and tell their
 * users it went offline; once the path heals, the node notices on its own (a blackhole
 * fires no event), writes its sessions back and every node sees its users online again,
 * each observer hearing one `offline` and one `online` per user, never the same twice.
 *
 * The proxy delivers what was written into the hole when it heals, as TCP would: the
 * dropped connections' late writes reach Redis after the node has moved on.
 */
type Presence = PresenceChange & { readonly channel: string };

const redisUrl = serviceUrl('TEST_REDIS_URL');
const clients = useWsClients();

/** A prefix of its own on the shared Redis, and a proxy in front of it; both gone after the test. */
async function isolatedRedis(): Promise<{ url: string; proxiedUrl: string; proxy: BlackholeProxy; prefix: string }> {
  const redis = createRedisPrefix(redisUrl!, 'partition');
  const proxy = await BlackholeProxy.start(Number(new URL(redisUrl!).port || 6379));
  onTestFinished(async () => {
    await proxy.close();
    await redis.drop();
  });
  const proxied = new URL(redis.url);
  proxied.hostname = '127.0.0.1';
  proxied.port = String(proxy.port);
  return { url: redis.url, proxiedUrl: proxied.toString(), proxy, prefix: redis.prefix };
}

/** A logger that keeps what it was told, to count the lines an outage makes. */
function recordingLogger(): Logger & { lines: { level: string; message: string }[] } {
  const lines: { level: string; message: string }[] = [];
  const keep = (level: string) => (_object: object, message: string) => void lines.push({ level, message });
  return { lines, info: keep('info'), warn: keep('warn'), error: keep('error') };
}

interface BrokerNode {
  readonly broker: RedisBroker;
  readonly presence: Presence[];
  until(check: () => boolean, timeoutMs: number, what: string): Promise<void>;
}

async function brokerNode(options: RedisBrokerOptions): Promise<BrokerNode> {
  const broker = new RedisBroker(options);
  const presence: Presence[] = [];
  const waiters = new Waiters();
  await broker.start((message: BrokerMessage) => {
    if (message.type === 'ephemeral') {
      for (const change of presenceChangesOf(message.event)) presence.push({ channel: message.event.channel, ...change });
    }
    waiters.wake();
  });
  onTestFinished(() => broker.close());
  return {
    broker,
    presence,
    until: async (check, timeoutMs, what) => {
      await waiters.until(check, timeoutMs, () => `${what}: not within ${timeoutMs} ms; presence seen ${JSON.stringify(presence)}`);
    },
  };
}

const seen = (events: readonly Presence[], user: string, action: string) =>
  events.filter((e) => e.user === user && e.action === action).length;

describeWithServices(['TEST_REDIS_URL'], 'redis presence across a silent partition', () => {
  it('notices a blackholed link, writes back what changed meanwhile, and ignores the late writes of the dropped connections', async () => {
    const redis = await isolatedRedis();
    const timing = { heartbeatMs: 200, nodeTimeoutMs: 1000, stallTimeoutMs: 600 };
    const logger = recordingLogger();
    const cut = await brokerNode({ url: redis.proxiedUrl, logger, ...timing });
    const other = await brokerNode({ url: redis.url, logger: recordingLogger(), ...timing });
    const presence = cut.broker.presence;
    expect(await presence.add('room', 'alice', 'a1')).toBe('join');
    expect(await presence.add('room', 'carol', 'c1')).toBe('join');

    redis.proxy.blackhole();
    // Written into the hole: each waits for the stall timeout, then is answered from the
    // node's own sessions. Their bytes reach Redis only when the path heals.
    const during = await Promise.all([
      presence.add('room', 'bob', 'b1'),
      presence.remove('room', 'carol', 'c1'),
      presence.add('room', 'dora', 'd1').then(() => presence.remove('room', 'dora', 'd1')),
    ]);
    expect(during).toEqual(['join', 'leave', 'leave']);
    // The node noticed by itself: no event came, yet it dropped both connections.
    await expect(cut.broker.ping()).rejects.toThrow();
    expect(cut.broker.stats.stalls).toBeGreaterThanOrEqual(1);

    // The other node reaps the silent one: alice and carol leave (bob and dora never got there).
    await other.until(() => seen(other.presence, 'alice', 'leave') === 1 && seen(other.presence, 'carol', 'leave') === 1, 5000, 'the reap');

    // New connections get through first; the dropped ones' writes arrive after them.
    redis.proxy.heal({ keepEarlier: true });
    await other.until(() => seen(other.presence, 'alice', 'join') === 1 && seen(other.presence, 'bob', 'join') === 1, 5000, 'the return');
    await presence.settle();
    redis.proxy.heal();
    // Each dropped connection ends once Redis has read all it held: two live ones remain.
    await redis.proxy.untilConnections((count) => count === 2, 5000);
    await presence.settle();

    const expected = [
      { user: 'alice', sessions: 1 },
      { user: 'bob', sessions: 1 },
    ];
    expect(await presenceMembers(other.broker.presence, 'room')).toEqual(expected);
    const raw = new Redis(redisUrl!);
    try {
      const p = `${redis.prefix}presence:`;
      expect((await raw.smembers(`${p}node:${cut.broker.nodeId}`)).sort()).toEqual(['room\na1', 'room\nb1']);
      expect(await raw.hgetall(`${p}sessions:room`)).toEqual({ a1: 'alice', b1: 'bob' });
    } finally {
      raw.disconnect();
    }
    // Everyone else heard each change once; the node's own hub heard none of it, since it
    // never heard its sessions leave (and answered the changes made meanwhile itself).
    expect(other.presence.map((e) => `${e.user} ${e.action}`).sort()).toEqual(['alice join', 'alice leave', 'bob join', 'carol leave']);
    expect(cut.presence).toEqual([]);
    // One stall per connection, one line for it and one for the way back, whatever the retries.
    expect(cut.broker.stats.stalls).toBe(2);
    const stalled = logger.lines.filter((line) => line.message.startsWith('Redis link stalled'));
    expect(stalled.map((line) => line.level)).toEqual(['warn', 'warn']);
    expect(logger.lines.filter((line) => line.message === 'Redis link back after a stall')).toHaveLength(2);
  });
});

interface Cluster {
  /** Node 0 reaches Redis through `proxy`; the others directly. */
  readonly nodes: TestServer[];
  readonly brokers: RedisBroker[];
  readonly proxy: BlackholeProxy;
}

/** `count` servers with the chat module on one SQLite file and one Redis prefix. */
async function cluster(count: number, timing: Partial<RedisBrokerOptions> = {}): Promise<Cluster> {
  const redis = await isolatedRedis();
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-partition-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  const databaseUrl = `sqlite:${join(dir, 'shared.db')}`;
  const nodes: TestServer[] = [];
  const brokers: RedisBroker[] = [];
  for (let i = 0; i < count; i++) {
    const broker = new RedisBroker({ ...timing, url: i === 0 ? redis.proxiedUrl : redis.url, logger: recordingLogger() });
    brokers.push(broker);
    nodes.push(await startTestServer({ databaseUrl, broker }));
  }
  return { nodes, brokers, proxy: redis.proxy };
}

const statusesOf = (client: WsTestClient, user: string) =>
  client.frames.filter((f) => f.type === 'status' && f.user === user).map((f) => f.status as string);
const lastStatus = (client: WsTestClient, user: string) => statusesOf(client, user).at(-1);
/** A presence frame with this change, alone or in a tick's batch. */
const isPresence = (user: string, action: string) => (f: ServerFrame) =>
  (f.type === 'presence' ? [f] : f.type === 'presenceBatch' ? (f.changes as ServerFrame[]) : []).some((c) => c.user === user && c.action === action);

async function presentIn(client: WsTestClient, channel: string): Promise<string[]> {
  const { members } = await client.ok<{ members: { user: string }[] }>('presence', { channel });
  return members.map((m) => m.user);
}

async function contactStatus(client: WsTestClient, user: string): Promise<string | undefined> {
  const { contacts } = await client.ok<{ contacts: { user: string; status: string }[] }>('contacts.list');
  return contacts.find((c) => c.user === user)?.status;
}

/** No status twice in a row: what an observer hears must be a change each time. */
function expectChanges(statuses: readonly string[]): void {
  expect(statuses.filter((status, i) => i > 0 && status === statuses[i - 1])).toEqual([]);
}

describeWithServices(['TEST_REDIS_URL'], 'chat across a partition between a node and Redis', () => {
  for (const way of ['blackhole', 'cut'] as const) {
    const words = way === 'blackhole' ? 'a silent partition (a blackhole)' : 'a loud one (reset and refused)';
    it(`brings the node's users back online on every node after ${words} longer than the presence timeout`, async () => {
      // Default timings: heartbeat 1 s, node timeout 5 s, stall timeout 2 s.
      const { nodes, brokers, proxy } = await cluster(2);
      const [one, two] = nodes as [TestServer, TestServer];
      const alice = await clients.connect(one.wsUrl, 'alice');
      await alice.ok('channel.create', { channel: 'room', channelType: 'public' });
      await alice.ok('subscribe', { channel: 'room' });
      const bob = await clients.connect(two.wsUrl, 'bob');
      await bob.ok('contacts.add', { user: 'alice' });
      await bob.ok('subscribe', { channel: 'room' });
      const carol = await clients.connect(one.wsUrl, 'carol');
      await carol.ok('contacts.add', { user: 'alice' });
      expect(await presentIn(bob, 'room')).toEqual(['alice', 'bob']);
      await alice.waitFor(isPresence('bob', 'join'), 5000);

      const before = alice.frames.length;
      if (way === 'blackhole') proxy.blackhole();
      else proxy.cut();
      // Held until the other node has reaped alice, which takes the presence timeout.
      await bob.waitFor((f) => f.type === 'status' && f.user === 'alice' && f.status === 'offline', 20_000);
      await bob.waitFor(isPresence('alice', 'leave'), 5000);
      expect(await presentIn(bob, 'room')).toEqual(['bob']);
      expect(await contactStatus(bob, 'alice')).toBe('offline');
      // A blackhole fires no event: node one found the stall itself. A reset is no stall.
      expect(brokers[0]!.stats.stalls > 0).toBe(way === 'blackhole');

      proxy.heal();
      const healedAt = Date.now();
      await bob.waitUntil(() => lastStatus(bob, 'alice') === 'online', 10_000);
      await bob.waitFor(isPresence('alice', 'join'), 5000);
      console.info(`${way}: alice online again on node two ${Date.now() - healedAt} ms after the heal`);

      for (const observer of [bob, carol]) {
        expect(await presentIn(observer, 'room')).toEqual(['alice', 'bob']);
        expect(await contactStatus(observer, 'alice')).toBe('online');
      }
      expect(statusesOf(bob, 'alice')).toEqual(['offline', 'online']);
      // Carol and alice share node one: they never saw alice go, so they hear nothing of it.
      expect(statusesOf(carol, 'alice')).toEqual([]);
      // Nor does alice herself (what others did meanwhile, such as carol's own status coming
      // online, may still reach her: status changes in a storm are batched for a few ms).
      const ofAlice = (f: ServerFrame) =>
        (f.type === 'status' && f.user === 'alice') || isPresence('alice', 'leave')(f) || isPresence('alice', 'join')(f);
      expect(alice.frames.slice(before).filter(ofAlice)).toEqual([]);
    });
  }

  it('tells each observer one offline and one online per user across a partition, whichever nodes report it', async () => {
    const { nodes, proxy } = await cluster(3, { heartbeatMs: 300, nodeTimeoutMs: 1500, stallTimeoutMs: 1000 });
    const [one, two, three] = nodes as [TestServer, TestServer, TestServer];
    const cutOff = ['alice', 'dave'];
    const users = await Promise.all(cutOff.map((user) => clients.connect(one.wsUrl, user)));
    // bob and erin on the nodes that stay; carol on the cut-off node; frank comes back to it during the partition.
    const bob = await clients.connect(two.wsUrl, 'bob');
    const erin = await clients.connect(three.wsUrl, 'erin');
    const carol = await clients.connect(one.wsUrl, 'carol');
    let frank = await clients.connect(one.wsUrl, 'frank');
    for (const observer of [bob, erin, carol, frank]) {
      for (const user of cutOff) await observer.ok('contacts.add', { user });
    }
    await frank.close();

    proxy.blackhole();
    // Both remaining nodes hear the reaper's leave, and both may find the database stale.
    for (const observer of [bob, erin]) {
      for (const user of cutOff) await observer.waitUntil(() => lastStatus(observer, user) === 'offline', 20_000);
    }
    // Back on the cut-off node while it is cut off: who is online cannot be read there (the
    // registry is out of reach), so his contacts snapshot waits for the heal.
    frank = await clients.connect(one.wsUrl, 'frank');
    await frank.waitFor((f) => f.type === 'status' && f.user === 'frank' && f.status === 'online');
    // A snapshot read then would have gone with (before) his own status.
    expect(frank.frames.filter((f) => f.type === 'contacts')).toEqual([]);

    proxy.heal();
    for (const observer of [bob, erin]) {
      for (const user of cutOff) await observer.waitUntil(() => lastStatus(observer, user) === 'online', 10_000);
    }
    const snapshot = (await frank.waitFor((f) => f.type === 'contacts')).contacts as { user: string; status: string }[];
    expect(snapshot.map((c) => `${c.user} ${c.status}`)).toEqual(['alice online', 'dave online']);
    // A last change for everyone: whatever the partition made would have come before it.
    await users[0]!.ok('status.set', { status: 'away' });
    for (const observer of [bob, erin, carol, frank]) await observer.waitUntil(() => lastStatus(observer, 'alice') === 'away', 5000);

    for (const observer of [bob, erin]) {
      expect(statusesOf(observer, 'alice')).toEqual(['offline', 'online', 'away']);
      expect(statusesOf(observer, 'dave')).toEqual(['offline', 'online']);
    }
    // His node never saw them leave, so frank is not told they are back: his snapshot says it.
    expect(frank.frames.filter((f) => f.type === 'contacts')).toHaveLength(1);
    expect(statusesOf(frank, 'alice')).toEqual(['away']);
    expect(statusesOf(frank, 'dave')).toEqual([]);
    expect(statusesOf(carol, 'alice')).toEqual(['away']);
    expect(statusesOf(carol, 'dave')).toEqual([]);
    for (const observer of [bob, erin, carol, frank]) {
      for (const user of cutOff) expectChanges(statusesOf(observer, user));
      expect(await contactStatus(observer, 'dave')).toBe('online');
    }
  });
});
