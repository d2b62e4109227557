import type { PresenceRegistry } from '../core/broker.js';
import { MultiMap } from '../core/multimap.js';
import type { ChannelId, PresenceMember, SessionId, UserId } from '../core/types.js';

/** Presence kept in this process: channel -> user -> that user's sessions. */
export class MemoryPresence implements PresenceRegistry {
  readonly #channels = new Map<ChannelId, MultiMap<UserId, SessionId>>();

  async add(channel: ChannelId, user: UserId, session: SessionId): Promise<'join' | 'add'> {
    let users = this.#channels.get(channel);
    if (!users) this.#channels.set(channel, (users = new MultiMap()));
    return users.add(user, session) === 1 ? 'join' : 'add';
  }

  async remove(channel: ChannelId, user: UserId, session: SessionId): Promise<'leave' | 'remove' | null> {
    const users = this.#channels.get(channel);
    const left = users?.delete(user, session) ?? null;
    if (left === null) return null;
    if (left > 0) return 'remove';
    if (users!.size === 0) this.#channels.delete(channel);
    return 'leave';
  }

  async count(channel: ChannelId): Promise<number> {
    return this.#channels.get(channel)?.size ?? 0;
  }

  async list(channel: ChannelId): Promise<PresenceMember[]> {
    const users = this.#channels.get(channel);
    if (!users) return [];
    return [...users.counts()].map(([user, sessions]) => ({ user, sessions }));
  }
}
