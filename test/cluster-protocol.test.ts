import { afterEach, describe, expect, it } from 'vitest';
import { ClusterBroker } from '../src/broker/cluster-broker.js';
import { MemoryPresence } from '../src/broker/memory-presence.js';
import { Hub } from '../src/core/hub.js';
import { silentLogger } from '../src/core/logger.js';
import type { Principal } from '../src/core/types.js';
import type { KyselyStore } from '../src/store/kysely-store.js';
import { openSqliteStore } from '../src/store/sqlite-store.js';
import { recordingSession } from './helpers/recording-session.js';

/**
 * The cluster protocol (ClusterBroker) and the hub's healing, in one process over an
 * in-memory wire with an outage switch: what the Redis tests show across processes,
 * without needing Redis.
 */
class Wire {
  readonly listeners = new Map<string, Set<WireBroker>>();
  down = false;
}

class WireBroker extends ClusterBroker {
  readonly presence = new MemoryPresence();
  readonly #wire: Wire;

  constructor(wire: Wire, nodeId: string) {
    super({ logger: silentLogger, nodeId, resyncMs: 60_000 });
    this.#wire = wire;
  }

  protected async send(topic: string, payload: string): Promise<void> {
    if (this.#wire.down) throw new Error('the wire is down');
    for (const broker of this.#wire.listeners.get(topic) ?? []) queueMicrotask(() => broker.receive(payload));
  }

  protected async listen(topic: string, on: boolean): Promise<void> {
    let set = this.#wire.listeners.get(topic);
    if (!set) this.#wire.listeners.set(topic, (set = new Set()));
    if (on) set.add(this);
    else set.delete(this);
  }

  protected async connect(): Promise<void> {}
  async ping(): Promise<void> {}
  protected async disconnect(): Promise<void> {}

  /** What an adapter calls when its connection is back. */
  reconnected(): Promise<void> {
    return this.linkUp();
  }
}

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
  const wire = new Wire();
  const brokerA = new WireBroker(wire, 'a');
  const brokerB = new WireBroker(wire, 'b');
  const nodeA = new Hub({ store, broker: brokerA, logger: silentLogger });
  const nodeB = new Hub({ store, broker: brokerB, logger: silentLogger });
  await nodeA.start();
  await nodeB.start();
  hubs.push(nodeA, nodeB);
  const reader = recordingSession('reader');
  await nodeB.subscribe(await nodeB.connect(reader.principal, 'test', reader.sink), 'c');
  return { wire, brokerA, brokerB, nodeA, reader };
}

describe('cluster protocol over an in-memory wire', () => {
  it('heals a lost tail when the link comes back, though no later event reveals the gap', async () => {
    const { wire, brokerA, brokerB, nodeA, reader } = await twoNodes();
    await nodeA.publish(server, { channel: 'c', text: 'one' });
    await waitFor(() => reader.seqs.length === 1);

    wire.down = true;
    await nodeA.publish(server, { channel: 'c', text: 'two (lost)' });
    await nodeA.publish(server, { channel: 'c', text: 'three (lost)' });
    await waitFor(() => brokerA.stats.publishFailures === 2);
    expect(reader.seqs).toEqual([1]);

    wire.down = false;
    await brokerB.reconnected();
    await waitFor(() => reader.seqs.length === 3);
    expect(reader.seqs).toEqual([1, 2, 3]);
  });

  it('re-sends the newest event it could not send, so the other node sees the gap and heals it', async () => {
    const { wire, brokerA, nodeA, reader } = await twoNodes();
    wire.down = true;
    for (const text of ['one', 'two', 'three']) await nodeA.publish(server, { channel: 'c', text });
    wire.down = false;
    // Only the sender's link was down: the receiver never reconnects, so only the re-send helps.
    await brokerA.reconnected();
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
});
