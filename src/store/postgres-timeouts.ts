/**
 * How long a query may wait for PostgreSQL's answer by default. Generous: search over a
 * long history or a pruning round may take seconds; a chat node's queries take milliseconds.
 */
export const DEFAULT_QUERY_TIMEOUT_MS = 30_000;

/**
 * pg settings bounding how long a pool's queries may wait, from one
 * number. Kept apart from the pg module, so the config schema can name the default.
 *
 * @example new pg.Pool({ connectionString, ...postgresTimeouts(30_000) })
 */
export function postgresTimeouts(queryTimeoutMs: number): { query_timeout: number } {
  return {
    // The client's own timer: the only one that fires when no byte comes back at all (a
    // partition holds the connection open, and the kernel would wait ~15 minutes).
    query_timeout: queryTimeoutMs,
  };
}
