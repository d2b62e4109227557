import type { Credentials } from '../auth/authenticator.js';
import { SwitchboardError } from '../core/errors.js';

/**
 * The credentials a request presents, read alike on HTTP headers and gRPC metadata:
 * `x-switchboard-key: <api key>`, `authorization: Bearer <token or api key>`, or in auth
 * "open" `x-switchboard-user: <name>`. The authenticator decides what each is worth.
 *
 * `get` reads one value by lower-case name; `bearerHint` is the `unauthorized` message
 * for a malformed authorization value, in the transport's own words.
 *
 * @example
 *   presentedCredentials((name) => header(request, name), 'Use "Authorization: Bearer <token>".');
 */
export function presentedCredentials(get: (name: string) => string | undefined, bearerHint: string): Credentials {
  const apiKey = get('x-switchboard-key');
  if (apiKey !== undefined) return { apiKey };
  const authorization = get('authorization');
  if (authorization !== undefined) {
    const match = /^Bearer +(\S+)\s*$/i.exec(authorization);
    if (!match) throw new SwitchboardError('unauthorized', bearerHint);
    return { token: match[1]! };
  }
  const user = get('x-switchboard-user');
  return user === undefined ? {} : { user };
}
