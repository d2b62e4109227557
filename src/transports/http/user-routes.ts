import type { ApiApp, ApiContext } from './api-context.js';
import { errors, listQuery, updateUserBody, user, userPage, userParams } from './api-schemas.js';

const tags = ['users'];

/** Read and rename users. Registering one is `POST /api/users` (auth-routes.ts). */
export function registerUserRoutes(app: ApiApp, { hub, principal }: ApiContext): void {
  app.get(
    '/api/users',
    { schema: { tags, summary: 'Users, in id order', querystring: listQuery, response: { 200: userPage, ...errors(400) } } },
    async (request) => {
      const { limit, after } = request.query;
      const users = await hub.listUsers(principal(request), { limit, after });
      return { users, next: users.length === limit ? users.at(-1)!.id : null };
    },
  );

  app.get(
    '/api/users/:user',
    { schema: { tags, summary: 'A user', params: userParams, response: { 200: user, ...errors(400, 404) } } },
    async (request) => hub.getUser(principal(request), request.params.user),
  );

  app.patch(
    '/api/users/:user',
    {
      schema: {
        tags,
        summary: 'Rename a user (yourself; an API key or an admin: anyone)',
        params: userParams,
        body: updateUserBody,
        response: { 200: user, ...errors(400, 403, 404) },
      },
    },
    async (request) => hub.updateUser(principal(request), request.params.user, request.body),
  );
}
