import type { PostgresCursor, PostgresPool, PostgresPoolClient, PostgresQueryResult } from 'kysely';

/** pg's error when a query's answer does not come within `query_timeout`; it has no code. */
const QUERY_TIMEOUT = 'Query read timeout';

/** A query gave up waiting for its answer: pg's timeout, or a query refused after one on its connection. */
export function isQueryTimeout(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith(QUERY_TIMEOUT);
}

/**
 * A pg pool, as Kysely takes it, that destroys a client once a query on it timed out
 * (pg's `query_timeout`) instead of taking it back. pg stops waiting but leaves the query
 * active on the client: put back, the client would hold every later query behind an
 * answer that may never come (brianc/node-postgres#3399). Destroyed, its socket closes at
 * once and the pool opens a fresh connection for the next query.
 *
 * @example new PostgresDialect({ pool: new DiscardingPool(new pg.Pool({ query_timeout: 30_000 })) })
 */
export class DiscardingPool implements PostgresPool {
  readonly #inner: PostgresPool;
  /** One per pg client: Kysely keys its connections by the client it is handed. */
  readonly #clients = new WeakMap<PostgresPoolClient, DiscardingClient>();

  constructor(inner: PostgresPool) {
    this.#inner = inner;
  }

  async connect(): Promise<PostgresPoolClient> {
    const client = await this.#inner.connect();
    let wrapped = this.#clients.get(client);
    if (!wrapped) this.#clients.set(client, (wrapped = new DiscardingClient(client)));
    return wrapped;
  }

  end(): Promise<void> {
    return this.#inner.end();
  }
}

class DiscardingClient implements PostgresPoolClient {
  readonly #inner: PostgresPoolClient;
  #timedOut = false;

  constructor(inner: PostgresPoolClient) {
    this.#inner = inner;
  }

  query<R>(sql: string, parameters: ReadonlyArray<unknown>): Promise<PostgresQueryResult<R>>;
  query<R>(cursor: PostgresCursor<R>): PostgresCursor<R>;
  query<R>(statement: string | PostgresCursor<R>, parameters: ReadonlyArray<unknown> = []): Promise<PostgresQueryResult<R>> | PostgresCursor<R> {
    // Cursors are not configured in our dialect; passed on as they are.
    if (typeof statement !== 'string') return this.#inner.query(statement);
    // Behind the stuck query it would only wait out a timeout of its own: a transaction's
    // rollback fails at once instead, and Kysely then discards the connection too.
    if (this.#timedOut) return Promise.reject(new Error(`${QUERY_TIMEOUT} earlier on this connection; it is being discarded`));
    return this.#inner.query<R>(statement, parameters).catch((error: unknown) => {
      if (isQueryTimeout(error)) this.#timedOut = true;
      throw error;
    });
  }

  release(destroy?: boolean): void {
    // pg-pool ends a client released with a truthy value; with a query active, pg destroys its socket.
    this.#inner.release(destroy || this.#timedOut);
  }
}
