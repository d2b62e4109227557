import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, sql, type SqlBool } from 'kysely';
import { type Database, KyselyDatabase, type MigrateOptions, migrate, type ModuleMigrations } from './database.js';
import { FairSqliteDialect } from './fair-sqlite-dialect.js';
import { OutageDialect, outageMapper } from './outage-dialect.js';
import type { SqlDialect } from './sql-dialect.js';
import { runSqliteRows } from './sqlite-rows.js';
import { SqliteSoftTransactions } from './sqlite-soft-transactions.js';
import { withStatementCache } from './statement-cache.js';

export interface SqliteOptions {
  /** A file path, or ':memory:'. */
  readonly path: string;
  /** FULL survives power loss; NORMAL only process crashes. Group commit amortises either. */
  readonly synchronous?: 'FULL' | 'NORMAL';
}

/** Opens (creating if needed) a SQLite database and runs the modules' migrations. */
export async function openSqliteDatabase(
  options: SqliteOptions,
  modules: readonly ModuleMigrations[],
  migrateOptions: MigrateOptions = {},
): Promise<Database> {
  if (options.path !== ':memory:') mkdirSync(dirname(options.path), { recursive: true });
  const synchronous = options.synchronous ?? 'FULL';
  const file = new BetterSqlite3(options.path);
  file.pragma('journal_mode = WAL');
  file.pragma(`synchronous = ${synchronous}`);
  file.pragma('foreign_keys = ON');
  file.pragma('busy_timeout = 5000');
  const dialect = sqliteDialect(file, synchronous);
  const db = new Kysely<any>({
    dialect: new OutageDialect(new FairSqliteDialect({ database: withStatementCache(file) }), dialect.isOutage),
  });
  const database = new KyselyDatabase(db, dialect);
  try {
    await migrate(db, dialect, modules, migrateOptions);
  } catch (error) {
    await database.close();
    throw error;
  }
  return database;
}

function sqliteDialect(file: BetterSqlite3.Database, synchronous: 'FULL' | 'NORMAL'): SqlDialect {
  const isOutage = (error: unknown) => /^SQLITE_(BUSY|LOCKED|IOERR|FULL|CANTOPEN)/.test(codeOf(error) ?? '');
  const unavailable = outageMapper(isOutage);
  const softTransactions = new SqliteSoftTransactions(file, synchronous, unavailable);
  return {
    // One writer at a time already: nothing to lock.
    lockChannels: async () => {},
    isUniqueViolation: (error) => codeOf(error) === 'SQLITE_CONSTRAINT_UNIQUE',
    isDataError: () => false,
    // Locked out past the busy timeout, or the disk failed or filled up.
    isOutage,
    // The setting and the transaction's bounds go straight to the file, not as more
    // queries through Kysely; statements asked for together share one commit.
    softRows: (db, statement, rows) => softTransactions.run(db, (trx) => runSqliteRows(trx, statement, rows)),
    runRows: runSqliteRows,
    textSet: (values) => sql`select value from json_each(${JSON.stringify(values)})`,
    // A round costs this node's thread ~150 µs (10,000 connects/s, rounds counted against
    // server CPU): at 5 ms, ~3% of the core. At 25 ms the core sat a third idle while
    // first connects waited for their round (docs/benchmarks.md, ninth round).
    stormLingerMs: 5,
    fullText: {
      // External content: the index stores words only; the text stays in events.
      async createIndex(db) {
        await sql`create virtual table events_fts using fts5(text, content='events', content_rowid='rowid')`.execute(db);
        await sql`create trigger events_fts_insert after insert on events when new.kind = 'message' and new.text is not null
    begin insert into events_fts(rowid, text) values (new.rowid, new.text); end`.execute(db);
        await sql`create trigger events_fts_update after update of text on events when old.kind = 'message'
    begin
      insert into events_fts(events_fts, rowid, text) select 'delete', old.rowid, old.text where old.text is not null;
      insert into events_fts(rowid, text) select new.rowid, new.text where new.text is not null;
    end`.execute(db);
        await sql`create trigger events_fts_delete after delete on events when old.kind = 'message' and old.text is not null
    begin insert into events_fts(events_fts, rowid, text) values ('delete', old.rowid, old.text); end`.execute(db);
        await sql`insert into events_fts(rowid, text) select rowid, text from events where kind = 'message' and text is not null`.execute(db);
      },
      async dropIndex(db) {
        for (const trigger of ['events_fts_insert', 'events_fts_update', 'events_fts_delete']) {
          await sql`drop trigger if exists ${sql.id(trigger)}`.execute(db);
        }
        await sql`drop table if exists events_fts`.execute(db);
      },
      matches(alias, words) {
        // Each word quoted, so nothing the user types is read as FTS5 query syntax.
        const phrase = words.map((word) => `"${word}"`).join(' ');
        return sql<SqlBool>`${sql.ref(`${alias}.rowid`)} in (select rowid from events_fts where events_fts match ${phrase})`;
      },
    },
  };
}

function codeOf(error: unknown): string | undefined {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
}
