import { SwitchboardError } from '../core/errors.js';
import { USER_ID_PATTERN } from '../core/names.js';
import type { Principal } from '../core/types.js';
import type { Authenticator, Credentials } from './authenticator.js';

/** Shared by every principal without roles: one array fewer per connection. */
const NO_ROLES: readonly string[] = Object.freeze([]);

/** Development mode: a client names itself. Listening beyond loopback is refused elsewhere. */
export class OpenAuthenticator implements Authenticator {
  readonly mode = 'open';

  async authenticate(credentials: Credentials): Promise<Principal> {
    const user = credentials.user;
    if (user === undefined) throw new SwitchboardError('unauthorized', 'Name yourself: pass `user` (open mode).');
    if (!USER_ID_PATTERN.test(user)) {
      throw new SwitchboardError('bad_request', 'A user name is 1-64 characters of letters, digits, _ . @ -.');
    }
    // The name is only the id: it never overwrites a profile the user set (users.update).
    return { kind: 'user', userId: user, name: user, roles: NO_ROLES, nameFillsIn: true };
  }
}
