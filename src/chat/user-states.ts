import type { UserState, UserStatus } from '../../protocol/values.js';
import type { PresenceRegistry } from '../core/broker.js';
import type { UserId } from '../core/types.js';
import type { ChatStore } from './chat-store.js';

/**
 * The registry key under which every session of a user counts, across nodes. `~` cannot
 * start a channel id, so it never meets a real channel's presence.
 */
export const ONLINE_KEY = '~online';

/**
 * Users' states as chat shows them. Whether a user is online is the presence registry's
 * word (a session on any node), not the table's: a connect writes nothing, so a connect
 * storm costs the database nothing for status. The table keeps what the registry cannot:
 * a chosen `away`, and when the user was last seen (written when they go offline).
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
    const [stored, online] = await Promise.all([this.#tables.userStates(users), this.#presence.presentAmong(ONLINE_KEY, users)]);
    return stored.map((state) => withPresence(state, online.has(state.user)));
  }

  /** Each user's state, or null for a user never seen (the connect caches' batched read). */
  async orNull(users: readonly UserId[]): Promise<(UserState | null)[]> {
    const [stored, online] = await Promise.all([this.#tables.statesOf(users), this.#presence.presentAmong(ONLINE_KEY, users)]);
    return stored.map((state) => state && withPresence(state, online.has(state.user)));
  }

  /** The user's contacts with their states, in id order. */
  async contactsOf(user: UserId): Promise<UserState[]> {
    const stored = await this.#tables.listContacts(user);
    const online = await this.#presence.presentAmong(
      ONLINE_KEY,
      stored.map((state) => state.user),
    );
    return stored.map((state) => withPresence(state, online.has(state.user)));
  }
}

/**
 * A stored state with the registry's word laid over it: online unless the user chose away,
 * offline without a session whatever the row says (a dead node's users before the reaper).
 */
export function withPresence(state: UserState, online: boolean): UserState {
  const status: UserStatus = online ? (state.status === 'away' ? 'away' : 'online') : 'offline';
  return status === state.status ? state : { ...state, status };
}
