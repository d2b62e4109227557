import { afterEach, describe, expect, it } from 'vitest';
import { MemoryBroker } from '../src/broker/memory-broker.js';
import { MemoryBus } from '../src/broker/memory-bus.js';
import type { Delivery } from '../src/core/delivery.js';
import { SwitchboardError } from '../src/core/errors.js';
import { GroupCommitter } from '../src/core/group-commit.js';
import { Hub } from '../src/core/hub.js';
import { silentLogger } from '../src/core/logger.js';
import type { AppendRequest, Store } from '../src/core/store.js';
import type { Principal } from '../src/core/types.js';
import { openPostgresStore } from '../src/store/postgres-store.js';
import { openSqliteStore } from '../src/store/sqlite-store.js';
import { createTestSchema, type TestSchema } from './helpers/postgres.js';
import { startTestServer } from './helpers/test-server.js';
import { WsTestClient } from './helpers/ws-test-client.js';
import { describeWithServices, serviceUrl } from './helpers/services.js';
import { defaultConfig } from '../src/config.js';

/** Races between a session's requests, its disconnect, and other nodes' traffic. */

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const user = (id: string): Principal => ({ kind: 'user', userId: id, name: id, roles: [] });
const server: Principal = { kind: 'server', userId: 'server', name: 'server', roles: [] };

/** A sink that records the seqs and presence actions handed to it. */
function recorder() {
  const seqs: number[] = [];
  const presence: string[] = [];
  return {
    seqs,
    presence,
    deliver(delivery: Delivery) {
      const message = delivery.message;
      if (message.type === 'event') seqs.push(message.event.seq);
      else if (message.type === 'presence') presence.push(`${message.user}:${message.action}`);
    },
  };
}

function waitUntil(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const poll = () => {
      if (check()) return resolve();
      if (Date.now() - started > timeoutMs) return reject(new Error('condition not met in time'));
      setTimeout(poll, 5);
    };
    poll();
  });
}

async function sqliteCluster(nodes: number) {
  const store = await openSqliteStore({ path: ':memory:' });
  cleanups.push(() => store.close());
  await store.createChannel({ id: 'c', type: 'public', title: null, publish: 'anyone', createdBy: null, members: [] });
  const bus = new MemoryBus();
  const hubs: Hub[] = [];
  for (let i = 0; i < nodes; i++) {
    const hub = new Hub({ store, broker: new MemoryBroker(bus, `node-${i}`), logger: silentLogger, limits: defaultConfig.limits });
    await hub.start();
    cleanups.push(() => hub.shutdown('test'));
    hubs.push(hub);
  }
  return { store, bus, hubs };
}

describe('hub races', () => {
  it('resumes with since exactly once when another node committed events still in flight', async () => {
    const { bus, hubs } = await sqliteCluster(2);
    const [nodeA, nodeB] = hubs as [Hub, Hub];
    const watcher = recorder();
    await nodeB.subscribe(await nodeB.connect(user('w'), 't', watcher), 'c');
    await nodeA.publish(server, { channel: 'c', text: 'one' });
    await waitUntil(() => watcher.seqs.length === 1);

    bus.failing = true; // seq 2 is committed on A but has not reached B
    await nodeA.publish(server, { channel: 'c', text: 'two' });
    bus.failing = false;
    const resumer = recorder();
    await nodeB.subscribe(await nodeB.connect(user('r'), 't', resumer), 'c', 0);
    await nodeA.publish(server, { channel: 'c', text: 'three' }); // B heals 2, then delivers 3
    await waitUntil(() => resumer.seqs.includes(3) && watcher.seqs.includes(3));
    expect(resumer.seqs).toEqual([1, 2, 3]);
    expect(watcher.seqs).toEqual([1, 2, 3]);
  });

  it('leaves no subscription or presence behind when the session closes during subscribe', async () => {
    const { hubs } = await sqliteCluster(1);
    const hub = hubs[0]!;
    const sink = recorder();
    const session = await hub.connect(user('u'), 't', sink);
    const subscribing = hub.subscribe(session, 'c').catch((error: SwitchboardError) => error.code);
    await hub.disconnect(session);
    expect(await subscribing).toBe('unavailable');
    expect((await hub.presence(server, 'c')).members).toEqual([]);
    await hub.publish(server, { channel: 'c', text: 'after the close' });
    expect(sink.seqs).toEqual([]);
  });

  it('answers a second subscribe to the same channel in flight with conflict, and delivers once', async () => {
    const { hubs } = await sqliteCluster(1);
    const hub = hubs[0]!;
    await hub.publish(server, { channel: 'c', text: 'one' });
    const sink = recorder();
    const session = await hub.connect(user('u'), 't', sink);
    const outcomes = await Promise.allSettled([hub.subscribe(session, 'c', 0), hub.subscribe(session, 'c', 0)]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected']);
    expect((outcomes[1] as PromiseRejectedResult).reason).toMatchObject({ code: 'conflict' });
    await hub.publish(server, { channel: 'c', text: 'two' });
    await waitUntil(() => sink.seqs.length >= 2);
    expect(sink.seqs).toEqual([1, 2]);
    expect(sink.presence).toEqual(['u:join']);
  });

  it('applies a channel change made on one node to the access checks of the others', async () => {
    const { hubs } = await sqliteCluster(2);
    const [nodeA, nodeB] = hubs as [Hub, Hub];
    await nodeB.publish(user('bob'), { channel: 'c', text: 'anyone may post' }); // B caches the channel
    await nodeA.updateChannel(server, 'c', { publish: 'server' });
    await expect(nodeB.publish(user('bob'), { channel: 'c', text: 'not any more' })).rejects.toMatchObject({
      code: 'forbidden',
    });
  });

  it('refuses text with a NUL character before it reaches the store', async () => {
    const { hubs, store } = await sqliteCluster(1);
    await expect(hubs[0]!.publish(server, { channel: 'c', text: 'bad\u0000' })).rejects.toMatchObject({
      code: 'bad_request',
    });
    expect((await store.getChannel('c'))?.lastSeq).toBe(0);
  });
});

describe('connection races over /ws', () => {
  it('opens one session for two pipelined auth frames, and holds later frames until auth is done', async () => {
    const server = await startTestServer();
    const client = new WsTestClient(server.wsUrl);
    cleanups.push(() => client.close());
    await client.opened;
    client.sendRaw(JSON.stringify({ type: 'auth', id: 1, user: 'alice' }));
    client.sendRaw(JSON.stringify({ type: 'auth', id: 2, user: 'alice' }));
    client.sendRaw(JSON.stringify({ type: 'channel.list', id: 3 }));
    await client.waitUntil(() => [1, 2, 3].every((id) => client.frames.some((f) => f.id === id)));
    const reply = (id: number) => client.frames.find((f) => f.id === id);
    expect(reply(1)).toMatchObject({ type: 'ok' });
    expect(reply(2)).toMatchObject({ type: 'error', code: 'conflict' });
    expect(reply(3)).toMatchObject({ type: 'ok' });
    expect(server.hub.sessionCount).toBe(1);
    await client.close();
    await waitUntil(() => server.hub.sessionCount === 0);
  });

  it('stores one of two identical reactions sent at once', async () => {
    const server = await startTestServer();
    const alice = await WsTestClient.connect(server.wsUrl, 'alice');
    cleanups.push(() => alice.close());
    await alice.ok('channel.create', { channel: 'c', channelType: 'public' });
    await alice.ok('publish', { channel: 'c', text: 'react to me' });
    const results = await Promise.all([
      alice.ok<{ changed: boolean }>('reaction.add', { channel: 'c', seq: 1, emoji: '👍' }),
      alice.ok<{ changed: boolean }>('reaction.add', { channel: 'c', seq: 1, emoji: '👍' }),
    ]);
    expect(results.map((r) => r.changed).sort()).toEqual([false, true]);
    expect((await server.store.getChannel('c'))?.lastSeq).toBe(2);
  });
});

const message = (text: string): AppendRequest => ({
  kind: 'message',
  channel: 'c',
  author: 'x',
  text,
  data: null,
  cid: null,
  replyTo: null,
});

describeWithServices(['TEST_DATABASE_URL'], 'store races on PostgreSQL', () => {
  async function twoNodes(): Promise<[Store, Store]> {
    const schema: TestSchema = await createTestSchema(serviceUrl('TEST_DATABASE_URL')!, 'races');
    cleanups.push(() => schema.drop());
    const first = await openPostgresStore({ url: schema.url });
    const second = await openPostgresStore({ url: schema.url });
    cleanups.push(() => first.close(), () => second.close());
    await first.createChannel({ id: 'c', type: 'public', title: null, publish: 'anyone', createdBy: null, members: [] });
    return [first, second];
  }

  it('fails only the request the database refuses, not the others in its batch', async () => {
    const [store] = await twoNodes();
    const committer = new GroupCommitter(store, { maxBatch: 100 });
    const [good, bad] = await Promise.allSettled([
      committer.append(message('innocent bystander')),
      committer.append(message('bad\u0000')),
    ]);
    expect(good).toMatchObject({ status: 'fulfilled', value: { ok: true, event: { seq: 1 } } });
    expect(bad).toMatchObject({ status: 'rejected', reason: { code: 'bad_request' } });
    expect((await store.getChannel('c'))?.lastSeq).toBe(1);
  });

  it('accepts one of two deletes (or a delete and an edit) racing on two nodes', async () => {
    const [nodeA, nodeB] = await twoNodes();
    for (let round = 0; round < 10; round++) {
      const [stored] = await nodeA.appendBatch([message(`target ${round}`)]);
      const target = stored!.ok ? stored!.event.seq : -1;
      const [deleted, edited] = await Promise.all([
        nodeA.appendBatch([{ kind: 'delete', channel: 'c', author: 'x', target }]),
        nodeB.appendBatch([{ kind: 'edit', channel: 'c', author: 'x', target, text: 'revived?', data: null }]),
      ]);
      const row = await nodeA.getEvent('c', target);
      expect(deleted[0]!.ok).toBe(true);
      if (edited[0]!.ok) {
        // The edit won the lock: the delete then removed its text too.
        expect(row).toMatchObject({ text: null });
      } else {
        expect(edited[0]).toMatchObject({ code: 'conflict' });
      }
      expect(row?.deletedAt).not.toBeNull();

      const [other] = await nodeA.appendBatch([message(`second target ${round}`)]);
      const second = other!.ok ? other!.event.seq : -1;
      const [first, twice] = await Promise.all([
        nodeA.appendBatch([{ kind: 'delete', channel: 'c', author: 'x', target: second }]),
        nodeB.appendBatch([{ kind: 'delete', channel: 'c', author: 'x', target: second }]),
      ]);
      expect([first[0]!.ok, twice[0]!.ok].filter(Boolean)).toHaveLength(1);
    }
  });
});
