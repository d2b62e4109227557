import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { userId } from '../../../protocol/values.js';
import type { Auth } from '../../auth/create-auth.js';
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from '../../auth/passwords.js';
import { SwitchboardError } from '../../core/errors.js';
import { KeyedBuckets } from '../../edge/token-bucket.js';
import { countedAddress } from '../counted-address.js';
import { parseInput } from '../../edge/validation.js';
import { documentOnly } from './api-schemas.js';
import { assertServer, credentialsOf } from './request-auth.js';

const registerBody = z.strictObject({
  username: userId,
  password: z.string().min(MIN_PASSWORD_LENGTH).max(MAX_PASSWORD_LENGTH),
  name: z.string().min(1).max(200).optional(),
});
const loginBody = z.strictObject({ username: userId, password: z.string().max(MAX_PASSWORD_LENGTH) });
const refreshBody = z.strictObject({ refreshToken: z.string().min(1).max(200) });

export interface AuthRoutesOptions {
  readonly auth: Auth;
  /** Register / login / refresh attempts per minute from one IP. */
  readonly attemptsPerMinute: number;
}

/**
 * The credential exchanges that happen before there is a principal, so they are routes of
 * their own rather than commands:
 * - `GET /api/auth/config`: the auth mode, so a sign-in page knows what to ask for
 * - `POST /api/auth/register|login|refresh|logout` (auth "accounts"), throttled per address
 * Connect tickets and users registered by the app's backend are the commands
 * `ticket.create` (`POST /api/tickets`) and `users.register` (`POST /api/users`).
 */
export function registerAuthRoutes(app: FastifyInstance, options: AuthRoutesOptions): void {
  const { auth } = options;
  const limiter = new KeyedBuckets({ perSecond: options.attemptsPerMinute / 60, burst: options.attemptsPerMinute });
  const throttle = (request: FastifyRequest) => {
    // An IPv6 client is its /64: it may use any address in it.
    if (!limiter.take(countedAddress(request.ip))) {
      throw new SwitchboardError('rate_limited', 'Too many attempts from your address; wait a minute.');
    }
  };
  const accounts = () => {
    if (!auth.accounts) {
      throw new SwitchboardError('not_found', `Built-in accounts are off: the auth mode is "${auth.authenticator.mode}".`);
    }
    return auth.accounts;
  };
  const schema = (summary: string, body?: z.ZodType) => ({ tags: ['auth'], summary, security: [], ...(body && { body }) });

  void app.register(async (routes) => {
    // Bodies are checked below, after the throttle, so a flood of malformed attempts still counts.
    documentOnly(routes);

    routes.get('/api/auth/config', { schema: schema('The auth mode and whether anyone may register: what a sign-in page shows') }, async () => ({
      mode: auth.authenticator.mode,
      registration: auth.accounts !== null && auth.openRegistration,
    }));

    routes.post(
      '/api/auth/register',
      { schema: schema('Creates an account (open registration, or with an API key) and signs it in', registerBody) },
      async (request, reply) => {
        const service = accounts();
        throttle(request);
        if (!auth.openRegistration) {
          const credentials = credentialsOf(request);
          if (Object.keys(credentials).length === 0) {
            throw new SwitchboardError('forbidden', "Registration is closed; the app's backend creates users.");
          }
          assertServer(await auth.authenticator.authenticate(credentials));
        }
        const body = parseInput(registerBody, request.body);
        return reply.code(201).send(await service.register({ userId: body.username, password: body.password, name: body.name }));
      },
    );

    routes.post('/api/auth/login', { schema: schema('Signs in: an access token and a refresh token', loginBody) }, async (request) => {
      const service = accounts();
      throttle(request);
      const body = parseInput(loginBody, request.body);
      return service.login(body.username, body.password);
    });

    routes.post(
      '/api/auth/refresh',
      { schema: schema('Trades a refresh token for a new pair; the old one stops working', refreshBody) },
      async (request) => {
        const service = accounts();
        throttle(request);
        return service.refresh(parseInput(refreshBody, request.body).refreshToken);
      },
    );

    routes.post('/api/auth/logout', { schema: schema("Revokes the refresh token's log-in", refreshBody) }, async (request, reply) => {
      await accounts().logout(parseInput(refreshBody, request.body).refreshToken);
      return reply.code(204).send();
    });
  });
}
