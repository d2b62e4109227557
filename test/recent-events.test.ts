import { afterEach, describe, expect, it } from 'vitest';
import { MemoryBroker } from '../src/broker/memory-broker.js';
import { MemoryBus } from '../src/broker/memory-bus.js';
import { Delivery } from '../src/core/delivery.js';
import { Hub } from '../src/core/hub.js';
import { silentLogger } from '../src/core/logger.js';
import { RecentEvents } from '../src/core/recent-events.js';
import type { Session } from '../src/core/session.js';
import type { ChannelEvent, Principal } from '../src/core/types.js';
import { openSqliteStore } from '../src/store/sqlite-store.js';
import { defaultConfig } from '../src/config.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function event(seq: number, kind: ChannelEvent['kind'] = 'message', target: number | null = null): ChannelEvent {
  return { channel: 'c', seq, kind, id: `m${seq}`, author: 'a', text: `t${seq}`, data: null, cid: null, replyTo: null, target, createdAt: seq, editedAt: null, deletedAt: null };
}
const seqsOf = (deliveries: Delivery[] | null) =>
  deliveries?.map((d) => (d.message.type === 'event' ? d.message.event.seq : -1)) ?? null;

describe('RecentEvents', () => {
  it('serves a range only when it holds every seq of it, up to its capacity', () => {
    const recent = new RecentEvents(4);
    for (let seq = 1; seq <= 6; seq++) recent.push(event(seq), new Delivery({ type: 'event', event: event(seq) }));
    expect(seqsOf(recent.between(2, 6))).toEqual([3, 4, 5, 6]);
    expect(recent.between(1, 6)).toBeNull();
    expect(recent.between(3, 7)).toBeNull();
    expect(recent.between(6, 6)).toEqual([]);
  });

  it('starts afresh after a gap, and forgets copies an edit or delete made stale', () => {
    const recent = new RecentEvents(10);
    for (const seq of [1, 2, 3]) recent.push(event(seq), new Delivery({ type: 'event', event: event(seq) }));
    recent.push(event(5), new Delivery({ type: 'event', event: event(5) }));
    expect(recent.between(2, 5)).toBeNull();
    expect(seqsOf(recent.between(4, 5))).toEqual([5]);
    for (const seq of [6, 7]) recent.push(event(seq), new Delivery({ type: 'event', event: event(seq) }));
    recent.push(event(8, 'delete', 6), new Delivery({ type: 'event', event: event(8, 'delete', 6) }));
    expect(recent.between(5, 8)).toBeNull();
    expect(seqsOf(recent.between(6, 8))).toEqual([7, 8]);
  });

  it('keeps events read from the store in front of the run, only where they join it', () => {
    const recent = new RecentEvents(10);
    recent.prepend([event(1), event(2), event(3)], 4, recent.changes);
    expect(recent.between(0, 3)).toBeNull();
    recent.prepend([event(2), event(3), event(4), event(5)], 4, recent.changes);
    expect(seqsOf(recent.between(1, 4))).toEqual([2, 3, 4]);
    recent.push(event(5), new Delivery({ type: 'event', event: event(5) }));
    recent.prepend([event(1)], 99, recent.changes);
    expect(seqsOf(recent.between(0, 5))).toEqual([1, 2, 3, 4, 5]);
  });

  it('ignores a read that an edit or delete arrived during: the read may hold the old text', () => {
    const recent = new RecentEvents(10);
    for (const seq of [5, 6]) recent.push(event(seq), new Delivery({ type: 'event', event: event(seq) }));
    const changesAtRead = recent.changes;
    // The read of 1..4 is in flight when a delete of seq 3 is delivered live.
    recent.push(event(7, 'delete', 3), new Delivery({ type: 'event', event: event(7, 'delete', 3) }));
    recent.prepend([event(1), event(2), event(3), event(4)], 7, changesAtRead);
    expect(recent.between(0, 7)).toBeNull();
    expect(seqsOf(recent.between(4, 7))).toEqual([5, 6, 7]);
  });
});

/** A session whose sink records every event delivery it is handed. */
function session(id: string): Session & { got: Delivery[] } {
  const got: Delivery[] = [];
  const principal: Principal = { kind: 'user', userId: id, name: id, roles: [] };
  return { id, principal, transport: 'test', channels: new Set(), closed: false, got, sink: { deliver: (d) => d.message.type === 'event' && got.push(d) } };
}
const eventsOf = (s: { got: Delivery[] }) => s.got.map((d) => (d.message.type === 'event' ? d.message.event : expect.unreachable()));

describe('resume from memory in a large channel', () => {
  it('hands resuming sessions the deliveries live subscribers got, and the store view where an edit or delete changed it', async () => {
    const store = await openSqliteStore({ path: ':memory:' });
    cleanups.push(() => store.close());
    const hub = new Hub({ store, broker: new MemoryBroker(new MemoryBus(), 'n'), logger: silentLogger, limits: defaultConfig.limits });
    await hub.start();
    cleanups.push(() => hub.shutdown('test'));
    const server: Principal = { kind: 'server', userId: 'server', name: 'server', roles: [] };
    await hub.createChannel(server, { id: 'big', type: 'public' });
    // Enough subscribers for the channel to keep recent events.
    const live = await Promise.all(
      Array.from({ length: 20 }, (_, k) => session(`live${k}`)).map((s) => hub.connect(s.principal, 'test', s.sink)),
    );
    const watcher = session('watcher');
    const watching = await hub.connect(watcher.principal, 'test', watcher.sink);
    await hub.subscribe(watching, 'big');
    for (const s of live) await hub.subscribe(s, 'big');
    for (let n = 1; n <= 10; n++) await hub.publish(server, { channel: 'big', text: `m${n}` });
    await hub.edit(server, { channel: 'big', seq: 3, text: 'm3 edited' });
    await hub.delete(server, { channel: 'big', seq: 5 });
    await hub.publish(server, { channel: 'big', text: 'm11' });
    expect(watcher.got).toHaveLength(13);

    const recentResumer = session('recent');
    await hub.subscribe(await hub.connect(recentResumer.principal, 'test', recentResumer.sink), 'big', 6);
    // Seqs 7..13 came from memory: the very deliveries the live watcher was handed.
    expect(eventsOf(recentResumer).map((e) => e.seq)).toEqual([7, 8, 9, 10, 11, 12, 13]);
    recentResumer.got.forEach((delivery, i) => expect(delivery).toBe(watcher.got[6 + i]));

    const fullResumer = session('full');
    await hub.subscribe(await hub.connect(fullResumer.principal, 'test', fullResumer.sink), 'big', 0);
    // From before the delete, the store's view: m3 edited, m5 a tombstone.
    expect(eventsOf(fullResumer)).toEqual(await store.readEvents('big', { after: 0, limit: 100 }));
    expect(eventsOf(fullResumer)[2]!.text).toBe('m3 edited');
    expect(eventsOf(fullResumer)[4]!.deletedAt).not.toBeNull();

    // What that read brought in now serves the next resumer from the start.
    const next = session('next');
    await hub.subscribe(await hub.connect(next.principal, 'test', next.sink), 'big', 0);
    expect(eventsOf(next)).toEqual(eventsOf(fullResumer));
    next.got.slice(5).forEach((delivery, i) => expect(delivery).toBe(watcher.got[5 + i]));
  });
});
