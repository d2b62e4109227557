import type { Database, MigrateOptions, ModuleMigrations } from './database.js';
import { openPostgresDatabase } from './postgres-database.js';
import { openSqliteDatabase } from './sqlite-database.js';

/** Where a DATABASE_URL points: `sqlite:PATH`, a bare path, or `postgres://...`. */
export function parseDatabaseUrl(url: string): { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string } {
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) return { kind: 'postgres', url };
  if (url.startsWith('sqlite:')) return { kind: 'sqlite', path: url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '') };
  return { kind: 'sqlite', path: url };
}

export interface OpenDatabaseOptions extends Pick<MigrateOptions, 'othersMayExist'> {
  /** PostgreSQL only (see PostgresOptions): longest wait for one query's answer. */
  readonly queryTimeoutMs?: number;
}

/** Opens the database a DATABASE_URL names and runs the modules' migrations. */
export function openDatabase(url: string, modules: readonly ModuleMigrations[], options: OpenDatabaseOptions = {}): Promise<Database> {
  const { queryTimeoutMs, ...migrateOptions } = options;
  const target = parseDatabaseUrl(url);
  if (target.kind === 'sqlite') return openSqliteDatabase({ path: target.path }, modules, migrateOptions);
  return openPostgresDatabase({ url: target.url, queryTimeoutMs }, modules, migrateOptions);
}
