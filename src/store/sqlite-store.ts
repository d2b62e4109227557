import type { ModuleMigrations } from './database.js';
import { KyselyStore, type KyselyStoreOptions } from './kysely-store.js';
import { logMigrations } from './migrations/index.js';
import { openSqliteDatabase, type SqliteOptions } from './sqlite-database.js';

/**
 * The log's store on a SQLite database of its own (tests, tools). The server opens the
 * database once for every module instead (see server.ts). Other modules' migrations may
 * join the log's (`migrations`); migrations the file already ran for modules not named
 * here are left alone.
 */
export async function openSqliteStore(
  options: SqliteOptions & KyselyStoreOptions & { readonly migrations?: readonly ModuleMigrations[] },
): Promise<KyselyStore> {
  const database = await openSqliteDatabase(options, [logMigrations, ...(options.migrations ?? [])], { othersMayExist: true });
  return new KyselyStore(database, options);
}
