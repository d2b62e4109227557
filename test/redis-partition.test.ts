import { Redis } from 'ioredis';
import { expect, it, onTestFinished } from 'vitest';
import { RedisBroker, type RedisBrokerOptions } from '../src/broker/redis-broker.js';
import type { BrokerMessage } from '../src/core/broker.js';
import type { Logger } from '../src/core/logger.js';
import type { EphemeralEvent } from '../src/core/types.js';
import { BlackholeProxy } from './helpers/blackhole-proxy.js';
import { createRedisPrefix } from './helpers/redis-prefix.js';
import { describeWithServices, serviceUrl } from './helpers/services.js';
import { Waiters } from './helpers/waiters.js';

/**
 * A node cut off from Redis for longer than the presence timeout, silently (a blackhole:
 * its connections stay open and no byte moves either way). The other nodes reap its
 * sessions; once the path heals, the node has noticed on its own (a blackhole fires no
 * event), writes its sessions back and the others hear them join again.
 *
 * The proxy delivers what was written into the hole when it heals, as TCP would: the
 * dropped connections' late writes reach Redis after the node has moved on.
 */
type Presence = Extract<EphemeralEvent, { type: 'presence' }>;

const redisUrl = serviceUrl('TEST_REDIS_URL');

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
    if (message.type === 'ephemeral' && message.event.type === 'presence') presence.push(message.event as Presence);
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
    expect(await other.broker.presence.list('room')).toEqual(expected);
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
