import type { PresenceRegistry } from './broker.js';
import type { FanOut } from './fan-out.js';
import type { Logger } from './logger.js';
import type { Session } from './session.js';
import type { ChannelId, PresenceAction, PresenceMember } from './types.js';

/**
 * Who is in which channel, across nodes: a user's sessions enter a channel's presence
 * when they subscribe and leave it when they unsubscribe or disconnect. The registry
 * (the broker's) counts sessions cluster-wide, so `join` and `leave` mark a user's first
 * and last session anywhere; each change goes to the channel's subscribers on every node.
 */
export class Presence {
  readonly #registry: PresenceRegistry;
  readonly #fanOut: FanOut;
  readonly #logger: Logger;

  constructor(options: { registry: PresenceRegistry; fanOut: FanOut; logger: Logger }) {
    this.#registry = options.registry;
    this.#fanOut = options.fanOut;
    this.#logger = options.logger;
  }

  /** Adds a user's session to the channel's presence, unless its subscription ended while that was under way. */
  async enter(session: Session, channel: ChannelId, subscription: { readonly active: boolean }, info?: unknown): Promise<void> {
    const action = await this.#registry.add(channel, session.principal.userId, session.id);
    if (subscription.active) {
      this.#announce(channel, action, session, info);
      return;
    }
    await this.#registry.remove(channel, session.principal.userId, session.id);
  }

  /** Removes the session from the channel's presence; a failure is logged, never thrown into an unsubscribe or disconnect. */
  async leave(session: Session, channel: ChannelId): Promise<void> {
    try {
      const action = await this.#registry.remove(channel, session.principal.userId, session.id);
      if (action) this.#announce(channel, action, session);
    } catch (error) {
      this.#logger.warn({ err: error, channel }, 'presence removal failed');
    }
  }

  list(channel: ChannelId): Promise<PresenceMember[]> {
    return this.#registry.list(channel);
  }

  /** `info`: what the app's subscribe hook attached to the subscription, on join and add. */
  #announce(channel: ChannelId, action: PresenceAction, session: Session, info?: unknown): void {
    const frame = { type: 'presence', channel, action, user: session.principal.userId, session: session.id, at: Date.now() } as const;
    this.#fanOut.broadcast(info === undefined ? frame : { ...frame, info });
  }
}
