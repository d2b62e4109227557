import { expect, it, onTestFinished } from 'vitest';
import { KyselyStore } from '../src/store/kysely-store.js';
import { logMigrations } from '../src/store/migrations/index.js';
import { openPostgresDatabase } from '../src/store/postgres-database.js';
import type { LogTables } from '../src/store/schema.js';
import { databaseBehindBlackholeProxy } from './helpers/outage-proxy.js';
import { describeWithServices } from './helpers/services.js';

/** Users seen in one tick, more than the test's 30 s holds connect timeouts (5 s each). */
const USERS = 10;
/** Short, so each wait is brief; the tests' own timeouts, far below the kernel's ~15 minutes, are the guard. */
const QUERY_TIMEOUT_MS = 1_000;

/**
 * PostgreSQL out of reach silently (a partition: connections open, no byte moves). A
 * batch of writes fails whole with `unavailable` after one connect timeout of the pool,
 * instead of retrying each item in turn and keeping every connect behind it waiting
 * USERS × 5 s (TickBatcher). A query on a connection the pool already holds fails after
 * the query timeout, its connection is discarded, and a transaction cut off so holds its
 * locks no longer than that.
 */
describeWithServices(['TEST_DATABASE_URL'], 'a blackholed database', () => {
  it('fails a tick of users seen all at once, not one connect timeout per user, and writes them once healed', async () => {
    const { proxy, proxiedUrl } = await databaseBehindBlackholeProxy('blackhole');
    const database = await openPostgresDatabase({ url: proxiedUrl }, [logMigrations]);
    onTestFinished(() => database.close());
    // Runs before the close: ending the pool waits on connections the hole would hold.
    onTestFinished(() => proxy.heal());
    const store = new KyselyStore(database);
    const users = Array.from({ length: USERS }, (_, i) => ({ id: `u${i}`, name: `User ${i}` }));
    // The pool holds an open connection, as a serving node's does (migrations ran on their own).
    await store.ping();

    proxy.blackhole();
    // The pool's open connections die too (reset), so each query needs a new one, which the
    // hole accepts and holds until the pool gives up. One query flushes out the reset ones
    // the pool has not noticed yet (it fails at once on one, or waits out a new one).
    proxy.reset();
    await expect(store.ping()).rejects.toMatchObject({ code: 'unavailable' });
    await proxy.untilConnections((count) => count === 0, 5_000);

    const seen = Promise.allSettled(users.map((user) => store.rememberUser(user)));
    // One batch, on one connection held in the hole.
    await proxy.untilConnections((count) => count === 1, 5_000);
    // One by one, the items would need USERS connect timeouts more: past this test's timeout.
    for (const outcome of await seen) expect(outcome).toMatchObject({ status: 'rejected', reason: { code: 'unavailable' } });

    proxy.heal();
    expect(await Promise.all(users.map((user) => store.rememberUser(user)))).toEqual(users.map(() => false));
    expect((await store.getUser('u9'))?.name).toBe('User 9');
  }, 30_000);

  it('fails a batched write on a connection gone silent within the query timeout, and writes on a fresh one once healed', async () => {
    const { proxy, proxiedUrl } = await databaseBehindBlackholeProxy('silent');
    const database = await openPostgresDatabase({ url: proxiedUrl, queryTimeoutMs: QUERY_TIMEOUT_MS }, [logMigrations]);
    onTestFinished(() => database.close());
    onTestFinished(() => proxy.heal());
    const store = new KyselyStore(database);
    await store.ping();
    // The pool keeps the connection that answered; the migrations' and the lock's are closed.
    await proxy.untilConnections((count) => count === 1, 5_000);

    proxy.blackhole();
    // Users seen go out in a batch (a transaction) on that open connection, into the hole.
    await expect(store.rememberUser({ id: 'u1', name: 'User 1' })).rejects.toMatchObject({ code: 'unavailable' });

    // The connection from before stays silent: had the pool taken it back, the next write
    // would wait on it again and fail. A fresh one answers.
    proxy.heal({ keepEarlier: true });
    // Stored now (false: new, not renamed).
    expect(await store.rememberUser({ id: 'u1', name: 'User 1' })).toBe(false);
    expect((await store.getUser('u1'))?.name).toBe('User 1');
    await expect(store.ping()).resolves.toBeUndefined();
  }, 30_000);

  it('undoes a transaction cut off mid-way, whose channel lock another node then takes at once', async () => {
    const { proxy, proxiedUrl, schemaUrl } = await databaseBehindBlackholeProxy('cutoff');
    const database = await openPostgresDatabase({ url: proxiedUrl, queryTimeoutMs: QUERY_TIMEOUT_MS }, [logMigrations]);
    onTestFinished(() => database.close());
    onTestFinished(() => proxy.heal());
    // Another node, whose path to PostgreSQL stays open; its statements wait on locks 9 s at most.
    const other = await openPostgresDatabase({ url: schemaUrl, queryTimeoutMs: 10 * QUERY_TIMEOUT_MS }, [logMigrations]);
    onTestFinished(() => other.close());
    const store = new KyselyStore(database);
    await store.createChannel({ id: 'c', type: 'public', title: null, publish: 'anyone', createdBy: null, members: [] });

    const db = database.tables<LogTables>();
    const cutOff = db.transaction().execute(async (trx) => {
      // As an append does: the channel's row locked, part of the work done.
      await database.dialect.lockChannels(trx, ['c']);
      await trx.insertInto('users').values({ id: 'half', name: 'Half', created_at: 1, avatar_url: null, status_text: null }).execute();
      proxy.blackhole();
      await trx.updateTable('channels').set({ title: 'never' }).where('id', '=', 'c').execute();
    });
    await expect(cutOff).rejects.toMatchObject({ code: 'unavailable' });

    // Still in the hole, the transaction idles on the server, which ends it after the
    // timeout: the lock is free long before the other node's own statement timeout.
    const [appended] = await new KyselyStore(other).appendBatch([
      { kind: 'message', channel: 'c', author: 'a', text: 'x', data: null, cid: null, replyTo: null },
    ]);
    expect(appended).toMatchObject({ ok: true, event: { seq: 1 } });

    proxy.heal();
    expect(await store.getUser('half')).toBeUndefined();
    expect(await store.getChannel('c')).toMatchObject({ title: null, lastSeq: 1 });
  }, 30_000);
});
