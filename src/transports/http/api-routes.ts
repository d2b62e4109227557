import type { FastifyInstance, FastifyRequest } from 'fastify';
import { BINDINGS, isServed } from '../../../protocol/bindings.js';
import { COMMAND_NAMES, COMMANDS } from '../../../protocol/commands.js';
import type { Logger } from '../../core/logger.js';
import { makeRoom } from '../../core/make-room.js';
import type { Store } from '../../core/store.js';
import type { Principal, UserId } from '../../core/types.js';
import type { Edge } from '../../edge/edge.js';
import { documentOnly, routeSchema } from './api-schemas.js';
import { httpErrorHandler } from './http-errors.js';
import { restInput } from './rest-input.js';

/** Who is asking, from the request's headers; throws SwitchboardError('unauthorized'). */
export type AuthenticateRequest = (request: FastifyRequest) => Promise<Principal>;

export interface ApiOptions {
  /** The command pipeline every wire shares. */
  readonly edge: Edge;
  /** Users are recorded on their first request, as /ws records them on connect. */
  readonly store: Pick<Store, 'upsertUser'>;
  readonly authenticate: AuthenticateRequest;
  readonly logger: Logger;
}

/**
 * The REST API under /api: one route per command that protocol/bindings.ts gives a REST
 * route, none written by hand. A request becomes the command's input (path segments,
 * then query or JSON body), runs through the edge pipeline like a /ws frame, and answers
 * with the binding's status. Every request is authenticated first, before its body is
 * even parsed: a caller without credentials learns nothing about the shapes the API accepts.
 *
 * @example
 *   await registerApi(app, { edge, store, logger, authenticate: (r) => authenticateRequest(r, authenticator) });
 */
export async function registerApi(app: FastifyInstance, options: ApiOptions): Promise<void> {
  await app.register(async (api) => {
    documentOnly(api);
    api.setErrorHandler(httpErrorHandler(options.logger));

    const principals = new WeakMap<FastifyRequest, Principal>();
    const recorded = new Set<UserId>();
    api.addHook('onRequest', async (request) => {
      const principal = await options.authenticate(request);
      if (principal.kind === 'user' && !recorded.has(principal.userId)) {
        await options.store.upsertUser({ id: principal.userId, name: principal.name, fillsIn: principal.nameFillsIn === true });
        // Bounded: a node serving many users writes again now and then, never without limit.
        makeRoom(recorded, 10_000);
        recorded.add(principal.userId);
      }
      principals.set(request, principal);
    });

    for (const name of COMMAND_NAMES) {
      const route = BINDINGS[name].rest;
      if (!isServed(route)) continue;
      api.route({
        method: route.method,
        url: route.path,
        schema: routeSchema(name, route),
        handler: async (request, reply) => {
          const input = restInput(COMMANDS[name].input, route, request);
          const result = await options.edge.pipeline.run(name, input, { principal: principals.get(request)!, session: null, wire: 'http' });
          const status = route.statusOf ? route.statusOf(result as never) : route.status;
          return status === 204 ? reply.code(204).send() : reply.code(status).send(result);
        },
      });
    }
  });
}
