import pg from 'pg';
import { Kysely, PostgresDialect, sql } from 'kysely';
import { SwitchboardError } from '../core/errors.js';
import { KyselyStore } from './kysely-store.js';
import type { Database } from './schema.js';

export interface PostgresOptions {
  /** `postgres://user:pass@host:port/db`; `?options=-c search_path=NAME` selects a schema. */
  readonly url: string;
  /** Connections per node. Group commit keeps appends to one connection at a time. */
  readonly maxConnections?: number;
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

/**
 * Opens a PostgreSQL store and migrates it. Many nodes may start at once: the advisory
 * lock lets one migrate while the others wait, then find nothing left to do.
 */
export async function openPostgresStore(options: PostgresOptions): Promise<KyselyStore> {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.maxConnections ?? 10,
    types,
    connectionTimeoutMillis: 5_000,
  });
  // A client that loses its server (PostgreSQL restarted, network cut) emits 'error': on
  // the pool while idle, on itself while checked out between queries. Unhandled, either
  // would crash the node; the query in flight fails on its own and the next reconnects.
  pool.on('error', () => {});
  pool.on('connect', (client) => client.on('error', () => {}));
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  const store = new KyselyStore(db, {
    name: 'postgres',
    softTransaction: (db, work) =>
      db.transaction().execute(async (trx) => {
        await sql`set local synchronous_commit = off`.execute(trx);
        return work(trx);
      }),
    isUniqueViolation: (error) =>
      typeof error === 'object' && error !== null && (error as { code?: unknown }).code === '23505',
    // SQLSTATE class 22: data exceptions (a NUL character in text, a number out of range).
    isDataError: (error) =>
      typeof error === 'object' && error !== null && /^22/.test(String((error as { code?: unknown }).code)),
    async lockChannels(trx, ids) {
      if (ids.length > 0) {
        await trx.selectFrom('channels').select('id').where('id', 'in', ids).orderBy('id').forUpdate().execute();
      }
    },
    // Kysely's destroy() already ends the pool.
    close: async () => {},
  });
  // The lock is held on a connection of its own, so migrating never waits for it in the pool.
  const lock = new pg.Client({ connectionString: options.url });
  lock.on('error', () => {});
  try {
    await lock.connect();
    // Keyed by schema too: nodes of one deployment wait for each other, other schemas do not.
    await lock.query('select pg_advisory_lock($1, hashtext(current_schema()))', [MIGRATION_LOCK]);
    const { rows } = await lock.query<{ schema: string }>('select current_schema() as schema');
    await store.migrate({ schema: rows[0]!.schema });
  } catch (error) {
    await store.close().catch(() => {});
    throw error;
  } finally {
    // Ending the session releases the advisory lock.
    await lock.end().catch(() => {});
  }
  return reportingOutages(store);
}

/**
 * The store, with every failure to reach PostgreSQL turned into `unavailable` (retry
 * later, nothing was changed) instead of an internal error: clients and /readyz then say
 * what is wrong. Other errors (bugs, constraint violations) pass through unchanged.
 */
function reportingOutages(store: KyselyStore): KyselyStore {
  return new Proxy(store, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        const result: unknown = value.apply(target, args);
        if (!(result instanceof Promise)) return result;
        return result.catch((error: unknown) => {
          if (!isOutage(error)) throw error;
          throw new SwitchboardError('unavailable', 'The database is unavailable; nothing was changed. Retry shortly.');
        });
      };
    },
  });
}

/** Connection failures, server shutdowns, overload, and transaction conflicts worth a retry. */
function isOutage(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') {
    // Node socket errors (ECONNREFUSED, ECONNRESET, ETIMEDOUT ...).
    if (/^E[A-Z]+$/.test(code)) return true;
    // SQLSTATE classes: 08 connection, 53 resources, 57P shutdown, 40 rollback (deadlock, serialization).
    return /^(08|53|57P|40)/.test(code);
  }
  const message = error instanceof Error ? error.message : '';
  return /Connection terminated|timeout exceeded when trying to connect|connection error|not queryable/i.test(message);
}
