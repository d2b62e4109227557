import type { Database, MigrateOptions, ModuleMigrations } from './database.js';
import { openPostgresDatabase } from './postgres-database.js';
import { openSqliteDatabase } from './sqlite-database.js';

/** Where a DATABASE_URL points: `sqlite:PATH`, a bare path, or `postgres://...`. */
export function parseDatabaseUrl(url: string): { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string } {
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) return { kind: 'postgres', url };
  if (url.startsWith('sqlite:')) return { kind: 'sqlite', path: url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '') };
  return { kind: 'sqlite', path: url };
}

/** Opens the database a DATABASE_URL names and runs the modules' migrations. */
export function openDatabase(
  url: string,
  modules: readonly ModuleMigrations[],
  options: Pick<MigrateOptions, 'othersMayExist'> = {},
): Promise<Database> {
  const target = parseDatabaseUrl(url);
  if (target.kind === 'sqlite') return openSqliteDatabase({ path: target.path }, modules, options);
  return openPostgresDatabase({ url: target.url }, modules, options);
}
