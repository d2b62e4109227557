import type { PresenceRegistry } from '../core/broker.js';
import { MultiMap } from '../core/multimap.js';
import type { ChannelId, PresenceMember, SessionId, UserId } from '../core/types.js';

/** Presence kept in this process: channel -> user -> that user's sessions, and each session's hook info. */
export class MemoryPresence implements PresenceRegistry {
  readonly #channels = new Map<ChannelId, MultiMap<UserId, SessionId>>();
  /** channel -> session -> what the subscribe hook attached (only sessions that got something). */
  readonly #infos = new Map<ChannelId, Map<SessionId, unknown>>();

  async add(channel: ChannelId, user: UserId, session: SessionId, info?: unknown): Promise<'join' | 'add'> {
    let users = this.#channels.get(channel);
    if (!users) this.#channels.set(channel, (users = new MultiMap()));
    if (info !== undefined) {
      let infos = this.#infos.get(channel);
      if (!infos) this.#infos.set(channel, (infos = new Map()));
      infos.set(session, info);
    }
    return users.add(user, session) === 1 ? 'join' : 'add';
  }

  async remove(channel: ChannelId, user: UserId, session: SessionId): Promise<'leave' | 'remove' | null> {
    const users = this.#channels.get(channel);
    const left = users?.delete(user, session) ?? null;
    if (left === null) return null;
    const infos = this.#infos.get(channel);
    if (infos?.delete(session) && infos.size === 0) this.#infos.delete(channel);
    if (left > 0) return 'remove';
    if (users!.size === 0) this.#channels.delete(channel);
    return 'leave';
  }

  async count(channel: ChannelId): Promise<number> {
    return this.#channels.get(channel)?.size ?? 0;
  }

  async sessionsOf(channel: ChannelId, user: UserId): Promise<number> {
    return this.#channels.get(channel)?.count(user) ?? 0;
  }

  async list(channel: ChannelId): Promise<PresenceMember[]> {
    const users = this.#channels.get(channel);
    if (!users) return [];
    const infos = this.#infos.get(channel);
    return [...users.counts()].map(([user, sessions]) => {
      const info = infos && firstInfo(infos, users.get(user));
      return info === undefined ? { user, sessions } : { user, sessions, info };
    });
  }
}

/** The info of the user's earliest session that has one. */
function firstInfo(infos: ReadonlyMap<SessionId, unknown>, sessions: Iterable<SessionId>): unknown {
  for (const session of sessions) if (infos.has(session)) return infos.get(session);
  return undefined;
}
