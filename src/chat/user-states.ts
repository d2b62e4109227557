import type { UserState } from '../../protocol/values.js';
import type { PresenceRegistry } from '../core/broker.js';
import type { UserId } from '../core/types.js';
import type { ChatStore } from './chat-store.js';

/**
 * The registry key under which every session of a user counts, across nodes. `~` cannot
 * start a channel id, so it never meets a real channel's presence.
 */
export const ONLINE_KEY = '~online';

/**
 * Users' states as chat shows them. A user with a session on any node is online, or away
 * if they chose it: the presence registry's word, not the table's, so a connect writes
 * nothing and a connect storm costs the database nothing for status. A user without one
 * is as the table says: offline once their last disconnect is written (with when they
 * were last seen), or what they set without a session (`status.set` over REST, a bot).
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

/** A stored state with the registry's word laid over it: with a session, online unless the user chose away. */
export function withPresence(state: UserState, online: boolean): UserState {
  if (!online || state.status === 'online' || state.status === 'away') return state;
  return { ...state, status: 'online' };
}
