import type { UserState, UserStatus } from '../../protocol/values.js';
import type { PresenceRegistry } from '../core/broker.js';
import { isUnavailable } from '../core/errors.js';
import type { UserId } from '../core/types.js';
import type { ChatStore } from './chat-store.js';

/**
 * The registry key under which every session of a user counts, across nodes. `~` cannot
 * start a channel id, so it never meets a real channel's presence.
 */
export const ONLINE_KEY = '~online';

/**
 * Users' states as chat shows them. Whether a user is online is the presence registry's
 * word (a session on any node), not the table's: a connect writes no status, so a connect
 * storm costs the database nothing for it, and a row a lost write left behind never shows
 * a user online. The table keeps what the registry cannot: a chosen `away` (ended by the
 * user's next return, UserStatusTracker) and when the user was last seen.
 */
export class UserStates {
  readonly #tables: ChatStore;
  readonly #presence: PresenceRegistry;

  constructor(tables: ChatStore, presence: PresenceRegistry) {
    this.#tables = tables;
    this.#presence = presence;
  }

  /** The users' states, leaving out users never seen. */
  async of(users: readonly UserId[]): Promise<UserState[]> {
    if (users.length === 0) return [];
    return (await this.orNull(users)).filter((state) => state !== null);
  }

  /**
   * As `of`, for what carries a state but is not about status (a profile push, a contact
   * added): while the registry cannot be reached, each user's status is `known` (what this
   * node last said of them), else offline, rather than a failure.
   */
  async ofOrKnown(users: readonly UserId[], known: (user: UserId) => UserStatus | undefined): Promise<UserState[]> {
    try {
      return await this.of(users);
    } catch (error) {
      if (!isUnavailable(error)) throw error;
      const stored = await this.#tables.userStates(users);
      return stored.map((state) => ({ ...state, status: known(state.user) ?? 'offline' }));
    }
  }

  /** Each user's state, or null for a user never seen (the connect caches' batched read). */
  async orNull(users: readonly UserId[]): Promise<(UserState | null)[]> {
    const [stored, online] = await Promise.all([this.#tables.statesOf(users), this.#presence.presentAmong(ONLINE_KEY, users)]);
    return stored.map((state) => state && withPresence(state, online.has(state.user)));
  }

  /** The user's contacts with their states, in id order. */
  async contactsOf(user: UserId): Promise<UserState[]> {
    const stored = await this.#tables.listContacts(user);
    const online = await this.#presence.presentAmong(ONLINE_KEY, stored.map((state) => state.user));
    return stored.map((state) => withPresence(state, online.has(state.user)));
  }
}

/** A stored state with the registry's word laid over it: online unless the user chose away; offline without a session, whatever the row says. */
export function withPresence(state: UserState, online: boolean): UserState {
  const status = online ? (state.status === 'away' ? 'away' : 'online') : 'offline';
  return status === state.status ? state : { ...state, status };
}
