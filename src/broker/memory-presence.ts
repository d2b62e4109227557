import type { PresenceRegistry, PresenceSlice } from '../core/broker.js';
import { MultiMap } from '../core/multimap.js';
import type { ChannelId, PresenceMember, SessionId, UserId } from '../core/types.js';

/** Presence kept in this process: channel -> user -> that user's sessions, and each session's hook info. */
export class MemoryPresence implements PresenceRegistry {
  readonly #channels = new Map<ChannelId, MultiMap<UserId, SessionId>>();
  /** channel -> session -> what the subscribe hook attached (only sessions that got something). */
  readonly #infos = new Map<ChannelId, Map<SessionId, unknown>>();
  /**
   * Each channel's users in id order, sorted when a page is first asked for and kept in
   * order by every join and leave after that (a binary search and a splice): a channel
   * nobody pages costs nothing here, and a page never sorts a channel twice.
   */
  readonly #sorted = new Map<ChannelId, UserId[]>();

  async add(channel: ChannelId, user: UserId, session: SessionId, info?: unknown): Promise<'join' | 'add'> {
    let users = this.#channels.get(channel);
    if (!users) this.#channels.set(channel, (users = new MultiMap()));
    if (info !== undefined) {
      let infos = this.#infos.get(channel);
      if (!infos) this.#infos.set(channel, (infos = new Map()));
      infos.set(session, info);
    }
    if (users.add(user, session) > 1) return 'add';
    const sorted = this.#sorted.get(channel);
    if (sorted) {
      const at = firstAfter(sorted, user);
      // A session added twice counts once, and its user is listed once.
      if (sorted[at - 1] !== user) sorted.splice(at, 0, user);
    }
    return 'join';
  }

  async remove(channel: ChannelId, user: UserId, session: SessionId): Promise<'leave' | 'remove' | null> {
    const users = this.#channels.get(channel);
    const left = users?.delete(user, session) ?? null;
    if (left === null) return null;
    const infos = this.#infos.get(channel);
    if (infos?.delete(session) && infos.size === 0) this.#infos.delete(channel);
    if (left > 0) return 'remove';
    const sorted = this.#sorted.get(channel);
    if (sorted) {
      // The user sits just before where an id greater than theirs would go.
      const at = firstAfter(sorted, user) - 1;
      if (sorted[at] === user) sorted.splice(at, 1);
    }
    if (users!.size === 0) {
      this.#channels.delete(channel);
      this.#sorted.delete(channel);
    }
    return 'leave';
  }

  async count(channel: ChannelId): Promise<number> {
    return this.#channels.get(channel)?.size ?? 0;
  }

  async sessionsOf(channel: ChannelId, user: UserId): Promise<number> {
    return this.#channels.get(channel)?.count(user) ?? 0;
  }

  async presentAmong(channel: ChannelId, users: readonly UserId[]): Promise<Set<UserId>> {
    const members = this.#channels.get(channel);
    return new Set(members ? users.filter((user) => members.count(user) > 0) : []);
  }

  async page(channel: ChannelId, after: UserId | undefined, limit: number): Promise<PresenceSlice> {
    const users = this.#channels.get(channel);
    if (!users) return { members: [], more: false, users: 0 };
    let sorted = this.#sorted.get(channel);
    if (!sorted) this.#sorted.set(channel, (sorted = [...users.keys()].sort(byId)));
    const start = after === undefined ? 0 : firstAfter(sorted, after);
    const infos = this.#infos.get(channel);
    const members = sorted.slice(start, start + limit).map((user): PresenceMember => {
      const sessions = users.count(user);
      const info = infos && firstInfo(infos, users.get(user));
      return info === undefined ? { user, sessions } : { user, sessions, info };
    });
    return { members, more: start + limit < sorted.length, users: users.size };
  }
}

/** Code-unit order: ids are ASCII, so it is byte order too, as Redis sorts them. */
function byId(a: UserId, b: UserId): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Where the first id greater than `after` sits in the sorted list (binary search). */
function firstAfter(sorted: readonly UserId[], after: UserId): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (sorted[middle]! <= after) low = middle + 1;
    else high = middle;
  }
  return low;
}

/** The info of the user's earliest session that has one. */
function firstInfo(infos: ReadonlyMap<SessionId, unknown>, sessions: Iterable<SessionId>): unknown {
  for (const session of sessions) if (infos.has(session)) return infos.get(session);
  return undefined;
}
