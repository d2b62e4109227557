import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import type { KyselyStore } from '../src/store/kysely-store.js';
import { openSqliteStore } from '../src/store/sqlite-store.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function fileStore(): Promise<KyselyStore> {
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-soft-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const store = await openSqliteStore({ path: join(dir, 'db.sqlite') });
  cleanups.push(() => store.close());
  return store;
}

async function synchronousSetting(store: KyselyStore): Promise<number> {
  const { rows } = await sql<{ synchronous: number }>`pragma synchronous`.execute(store.db);
  return rows[0]!.synchronous;
}

describe('soft writes (users seen on connect, status) on SQLite', () => {
  it('batches a tick of them into one transaction and restores full durability for messages', async () => {
    const store = await fileStore();
    const FULL = 2;
    expect(await synchronousSetting(store)).toBe(FULL);
    await Promise.all([
      ...Array.from({ length: 50 }, (_, k) => store.rememberUser({ id: `u${k}`, name: `User ${k}` })),
      ...Array.from({ length: 50 }, (_, k) => store.chat.setStatus(`u${k}`, 'online', 1000 + k)),
    ]);
    expect(await synchronousSetting(store)).toBe(FULL);
    expect((await store.listUsers({ limit: 100 })).length).toBe(50);
    expect((await store.chat.userStates(['u7']))[0]).toMatchObject({ user: 'u7', name: 'User 7', status: 'online' });
  });

  it('renames a user it has seen before and leaves an unchanged one as it was', async () => {
    const store = await fileStore();
    await store.rememberUser({ id: 'ann', name: 'Ann' });
    const first = await store.getUser('ann');
    await store.rememberUser({ id: 'ann', name: 'Ann' });
    expect(await store.getUser('ann')).toEqual(first);
    await store.rememberUser({ id: 'ann', name: 'Ann B.' });
    expect(await store.getUser('ann')).toEqual({ ...first, name: 'Ann B.' });
  });
});
