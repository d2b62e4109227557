import { describe, expect, it } from 'vitest';
import {
  type Channel,
  type ChannelEvent,
  type ListChange,
  type ReceiptEvent,
  type StatusEvent,
  type SwitchboardClient,
} from '../client/src/index.js';
import { useSdkClients } from './helpers/sdk-clients.js';
import { startTestServer } from './helpers/test-server.js';

const clients = useSdkClients({ initialDelayMs: 5, maxDelayMs: 50 });

/** Resolves with the first value `check` returns, re-checked whenever the client emits `name`. */
function when<T>(client: SwitchboardClient, name: 'event' | 'status' | 'receipt' | 'list', check: () => T | undefined) {
  return new Promise<T>((resolve, reject) => {
    const found = check();
    if (found !== undefined) return resolve(found);
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no matching ${name} within 10 s`));
    }, 10_000);
    const off = client.on(name, () => {
      const value = check();
      if (value === undefined) return;
      off();
      clearTimeout(timer);
      resolve(value);
    });
  });
}

describe('client SDK: chat features', () => {
  it('covers DMs, contacts, status, read state, catch-up, reactions, threads and search', async () => {
    const server = await startTestServer();
    const alice = clients.connect(server.wsUrl, 'alice');
    const bob = clients.connect(server.wsUrl, 'bob');
    await Promise.all([alice.ready(), bob.ready()]);

    const statuses: StatusEvent[] = [];
    alice.on('status', (s) => statuses.push(s));
    expect(await alice.chat.addContact('bob')).toMatchObject({ user: 'bob', status: 'online' });
    expect((await bob.chat.listContacts()).map((c) => c.user)).toEqual(['alice']);
    expect(await bob.chat.setStatus('away')).toMatchObject({ user: 'bob', status: 'away' });
    await when(alice, 'status', () => statuses.find((s) => s.user === 'bob' && s.status === 'away'));

    const dm = await alice.createChannel({ type: 'direct', members: ['bob'] });
    const receipts: ReceiptEvent[] = [];
    const seen: ChannelEvent[] = [];
    await alice.subscribe(dm.id, { onEvent: (e) => seen.push(e), onReceipt: (r) => receipts.push(r) });
    const root = await alice.publish(dm.id, 'lunch @bob?');
    const reply = await bob.publish(dm.id, { text: 'yes, the usual place', replyTo: root.seq });
    expect((await bob.chat.listDirects()).map((d) => [d.channel.id, d.latest?.text])).toEqual([
      [dm.id, 'yes, the usual place'],
    ]);

    const reacted = await bob.chat.react(dm.id, root.seq, '👍');
    expect(reacted).toMatchObject({ target: root.seq, changed: true });
    expect(await bob.chat.react(dm.id, root.seq, '👍')).toMatchObject({ changed: false, seq: null });
    expect(await alice.chat.reactions(dm.id, [root.seq])).toEqual({
      [root.seq]: [{ emoji: '👍', count: 1, users: ['bob'] }],
    });
    await when(alice, 'event', () => seen.find((e) => e.kind === 'reaction'));
    expect(seen.map((e) => e.kind)).toEqual(['message', 'message', 'reaction']);

    const thread = await alice.chat.thread(dm.id, root.seq);
    expect([thread.root.seq, thread.replies.map((r) => r.seq), thread.hasMore]).toEqual([root.seq, [reply.seq], false]);

    const found = await bob.chat.search('usual place');
    expect(found.results.map((r) => r.seq)).toEqual([reply.seq]);
    expect(found.next).toBeNull();

    const caughtUp = await bob.chat.catchUp();
    expect(caughtUp.channels.find((c) => c.channel === dm.id)).toMatchObject({ unread: 1 });
    expect(caughtUp.mentions.map((m) => (m.data as { seq: number }).seq)).toEqual([root.seq]);

    expect(await bob.chat.markRead(dm.id, reply.seq)).toEqual({ channel: dm.id, seq: reply.seq });
    await when(alice, 'receipt', () => receipts.find((r) => r.user === 'bob' && r.seq === reply.seq));
    expect((await alice.chat.readPositions(dm.id)).find((p) => p.user === 'bob')).toMatchObject({ seq: reply.seq });

    await alice.chat.removeContact('bob');
    await expect(alice.chat.removeContact('bob')).rejects.toMatchObject({ code: 'not_found' });
  });

  it('pages through search results with the opaque cursor the server hands out', async () => {
    const server = await startTestServer();
    const alice = clients.connect(server.wsUrl, 'alice');
    await alice.createChannel({ channel: 'plans', type: 'public' });
    const seqs: number[] = [];
    for (const text of ['budget draft', 'lunch', 'budget review', 'budget final']) {
      seqs.push((await alice.publish('plans', text)).seq);
    }
    const first = await alice.chat.search('budget', { channel: 'plans', limit: 2 });
    expect(first.results.map((r) => r.text)).toEqual(['budget final', 'budget review']);
    expect(typeof first.next).toBe('string');
    const second = await alice.chat.search('budget', { channel: 'plans', limit: 2, cursor: first.next! });
    expect(second.results.map((r) => r.seq)).toEqual([seqs[0]]);
    expect(second.next).toBeNull();
  });

  it('follows a live list, and follows it again with a fresh snapshot after a reconnect', async () => {
    const server = await startTestServer();
    const proxy = await clients.proxy(server.port);
    const owner = clients.connect(server.wsUrl, 'olga');
    const viewer = clients.connect(`ws://127.0.0.1:${proxy.port}/ws`, 'victor');
    await owner.createChannel({ channel: 'first', type: 'public' });

    const snapshots: string[][] = [];
    let snapshotTaken = () => {};
    const changes: ListChange<'channels'>[] = [];
    const list = await viewer.chat.followList(
      { list: 'channels' },
      {
        onSnapshot: (items) => {
          snapshots.push(items.map((c) => (c as Channel).id));
          snapshotTaken();
        },
        onChange: (change) => changes.push(change),
      },
    );
    expect(snapshots).toEqual([['first']]);
    await owner.createChannel({ channel: 'second', type: 'public' });
    await when(viewer, 'list', () => changes.find((c) => c.action === 'add' && (c.item as Channel).id === 'second'));

    // Created while the viewer is cut off: the snapshot after the reconnect has it.
    const refollowed = new Promise<void>((resolve) => (snapshotTaken = resolve));
    proxy.refuse();
    proxy.dropAll();
    await owner.createChannel({ channel: 'third', type: 'public' });
    proxy.accept();
    await refollowed;
    expect(snapshots[1]).toEqual(['first', 'second', 'third']);

    await owner.createChannel({ channel: 'fourth', type: 'public' });
    await when(viewer, 'list', () => changes.find((c) => (c.item as Channel).id === 'fourth'));
    await list.close();
    expect(list.closed).toBe(true);
  });
});
