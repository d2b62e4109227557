import type { Auth } from './create-auth.js';
import { SwitchboardError } from '../core/errors.js';
import type { Principal } from '../core/types.js';
import type { Handlers } from '../edge/command-registry.js';

/** Credentials handed out through commands: connect tickets, and users the app's backend registers. */
export function authCommands(auth: Auth): Handlers {
  return {
    'ticket.create': async ({ principal }, input) => auth.tickets.issue(ticketHolder(principal, input)),
    'users.register': async (_call, { user, name, roles }) => {
      if (!auth.provisioner) {
        throw new SwitchboardError(
          'bad_request',
          'This server cannot sign user tokens: registering users needs auth "accounts", or auth "jwt" with jwt.secret.',
        );
      }
      return auth.provisioner.provision({ id: user, name, roles });
    },
  };
}

/** Users get tickets for themselves; the app's backend names the user a ticket is for. */
function ticketHolder(principal: Principal, input: { user?: string; name?: string; roles?: string[] }): Principal {
  if (principal.kind === 'user') {
    if (input.user !== undefined && input.user !== principal.userId) {
      throw new SwitchboardError('forbidden', 'A ticket is for yourself only.');
    }
    return principal;
  }
  if (input.user === undefined) throw new SwitchboardError('bad_request', 'Name the user the ticket is for: `user`.');
  return { kind: 'user', userId: input.user, name: input.name ?? input.user, roles: input.roles ?? [] };
}
