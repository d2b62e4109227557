import type { FastifyInstance } from 'fastify';
import { SwitchboardError } from '../../core/errors.js';

export interface Readiness {
  /** Resolves when every dependency answers; rejects naming the one that does not. */
  check(): Promise<void>;
}

/**
 * Longest /readyz waits for the readiness check. A database gone silent answers a query
 * only after `postgres.queryTimeoutMs` (30 s); a probe wants its answer in a few seconds.
 */
export const READINESS_TIMEOUT_MS = 2_000;

/** /healthz: the process is up. /readyz: it can serve (store and broker answer, not draining). */
export function registerHealthRoutes(app: FastifyInstance, readiness: Readiness): void {
  const check = boundedCheck(readiness, READINESS_TIMEOUT_MS);
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    try {
      await check();
      return { status: 'ready' };
    } catch (error) {
      const message = error instanceof SwitchboardError ? error.message : 'A dependency is not answering.';
      return reply.code(503).send({ status: 'unavailable', code: 'unavailable', message });
    }
  });
}

/**
 * The readiness check, given up on after `timeoutMs`. Probes that come while a check is
 * still waiting share it rather than start another: during a silent outage each would hold
 * a pool connection until the query timeout, taking them from the requests.
 */
function boundedCheck(readiness: Readiness, timeoutMs: number): () => Promise<void> {
  let inFlight: Promise<void> | null = null;
  return async () => {
    const checking = (inFlight ??= readiness.check().finally(() => {
      inFlight = null;
    }));
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
  };
}
