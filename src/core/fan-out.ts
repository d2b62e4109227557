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
  #staleEvents = 0;

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
    options: { readonly presence: boolean; readonly since?: Seq; readonly log?: LogReader; readonly epoch?: number },
  ): { readonly subscriber: Subscriber; readonly live: Promise<Live> } {
    const feed = this.#feedFor(channel, options.log ?? this.#log, options.epoch ?? 0);
    const subscriber = feed.add(session, options);
    return { subscriber, live: feed.goLive(subscriber) };
  }

  /** This node's subscribers of a channel now (a copy: access rechecks end some while going through it). */
  subscribersOf(channel: ChannelId): Subscriber[] {
    const feed = this.#feeds.get(channel);
    return feed ? [...feed.subscribers.values()] : [];
  }

  /** The epoch of the channel's feed here (0: unknown), or undefined when nobody here subscribes. */
  epochOf(channel: ChannelId): number | undefined {
    return this.#feeds.get(channel)?.epoch;
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

  /**
   * An event this node committed in the channel's `epoch` (0: unknown): to the subscribers
   * here, then to the other nodes. False, as for `received`: the feed here is of an older epoch.
   */
  committed(event: ChannelEvent, epoch: number): boolean {
    const current = this.#offer(event, epoch);
    this.#broker.publish({ type: 'event', event, epoch });
    return current;
  }

  /**
   * Another node's committed event, of the channel's `epoch` (0: unknown). One of an older
   * epoch than the feed here (late from the broker: the channel was deleted and created
   * again since) is dropped: its seq means nothing in this epoch. False when the event is
   * of a newer epoch: the feed here streams a deleted epoch (its deletion not heard of
   * yet) and is the caller's to end; the event is not offered to it.
   */
  received(event: ChannelEvent, epoch: number): boolean {
    return this.#offer(event, epoch);
  }

  /** Events dropped for being of an older epoch than this node's feed of their channel. */
  get staleEvents(): number {
    return this.#staleEvents;
  }

  #offer(event: ChannelEvent, epoch: number): boolean {
    const feed = this.#feeds.get(event.channel);
    if (!feed) return true;
    // 0 on either side is not known (a message from a node that sends none): offered as before.
    if (epoch !== feed.epoch && epoch !== 0 && feed.epoch !== 0) {
      if (epoch > feed.epoch) return false;
      this.#staleEvents++;
      return true;
    }
    feed.offer(event);
    return true;
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

  #feedFor(id: ChannelId, log: LogReader, epoch: number): ChannelFeed {
    let feed = this.#feeds.get(id);
    if (!feed) {
      const observers = this.#observers;
      feed = new ChannelFeed(
        id,
        log,
        (error) => this.#logger.warn({ err: error, channel: id }, 'gap healing failed; retrying'),
        observers.any ? (event, recipients) => observers.notify((o) => o.delivered?.(event, recipients)) : undefined,
        epoch,
      );
      this.#feeds.set(id, feed);
      this.#broker.watch(id);
      observers.notify((o) => o.channelOccupied?.(id));
    }
    return feed;
  }
}
