import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod';
import { packageVersion } from '../../package-root.js';

/**
 * OpenAPI 3.1 written from the zod schemas the routes validate with, served at
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
          'Every error is `{code, message}` with the codes of docs/protocol.md.',
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'A user token or an API key.' },
          apiKey: { type: 'apiKey', in: 'header', name: 'X-Switchboard-Key' },
          openUser: { type: 'apiKey', in: 'header', name: 'X-Switchboard-User', description: 'Auth mode "open" only.' },
        },
      },
      security: [{ bearer: [] }, { apiKey: [] }, { openUser: [] }],
      tags: [
        { name: 'channels', description: 'Channels, members and presence' },
        { name: 'messages', description: 'Publish, history, edit, delete, batch' },
        { name: 'users', description: 'User profiles' },
        { name: 'server', description: 'For the app\'s backend (API key)' },
      ],
    },
    // The Pusher HTTP API (/apps/...) is Pusher's, documented by Pusher; only ours is listed.
    transform: (document) =>
      document.url.startsWith('/apps/') ? { schema: { hide: true }, url: document.url } : jsonSchemaTransform(document),
    transformObject: jsonSchemaTransformObject,
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}
