import { expect, it, onTestFinished } from 'vitest';
import { KyselyStore } from '../src/store/kysely-store.js';
import { logMigrations } from '../src/store/migrations/index.js';
import { openPostgresDatabase } from '../src/store/postgres-database.js';
import { databaseBehindBlackholeProxy } from './helpers/outage-proxy.js';
import { describeWithServices } from './helpers/services.js';

/** Users seen in one tick, more than the test's 30 s holds connect timeouts (5 s each). */
const USERS = 10;

/**
 * PostgreSQL out of reach silently (a partition: connections open, no byte moves): a
 * batch of writes fails whole with `unavailable` after one connect timeout of the pool,
 * instead of retrying each item in turn and keeping every connect behind it waiting
 * USERS × 5 s (TickBatcher).
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
});
