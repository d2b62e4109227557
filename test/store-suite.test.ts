import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppendRequest, AppendResult, NewChannel, Store } from '../src/core/store.js';
import type { ChannelEvent } from '../src/core/types.js';
import { openPostgresStore } from '../src/store/postgres-store.js';
import { openSqliteStore } from '../src/store/sqlite-store.js';
import { createTestSchema } from './helpers/postgres.js';
import { serviceUrl } from './helpers/services.js';

/**
 * One suite for the Store seam, run against every database. Each backend gets a fresh
 * database (a temp SQLite file, or a new PostgreSQL schema) that is removed afterwards.
 */
interface Backend {
  readonly name: string;
  readonly available: boolean;
  /** Where the suite's database lives; `open` may be called more than once (two nodes). */
  setUp(): Promise<{ open(): Promise<Store>; tearDown(): Promise<void> }>;
  /** Separate Store instances may append to one channel at once (separate nodes). */
  readonly concurrentNodes: boolean;
}

const postgresUrl = serviceUrl('TEST_DATABASE_URL');

const backends: Backend[] = [
  {
    name: 'sqlite',
    available: true,
    concurrentNodes: false,
    async setUp() {
      const dir = mkdtempSync(join(tmpdir(), 'switchboard-store-'));
      return {
        open: () => openSqliteStore({ path: join(dir, 'store.db') }),
        tearDown: async () => rmSync(dir, { recursive: true, force: true }),
      };
    },
  },
  {
    name: 'postgres',
    available: postgresUrl !== undefined,
    concurrentNodes: true,
    async setUp() {
      const schema = await createTestSchema(postgresUrl!, 'store');
      return { open: () => openPostgresStore({ url: schema.url }), tearDown: () => schema.drop() };
    },
  },
];

function channel(id: string, extra: Partial<NewChannel> = {}): NewChannel {
  return { id, type: 'public', title: null, publish: 'anyone', createdBy: null, members: [], ...extra };
}

function message(channelId: string, text: string, cid: string | null = null): AppendRequest {
  return { kind: 'message', channel: channelId, author: 'alice', text, data: null, cid, replyTo: null };
}

function okEvent(result: AppendResult | undefined): ChannelEvent {
  if (!result?.ok) throw new Error(`expected ok, got ${JSON.stringify(result)}`);
  return result.event;
}

for (const backend of backends) {
  describe.skipIf(!backend.available)(`store on ${backend.name}`, () => {
    let store: Store;
    const opened: Store[] = [];
    let tearDown: () => Promise<void> = async () => {};
    let open: () => Promise<Store>;

    beforeAll(async () => {
      const setUp = await backend.setUp();
      open = async () => {
        const instance = await setUp.open();
        opened.push(instance);
        return instance;
      };
      tearDown = setUp.tearDown;
      store = await open();
    });
    afterAll(async () => {
      await Promise.all(opened.map((s) => s.close()));
      await tearDown();
    });

    it('migrates idempotently: a second instance opens the same database', async () => {
      const again = await open();
      await expect(again.ping()).resolves.toBeUndefined();
    });

    it('upserts and reads users', async () => {
      const created = await store.upsertUser({ id: 'u1', name: 'Uma' });
      expect(created).toMatchObject({ id: 'u1', name: 'Uma' });
      expect(typeof created.createdAt).toBe('number');
      const renamed = await store.upsertUser({ id: 'u1', name: 'Uma B' });
      expect(renamed).toEqual({ id: 'u1', name: 'Uma B', avatarUrl: null, statusText: null, createdAt: created.createdAt });
      expect(await store.getUser('u1')).toEqual(renamed);
      expect(await store.getUser('nobody')).toBeUndefined();
    });

    it('creates channels once, lists what a user may see, and pages by id', async () => {
      const made = await store.createChannel(
        channel('ch-a', { title: 'A', createdBy: 'alice', members: [{ user: 'alice', role: 'owner' }] }),
      );
      expect(made).toMatchObject({ id: 'ch-a', type: 'public', title: 'A', publish: 'anyone', lastSeq: 0 });
      expect(typeof made!.createdAt).toBe('number');
      expect(await store.createChannel(channel('ch-a', { title: 'again' }))).toBeUndefined();
      expect((await store.getChannel('ch-a'))!.title).toBe('A');
      expect(await store.getChannel('ch-missing')).toBeUndefined();

      await store.createChannel(
        channel('ch-b', { type: 'private', publish: 'members', members: [{ user: 'bob', role: 'owner' }] }),
      );
      await store.createChannel(channel('ch-c'));
      const forBob = await store.listChannels({ visibleTo: 'bob', limit: 100 });
      expect(forBob.map((c) => c.id).filter((id) => id.startsWith('ch-'))).toEqual(['ch-a', 'ch-b', 'ch-c']);
      const forCarol = await store.listChannels({ visibleTo: 'carol', limit: 100 });
      expect(forCarol.map((c) => c.id).filter((id) => id.startsWith('ch-'))).toEqual(['ch-a', 'ch-c']);
      const page = await store.listChannels({ visibleTo: null, limit: 1, after: 'ch-a' });
      expect(page.map((c) => c.id)).toEqual(['ch-b']);
    });

    it('adds, updates, lists and removes members', async () => {
      await store.createChannel(channel('m-1', { type: 'private', members: [{ user: 'owner', role: 'owner' }] }));
      const added = await store.addMember('m-1', 'zed', 'member');
      expect(added).toMatchObject({ channel: 'm-1', user: 'zed', role: 'member' });
      expect((await store.addMember('m-1', 'zed', 'admin')).role).toBe('admin');
      await store.addMember('m-1', 'amy', 'member');
      expect((await store.listMembers('m-1')).map((m) => [m.user, m.role])).toEqual([
        ['amy', 'member'],
        ['owner', 'owner'],
        ['zed', 'admin'],
      ]);
      expect(await store.getMember('m-1', 'zed')).toMatchObject({ role: 'admin' });
      expect(await store.removeMember('m-1', 'zed')).toBe(true);
      expect(await store.removeMember('m-1', 'zed')).toBe(false);
      expect(await store.getMember('m-1', 'zed')).toBeUndefined();
    });

    it('assigns contiguous seqs in request order and stores text and data', async () => {
      await store.createChannel(channel('seq'));
      const results = await store.appendBatch([
        message('seq', 'one'),
        { kind: 'message', channel: 'seq', author: null, text: null, data: { n: 2, list: [1, 'two'] }, cid: null, replyTo: 1 },
        message('seq', 'three'),
      ]);
      const events = results.map(okEvent);
      expect(events.map((e) => e.seq)).toEqual([1, 2, 3]);
      expect(results.every((r) => r.ok && !r.duplicate)).toBe(true);
      expect(events[1]).toMatchObject({ author: null, text: null, data: { n: 2, list: [1, 'two'] }, replyTo: 1 });
      const more = await store.appendBatch([message('seq', 'four')]);
      expect(okEvent(more[0]).seq).toBe(4);
      expect((await store.getChannel('seq'))!.lastSeq).toBe(4);
      const stored = await store.getEvent('seq', 2);
      expect(stored).toEqual(events[1]);
      expect(typeof stored!.seq).toBe('number');
      expect(typeof stored!.createdAt).toBe('number');
    });

    it('stores a cid once, within one batch and across batches', async () => {
      await store.createChannel(channel('cid'));
      await store.createChannel(channel('cid-other'));
      const first = await store.appendBatch([
        message('cid', 'a', 'x1'),
        message('cid', 'a again', 'x1'),
        message('cid', 'b', 'x2'),
        message('cid-other', 'same cid, other channel', 'x1'),
      ]);
      expect(first.map((r) => (r.ok ? [r.event.channel, r.event.seq, r.duplicate] : r.code))).toEqual([
        ['cid', 1, false],
        ['cid', 1, true],
        ['cid', 2, false],
        ['cid-other', 1, false],
      ]);
      const retry = await store.appendBatch([message('cid', 'retry', 'x2'), message('cid', 'c', 'x3')]);
      expect(retry.map((r) => (r.ok ? [r.event.seq, r.duplicate, r.event.text] : r.code))).toEqual([
        [2, true, 'b'],
        [3, false, 'c'],
      ]);
      expect((await store.readEvents('cid', { after: 0, limit: 10 })).map((e) => e.text)).toEqual(['a', 'b', 'c']);
    });

    it('applies edits and deletes to their targets and refuses bad targets without taking a seq', async () => {
      await store.createChannel(channel('ed'));
      await store.appendBatch([message('ed', 'first'), message('ed', 'second')]);
      const results = await store.appendBatch([
        { kind: 'edit', channel: 'ed', author: 'alice', target: 1, text: 'first!', data: { v: 2 } },
        { kind: 'edit', channel: 'ed', author: 'alice', target: 99, text: 'nothing', data: null },
        { kind: 'delete', channel: 'ed', author: 'alice', target: 2 },
        { kind: 'delete', channel: 'ed', author: 'alice', target: 2 },
        { kind: 'edit', channel: 'ed', author: 'alice', target: 3, text: 'an edit is no message', data: null },
        message('ed', 'third'),
      ]);
      expect(results.map((r) => (r.ok ? [r.event.kind, r.event.seq, r.event.target] : r.code))).toEqual([
        ['edit', 3, 1],
        'not_found',
        ['delete', 4, 2],
        'conflict',
        'not_found',
        ['message', 5, null],
      ]);
      expect(await store.getEvent('ed', 1)).toMatchObject({ kind: 'message', text: 'first!', data: { v: 2 } });
      expect((await store.getEvent('ed', 1))!.editedAt).not.toBeNull();
      expect(await store.getEvent('ed', 2)).toMatchObject({ text: null, data: null });
      expect((await store.getEvent('ed', 2))!.deletedAt).not.toBeNull();
      const again = await store.appendBatch([{ kind: 'delete', channel: 'ed', author: 'alice', target: 2 }]);
      expect(again[0]).toMatchObject({ ok: false, code: 'conflict' });
      expect((await store.getChannel('ed'))!.lastSeq).toBe(5);
    });

    it('answers not_found for a missing channel while the rest of the batch commits', async () => {
      await store.createChannel(channel('nf'));
      const results = await store.appendBatch([message('nf', 'ok 1'), message('nf-missing', 'lost'), message('nf', 'ok 2')]);
      expect(results.map((r) => (r.ok ? r.event.seq : r.code))).toEqual([1, 'not_found', 2]);
      expect(await store.readEvents('nf-missing', { after: 0, limit: 10 })).toEqual([]);
    });

    it('pages events forward and back, with or without change rows', async () => {
      await store.createChannel(channel('page'));
      await store.appendBatch(Array.from({ length: 30 }, (_, i) => message('page', `m${i + 1}`)));
      await store.appendBatch([{ kind: 'delete', channel: 'page', author: 'alice', target: 30 }]);
      const seqs = (events: ChannelEvent[]) => events.map((e) => e.seq);
      expect(seqs(await store.readEvents('page', { after: 0, limit: 5 }))).toEqual([1, 2, 3, 4, 5]);
      expect(seqs(await store.readEvents('page', { after: 28, limit: 10 }))).toEqual([29, 30, 31]);
      expect(seqs(await store.readEvents('page', { limit: 3 }))).toEqual([29, 30, 31]);
      expect(seqs(await store.readEvents('page', { limit: 3, messagesOnly: true }))).toEqual([28, 29, 30]);
      expect(seqs(await store.readEvents('page', { before: 10, limit: 3 }))).toEqual([7, 8, 9]);
      expect(seqs(await store.readEvents('page', { after: 10, before: 14, limit: 10 }))).toEqual([11, 12, 13]);
      expect(await store.readEvents('page', { after: 31, limit: 10 })).toEqual([]);
    });

    // Defined only where it applies: CI counts a skipped test as a failure.
    if (backend.concurrentNodes) it(
      'keeps seqs gap-free and cids unique when two nodes append to one channel at once',
      async () => {
        const nodeA = store;
        const nodeB = await open();
        await nodeA.createChannel(channel('race'));
        const batches = 20;
        const perBatch = 50;
        const run = (node: Store, name: string) =>
          Promise.all(
            Array.from({ length: batches }, (_, b) =>
              node.appendBatch(
                Array.from({ length: perBatch }, (_, i) =>
                  // Every tenth message carries a cid both nodes send: it must be stored once.
                  i % 10 === 0
                    ? message('race', `shared ${b}/${i} from ${name}`, `shared-${b}-${i}`)
                    : message('race', `${name} ${b}/${i}`, `${name}-${b}-${i}`),
                ),
              ),
            ),
          );
        const [fromA, fromB] = await Promise.all([run(nodeA, 'a'), run(nodeB, 'b')]);
        const all = [...fromA.flat(), ...fromB.flat()].map((r) => {
          if (!r.ok) throw new Error(r.message);
          return r;
        });
        const fresh = all.filter((r) => !r.duplicate).map((r) => r.event.seq);
        const sharedCount = batches * (perBatch / 10);
        const expected = 2 * batches * perBatch - sharedCount;
        expect(fresh).toHaveLength(expected);
        expect([...fresh].sort((x, y) => x - y)).toEqual(Array.from({ length: expected }, (_, i) => i + 1));
        // Both copies of a shared cid answer with the one stored seq.
        const sharedSeqs = new Map<string, Set<number>>();
        for (const r of all) {
          if (!r.event.cid?.startsWith('shared-')) continue;
          const set = sharedSeqs.get(r.event.cid) ?? new Set();
          set.add(r.event.seq);
          sharedSeqs.set(r.event.cid, set);
        }
        expect(sharedSeqs.size).toBe(sharedCount);
        expect([...sharedSeqs.values()].every((set) => set.size === 1)).toBe(true);
        const stored = await nodeB.readEvents('race', { after: 0, limit: 5000 });
        expect(stored.map((e) => e.seq)).toEqual(Array.from({ length: expected }, (_, i) => i + 1));
        expect((await nodeA.getChannel('race'))!.lastSeq).toBe(expected);
      },
    );
  });
}
