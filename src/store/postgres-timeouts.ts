/**
 * How long a query may wait for PostgreSQL's answer by default. Generous: search over a
 * long history or a pruning round may take seconds; a chat node's queries take milliseconds.
 */
export const DEFAULT_QUERY_TIMEOUT_MS = 30_000;

/**
 * pg settings bounding how long a pool's queries and transactions may take, from one
 * number. Kept apart from the pg module, so the config schema can name the default.
 *
 * @example new pg.Pool({ connectionString, ...postgresTimeouts(30_000) })
 */
export function postgresTimeouts(queryTimeoutMs: number): {
  query_timeout: number;
  statement_timeout: number;
  idle_in_transaction_session_timeout: number;
} {
  return {
    // The client's own timer: the only one that fires when no byte comes back at all (a
    // partition holds the connection open, and the kernel would wait ~15 minutes).
    query_timeout: queryTimeoutMs,
    // The server cancels a slow statement a little before the client would give up, so a
    // database that is slow but reachable answers with an error: the statement is undone
    // and the connection kept, instead of a write that may still land after we gave up.
    statement_timeout: Math.max(1, Math.floor(queryTimeoutMs * 0.9)),
    // A transaction whose client went silent (its close lost in the partition) would hold
    // its row locks, channels other nodes append to, until the server's TCP gave up.
    idle_in_transaction_session_timeout: queryTimeoutMs,
  };
}
