import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Kysely, sql } from 'kysely';
import { afterEach, describe, expect, it, onTestFinished, vi } from 'vitest';
import { ChatStore } from '../src/chat/chat-store.js';
import { chatMigrations } from '../src/chat/migrations/index.js';
import type { Database } from '../src/store/database.js';
import { KyselyStore } from '../src/store/kysely-store.js';
import { logMigrations } from '../src/store/migrations/index.js';
import { openPostgresDatabase } from '../src/store/postgres-database.js';
import { openSqliteDatabase } from '../src/store/sqlite-database.js';
import { createTestSchema } from './helpers/postgres.js';
import { describeWithServices, serviceUrl } from './helpers/services.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** The log's store and chat's tables on one SQLite file, as the server has them. */
async function fileDatabase(): Promise<{ database: Database; store: KyselyStore; chat: ChatStore }> {
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-soft-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const database = await openSqliteDatabase({ path: join(dir, 'db.sqlite') }, [logMigrations, chatMigrations]);
  cleanups.push(() => database.close());
  return { database, store: new KyselyStore(database), chat: new ChatStore(database) };
}

async function synchronousSetting(database: Database): Promise<number> {
  const { rows } = await sql<{ synchronous: number }>`pragma synchronous`.execute(database.tables());
  return rows[0]!.synchronous;
}

describe('soft writes (users seen on connect, status) on SQLite', () => {
  it('batches a tick of them into one transaction and restores full durability for messages', async () => {
    const { database, store, chat } = await fileDatabase();
    const FULL = 2;
    expect(await synchronousSetting(database)).toBe(FULL);
    await Promise.all([
      ...Array.from({ length: 50 }, (_, k) => store.rememberUser({ id: `u${k}`, name: `User ${k}` })),
      ...Array.from({ length: 50 }, (_, k) => chat.setStatus(`u${k}`, 'online', 1000 + k)),
    ]);
    expect(await synchronousSetting(database)).toBe(FULL);
    expect((await store.listUsers({ limit: 100 })).length).toBe(50);
    expect((await chat.userStates(['u7']))[0]).toMatchObject({ user: 'u7', name: 'User 7', status: 'online' });
  });

  it('writes nothing of a failed one and restores full durability after it', async () => {
    const { database, store } = await fileDatabase();
    const FULL = 2;
    const failed = database.dialect.softTransaction(database.tables<{ users: { id: string; name: string; created_at: number } }>(), async (trx) => {
      await trx.insertInto('users').values({ id: 'ghost', name: 'Ghost', created_at: 1 }).execute();
      throw new Error('the work failed after its write');
    });
    await expect(failed).rejects.toThrow('the work failed after its write');
    expect(await store.getUser('ghost')).toBeUndefined();
    expect(await synchronousSetting(database)).toBe(FULL);
    // The connection is usable again, for soft writes as for the rest.
    await store.rememberUser({ id: 'ann', name: 'Ann' });
    expect(await store.getUser('ann')).toMatchObject({ id: 'ann', name: 'Ann' });
    expect(await synchronousSetting(database)).toBe(FULL);
  });

  it('renames a user it has seen before and leaves an unchanged one as it was', async () => {
    const { store } = await fileDatabase();
    // Only the clock is faked: a rename is told from an insert by the row's creation time.
    vi.useFakeTimers({ toFake: ['Date'] });
    onTestFinished(() => void vi.useRealTimers());
    vi.setSystemTime(1_000);
    // A new user is not a rename: no cache can hold a name for them yet.
    expect(await store.rememberUser({ id: 'ann', name: 'Ann' })).toBe(false);
    const first = await store.getUser('ann');
    vi.setSystemTime(2_000);
    expect(await store.rememberUser({ id: 'ann', name: 'Ann' })).toBe(false);
    expect(await store.getUser('ann')).toEqual(first);
    // One tick, one statement: each user says whether it was renamed.
    expect(
      await Promise.all([store.rememberUser({ id: 'ann', name: 'Ann B.' }), store.rememberUser({ id: 'bo', name: 'Bo' }), store.rememberUser({ id: 'cy', name: 'Cy' })]),
    ).toEqual([true, false, false]);
    vi.setSystemTime(3_000);
    expect(await Promise.all([store.rememberUser({ id: 'bo', name: 'Bo' }), store.rememberUser({ id: 'cy', name: 'Cyrus' })])).toEqual([false, true]);
    expect(await store.getUser('ann')).toEqual({ ...first, name: 'Ann B.' });
  });
});

describeWithServices(['TEST_DATABASE_URL'], 'soft writes on PostgreSQL', () => {
  type Users = { users: { id: string; name: string; created_at: number } };

  async function postgres(): Promise<{ database: Database; store: KyselyStore }> {
    const schema = await createTestSchema(serviceUrl('TEST_DATABASE_URL')!, 'soft');
    cleanups.push(() => schema.drop());
    const database = await openPostgresDatabase({ url: schema.url }, [logMigrations, chatMigrations]);
    cleanups.push(() => database.close());
    return { database, store: new KyselyStore(database) };
  }

  const commitSetting = async <DB>(db: Kysely<DB>) =>
    (await sql<{ setting: string }>`select current_setting('synchronous_commit') as setting`.execute(db)).rows[0]!.setting;

  it('relaxes the commit inside the transaction only, and commits the work', async () => {
    const { database, store } = await postgres();
    const inside = await database.dialect.softTransaction(database.tables<Users>(), async (trx) => {
      await trx.insertInto('users').values({ id: 'ann', name: 'Ann', created_at: 1 }).execute();
      return commitSetting(trx);
    });
    expect(inside).toBe('off');
    expect(await store.getUser('ann')).toMatchObject({ id: 'ann', name: 'Ann' });
    // Every pooled connection is back to the server's default.
    const after = await Promise.all(Array.from({ length: 4 }, () => commitSetting(database.tables())));
    expect(after).toEqual(['on', 'on', 'on', 'on']);
  });

  it('writes nothing of a failed one, and its connection serves the next', async () => {
    const { database, store } = await postgres();
    const failed = database.dialect.softTransaction(database.tables<Users>(), async (trx) => {
      await trx.insertInto('users').values({ id: 'ghost', name: 'Ghost', created_at: 1 }).execute();
      throw new Error('the work failed after its write');
    });
    await expect(failed).rejects.toThrow('the work failed after its write');
    // A statement the database refuses leaves the transaction aborted; it is rolled back all the same.
    const refused = database.dialect.softTransaction(database.tables<Users>(), async (trx) => {
      await trx.insertInto('users').values({ id: 'bo', name: 'Bo', created_at: 1 }).execute();
      await sql`select 1 / 0`.execute(trx);
    });
    await expect(refused).rejects.toThrow(/division by zero/);
    expect(await store.getUser('ghost')).toBeUndefined();
    expect(await store.getUser('bo')).toBeUndefined();
    await Promise.all(Array.from({ length: 12 }, (_, k) => store.rememberUser({ id: `u${k}`, name: `User ${k}` })));
    expect((await store.listUsers({ limit: 100 })).map((user) => user.id).sort()).toEqual(Array.from({ length: 12 }, (_, k) => `u${k}`).sort());
  });
});
