import type { FastifyError, FastifyInstance, FastifyRequest } from 'fastify';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Chat } from '../../core/chat.js';
import { SwitchboardError } from '../../core/errors.js';
import type { Hub } from '../../core/hub.js';
import type { Logger } from '../../core/logger.js';
import type { Store } from '../../core/store.js';
import type { Principal, UserId } from '../../core/types.js';
import { PrincipalRateLimiter } from '../principal-rate-limiter.js';
import type { ApiContext, AuthenticateRequest } from './api-context.js';
import { registerChannelRoutes } from './channel-routes.js';
import { registerChatRoutes } from './chat-routes.js';
import { httpErrorHandler } from './http-errors.js';
import { registerMessageRoutes } from './message-routes.js';
import { registerUserRoutes } from './user-routes.js';
import type { Edge } from '../../edge/edge.js';

export interface ApiOptions {
  /** The command pipeline every wire shares. */
  readonly edge: Edge;
  readonly hub: Hub;
  /** Users are recorded on their first request, as /ws records them on connect. */
  readonly store: Pick<Store, 'upsertUser'>;
  readonly authenticate: AuthenticateRequest;
  readonly logger: Logger;
  /** The chat features (contacts, read state, reactions, search ...), when enabled. */
  readonly chat?: Chat | null;
  /** Requests per second (and burst) one user may make: the WebSocket's message rate. Unset: no limit. */
  readonly limits?: { readonly messagesPerSecond: number; readonly messageBurst: number };
}

/**
 * The REST API under /api (channels, members, presence, messages, users, server events).
 * Registered as its own Fastify context so the zod compilers and the auth hook apply to
 * these routes only. Every request is authenticated before its body is even validated:
 * a caller without credentials learns nothing about the shapes the API accepts.
 *
 * @example
 *   await registerApi(app, { hub, logger, authenticate: (r) => authenticateRequest(r, authenticator) });
 */
export async function registerApi(app: FastifyInstance, options: ApiOptions): Promise<void> {
  await app.register(async (api) => {
    api.setValidatorCompiler(validatorCompiler);
    api.setSerializerCompiler(serializerCompiler);
    const fallback = httpErrorHandler(options.logger);
    api.setErrorHandler((error: FastifyError, request, reply) => {
      if (error.validation) return reply.code(400).send(validationFailure(error).toJSON());
      return fallback(error, request, reply);
    });

    const principals = new WeakMap<FastifyRequest, Principal>();
    const recorded = new Set<UserId>();
    const { limits } = options;
    const rate = limits ? new PrincipalRateLimiter({ perSecond: limits.messagesPerSecond, burst: limits.messageBurst, what: 'request rate' }) : null;
    api.addHook('onRequest', async (request) => {
      const principal = await options.authenticate(request);
      rate?.check(principal);
      if (principal.kind === 'user' && !recorded.has(principal.userId)) {
        await options.store.upsertUser({ id: principal.userId, name: principal.name });
        // Bounded: a node serving many users writes again now and then, never without limit.
        if (recorded.size >= 10_000) recorded.clear();
        recorded.add(principal.userId);
      }
      principals.set(request, principal);
    });
    const context: ApiContext = {
      hub: options.hub,
      principal(request) {
        const principal = principals.get(request);
        if (!principal) throw new SwitchboardError('unauthorized');
        return principal;
      },
    };
    const typed = api.withTypeProvider<ZodTypeProvider>();
    registerChannelRoutes(typed, context);
    registerMessageRoutes(typed, context);
    registerUserRoutes(typed, context);
    if (options.chat) registerChatRoutes(typed, context, options.chat);
  });
}

/** `bad_request` naming the first field that failed, e.g. "Invalid body.text: expected string". */
function validationFailure(error: FastifyError): SwitchboardError {
  const issue = error.validation![0]!;
  const path = issue.instancePath.split('/').filter(Boolean).join('.');
  const where = [error.validationContext ?? 'request', path].filter(Boolean).join('.');
  return new SwitchboardError('bad_request', `Invalid ${where}: ${issue.message ?? 'not accepted'}.`);
}
