import type { FastifyRequest } from 'fastify';
import type { Authenticator, Credentials } from '../../auth/authenticator.js';
import { SwitchboardError } from '../../core/errors.js';
import type { Principal } from '../../core/types.js';
import { presentedCredentials } from '../presented-credentials.js';

/**
 * What an HTTP request presents: `X-Switchboard-Key: <api key>`, `Authorization: Bearer
 * <token or api key>`, or in auth "open" `X-Switchboard-User: <name>`. Tokens are read
 * from headers only, never from the URL, and never logged.
 */
export function credentialsOf(request: Pick<FastifyRequest, 'headers'>): Credentials {
  return presentedCredentials((name) => header(request, name), 'Use "Authorization: Bearer <token>".');
}

/** The Principal behind a request, or throws `unauthorized`. */
export function authenticateRequest(request: Pick<FastifyRequest, 'headers'>, authenticator: Authenticator): Promise<Principal> {
  return authenticator.authenticate(credentialsOf(request));
}

/** Backend-only routes: an API key is required. */
export function assertServer(principal: Principal): void {
  if (principal.kind !== 'server') throw new SwitchboardError('forbidden', 'Only the app\'s backend (an API key) may do this.');
}

function header(request: Pick<FastifyRequest, 'headers'>, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
