import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, sql } from 'kysely';
import { FairSqliteDialect } from './fair-sqlite-dialect.js';
import { KyselyStore } from './kysely-store.js';
import { withStatementCache } from './statement-cache.js';
import type { Database } from './schema.js';

export interface SqliteOptions {
  /** A file path, or ':memory:'. */
  readonly path: string;
  /** FULL survives power loss; NORMAL only process crashes. Group commit amortises either. */
  readonly synchronous?: 'FULL' | 'NORMAL';
}

/** Opens (creating if needed) and migrates a SQLite database. */
export async function openSqliteStore(options: SqliteOptions): Promise<KyselyStore> {
  if (options.path !== ':memory:') mkdirSync(dirname(options.path), { recursive: true });
  const database = new BetterSqlite3(options.path);
  database.pragma('journal_mode = WAL');
  database.pragma(`synchronous = ${options.synchronous ?? 'FULL'}`);
  database.pragma('foreign_keys = ON');
  database.pragma('busy_timeout = 5000');
  const synchronous = options.synchronous ?? 'FULL';
  const db = new Kysely<Database>({ dialect: new FairSqliteDialect({ database: withStatementCache(database) }) });
  const store = new KyselyStore(db, {
    name: 'sqlite',
    // The connection is held throughout, so no other commit runs with the relaxed setting.
    softTransaction: (db, work) =>
      db.connection().execute(async (connection) => {
        await sql`pragma synchronous = NORMAL`.execute(connection);
        try {
          return await connection.transaction().execute(work);
        } finally {
          await sql.raw(`pragma synchronous = ${synchronous}`).execute(connection);
        }
      }),
    isUniqueViolation: (error) =>
      typeof error === 'object' && error !== null && (error as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE',
    // Kysely's destroy() already closes the better-sqlite3 handle.
    close: async () => {},
  });
  await store.migrate();
  return store;
}
