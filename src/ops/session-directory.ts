import type { HubObserver } from '../core/hub-observer.js';
import { MultiMap } from '../core/multimap.js';
import type { Session } from '../core/session.js';
import type { ChannelId, SessionId, UserId } from '../core/types.js';

/**
 * This node's sessions and occupied channels as the hub reports them, for the metrics
 * gauges and the admin page (who is connected, and whom to disconnect). Kept from hub
 * observer hooks, so the hub needs no operations code of its own.
 */
export class SessionDirectory {
  readonly #sessions = new Map<SessionId, Session>();
  readonly #byUser = new MultiMap<UserId, Session>();
  readonly occupiedChannels = new Set<ChannelId>();

  observer(): HubObserver {
    return {
      sessionOpened: (session) => {
        this.#sessions.set(session.id, session);
        this.#byUser.add(session.principal.userId, session);
      },
      sessionClosed: (session) => {
        this.#sessions.delete(session.id);
        this.#byUser.delete(session.principal.userId, session);
      },
      channelOccupied: (channel) => this.occupiedChannels.add(channel),
      channelVacated: (channel) => this.occupiedChannels.delete(channel),
    };
  }

  get size(): number {
    return this.#sessions.size;
  }

  sessions(): IterableIterator<Session> {
    return this.#sessions.values();
  }

  sessionsOf(user: UserId): readonly Session[] {
    return [...this.#byUser.get(user)];
  }

  /** Sessions subscribed to a channel (a scan: for admin actions, not the hot path). */
  subscribersOf(channel: ChannelId): Session[] {
    return [...this.#sessions.values()].filter((session) => session.channels.has(channel));
  }

  sessionsByTransport(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const session of this.#sessions.values()) counts.set(session.transport, (counts.get(session.transport) ?? 0) + 1);
    return counts;
  }

  subscriptionCount(): number {
    let count = 0;
    for (const session of this.#sessions.values()) count += session.channels.size;
    return count;
  }

  queuedBytes(): number {
    let bytes = 0;
    for (const session of this.#sessions.values()) bytes += session.sink.queuedBytes ?? 0;
    return bytes;
  }
}
