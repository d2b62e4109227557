import { type Expression, type Kysely, type RawBuilder, type SqlBool, sql, type Transaction } from 'kysely';
import type { ChannelId } from '../core/types.js';
import type { LogTables } from './schema.js';

/**
 * What differs between the databases, as methods, so no module asks which database it
 * runs on. One implementation per database (sqlite-database.ts, postgres-database.ts).
 */
export interface SqlDialect {
  /**
   * Locks the channels' rows for the rest of the transaction, in id order, so checks made
   * after it (duplicate cids, edit targets, annotations) cannot race another node's
   * batch. SQLite needs nothing: its writers are serialised.
   */
  lockChannels(trx: Transaction<LogTables>, ids: readonly ChannelId[]): Promise<void>;
  isUniqueViolation(error: unknown): boolean;
  /** The database refused the data itself (an invalid character, a value too large). */
  isDataError(error: unknown): boolean;
  /**
   * The database could not be reached or gave up (connection lost or refused, shutting
   * down, overloaded, a transaction conflict worth a retry). The database handle's driver
   * turns these into `unavailable` for every query.
   */
  isOutage(error: unknown): boolean;
  /**
   * A transaction for soft state (users seen on connect, online status) that commits
   * without waiting for the disk: a crash may lose the last few, never a message, and the
   * next durable commit makes them durable too (both databases write their log in order).
   */
  softTransaction<DB, T>(db: Kysely<DB>, work: (trx: Kysely<DB>) => Promise<T>): Promise<T>;
  /** Full-text search over the text of the log's messages. */
  readonly fullText: FullTextSearch;
  /**
   * Rows handed over as one JSON parameter and read as a table (`alias`, with these
   * columns): a batch of any size is one statement text, compiled once, with no query
   * builder work per value (the connect path's batched writes).
   */
  jsonRows(rows: readonly object[], alias: string, columns: JsonColumns): RawBuilder<unknown>;
  /** Text values as a one-column set, for `x in (...)`: one parameter whatever their number. */
  textSet(values: readonly string[]): RawBuilder<unknown>;
  /**
   * How long a connect storm's batches linger on this database (ms): a batch starts at
   * least this long after the previous one of its kind. Every first connect waits for its
   * batch (its user is stored before the welcome), so a longer linger is a longer wait;
   * a shorter one makes more, smaller transactions.
   */
  readonly stormLingerMs: number;
}

/** The columns of `jsonRows`, by name, as the rows' fields of the same names. */
export type JsonColumns = Readonly<Record<string, 'text' | 'bigint'>>;

/**
 * A dialect's `jsonRows`, from the SQL it puts before and after the rows' JSON parameter.
 * That SQL is made once per set of columns (a module's constant) and alias: the connect
 * path writes such rows every round, and building the same column list each time cost
 * more than the rest of the statement.
 */
export function jsonRowsFrom(around: (columns: JsonColumns, alias: string) => { before: string; after: string }): SqlDialect['jsonRows'] {
  const made = new WeakMap<JsonColumns, Map<string, { before: RawBuilder<unknown>; after: RawBuilder<unknown> }>>();
  return (rows, alias, columns) => {
    let byAlias = made.get(columns);
    if (!byAlias) made.set(columns, (byAlias = new Map()));
    let text = byAlias.get(alias);
    if (!text) {
      const { before, after } = around(columns, alias);
      byAlias.set(alias, (text = { before: sql.raw(before), after: sql.raw(after) }));
    }
    return sql`${text.before}${JSON.stringify(rows)}${text.after}`;
  };
}

/** An identifier as SQL quotes it (both databases): the names here are code's, never input. */
export function quotedName(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * Whole-word, case-insensitive matching without stemming, so both databases find the
 * same messages: an FTS5 index kept by triggers on SQLite, a GIN index on a tsvector
 * expression on PostgreSQL.
 */
export interface FullTextSearch {
  /** Creates the index over `events` (in the migration of the module that searches). */
  createIndex(db: Kysely<unknown>): Promise<void>;
  dropIndex(db: Kysely<unknown>): Promise<void>;
  /** The condition on `events` rows (under `alias`) whose text holds every one of `words`. */
  matches(alias: string, words: readonly string[]): Expression<SqlBool>;
}
