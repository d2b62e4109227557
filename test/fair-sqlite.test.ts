import { afterEach, describe, expect, it } from 'vitest';
import { FifoLock } from '../src/store/fair-sqlite-dialect.js';
import type { KyselyStore } from '../src/store/kysely-store.js';
import { openSqliteStore } from '../src/store/sqlite-store.js';

const stores: KyselyStore[] = [];
afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()));
});

describe('the SQLite connection lock', () => {
  it('hands the lock over in arrival order, waking only the next waiter', async () => {
    const lock = new FifoLock();
    const order: number[] = [];
    await lock.lock();
    const waiters = [1, 2, 3].map((n) =>
      lock.lock().then(() => {
        order.push(n);
      }),
    );
    lock.unlock();
    await waiters[0];
    expect(order).toEqual([1]);
    lock.unlock();
    lock.unlock();
    await Promise.all(waiters);
    expect(order).toEqual([1, 2, 3]);
    lock.unlock();
    // Free again: the next lock is granted at once.
    let granted = false;
    await lock.lock().then(() => (granted = true));
    expect(granted).toBe(true);
  });

  it('runs 10,000 queued queries and transactions, each with its own answer', async () => {
    const store = await openSqliteStore({ path: ':memory:' });
    stores.push(store);
    await Promise.all(Array.from({ length: 2000 }, (_, k) => store.upsertUser({ id: `u${k}`, name: `User ${k}` })));
    const reads = await Promise.all(Array.from({ length: 10_000 }, (_, k) => store.getUser(`u${k % 2000}`)));
    expect(reads.every((user, k) => user?.name === `User ${k % 2000}`)).toBe(true);
  });
});
