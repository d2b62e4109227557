import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect, sql } from 'kysely';
import { afterEach, describe, expect, it, onTestFinished, vi } from 'vitest';
import { ChatStore } from '../src/chat/chat-store.js';
import { chatMigrations } from '../src/chat/migrations/index.js';
import type { Database } from '../src/store/database.js';
import type { RowsStatement } from '../src/store/sql-dialect.js';
import { KyselyStore } from '../src/store/kysely-store.js';
import { logMigrations } from '../src/store/migrations/index.js';
import { openPostgresDatabase } from '../src/store/postgres-database.js';
import { openSqliteDatabase } from '../src/store/sqlite-database.js';
import { SqliteSoftTransactions } from '../src/store/sqlite-soft-transactions.js';
import { createTestSchema } from './helpers/postgres.js';
import { describeWithServices, serviceUrl } from './helpers/services.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A plain insert of users: a row repeated makes it fail. */
const INSERT_USERS: RowsStatement = {
  before: 'insert into users (id, name, created_at) select u.id, u.name, u.created_at from',
  alias: 'u',
  columns: { id: 'text', name: 'text', created_at: 'bigint' },
  after: '',
};

/** The same, returning each row with the commit setting it was written under. */
const INSERT_USERS_TELLING_COMMIT: RowsStatement = { ...INSERT_USERS, after: "returning id, current_setting('synchronous_commit') as setting" };

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
    // The second row repeats the first's id: the statement fails, and takes the first row with it.
    const failed = database.dialect.softRows(database.tables(), INSERT_USERS, [
      { id: 'ghost', name: 'Ghost', created_at: 1 },
      { id: 'ghost', name: 'Ghost again', created_at: 1 },
    ]);
    await expect(failed).rejects.toThrow(/UNIQUE/);
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

describe('soft transactions asked for together on SQLite', () => {
  type Users = { users: { id: string; name: string; created_at: number } };
  const insert = (trx: Kysely<Users>, id: string) => trx.insertInto('users').values({ id, name: id, created_at: 1 }).execute();
  const outcomesOf = (settled: PromiseSettledResult<unknown>[]) => settled.map((outcome) => outcome.status);
  /** SqliteSoftTransactions on a fresh file with a users table: `soft(work)` asks for one. */
  async function softTransactions() {
    const dir = mkdtempSync(join(tmpdir(), 'switchboard-soft-'));
    const file = new BetterSqlite3(join(dir, 'db.sqlite'));
    file.pragma('journal_mode = WAL');
    file.pragma('synchronous = FULL');
    const db = new Kysely<Users>({ dialect: new SqliteDialect({ database: file }) });
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    cleanups.push(() => db.destroy());
    await sql`create table users (id text primary key, name text not null, created_at integer not null)`.execute(db);
    const transactions = new SqliteSoftTransactions(file, 'FULL', (error) => error);
    const soft = <T>(work: (trx: Kysely<Users>) => Promise<T>) => transactions.run(db, work);
    const ids = async () => (await db.selectFrom('users').select('id').orderBy('id').execute()).map((row) => row.id);
    const synchronous = () => file.pragma('synchronous', { simple: true });
    return { soft, ids, synchronous };
  }

  it('share one commit: a work settles only once every work that joined it ran', async () => {
    const { soft, ids, synchronous } = await softTransactions();
    let firstSettled = false;
    const first = soft(async (trx) => {
      await insert(trx, 'a');
      return 'first';
    });
    void first.then(() => (firstSettled = true));
    const second = soft(async (trx) => {
      await insert(trx, 'b');
      // Run after the first work, in its transaction: the first has not been told yet.
      return firstSettled;
    });
    expect(await Promise.all([first, second])).toEqual(['first', false]);
    expect(await ids()).toEqual(['a', 'b']);
    expect(synchronous()).toBe(2);
  });

  it('roll a failed work back alone and commit the others', async () => {
    const { soft, ids, synchronous } = await softTransactions();
    const works = [
      soft((trx) => insert(trx, 'a')),
      soft(async (trx) => {
        await insert(trx, 'ghost');
        throw new Error('the work failed after its write');
      }),
      // A statement the database refuses, in a transaction of its own on PostgreSQL; here its savepoint's.
      soft((trx) => insert(trx, 'a')),
      soft((trx) => insert(trx, 'c')),
    ];
    const settled = await Promise.allSettled(works);
    expect(outcomesOf(settled)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled']);
    expect(String((settled[1] as PromiseRejectedResult).reason)).toContain('the work failed after its write');
    expect(await ids()).toEqual(['a', 'c']);
    expect(synchronous()).toBe(2);
    // The next one opens a transaction of its own.
    await soft((trx) => insert(trx, 'd'));
    expect(await ids()).toEqual(['a', 'c', 'd']);
  });

  it('settle every work when a statement of the transaction itself fails', async () => {
    const { soft, ids, synchronous } = await softTransactions();
    const works = [
      soft((trx) => insert(trx, 'a')),
      // Releases the savepoint the transaction made for it: the transaction's own release then fails.
      soft(async (trx) => {
        await insert(trx, 'b');
        await sql`release work`.execute(trx);
      }),
      soft((trx) => insert(trx, 'c')),
    ];
    expect(outcomesOf(await Promise.allSettled(works))).toEqual(['rejected', 'rejected', 'rejected']);
    expect(await ids()).toEqual([]);
    expect(synchronous()).toBe(2);
    await soft((trx) => insert(trx, 'd'));
    expect(await ids()).toEqual(['d']);
  });
});

describeWithServices(['TEST_DATABASE_URL'], 'soft writes on PostgreSQL', () => {
  async function postgres(): Promise<{ database: Database; store: KyselyStore }> {
    const schema = await createTestSchema(serviceUrl('TEST_DATABASE_URL')!, 'soft');
    cleanups.push(() => schema.drop());
    const database = await openPostgresDatabase({ url: schema.url }, [logMigrations, chatMigrations]);
    cleanups.push(() => database.close());
    return { database, store: new KyselyStore(database) };
  }

  const commitSetting = async <DB>(db: Kysely<DB>) =>
    (await sql<{ setting: string }>`select current_setting('synchronous_commit') as setting`.execute(db)).rows[0]!.setting;

  it('relaxes the commit of the statement only, and commits its rows', async () => {
    const { database, store } = await postgres();
    const rows = await database.dialect.softRows<{ id: string; setting: string }>(database.tables(), INSERT_USERS_TELLING_COMMIT, [
      { id: 'ann', name: 'Ann', created_at: 1 },
      { id: 'bo', name: 'Bo', created_at: 1 },
    ]);
    expect(rows.map((row) => row.setting)).toEqual(['off', 'off']);
    expect(await store.getUser('ann')).toMatchObject({ id: 'ann', name: 'Ann' });
    // Every pooled connection is back to the server's default.
    const after = await Promise.all(Array.from({ length: 4 }, () => commitSetting(database.tables())));
    expect(after).toEqual(['on', 'on', 'on', 'on']);
  });

  /** Makes the database refuse rows of `table` with this id the way it fails under load (a serialization failure: `unavailable`). */
  async function refuseAsOutage(database: Database, table: string, column: string, id: string): Promise<void> {
    const db = database.tables();
    await sql.raw(`create function refuse_${id}() returns trigger language plpgsql as $$ begin if new.${column} = '${id}' then raise exception 'refused' using errcode = '40001'; end if; return new; end $$`).execute(db);
    await sql.raw(`create trigger refuse_${id} before insert on ${table} for each row execute function refuse_${id}()`).execute(db);
  }

  it("reports a rename whose batch failed after writing it on the user's next write", async () => {
    const { database, store } = await postgres();
    await store.rememberUser({ id: 'xavier', name: 'xavier', fillsIn: true });
    // One tick: the fill-in statement renames xavier and commits; the set statement fails.
    await refuseAsOutage(database, 'users', 'id', 'yann');
    const batch = await Promise.allSettled([store.rememberUser({ id: 'xavier', name: 'Xavier X', fillsIn: true }), store.rememberUser({ id: 'yann', name: 'Yann' })]);
    expect(batch.map((outcome) => outcome.status)).toEqual(['rejected', 'rejected']);
    expect(await store.getUser('xavier')).toMatchObject({ name: 'Xavier X' });
    // The connect is tried again: its write changes nothing, and reports the rename all the same, once.
    expect(await store.rememberUser({ id: 'xavier', name: 'Xavier X', fillsIn: true })).toBe(true);
    expect(await store.rememberUser({ id: 'xavier', name: 'Xavier X', fillsIn: true })).toBe(false);
  });

  it('leaves no status change that its batch reported unwritten in the table', async () => {
    const { database } = await postgres();
    const chat = new ChatStore(database);
    cleanups.push(() => chat.close());
    await refuseAsOutage(database, 'user_status', 'user_id', 'bob');
    // One tick: alice's `status.set` and bob's late disconnect (written only over older rows).
    const batch = await Promise.allSettled([chat.setStatus('alice', 'away', 2000), chat.setStatus('bob', 'offline', 2000, true, true)]);
    expect(batch.map((outcome) => outcome.status)).toEqual(['rejected', 'rejected']);
    // Alice was told her change failed: the table must not hold it.
    const rows = await sql<{ user_id: string }>`select user_id from user_status`.execute(database.tables());
    expect(rows.rows).toEqual([]);
  });

  it('writes nothing of a failed one, and its connection serves the next', async () => {
    const { database, store } = await postgres();
    const failed = database.dialect.softRows(database.tables(), INSERT_USERS, [
      { id: 'ghost', name: 'Ghost', created_at: 1 },
      { id: 'ghost', name: 'Ghost again', created_at: 1 },
    ]);
    await expect(failed).rejects.toThrow(/duplicate key/);
    expect(await store.getUser('ghost')).toBeUndefined();
    await Promise.all(Array.from({ length: 12 }, (_, k) => store.rememberUser({ id: `u${k}`, name: `User ${k}` })));
    expect((await store.listUsers({ limit: 100 })).map((user) => user.id).sort()).toEqual(Array.from({ length: 12 }, (_, k) => `u${k}`).sort());
    expect(await Promise.all(Array.from({ length: 4 }, () => commitSetting(database.tables())))).toEqual(['on', 'on', 'on', 'on']);
  });
});

/** An upsert over a batch of rows, as the connect path's writes are: it returns the rows it inserted or changed. */
const UPSERT_SCORES: RowsStatement = {
  before: 'insert into scores (id, points) select s.id, s.points from',
  alias: 's',
  columns: { id: 'text', points: 'bigint' },
  after: 'where true on conflict (id) do update set points = excluded.points where scores.points <> excluded.points returning id',
};

/** Runs UPSERT_SCORES over batches of every kind of size: one row, a padded one, and more than one statement holds. */
async function checkBatchedRows(database: Database): Promise<void> {
  type Scores = { scores: { id: string; points: number } };
  const db = database.tables<Scores>();
  await sql`create table scores (id text primary key, points bigint not null)`.execute(db);
  const rows = (count: number, points: (k: number) => number) =>
    Array.from({ length: count }, (_, k) => ({ id: `s${String(k).padStart(3, '0')}`, points: points(k) }));
  const run = (batch: readonly { id: string; points: number }[]) => database.dialect.runRows<{ id: string }>(db, UPSERT_SCORES, batch);
  expect(await run(rows(1, () => 1))).toEqual([{ id: 's000' }]);
  // 5 rows (SQLite makes them 6), then 300 (SQLite: 256, then 44 made 48): each row returned once.
  expect((await run(rows(5, (k) => k))).map((row) => row.id).sort()).toEqual(['s000', 's001', 's002', 's003', 's004']);
  const all = rows(300, (k) => k * 2);
  const written = (await run(all)).map((row) => row.id);
  expect(written.length).toBe(new Set(written).size);
  expect(written.sort()).toEqual(all.map((row) => row.id).filter((id) => id !== 's000'));
  // Only the rows that change come back; every row holds its batch's value.
  const changed = await run(all.map((row, k) => ({ ...row, points: k === 299 || k === 7 ? -1 : row.points })));
  expect(changed.map((row) => row.id).sort()).toEqual(['s007', 's299']);
  const stored = await db.selectFrom('scores').select(['id', 'points']).orderBy('id').execute();
  expect(stored.length).toBe(300);
  expect(stored.map((row) => Number(row.points))).toEqual(all.map((row, k) => (k === 299 || k === 7 ? -1 : row.points)));
}

describe('a batch of rows read as a table (runRows)', () => {
  it('writes and returns each row once on SQLite, whatever the batch size', async () => {
    const { database } = await fileDatabase();
    await checkBatchedRows(database);
  });
});

describeWithServices(['TEST_DATABASE_URL'], 'a batch of rows read as a table (runRows) on PostgreSQL', () => {
  it('writes and returns each row once, whatever the batch size', async () => {
    const schema = await createTestSchema(serviceUrl('TEST_DATABASE_URL')!, 'rows');
    cleanups.push(() => schema.drop());
    const database = await openPostgresDatabase({ url: schema.url }, [logMigrations]);
    cleanups.push(() => database.close());
    await checkBatchedRows(database);
  });
});
