import type { SqliteDatabase, SqliteStatement } from 'kysely';

/** Distinct statements kept compiled; queries with IN lists of many lengths cycle through. */
const DEFAULT_CAPACITY = 500;

/**
 * Kysely prepares a statement for every query, and better-sqlite3 compiles SQL on every
 * prepare: a tenth of a connect storm's CPU went to compiling the same few statements.
 * This keeps the most recently used ones compiled (statements are reusable: Kysely binds
 * parameters on each run, and never streams from SQLite here).
 */
export function withStatementCache(database: SqliteDatabase, capacity = DEFAULT_CAPACITY): SqliteDatabase {
  const statements = new Map<string, SqliteStatement>();
  return {
    prepare(sql: string): SqliteStatement {
      let statement = statements.get(sql);
      if (statement) {
        // Re-inserting keeps the map in least-recently-used order.
        statements.delete(sql);
      } else {
        statement = database.prepare(sql);
        if (statements.size >= capacity) statements.delete(statements.keys().next().value!);
      }
      statements.set(sql, statement);
      return statement;
    },
    close(): void {
      statements.clear();
      database.close();
    },
  };
}
