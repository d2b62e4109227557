import type {
  CompiledQuery,
  DatabaseConnection,
  DatabaseIntrospector,
  Dialect,
  DialectAdapter,
  Driver,
  Kysely,
  QueryCompiler,
  QueryResult,
  TransactionSettings,
} from 'kysely';
import { SwitchboardError } from '../core/errors.js';

/**
 * A Kysely dialect whose driver answers every failure to reach the database with
 * `SwitchboardError('unavailable')`, whichever module's query it was: the connection (or
 * the pool's attempt at one), each query, and the statements that begin, commit and roll
 * back transactions. Clients are told to retry and /readyz says what is wrong, instead of
 * an internal error. Other errors (constraint violations, refused data, bugs) pass
 * through unchanged, so the store can still tell them apart.
 *
 * @example new Kysely({ dialect: new OutageDialect(new PostgresDialect({ pool }), isOutage) })
 */
export class OutageDialect implements Dialect {
  readonly #inner: Dialect;
  readonly #isOutage: (error: unknown) => boolean;

  constructor(inner: Dialect, isOutage: (error: unknown) => boolean) {
    this.#inner = inner;
    this.#isOutage = isOutage;
  }

  createDriver(): Driver {
    return new OutageDriver(this.#inner.createDriver(), this.#isOutage);
  }

  createQueryCompiler(): QueryCompiler {
    return this.#inner.createQueryCompiler();
  }

  createAdapter(): DialectAdapter {
    return this.#inner.createAdapter();
  }

  createIntrospector(db: Kysely<any>): DatabaseIntrospector {
    return this.#inner.createIntrospector(db);
  }
}

const OUTAGE_MESSAGE = 'The database is unavailable; retry shortly.';

/** Maps a driver's error to `unavailable` when `isOutage` says it is one; any other error as it is. */
export function outageMapper(isOutage: (error: unknown) => boolean): (error: unknown) => unknown {
  return (error) => (isOutage(error) ? new SwitchboardError('unavailable', OUTAGE_MESSAGE) : error);
}

/** The driver's connection, with its queries' outages mapped. */
class OutageConnection implements DatabaseConnection {
  readonly inner: DatabaseConnection;
  readonly #map: (error: unknown) => unknown;

  constructor(inner: DatabaseConnection, map: (error: unknown) => unknown) {
    this.inner = inner;
    this.#map = map;
  }

  async executeQuery<R>(compiledQuery: CompiledQuery): Promise<QueryResult<R>> {
    try {
      return await this.inner.executeQuery<R>(compiledQuery);
    } catch (error) {
      throw this.#map(error);
    }
  }

  async *streamQuery<R>(compiledQuery: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult<R>> {
    try {
      yield* this.inner.streamQuery<R>(compiledQuery, chunkSize);
    } catch (error) {
      throw this.#map(error);
    }
  }
}

/**
 * Wraps a driver: connections it hands out are OutageConnections (one per inner
 * connection, kept while the inner one lives), and the inner driver always gets its own
 * connection back (a pool releases by a private handle).
 */
class OutageDriver implements Driver {
  readonly #inner: Driver;
  readonly #wrapped = new WeakMap<DatabaseConnection, OutageConnection>();
  readonly #map: (error: unknown) => unknown;
  readonly savepoint?: Driver['savepoint'];
  readonly rollbackToSavepoint?: Driver['rollbackToSavepoint'];
  readonly releaseSavepoint?: Driver['releaseSavepoint'];

  constructor(inner: Driver, isOutage: (error: unknown) => boolean) {
    this.#inner = inner;
    this.#map = outageMapper(isOutage);
    // Optional in Kysely's contract: offered only when the inner driver has them.
    if (inner.savepoint) this.savepoint = (c, name, compile) => this.#guard(inner.savepoint!(unwrap(c), name, compile));
    if (inner.rollbackToSavepoint) {
      this.rollbackToSavepoint = (c, name, compile) => this.#guard(inner.rollbackToSavepoint!(unwrap(c), name, compile));
    }
    if (inner.releaseSavepoint) {
      this.releaseSavepoint = (c, name, compile) => this.#guard(inner.releaseSavepoint!(unwrap(c), name, compile));
    }
  }

  init(): Promise<void> {
    return this.#guard(this.#inner.init());
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    const connection = await this.#guard(this.#inner.acquireConnection());
    let wrapped = this.#wrapped.get(connection);
    if (!wrapped) this.#wrapped.set(connection, (wrapped = new OutageConnection(connection, this.#map)));
    return wrapped;
  }

  beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    return this.#guard(this.#inner.beginTransaction(unwrap(connection), settings));
  }

  commitTransaction(connection: DatabaseConnection): Promise<void> {
    return this.#guard(this.#inner.commitTransaction(unwrap(connection)));
  }

  rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    return this.#guard(this.#inner.rollbackTransaction(unwrap(connection)));
  }

  releaseConnection(connection: DatabaseConnection): Promise<void> {
    return this.#guard(this.#inner.releaseConnection(unwrap(connection)));
  }

  destroy(): Promise<void> {
    return this.#inner.destroy();
  }

  async #guard<T>(work: Promise<T>): Promise<T> {
    try {
      return await work;
    } catch (error) {
      throw this.#map(error);
    }
  }
}

function unwrap(connection: DatabaseConnection): DatabaseConnection {
  return connection instanceof OutageConnection ? connection.inner : connection;
}
