import type { FastifyInstance } from 'fastify';
import { SwitchboardError } from '../../core/errors.js';
import type { Readiness } from '../../ops/bounded-readiness.js';


/** /healthz: the process is up. /readyz: it can serve (store and broker answer, not draining). */
export function registerHealthRoutes(app: FastifyInstance, readiness: Readiness): void {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    try {
      await readiness.check();
      return { status: 'ready' };
    } catch (error) {
      const message = error instanceof SwitchboardError ? error.message : 'A dependency is not answering.';
      return reply.code(503).send({ status: 'unavailable', code: 'unavailable', message });
    }
  });
}
