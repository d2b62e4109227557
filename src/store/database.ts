import { type Kysely, type Migration, Migrator } from 'kysely';
import type { SqlDialect } from './sql-dialect.js';
import { BatchRounds } from './tick-batcher.js';

/**
 * The one database every module shares (the log, chat, auth, webhooks), handed to each
 * by the composition root. Its driver maps outages for every query (see OutageDialect),
 * and its dialect holds the SQL that differs between databases.
 *
 * @example
 *   const outbox = database.tables<WebhookTables>();   // Kysely typed with the module's own tables
 *   await outbox.selectFrom('webhook_outbox').selectAll().execute();
 */
export interface Database {
  /** Kysely over the tables a module names (its own, and the log's it joins). */
  tables<T>(): Kysely<T>;
  readonly dialect: SqlDialect;
  /**
   * The rounds a connect storm's batched writes and reads share (see BatchRounds): one per
   * database, whose statements then run back to back.
   */
  readonly stormRounds: BatchRounds;
  /** Ends every connection. Idempotent; call it once every module is done. */
  close(): Promise<void>;
}

/**
 * A module's migrations, by name. Names sort into the order they run in across all
 * modules (0001-initial: the log, 0002-accounts: auth, 0003-chat, 0004-webhooks ...), and
 * a name, once released, never changes: databases record which ones they ran.
 */
export type ModuleMigrations = (dialect: SqlDialect) => Readonly<Record<string, Migration>>;

export interface MigrateOptions {
  /** Where the migration bookkeeping tables live (PostgreSQL: the connection's schema). */
  readonly schema?: string;
  /**
   * Opening the database for some modules only (tests, tools): migrations other modules
   * already ran are theirs, not missing. The server passes every module and keeps Kysely's
   * check, so a node never starts on a database migrated by a newer release it does not know.
   */
  readonly othersMayExist?: boolean;
}

/** Runs the modules' migrations that the database has not run yet, in name order. */
export async function migrate(
  db: Kysely<any>,
  dialect: SqlDialect,
  modules: readonly ModuleMigrations[],
  options: MigrateOptions = {},
): Promise<void> {
  const migrations: Record<string, Migration> = {};
  for (const module of modules) Object.assign(migrations, module(dialect));
  if (options.othersMayExist) {
    for (const name of await executedMigrations(db, options.schema)) migrations[name] ??= ALREADY_RUN;
  }
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
    // Named explicitly: Kysely looks for its tables in every schema, so without it a
    // database holding other Switchboard schemas (tests, deployments) would skip creating its own.
    migrationTableSchema: options.schema,
  });
  const { error } = await migrator.migrateToLatest();
  if (error) throw error;
}

/** Stands in for a migration another module ran: it never runs again. */
const ALREADY_RUN: Migration = { up: async () => {} };

async function executedMigrations(db: Kysely<any>, schema: string | undefined): Promise<string[]> {
  const table = schema ? db.withSchema(schema) : db;
  try {
    const rows = await table.selectFrom('kysely_migration').select('name').execute();
    return rows.map((row: { name: string }) => row.name);
  } catch {
    // A new database: nothing has run.
    return [];
  }
}

/** The handle over one Kysely instance. */
export class KyselyDatabase implements Database {
  readonly dialect: SqlDialect;
  readonly stormRounds: BatchRounds;
  /** Untyped here: each module types it with its own tables. */
  readonly #db: Kysely<any>;
  #closing: Promise<void> | null = null;

  constructor(db: Kysely<any>, dialect: SqlDialect) {
    this.#db = db;
    this.dialect = dialect;
    this.stormRounds = new BatchRounds(dialect.stormLingerMs);
  }

  tables<T>(): Kysely<T> {
    return this.#db;
  }

  close(): Promise<void> {
    return (this.#closing ??= this.#db.destroy());
  }
}
