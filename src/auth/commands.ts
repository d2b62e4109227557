import type { Auth } from './create-auth.js';
import { SwitchboardError } from '../core/errors.js';
import type { Hub } from '../core/hub.js';
import type { Principal } from '../core/types.js';
import type { EdgeModule } from '../edge/command-registry.js';
import { type BanNotice, bannedError } from './ban-list.js';

/** What ends a banned user's sessions (the `close` notice's reason and the wire's close reason). */
const BANNED_REASON = 'banned';
/** The module name of auth's notices to its other nodes. */
const AUTH_MODULE = 'auth';

/**
 * Auth's commands: connect tickets, users the app's backend registers, bans, and the
 * refresh of a live session's credential. Bans and refreshes act on sessions, so the
 * module is handed the hub: it refuses a banned user's new sessions, ends their sessions
 * on this node when a ban is made here or on another node, and reloads the bans whenever
 * the broker may have lost a notice.
 */
export function authCommands(auth: Auth): EdgeModule {
  let attached: Hub | null = null;
  const hub = (): Hub => {
    if (!attached) throw new Error('The auth module was not attached to a hub.');
    return attached;
  };
  return {
    attach(node) {
      attached = node;
      node.observe({
        // Checked as the session registers, so a ban arriving meanwhile cannot miss it.
        sessionOpening(session) {
          if (session.principal.kind === 'user' && auth.bans.has(session.principal.userId)) {
            throw bannedError(session.principal.userId);
          }
        },
        notice(module, body) {
          if (module !== AUTH_MODULE) return;
          const notice = body as BanNotice;
          auth.bans.apply(notice);
          if (notice.kind === 'ban') node.endSessionsOf(notice.user, BANNED_REASON);
        },
        brokerResync() {
          auth.bans.load().then(
            (banned) => {
              for (const user of banned) node.endSessionsOf(user, BANNED_REASON);
            },
            () => {
              // The store is down: the next resync tries again; notices keep the list meanwhile.
            },
          );
        },
      });
    },
    commands: {
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
      'users.ban': async (_call, { user, reason }) => {
        const ban = await auth.bans.ban(user, reason ?? null);
        // Told before ending them here: the other nodes start at once.
        hub().sendNotice(AUTH_MODULE, { kind: 'ban', user } satisfies BanNotice);
        hub().endSessionsOf(user, BANNED_REASON);
        return ban;
      },
      'users.unban': async (_call, { user }) => {
        await auth.bans.unban(user);
        hub().sendNotice(AUTH_MODULE, { kind: 'unban', user } satisfies BanNotice);
        return null;
      },
      'auth.refresh': async ({ session }, { token }) => {
        const refreshed = await auth.authenticator.authenticate({ token });
        // The hub refuses a credential of another user (or an API key) for this session.
        hub().refresh(session!, refreshed);
        return { user: refreshed.userId, expiresAt: refreshed.expiresAt ?? null };
      },
    },
  };
}

/** Users get tickets for themselves; the app's backend names the user a ticket is for. */
function ticketHolder(principal: Principal, input: { user?: string; name?: string; roles?: string[] }): Principal {
  if (principal.kind === 'user') {
    if (input.user !== undefined && input.user !== principal.userId) {
      throw new SwitchboardError('forbidden', 'A ticket is for yourself only.');
    }
    // A ticket carries the user's principal, expiry included: the session it opens ends with the token.
    return principal;
  }
  if (input.user === undefined) throw new SwitchboardError('bad_request', 'Name the user the ticket is for: `user`.');
  // The app's backend vouches for its user: no credential of theirs expires (a ban ends it).
  // Without a name the id stands in, and only fills in (a rename stays).
  const holder: Principal = { kind: 'user', userId: input.user, name: input.name ?? input.user, roles: input.roles ?? [] };
  return input.name === undefined ? { ...holder, nameFillsIn: true } : holder;
}
