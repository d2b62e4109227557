import { afterEach, describe, expect, it } from 'vitest';
import { defaultConfig } from '../src/config.js';
import { MemoryBroker } from '../src/broker/memory-broker.js';
import { MemoryBus } from '../src/broker/memory-bus.js';
import { Hub } from '../src/core/hub.js';
import { silentLogger } from '../src/core/logger.js';
import type { BrokerMessage } from '../src/core/broker.js';
import type { Principal } from '../src/core/types.js';
import type { KyselyStore } from '../src/store/kysely-store.js';
import { openSqliteStore } from '../src/store/sqlite-store.js';
import { recordingSession } from './helpers/recording-session.js';

/**
 * The cluster protocol (ClusterBroker) and the hub's healing, in one process: hubs on a
 * MemoryBus, whose links a test cuts and restores. What the Redis tests show across
 * processes, without needing Redis.
 */
const stores: KyselyStore[] = [];
const hubs: Hub[] = [];
afterEach(async () => {
  await Promise.all(hubs.splice(0).map((hub) => hub.shutdown('test')));
  await Promise.all(stores.splice(0).map((store) => store.close()));
});

const server: Principal = { kind: 'server', userId: 'server', name: 'server', roles: [] };

function waitFor(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const poll = () => {
      if (check()) return resolve();
      if (Date.now() > deadline) return reject(new Error('condition not met in time'));
      setTimeout(poll, 5);
    };
    poll();
  });
}

async function twoNodes() {
  const store = await openSqliteStore({ path: ':memory:' });
  stores.push(store);
  await store.createChannel({ id: 'c', type: 'public', title: null, publish: 'anyone', createdBy: null, members: [] });
  const bus = new MemoryBus();
  // No periodic resync: each test shows which mechanism heals.
  const brokerA = new MemoryBroker({ bus, nodeId: 'a', resyncMs: 60_000 });
  const brokerB = new MemoryBroker({ bus, nodeId: 'b', resyncMs: 60_000 });
  const nodeA = new Hub({ store, broker: brokerA, logger: silentLogger, limits: defaultConfig.limits });
  const nodeB = new Hub({ store, broker: brokerB, logger: silentLogger, limits: defaultConfig.limits });
  await nodeA.start();
  await nodeB.start();
  hubs.push(nodeA, nodeB);
  const reader = recordingSession('reader');
  await nodeB.subscribe(await nodeB.connect(reader.principal, 'test', reader.sink), 'c');
  return { bus, brokerA, brokerB, nodeA, reader };
}

describe('cluster protocol over an in-process bus', () => {
  it('heals a lost tail when the link comes back, though no later event reveals the gap', async () => {
    const { bus, brokerA, nodeA, reader } = await twoNodes();
    await nodeA.publish(server, { channel: 'c', text: 'one' });
    await waitFor(() => reader.seqs.length === 1);

    bus.cut();
    await nodeA.publish(server, { channel: 'c', text: 'two (lost)' });
    await nodeA.publish(server, { channel: 'c', text: 'three (lost)' });
    await waitFor(() => brokerA.stats.publishFailures === 2);
    expect(reader.seqs).toEqual([1]);

    // Only the receiver's link comes back: the sender keeps what it could not send.
    bus.restore('b');
    await waitFor(() => reader.seqs.length === 3);
    expect(reader.seqs).toEqual([1, 2, 3]);
  });

  it('re-sends the newest event it could not send, so the other node sees the gap and heals it', async () => {
    const { bus, brokerA, nodeA, reader } = await twoNodes();
    bus.cut('a');
    for (const text of ['one', 'two', 'three']) await nodeA.publish(server, { channel: 'c', text });
    await waitFor(() => brokerA.stats.publishFailures === 3);
    // Only the sender's link was down: the receiver never resyncs, so only the re-send helps.
    bus.restore('a');
    await waitFor(() => reader.seqs.length === 3);
    expect(reader.seqs).toEqual([1, 2, 3]);
  });

  it('never delivers a node its own messages, and drops payloads that are not envelopes', async () => {
    const { brokerA, brokerB, nodeA, reader } = await twoNodes();
    const writer = recordingSession('writer');
    await nodeA.subscribe(await nodeA.connect(writer.principal, 'test', writer.sink), 'c');
    await nodeA.publish(server, { channel: 'c', text: 'one' });
    await waitFor(() => reader.seqs.length === 1 && writer.seqs.length === 1);
    (brokerB as unknown as { receive(payload: string): void }).receive('not json');
    (brokerB as unknown as { receive(payload: string): void }).receive('{"v":2,"node":"x","message":{}}');
    expect(brokerB.stats.undecodable).toBe(2);
    expect(brokerA.stats.received).toBe(0);
    expect(writer.seqs).toEqual([1]);
  });

  it('sends nothing while a node is alone on its bus, and everything once another node listens', async () => {
    const bus = new MemoryBus();
    const alone = new MemoryBroker({ bus, nodeId: 'alone' });
    await alone.start(() => {});
    alone.watch('c');
    const typing = { type: 'typing', channel: 'c', user: 'u', at: 1 } as const;
    alone.publish({ type: 'ephemeral', event: typing });
    alone.publish({ type: 'channel-changed', channel: 'c' });
    // Neither encoded nor handed to the bus: nobody else listens.
    expect(alone.stats).toMatchObject({ published: 0, publishFailures: 0 });

    const heard: BrokerMessage[] = [];
    const other = new MemoryBroker({ bus, nodeId: 'other' });
    await other.start((message) => heard.push(message));
    other.watch('c');
    await waitFor(() => heard.some((m) => m.type === 'resync' && m.channel === 'c'));
    alone.publish({ type: 'ephemeral', event: typing });
    await waitFor(() => heard.some((m) => m.type === 'ephemeral'));
    expect(alone.stats.published).toBe(1);
    expect(heard.filter((m) => m.type !== 'resync')).toEqual([{ type: 'ephemeral', event: typing }]);
    await Promise.all([alone.close(), other.close()]);
  });
});
