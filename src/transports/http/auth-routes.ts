import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Auth } from '../../auth/create-auth.js';
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from '../../auth/passwords.js';
import { SwitchboardError } from '../../core/errors.js';
import { USER_ID_PATTERN } from '../../core/names.js';
import type { Principal } from '../../core/types.js';
import { KeyedBuckets } from '../../edge/token-bucket.js';
import { assertServer, authenticateRequest, credentialsOf } from './request-auth.js';

const userId = z.string().regex(USER_ID_PATTERN, 'a user id is 1-64 of A-Z a-z 0-9 _ . @ -');
const password = z.string().min(MIN_PASSWORD_LENGTH).max(MAX_PASSWORD_LENGTH);
const name = z.string().min(1).max(200);
const roles = z.array(z.string().min(1).max(64)).max(32);

const registerBody = z.strictObject({ username: userId, password, name: name.optional() });
const loginBody = z.strictObject({ username: userId, password: z.string().max(MAX_PASSWORD_LENGTH) });
const refreshBody = z.strictObject({ refreshToken: z.string().min(1).max(200) });
const ticketBody = z.strictObject({ user: userId.optional(), name: name.optional(), roles: roles.optional() });
const userBody = z.strictObject({ id: userId, name: name.optional(), roles: roles.optional() });

export interface AuthRoutesOptions {
  readonly auth: Auth;
  /** Register / login / refresh attempts per minute from one IP. */
  readonly attemptsPerMinute: number;
}

/**
 * The auth endpoints:
 * - `GET /api/auth/config`: the auth mode, so a sign-in page knows what to ask for
 * - `POST /api/auth/register|login|refresh|logout` (auth "accounts")
 * - `POST /api/tickets`: a single-use connect ticket for `/ws?ticket=` and `/sse?ticket=`
 * - `POST /api/users`: the app's backend registers a user and gets a token and its inbox
 */
export function registerAuthRoutes(app: FastifyInstance, options: AuthRoutesOptions): void {
  const { auth } = options;
  const limiter = new KeyedBuckets({ perSecond: options.attemptsPerMinute / 60, burst: options.attemptsPerMinute });
  const throttle = (request: FastifyRequest) => {
    if (!limiter.take(request.ip)) {
      throw new SwitchboardError('rate_limited', 'Too many attempts from your address; wait a minute.');
    }
  };
  const accounts = () => {
    if (!auth.accounts) {
      throw new SwitchboardError('not_found', `Built-in accounts are off: the auth mode is "${auth.authenticator.mode}".`);
    }
    return auth.accounts;
  };

  /** What a sign-in page needs to know: which form to show. */
  app.get('/api/auth/config', async () => ({
    mode: auth.authenticator.mode,
    registration: auth.accounts !== null && auth.openRegistration,
  }));

  app.post('/api/auth/register', async (request, reply) => {
    const service = accounts();
    throttle(request);
    if (!auth.openRegistration) {
      const credentials = credentialsOf(request);
      if (Object.keys(credentials).length === 0) {
        throw new SwitchboardError('forbidden', 'Registration is closed; the app\'s backend creates users.');
      }
      assertServer(await auth.authenticator.authenticate(credentials));
    }
    const body = parse(registerBody, request.body);
    const signedIn = await service.register({ userId: body.username, password: body.password, name: body.name });
    return reply.code(201).send(signedIn);
  });

  app.post('/api/auth/login', async (request) => {
    const service = accounts();
    throttle(request);
    const body = parse(loginBody, request.body);
    return service.login(body.username, body.password);
  });

  app.post('/api/auth/refresh', async (request) => {
    const service = accounts();
    throttle(request);
    return service.refresh(parse(refreshBody, request.body).refreshToken);
  });

  app.post('/api/auth/logout', async (request, reply) => {
    const service = accounts();
    await service.logout(parse(refreshBody, request.body).refreshToken);
    return reply.code(204).send();
  });

  app.post('/api/tickets', async (request, reply) => {
    const principal = await authenticateRequest(request, auth.authenticator);
    const body = parse(ticketBody, request.body ?? {});
    const holder = ticketHolder(principal, body);
    return reply.code(201).send(await auth.tickets.issue(holder));
  });

  app.post('/api/users', async (request, reply) => {
    assertServer(await authenticateRequest(request, auth.authenticator));
    if (!auth.provisioner) {
      throw new SwitchboardError(
        'bad_request',
        'This server cannot sign user tokens: POST /api/users needs auth "accounts", or auth "jwt" with jwt.secret.',
      );
    }
    const provisioned = await auth.provisioner.provision(parse(userBody, request.body));
    return reply.code(provisioned.created ? 201 : 200).send(provisioned);
  });
}

/** Users get tickets for themselves; the app's backend names the user a ticket is for. */
function ticketHolder(principal: Principal, body: z.infer<typeof ticketBody>): Principal {
  if (principal.kind === 'user') {
    if (body.user !== undefined && body.user !== principal.userId) {
      throw new SwitchboardError('forbidden', 'A ticket is for yourself only.');
    }
    return principal;
  }
  if (body.user === undefined) throw new SwitchboardError('bad_request', 'Name the user the ticket is for: `user`.');
  return { kind: 'user', userId: body.user, name: body.name ?? body.user, roles: body.roles ?? [] };
}

function parse<T>(schema: z.ZodType<T>, value: unknown): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const where = issue.path.length > 0 ? issue.path.join('.') : 'body';
  throw new SwitchboardError('bad_request', `Invalid ${where}: ${issue.message}.`);
}
