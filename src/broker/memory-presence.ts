import type { PresenceRegistry } from '../core/broker.js';
import type { ChannelId, PresenceMember, SessionId, UserId } from '../core/types.js';

/** Presence kept in this process: channel -> user -> that user's sessions. */
export class MemoryPresence implements PresenceRegistry {
  readonly #channels = new Map<ChannelId, Map<UserId, Set<SessionId>>>();

  async add(channel: ChannelId, user: UserId, session: SessionId): Promise<'join' | 'add'> {
    let users = this.#channels.get(channel);
    if (!users) this.#channels.set(channel, (users = new Map()));
    let sessions = users.get(user);
    if (!sessions) users.set(user, (sessions = new Set()));
    sessions.add(session);
    return sessions.size === 1 ? 'join' : 'add';
  }

  async remove(channel: ChannelId, user: UserId, session: SessionId): Promise<'leave' | 'remove' | null> {
    const users = this.#channels.get(channel);
    const sessions = users?.get(user);
    if (!users || !sessions?.delete(session)) return null;
    if (sessions.size > 0) return 'remove';
    users.delete(user);
    if (users.size === 0) this.#channels.delete(channel);
    return 'leave';
  }

  async list(channel: ChannelId): Promise<PresenceMember[]> {
    const users = this.#channels.get(channel);
    if (!users) return [];
    return [...users].map(([user, sessions]) => ({ user, sessions: sessions.size }));
  }
}
