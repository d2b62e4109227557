import type { Hub } from '../core/hub.js';
import type { HubObserver } from '../core/hub-observer.js';
import type { Session } from '../core/session.js';
import type { ChannelId, UserId } from '../core/types.js';

/**
 * This node's sessions and occupied channels, for the metrics gauges and the admin page
 * (who is connected, and whom to disconnect). Sessions are the hub's own registry; the
 * occupied channels are kept from hub hooks, so the hub needs no operations code.
 */
export class SessionDirectory {
  readonly #hub: Hub;
  readonly occupiedChannels = new Set<ChannelId>();

  constructor(hub: Hub) {
    this.#hub = hub;
  }

  observer(): HubObserver {
    return {
      channelOccupied: (channel) => this.occupiedChannels.add(channel),
      channelVacated: (channel) => this.occupiedChannels.delete(channel),
    };
  }

  get size(): number {
    return this.#hub.sessionCount;
  }

  sessions(): IterableIterator<Session> {
    return this.#hub.sessions();
  }

  /** Every session whose principal is named `user` (API keys included): an admin action, not the hot path. */
  sessionsOf(user: UserId): Session[] {
    return [...this.#hub.sessions()].filter((session) => session.principal.userId === user);
  }

  /** Sessions subscribed to a channel (a scan: for admin actions, not the hot path). */
  subscribersOf(channel: ChannelId): Session[] {
    return [...this.#hub.sessions()].filter((session) => session.channels.has(channel));
  }

  sessionsByTransport(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const session of this.#hub.sessions()) counts.set(session.transport, (counts.get(session.transport) ?? 0) + 1);
    return counts;
  }

  subscriptionCount(): number {
    let count = 0;
    for (const session of this.#hub.sessions()) count += session.channels.size;
    return count;
  }

  queuedBytes(): number {
    let bytes = 0;
    for (const session of this.#hub.sessions()) bytes += session.sink.queuedBytes ?? 0;
    return bytes;
  }
}
