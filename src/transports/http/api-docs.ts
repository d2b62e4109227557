import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod';
import { packageVersion } from '../../package-root.js';
import { SECURITY_SCHEMES } from './api-schemas.js';

/**
 * OpenAPI 3.1 written from the protocol's command contracts (api-schemas.ts), served at
 * /openapi.json and browsable at /docs. Register before the API routes: the document is
 * built from routes added afterwards.
 */
export async function registerApiDocs(app: FastifyInstance): Promise<void> {
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Switchboard API',
        version: packageVersion(),
        description:
          'REST API of a Switchboard node. Authenticate with `Authorization: Bearer <token or API key>`, ' +
          '`X-Switchboard-Key: <API key>`, or in auth mode "open" `X-Switchboard-User: <name>`. ' +
          'Every error is `{code, message}` with the codes of docs/protocol.md. Each route runs one command of ' +
          'the protocol (its operationId), exactly as the same command does over /ws and gRPC.',
      },
      components: { securitySchemes: SECURITY_SCHEMES },
      security: [{ bearer: [] }, { apiKey: [] }, { openUser: [] }],
    },
    // The Pusher HTTP API (/apps/...) is Pusher's, documented by Pusher; only ours is listed.
    transform: (document) =>
      document.url.startsWith('/apps/') ? { schema: { hide: true }, url: document.url } : jsonSchemaTransform(document),
    transformObject: jsonSchemaTransformObject,
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}
