import { afterEach, describe, expect, it } from 'vitest';
import { MemoryBroker } from '../src/broker/memory-broker.js';
import { MemoryBus } from '../src/broker/memory-bus.js';
import { ChannelFeed } from '../src/core/channel-feed.js';
import { storeReader } from '../src/core/store.js';
import { Hub } from '../src/core/hub.js';
import { silentLogger } from '../src/core/logger.js';
import type { ChannelEvent, Principal } from '../src/core/types.js';
import type { KyselyStore } from '../src/store/kysely-store.js';
import { openSqliteStore } from '../src/store/sqlite-store.js';
import { recordingSession } from './helpers/recording-session.js';
import { defaultConfig } from '../src/config.js';

const stores: KyselyStore[] = [];
afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()));
});

async function storeWithMessages(count: number): Promise<{ store: KyselyStore; events: ChannelEvent[] }> {
  const store = await openSqliteStore({ path: ':memory:' });
  stores.push(store);
  await store.createChannel({ id: 'c', type: 'public', title: null, publish: 'anyone', createdBy: null, members: [] });
  const results = await store.appendBatch(
    Array.from({ length: count }, (_, i) => ({
      kind: 'message' as const,
      channel: 'c',
      author: 'a',
      text: `m${i + 1}`,
      data: null,
      cid: null,
      replyTo: null,
    })),
  );
  return { store, events: results.map((r) => (r.ok ? r.event : expect.unreachable())) };
}

function waitFor(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const poll = () => {
      if (check()) return resolve();
      if (Date.now() - started > timeoutMs) return reject(new Error('condition not met in time'));
      setImmediate(poll);
    };
    poll();
  });
}

describe('ChannelFeed', () => {
  it('heals a jump ahead from the store, then delivers in order without duplicates', async () => {
    const { store, events: before } = await storeWithMessages(2);
    const feed = new ChannelFeed('c', storeReader(store), (error) => {
      throw error;
    });
    await feed.ready;
    expect(feed.lastSeq).toBe(2);
    const session = recordingSession('s');
    feed.add(session, { presence: true });
    const later = await store.appendBatch(
      [3, 4, 5, 6].map((n) => ({
        kind: 'message' as const,
        channel: 'c',
        author: 'a',
        text: `m${n}`,
        data: null,
        cid: null,
        replyTo: null,
      })),
    );
    const events = later.map((r) => (r.ok ? r.event : expect.unreachable()));

    feed.offer(events[2]!); // seq 5 arrives first: 3 and 4 are missing
    feed.offer(events[0]!); // seq 3 arrives late
    feed.offer(events[2]!); // and 5 again, as a broker may redeliver
    await waitFor(() => session.seqs.length >= 3);
    feed.offer(events[3]!);
    feed.offer(before[1]!); // older than the feed's start
    await waitFor(() => session.seqs.length >= 4);
    expect(session.seqs).toEqual([3, 4, 5, 6]);
    expect(feed.lastSeq).toBe(6);
    feed.close();
  });
});

describe('hubs on a shared bus', () => {
  it('heals a pub/sub message the bus dropped, so the other node still delivers every seq in order', async () => {
    const { store } = await storeWithMessages(0);
    const bus = new MemoryBus();
    const nodeA = new Hub({ store, broker: new MemoryBroker(bus, 'a'), logger: silentLogger, limits: defaultConfig.limits });
    const nodeB = new Hub({ store, broker: new MemoryBroker(bus, 'b'), logger: silentLogger, limits: defaultConfig.limits });
    await nodeA.start();
    await nodeB.start();
    const server: Principal = { kind: 'server', userId: 'server', name: 'server', roles: [] };
    const reader = recordingSession('r');
    const sessionB = await nodeB.connect(reader.principal, 'test', reader.sink);
    await nodeB.subscribe(sessionB, 'c');

    await nodeA.publish(server, { channel: 'c', text: 'one' });
    bus.failing = true;
    await nodeA.publish(server, { channel: 'c', text: 'two (dropped on the bus)' });
    bus.failing = false;
    await nodeA.publish(server, { channel: 'c', text: 'three' });
    await waitFor(() => reader.seqs.length >= 3);
    expect(reader.seqs).toEqual([1, 2, 3]);
    await nodeA.shutdown('test');
    await nodeB.shutdown('test');
  });
});
