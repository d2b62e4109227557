import { afterEach, describe, expect, it } from 'vitest';
import { MemoryBroker } from '../src/broker/memory-broker.js';
import { MemoryBus } from '../src/broker/memory-bus.js';
import { Delivery } from '../src/core/delivery.js';
import { SwitchboardError } from '../src/core/errors.js';
import { Hub } from '../src/core/hub.js';
import type { HubAction } from '../src/core/hub-observer.js';
import { silentLogger } from '../src/core/logger.js';
import type { Principal } from '../src/core/types.js';
import type { AnnotationWriter } from '../src/store/annotation-writer.js';
import { openSqliteStore } from '../src/store/sqlite-store.js';
import { Waiters } from './helpers/waiters.js';
import { defaultConfig } from '../src/config.js';

/**
 * The hub's extension points, which modules (chat, webhooks, operations) use instead of
 * fields in core's types: the veto, annotations (a module's own event kinds in the log),
 * frames to users' sessions, and notices to the same module on the other nodes.
 */
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const user = (id: string): Principal => ({ kind: 'user', userId: id, name: id, roles: [] });
const server: Principal = { kind: 'server', userId: 'server', name: 'server', roles: [] };

/** Counts the kind in memory, as a module would keep its own table in step. */
function countingWriter(): AnnotationWriter & { readonly marks: Set<string> } {
  const marks = new Set<string>();
  return {
    marks,
    kinds: ['reaction', 'unreaction'],
    async write(_trx, annotations) {
      return annotations.map((a) => {
        const key = `${a.channel}/${a.target}/${a.text}/${a.author}`;
        if (marks.has(key) === (a.kind === 'reaction')) return false;
        if (a.kind === 'reaction') marks.add(key);
        else marks.delete(key);
        return true;
      });
    },
  };
}

async function nodes(count: number, annotations: AnnotationWriter[] = []) {
  const store = await openSqliteStore({ path: ':memory:', annotations });
  cleanups.push(() => store.close());
  const bus = new MemoryBus();
  const hubs: Hub[] = [];
  for (let i = 0; i < count; i++) {
    const hub = new Hub({ store, broker: new MemoryBroker(bus, `node-${i}`), logger: silentLogger, limits: defaultConfig.limits });
    await hub.start();
    cleanups.push(() => hub.shutdown('test'));
    hubs.push(hub);
  }
  await hubs[0]!.createChannel(server, { id: 'c', type: 'public' });
  return hubs;
}

function recorder() {
  const waiters = new Waiters();
  const frames: string[] = [];
  return {
    frames,
    waiters,
    sink: {
      deliver(delivery: Delivery) {
        const message = delivery.message;
        frames.push(message.type === 'event' ? `event:${message.event.kind}:${message.event.seq}` : message.type);
        waiters.wake();
      },
    },
  };
}

describe('hub extension points', () => {
  it('lets an observer refuse a publish, an edit, a subscribe or an annotation, after the access rules', async () => {
    const [hub] = (await nodes(1, [countingWriter()])) as [Hub];
    await hub.publish(user('ann'), { channel: 'c', text: 'before' });
    const seen: HubAction['type'][] = [];
    hub.observe({
      authorize(action) {
        seen.push(action.type);
        if (action.type === 'subscribe' || action.type === 'annotate') throw new SwitchboardError('forbidden', 'Not today.');
        if (action.type === 'publish' && action.input.text === 'no') throw new SwitchboardError('forbidden', 'No.');
      },
    });
    await expect(hub.publish(user('ann'), { channel: 'c', text: 'no' })).rejects.toMatchObject({ code: 'forbidden', message: 'No.' });
    await hub.publish(user('ann'), { channel: 'c', text: 'yes' });
    await hub.edit(user('ann'), { channel: 'c', seq: 1, text: 'edited' });
    const session = await hub.connect(user('ann'), 'test', recorder().sink);
    await expect(hub.subscribe(session, 'c')).rejects.toMatchObject({ code: 'forbidden' });
    // Refused: the subscription is not left behind, and a second try is not a conflict.
    expect(session.channels.size).toBe(0);
    await expect(hub.subscribe(session, 'c')).rejects.toMatchObject({ message: 'Not today.' });
    await expect(hub.annotate(user('ann'), { kind: 'reaction', channel: 'c', target: 1, text: '👍' })).rejects.toMatchObject({
      code: 'forbidden',
    });
    // The core's own rules come first: a private channel's non-member never reaches the observer.
    await hub.createChannel(user('owner'), { id: 'p', type: 'private' });
    await expect(hub.publish(user('ann'), { channel: 'p', text: 'hi' })).rejects.toMatchObject({ code: 'forbidden' });
    expect(seen).toEqual(['publish', 'publish', 'edit', 'subscribe', 'subscribe', 'annotate']);
    expect((await hub.history(server, { channel: 'c' })).events.map((e) => e.text)).toEqual(['edited', 'yes']);
  });

  it('appends a module\'s annotations like any event, once, and refuses a kind no module stores', async () => {
    const writer = countingWriter();
    const [a, b] = (await nodes(2, [writer])) as [Hub, Hub];
    const watcher = recorder();
    await b.subscribe(await b.connect(user('w'), 'test', watcher.sink), 'c', undefined, { presence: false });
    await a.publish(user('ann'), { channel: 'c', text: 'react to me' });
    const react = (kind: 'reaction' | 'unreaction') => a.annotate(user('bob'), { kind, channel: 'c', target: 1, text: '👍' });
    const [first, twin] = await Promise.all([react('reaction'), react('reaction')]);
    expect([first?.seq, twin]).toEqual([2, null]);
    expect(await a.annotate(user('bob'), { kind: 'reaction', channel: 'c', target: 1, text: '🎉' }, { unchanged: async () => true })).toBeNull();
    expect((await react('unreaction'))?.seq).toBe(3);
    await watcher.waiters.until(() => watcher.frames.length === 3, 5000, () => `three events on the other node: ${watcher.frames}`);
    expect(watcher.frames).toEqual(['event:message:1', 'event:reaction:2', 'event:unreaction:3']);
    // History shows messages only; the annotations stay in the log for resumes.
    expect((await a.history(server, { channel: 'c' })).events.map((e) => e.seq)).toEqual([1]);
    await expect(a.annotate(server, { kind: 'reaction', channel: 'c', target: 1, text: '👍' })).rejects.toMatchObject({
      code: 'bad_request',
    });
    // Inbox messages are the server's pushes to one user: no annotations there.
    await a.publish(server, { channel: 'user:bob', text: 'a push' });
    await expect(a.annotate(user('bob'), { kind: 'reaction', channel: 'user:bob', target: 1, text: '👍' })).rejects.toMatchObject({
      code: 'forbidden',
    });

    const [plain] = await nodes(1);
    await plain.publish(server, { channel: 'c', text: 'no module here' });
    await expect(plain.annotate(user('bob'), { kind: 'reaction', channel: 'c', target: 1, text: '👍' })).rejects.toMatchObject({
      code: 'bad_request',
    });
  });

  it('delivers a module\'s frames to a user\'s sessions, and its notices to the other nodes only', async () => {
    const [a, b] = (await nodes(2)) as [Hub, Hub];
    const phone = recorder();
    const laptop = recorder();
    const other = recorder();
    await a.connect(user('ann'), 'test', phone.sink);
    await a.connect(user('ann'), 'test', laptop.sink);
    await a.connect(user('bob'), 'test', other.sink);
    await a.connect(server, 'test', recorder().sink);
    const frame = new Delivery({ type: 'status', user: 'carol', status: 'away', lastSeen: null, at: 1 });
    a.deliverTo(['ann', 'nobody'], frame);
    expect([phone.frames, laptop.frames, other.frames]).toEqual([['status'], ['status'], []]);
    expect([...a.sessionsOf('ann')]).toHaveLength(2);

    const heard: [string, string, unknown][] = [];
    const waiters = new Waiters();
    for (const [name, hub] of [['a', a], ['b', b]] as const) {
      hub.observe({
        notice(module, body) {
          heard.push([name, module, body]);
          waiters.wake();
        },
      });
    }
    a.sendNotice('chat', { kind: 'status', n: 1 });
    await waiters.until(() => heard.length === 1, 5000, 'the notice on node b');
    expect(heard).toEqual([['b', 'chat', { kind: 'status', n: 1 }]]);
  });

  it('asks the attachments module only for publishes with files, stores what it returns, tells it retries and deletes', async () => {
    const [hub] = await nodes(1);
    const calls: string[] = [];
    const file = { id: 'f' + 'a'.repeat(22), name: 'a.png', size: 3, type: 'image/png', width: 2, height: 1, thumbnail: 'ready' as const };
    // Without a module, a publish with files is refused and stores nothing.
    await expect(hub!.publish(user('ann'), { channel: 'c', attachments: [file.id] })).rejects.toMatchObject({ code: 'bad_request' });
    hub!.useAttachments({
      async prepare(_principal, channel, ids) {
        calls.push(`prepare ${channel} ${ids.join(',')}`);
        if (ids.includes('f' + 'b'.repeat(22))) throw new SwitchboardError('forbidden', 'not yours');
        return [file];
      },
      async committed(ids, event, duplicate) {
        calls.push(`committed ${ids.join(',')} ${event.seq} ${duplicate}`);
      },
      async abandoned(ids) {
        calls.push(`abandoned ${ids.join(',')}`);
      },
      async deleted(channel, seq) {
        calls.push(`deleted ${channel} ${seq}`);
      },
    });
    await hub!.publish(user('ann'), { channel: 'c', text: 'no files' });
    await hub!.delete(user('ann'), { channel: 'c', seq: 1 });
    expect(calls).toEqual([]);
    const { event } = await hub!.publish(user('ann'), { channel: 'c', attachments: [file.id] });
    expect(event).toMatchObject({ seq: 3, text: null, attachments: [file] });
    await expect(hub!.publish(user('ann'), { channel: 'c', attachments: ['f' + 'b'.repeat(22)] })).rejects.toMatchObject({ code: 'forbidden' });
    // A retry of a stored message (same cid) says so.
    await hub!.publish(user('ann'), { channel: 'c', attachments: [file.id], cid: 'x' });
    await hub!.publish(user('ann'), { channel: 'c', attachments: [file.id], cid: 'x' });
    await hub!.delete(user('ann'), { channel: 'c', seq: 3 });
    expect((await hub!.history(user('ann'), { channel: 'c' })).events.find((e) => e.seq === 3)).not.toHaveProperty('attachments');
    expect(calls).toEqual([
      `prepare c ${file.id}`,
      `committed ${file.id} 3 false`,
      `prepare c ${'f' + 'b'.repeat(22)}`,
      `prepare c ${file.id}`,
      `committed ${file.id} 4 false`,
      `prepare c ${file.id}`,
      `committed ${file.id} 4 true`,
      'deleted c 3',
    ]);
  });
});
