import type { ModuleMigrations } from './database.js';
import { KyselyStore, type KyselyStoreOptions } from './kysely-store.js';
import { logMigrations } from './migrations/index.js';
import { openPostgresDatabase, type PostgresOptions } from './postgres-database.js';

/**
 * The log's store on a PostgreSQL database (tests, tools), which may be one a cluster of
 * servers uses. The server opens the database once for every module instead (see
 * server.ts). Other modules' migrations may join the log's (`migrations`); migrations the
 * database already ran for modules not named here are left alone.
 */
export async function openPostgresStore(
  options: PostgresOptions & KyselyStoreOptions & { readonly migrations?: readonly ModuleMigrations[] },
): Promise<KyselyStore> {
  const database = await openPostgresDatabase(options, [logMigrations, ...(options.migrations ?? [])], { othersMayExist: true });
  return new KyselyStore(database, options);
}
