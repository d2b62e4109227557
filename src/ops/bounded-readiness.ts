import { SwitchboardError } from '../core/errors.js';

export interface Readiness {
  /** Resolves when every dependency answers; rejects naming the one that does not. */
  check(): Promise<void>;
}

/**
 * Longest anyone waits for the readiness check. A database gone silent answers a query
 * only after `postgres.queryTimeoutMs` (30 s); a probe wants its answer in a few seconds.
 */
export const READINESS_TIMEOUT_MS = 2_000;

/**
 * A shared check this many timeouts old is left for a fresh one: a ping stuck on a dead
 * connection can wait out the whole query timeout (30 s), and must not keep a node that
 * answers again reported unready that long.
 */
const FRESH_CHECK_AFTER = 5;

/** Checks still waiting at most (stuck ones included): each may hold a pool connection. */
const MAX_CHECKS = 3;

/**
 * The readiness check, given up on after `timeoutMs`: what /readyz, gRPC Health and the
 * node reports all ask, so each answers within the same bound. Callers that come while a
 * check is still waiting share it rather than start another: during a silent outage each
 * would hold a pool connection until the query timeout, taking them from the requests.
 * Once the shared one has waited FRESH_CHECK_AFTER timeouts, the next caller starts anew,
 * while fewer than MAX_CHECKS wait.
 *
 * @example
 *   const readiness = boundedReadiness({ check: () => store.ping() });
 *   await readiness.check(); // resolves, or rejects within 2 s
 */
export function boundedReadiness(readiness: Readiness, timeoutMs = READINESS_TIMEOUT_MS): Readiness {
  let inFlight: { readonly done: Promise<void>; readonly since: number } | null = null;
  let waiting = 0;
  const stale = (shared: { readonly since: number }) =>
    performance.now() - shared.since >= timeoutMs * FRESH_CHECK_AFTER && waiting < MAX_CHECKS;
  return {
    async check() {
      if (!inFlight || stale(inFlight)) {
        const current: { done: Promise<void>; since: number } = { done: Promise.resolve(), since: performance.now() };
        waiting++;
        current.done = readiness.check().finally(() => {
          waiting--;
          if (inFlight === current) inFlight = null;
        });
        inFlight = current;
      }
      const checking = inFlight.done;
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_resolve, reject) => {
        timer = setTimeout(
          () => reject(new SwitchboardError('unavailable', `The database or the broker did not answer within ${timeoutMs / 1000} s.`)),
          timeoutMs,
        );
      });
      try {
        // race() subscribes to both: a check that fails after the timeout is not unhandled.
        await Promise.race([checking, late]);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
