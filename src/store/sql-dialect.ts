import { type Expression, type Kysely, type RawBuilder, type SqlBool, type Transaction } from 'kysely';
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
   * runRows for soft state (users seen on connect, online status): the statement commits on
   * its own without waiting for the disk. A crash may lose the last few, never a message,
   * and the next durable commit makes them durable too (both databases write their log in
   * order). On PostgreSQL one round trip: the statement relaxes its own commit. On SQLite
   * the statements asked for in one tick share one transaction.
   */
  softRows<R>(db: Kysely<any>, statement: RowsStatement, rows: readonly RowValues[]): Promise<R[]>;
  /** Full-text search over the text of the log's messages. */
  readonly fullText: FullTextSearch;
  /**
   * Runs `statement` over a batch of rows and returns the rows it returned (on SQLite a row
   * repeated to make up a batch size may come back twice). Compiled here,
   * not by the query builder: the connect path's batched writes run every round, and
   * building a statement value by value cost as much as running it. Its text is made once
   * per statement (on SQLite, per batch size): SQLite binds the rows as VALUES, PostgreSQL
   * as one JSON parameter.
   */
  runRows<R>(db: Kysely<any>, statement: RowsStatement, rows: readonly RowValues[]): Promise<R[]>;
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

/** The columns of a RowsStatement's rows, by name, as the rows' fields of the same names. */
export type RowColumns = Readonly<Record<string, 'text' | 'bigint'>>;

/** A row of a RowsStatement: a value for each of its columns. */
export type RowValues = Readonly<Record<string, string | number | null>>;

/**
 * A statement that reads a batch of rows as a table: `before`, the rows as `alias` (with
 * `columns`), then `after`. Written once, as a module's constant (its texts are kept per
 * statement). A row may be written twice (SQLite repeats the last row to make up a batch
 * size, see runSqliteRows): it must be an upsert that a row repeated leaves as it was, and
 * a caller of what it returns must not count on each row coming back once.
 */
export interface RowsStatement {
  readonly before: string;
  readonly alias: string;
  readonly columns: RowColumns;
  readonly after: string;
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
