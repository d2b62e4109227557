import type { Broker } from './broker.js';
import { ChannelFeed, type Live, type Subscriber } from './channel-feed.js';
import { Delivery } from './delivery.js';
import type { Observers } from './hub-observer.js';
import type { Logger } from './logger.js';
import type { Session } from './session.js';
import type { LogReader } from './store.js';
import type { ChannelEvent, ChannelId, EphemeralEvent, Seq, SessionId } from './types.js';

export interface FanOutOptions {
  /** Where the feeds of durable channels read (others get theirs with `subscribe`). */
  readonly log: LogReader;
  readonly broker: Broker;
  readonly observers: Observers;
  readonly logger: Logger;
}

/**
 * Gets every event to the subscribers that should have it, on every node: one feed per
 * channel with subscribers here (which heals gaps and catches resuming subscribers up),
 * committed events and channel signals relayed through the broker, and the broker's
 * traffic handed to the feeds here.
 */
export class FanOut {
  readonly #feeds = new Map<ChannelId, ChannelFeed>();
  readonly #log: LogReader;
  readonly #broker: Broker;
  readonly #observers: Observers;
  readonly #logger: Logger;

  constructor(options: FanOutOptions) {
    this.#log = options.log;
    this.#broker = options.broker;
    this.#observers = options.observers;
    this.#logger = options.logger;
  }

  /**
   * Adds the session to the channel's feed here. `live` resolves with the seq it is live
   * at, once a resuming subscriber (`since`) has been sent what it missed.
   */
  subscribe(
    session: Session,
    channel: ChannelId,
    options: { readonly presence: boolean; readonly since?: Seq; readonly log?: LogReader },
  ): { readonly subscriber: Subscriber; readonly live: Promise<Live> } {
    const feed = this.#feedFor(channel, options.log ?? this.#log);
    const subscriber = feed.add(session, options);
    return { subscriber, live: feed.goLive(subscriber) };
  }

  /** This node's subscribers of a channel now (a copy: access rechecks end some while going through it). */
  subscribersOf(channel: ChannelId): Subscriber[] {
    const feed = this.#feeds.get(channel);
    return feed ? [...feed.subscribers.values()] : [];
  }

  /** How many sessions here subscribe to the channel. */
  subscriberCount(channel: ChannelId): number {
    return this.#feeds.get(channel)?.subscribers.size ?? 0;
  }

  /** Whether this subscriber is still the session's subscription to the channel. */
  isCurrent(subscriber: Subscriber): boolean {
    return this.#feeds.get(subscriber.channel)?.subscribers.get(subscriber.session.id) === subscriber;
  }

  /** Ends the session's subscription (only `which`, when given); the last subscriber's leaving closes the feed. */
  unsubscribe(session: SessionId, channel: ChannelId, which?: Subscriber): Subscriber | null {
    const feed = this.#feeds.get(channel);
    const removed = feed?.remove(session, which) ?? null;
    if (feed && removed && feed.subscribers.size === 0) {
      feed.close();
      this.#feeds.delete(channel);
      this.#broker.unwatch(channel);
      this.#observers.notify((o) => o.channelVacated?.(channel));
    }
    return removed;
  }

  /** An event this node committed: to the subscribers here, then to the other nodes. */
  committed(event: ChannelEvent): void {
    this.#feeds.get(event.channel)?.offer(event);
    this.#broker.publish({ type: 'event', event });
  }

  /** Another node's committed event. */
  received(event: ChannelEvent): void {
    this.#feeds.get(event.channel)?.offer(event);
  }

  /** A live-only signal to the channel's subscribers on every node (`except`: its sender). */
  broadcast(event: EphemeralEvent, except: SessionId | null = null): void {
    this.deliverHere(event, except);
    this.#broker.publish({ type: 'ephemeral', event });
  }

  /** Hands a signal to this node's subscribers of its channel (presence only to those who want it). */
  deliverHere(event: EphemeralEvent, except: SessionId | null = null): void {
    const feed = this.#feeds.get(event.channel);
    const isPresence = event.type === 'presence' || event.type === 'presenceBatch' || event.type === 'occupancy';
    if (!feed || (isPresence && !feed.hasPresenceSubscribers)) return;
    const delivery = new Delivery(event, except);
    for (const subscriber of feed.subscribers.values()) {
      if (subscriber.session.id === except || (isPresence && !subscriber.presence)) continue;
      subscriber.session.sink.deliver(delivery);
    }
  }

  /** Brings feeds up to the store's position (null: every feed): the broker may have lost the newest events. */
  async resync(channel: ChannelId | null): Promise<void> {
    for (const id of channel === null ? [...this.#feeds.keys()] : [channel]) {
      try {
        await this.#feeds.get(id)?.resync();
      } catch (error) {
        this.#logger.warn({ err: error, channel: id }, 'resync failed; the next one retries');
      }
    }
  }

  #feedFor(id: ChannelId, log: LogReader): ChannelFeed {
    let feed = this.#feeds.get(id);
    if (!feed) {
      const observers = this.#observers;
      feed = new ChannelFeed(
        id,
        log,
        (error) => this.#logger.warn({ err: error, channel: id }, 'gap healing failed; retrying'),
        observers.any ? (event, recipients) => observers.notify((o) => o.delivered?.(event, recipients)) : undefined,
      );
      this.#feeds.set(id, feed);
      this.#broker.watch(id);
      observers.notify((o) => o.channelOccupied?.(id));
    }
    return feed;
  }
}
