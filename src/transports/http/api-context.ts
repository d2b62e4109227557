import type { FastifyBaseLogger, FastifyInstance, FastifyRequest, RawServerDefault } from 'fastify';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Hub } from '../../core/hub.js';
import type { Principal } from '../../core/types.js';

/** Who is asking, from the request's headers; throws SwitchboardError('unauthorized'). */
export type AuthenticateRequest = (request: FastifyRequest) => Promise<Principal>;

/** The Fastify instance the API routes are registered on: zod schemas validate and document. */
export type ApiApp = FastifyInstance<RawServerDefault, IncomingMessage, ServerResponse, FastifyBaseLogger, ZodTypeProvider>;

export interface ApiContext {
  readonly hub: Hub;
  /** The principal the API's onRequest hook authenticated. */
  principal(request: FastifyRequest): Principal;
}
