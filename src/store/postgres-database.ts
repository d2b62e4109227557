import { CompiledQuery, Kysely, type PostgresPool, sql, type SqlBool } from 'kysely';
import pg from 'pg';
import { CurrentSchemaPostgresDialect } from './current-schema-introspector.js';
import { type Database, KyselyDatabase, type MigrateOptions, migrate, type ModuleMigrations } from './database.js';
import { DiscardingPool, isQueryTimeout } from './discarding-pool.js';
import { OutageDialect } from './outage-dialect.js';
import { DEFAULT_QUERY_TIMEOUT_MS, postgresTimeouts } from './postgres-timeouts.js';
import { quotedName, type RowsStatement, type SqlDialect } from './sql-dialect.js';

export interface PostgresOptions {
  /** `postgres://user:pass@host:port/db`; `?options=-c search_path=NAME` selects a schema. */
  readonly url: string;
  /** Connections per node. Group commit keeps appends to one connection at a time. */
  readonly maxConnections?: number;
  /**
   * Longest wait for one query's answer (default 30 s): past it the query fails with
   * `unavailable` and its connection is destroyed, not reused, so a database gone silent
   * fails queries in bounded time. Migrations are exempt (see postgresTimeouts).
   */
  readonly queryTimeoutMs?: number;
}

const INT8_OID = 20;
/** Any fixed number: every node takes this advisory lock while it migrates. */
const MIGRATION_LOCK = 0x5357_4244;

/**
 * int8 columns (seqs, epoch milliseconds) as JavaScript numbers instead of strings:
 * both stay far below 2^53. Scoped to this pool, not pg's global parsers.
 */
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8_OID && format !== 'binary') return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format);
  },
};

function quietPool(config: pg.PoolConfig): pg.Pool {
  const pool = new pg.Pool(config);
  // A client that loses its server (PostgreSQL restarted, network cut) emits 'error': on
  // the pool while idle, on itself while checked out between queries. Unhandled, either
  // would crash the node; the query in flight fails on its own and the next reconnects.
  pool.on('error', () => {});
  pool.on('connect', (client) => client.on('error', () => {}));
  return pool;
}

/** Kysely over a pool, with every failure to reach the database mapped to `unavailable`. */
function kyselyOver(pool: PostgresPool): Kysely<any> {
  return new Kysely<any>({ dialect: new OutageDialect(new CurrentSchemaPostgresDialect({ pool }), postgresDialect.isOutage) });
}

/**
 * Opens a PostgreSQL database and runs the modules' migrations. Many nodes may start at
 * once: the advisory lock lets one migrate while the others wait, then find nothing left to do.
 */
export async function openPostgresDatabase(
  options: PostgresOptions,
  modules: readonly ModuleMigrations[],
  migrateOptions: Omit<MigrateOptions, 'schema'> = {},
): Promise<Database> {
  const connection = {
    connectionString: options.url,
    types,
    connectionTimeoutMillis: 5_000,
    // Lets the kernel notice a dead peer on a connection that waits with nothing unanswered
    // (idle in the pool, or the migration lock's wait), where no query timer runs.
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
  };
  const pool = quietPool({
    ...connection,
    max: options.maxConnections ?? 10,
    ...postgresTimeouts(options.queryTimeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS),
  });
  const database = new KyselyDatabase(kyselyOver(new DiscardingPool(pool)), postgresDialect);
  // Migrations may rightly take long (an index over a large table): they run on a pool of
  // their own, without the timeouts, closed once they are done.
  const migrations = kyselyOver(quietPool(connection));
  // The lock is held on a connection of its own, so migrating never waits for it in a pool.
  const lock = new pg.Client(connection);
  lock.on('error', () => {});
  try {
    await lock.connect();
    // Keyed by schema too: nodes of one deployment wait for each other, other schemas do not.
    await lock.query('select pg_advisory_lock($1, hashtext(current_schema()))', [MIGRATION_LOCK]);
    const { rows } = await lock.query<{ schema: string }>('select current_schema() as schema');
    await migrate(migrations, postgresDialect, modules, { ...migrateOptions, schema: rows[0]!.schema });
  } catch (error) {
    // Kysely's destroy() ends the pool.
    await database.close().catch(() => {});
    throw error;
  } finally {
    await migrations.destroy().catch(() => {});
    // Ending the session releases the advisory lock.
    await lock.end().catch(() => {});
  }
  return database;
}

const postgresDialect: SqlDialect = {
  async lockChannels(trx, ids) {
    if (ids.length > 0) {
      await trx.selectFrom('channels').select('id').where('id', 'in', ids).orderBy('id').forUpdate().execute();
    }
  },
  isUniqueViolation: (error) => sqlState(error) === '23505',
  // SQLSTATE class 22: data exceptions (a NUL character in text, a number out of range).
  isDataError: (error) => /^22/.test(sqlState(error) ?? ''),
  isOutage(error) {
    if (typeof error !== 'object' || error === null) return false;
    const code = sqlState(error);
    if (code !== undefined) {
      // Node socket errors (ECONNREFUSED, ECONNRESET, ETIMEDOUT ...).
      if (/^E[A-Z]+$/.test(code)) return true;
      // SQLSTATE classes: 08 connection, 53 resources, 57P shutdown, 40 rollback (deadlock, serialization);
      // 57014 a statement cancelled (statement_timeout: too slow to answer in time, undone),
      // 25P03 a session ended for idling in a transaction (undone too).
      return /^(08|53|57P|40|57014|25P03)/.test(code);
    }
    // pg's query_timeout: no answer in time (a partition, or a server too slow to cancel).
    if (isQueryTimeout(error)) return true;
    const message = error instanceof Error ? error.message : '';
    return /Connection terminated|timeout exceeded when trying to connect|connection error|not queryable/i.test(message);
  },
  runRows: async (db, statement, rows) => (await db.executeQuery(CompiledQuery.raw(recordsetText(statement), [JSON.stringify(rows)]))).rows as never[],
  // One round trip, in autocommit, where a transaction around the statement took three
  // (`begin; set local`, the statement, `commit`).
  softRows: async (db, statement, rows) => (await db.executeQuery(CompiledQuery.raw(recordsetText(statement, true), [JSON.stringify(rows)]))).rows as never[],
  textSet: (values) => sql`select unnest(${values}::text[])`,
  // A round is transactions and round trips on a server every node shares: two nodes on
  // one PostgreSQL connected 3,000 subscribers in 1.5-1.6 s at 25 ms, 2.2-2.3 s at 5 ms.
  stormLingerMs: 25,
  fullText: {
    async createIndex(db) {
      await sql`create index events_search on events using gin (to_tsvector('simple', coalesce(text, ''))) where kind = 'message'`.execute(db);
    },
    async dropIndex(db) {
      await sql`drop index if exists events_search`.execute(db);
    },
    matches(alias, words) {
      // The same expression as the index's, so the index serves it.
      return sql<SqlBool>`to_tsvector('simple', coalesce(${sql.ref(`${alias}.text`)}, '')) @@ plainto_tsquery('simple', ${words.join(' ')})`;
    },
  },
};

function sqlState(error: unknown): string | undefined {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
}

/** Each RowsStatement's texts on PostgreSQL, plain and soft: its rows are one JSON parameter, read as a record set. */
const recordsetTexts = new WeakMap<RowsStatement, { plain: string; soft: string }>();

/**
 * The soft text joins the rows with a one-row set_config: `synchronous_commit` is off for
 * the statement's own (implicit) transaction, so its commit does not wait for the disk.
 * The function being volatile, the planner keeps the subquery and runs it, before the rows
 * it joins are written; with no rows there is no write, and no commit to wait for.
 */
function recordsetText(statement: RowsStatement, soft = false): string {
  let texts = recordsetTexts.get(statement);
  if (texts === undefined) {
    const columns = Object.entries(statement.columns).map(([name, type]) => `${quotedName(name)} ${type}`).join(', ');
    const rows = `jsonb_to_recordset($1::jsonb) as ${quotedName(statement.alias)}(${columns})`;
    texts = {
      plain: `${statement.before} ${rows} ${statement.after}`,
      soft: `${statement.before} ${rows} cross join (select set_config('synchronous_commit', 'off', true)) as soft_commit ${statement.after}`,
    };
    recordsetTexts.set(statement, texts);
  }
  return soft ? texts.soft : texts.plain;
}
