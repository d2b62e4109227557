import type { FastifyInstance } from 'fastify';
import { type AdminRouteOptions, registerAdminRoutes } from './admin-routes.js';
import type { Metrics } from './metrics.js';

export interface OpsRouteOptions extends AdminRouteOptions {
  readonly metrics: Metrics;
  /** Serve /metrics here (behind an API key, or keyless on loopback in open mode); false when it has a port of its own. */
  readonly metricsHere: boolean;
}

/** `/metrics` (Prometheus text) and the admin console at `/admin`. */
export function registerOpsRoutes(app: FastifyInstance, options: OpsRouteOptions): void {
  const { access, metrics } = options;
  if (options.metricsHere) {
    app.get('/metrics', async (request, reply) => {
      await access.scrape(request);
      const { contentType, body } = await metrics.scrape();
      return reply.type(contentType).send(body);
    });
  }
  registerAdminRoutes(app, options);
}
