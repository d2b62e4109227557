import { Delivery } from './delivery.js';
import { RecentEvents } from './recent-events.js';
import type { Session } from './session.js';
import type { Store } from './store.js';
import type { ChannelEvent, ChannelId, Seq } from './types.js';

/** A session's subscription to one channel on this node. */
export interface Subscriber {
  readonly session: Session;
  /** While true, live events are held in `buffer` until the catch-up read is sent. */
  catchingUp: boolean;
  buffer: ChannelEvent[];
  active: boolean;
  /** Whether presence events (join, leave ...) are sent to this subscriber. */
  readonly presence: boolean;
}

const HEAL_PAGE = 1000;
/** Events kept for resuming clients, and the audience from which keeping them pays. */
const RECENT_EVENTS = 128;
const RECENT_EVENTS_MIN_SUBSCRIBERS = 16;
const HEAL_RETRY_MS = 50;

/**
 * The live stream of one channel on this node. Hands every subscriber each seq once, in
 * order. Events may arrive from the broker late, twice or out of order: anything already
 * delivered is dropped, and a jump ahead is healed by reading the missing seqs from the
 * store before delivering further.
 */
export class ChannelFeed {
  readonly channel: ChannelId;
  readonly #subscribers = new Map<string, Subscriber>();
  /** How many subscribers want presence events; with none, presence fan-out is skipped. */
  #presenceSubscribers = 0;
  readonly ready: Promise<void>;
  #lastSeq: Seq = 0;
  /** A seq the store is known to have reached; heal up to it even if nothing arrives. */
  #target: Seq = 0;
  #isReady = false;
  #pending = new Map<Seq, ChannelEvent>();
  #recent: RecentEvents | null = null;
  #healing = false;
  #closed = false;
  readonly #store: Store;
  readonly #onError: (error: unknown) => void;
  readonly #onDelivered: ((event: ChannelEvent, recipients: ReadonlyMap<string, number>) => void) | undefined;

  constructor(
    channel: ChannelId,
    store: Store,
    onError: (error: unknown) => void,
    /** Told once per live event how many subscribers got it, per transport (for metrics). */
    onDelivered?: (event: ChannelEvent, recipients: ReadonlyMap<string, number>) => void,
  ) {
    this.channel = channel;
    this.#store = store;
    this.#onError = onError;
    this.#onDelivered = onDelivered;
    this.ready = this.#init();
  }

  get subscribers(): ReadonlyMap<string, Subscriber> {
    return this.#subscribers;
  }

  /** The highest seq delivered to live subscribers; everything up to it is in the store. */
  get lastSeq(): Seq {
    return this.#lastSeq;
  }

  async #init(): Promise<void> {
    const channel = await this.#store.getChannel(this.channel);
    this.#lastSeq = channel?.lastSeq ?? 0;
    this.#isReady = true;
    for (const seq of [...this.#pending.keys()]) if (seq <= this.#lastSeq) this.#pending.delete(seq);
    this.#drainPending();
  }

  offer(event: ChannelEvent): void {
    if (this.#closed) return;
    if (!this.#isReady) {
      this.#pending.set(event.seq, event);
      return;
    }
    if (event.seq <= this.#lastSeq) return;
    if (event.seq === this.#lastSeq + 1) {
      this.#deliver(event);
      this.#drainPending();
      return;
    }
    this.#pending.set(event.seq, event);
    void this.#heal();
  }

  /**
   * The store has reached `seq`: deliver everything up to it from the store. For a
   * broker that lost the newest events, after which no later event would reveal the gap.
   */
  catchUpTo(seq: Seq): void {
    if (this.#closed || seq <= this.#target) return;
    this.#target = seq;
    if (this.#isReady && seq > this.#lastSeq) void this.#heal();
  }

  close(): void {
    this.#closed = true;
    this.#pending.clear();
    this.#recent = null;
  }

  addSubscriber(id: string, subscriber: Subscriber): void {
    this.removeSubscriber(id);
    this.#subscribers.set(id, subscriber);
    if (subscriber.presence) this.#presenceSubscribers++;
  }

  removeSubscriber(id: string): void {
    const subscriber = this.#subscribers.get(id);
    if (!subscriber) return;
    this.#subscribers.delete(id);
    if (subscriber.presence) this.#presenceSubscribers--;
  }

  get hasPresenceSubscribers(): boolean {
    return this.#presenceSubscribers > 0;
  }

  /** Deliveries of seqs since+1 .. through from memory, or null when not all are held. */
  recentBetween(since: Seq, through: Seq): Delivery[] | null {
    return this.#recent?.between(since, through) ?? null;
  }

  /** Taken before a catch-up reads the store, and handed back with what it read. */
  get recentChanges(): number {
    return this.#recent?.changes ?? -1;
  }

  /** Events a catch-up read from the store, kept for the resuming clients that follow. */
  rememberRead(events: readonly ChannelEvent[], changesAtRead: number): void {
    this.#recentForAudience()?.prepend(events, this.#lastSeq, changesAtRead);
  }

  /** Kept only for channels with an audience large enough to resume in numbers. */
  #recentForAudience(): RecentEvents | null {
    if (this.#subscribers.size < RECENT_EVENTS_MIN_SUBSCRIBERS) return (this.#recent = null);
    return (this.#recent ??= new RecentEvents(RECENT_EVENTS));
  }

  #deliver(event: ChannelEvent): void {
    this.#lastSeq = event.seq;
    const recent = this.#recentForAudience();
    if (this.#subscribers.size === 0) return;
    const delivery = new Delivery({ type: 'event', event });
    recent?.push(event, delivery);
    const recipients = this.#onDelivered ? new Map<string, number>() : null;
    for (const subscriber of this.#subscribers.values()) {
      if (subscriber.catchingUp) subscriber.buffer.push(event);
      else {
        subscriber.session.sink.deliver(delivery);
        if (recipients) {
          const transport = subscriber.session.transport;
          recipients.set(transport, (recipients.get(transport) ?? 0) + 1);
        }
      }
    }
    if (recipients && recipients.size > 0) this.#onDelivered!(event, recipients);
  }

  #drainPending(): void {
    this.#drainContiguous();
    if (this.#needsHealing()) void this.#heal();
  }

  #needsHealing(): boolean {
    return !this.#closed && (this.#pending.size > 0 || this.#target > this.#lastSeq);
  }

  /** Reads the seqs between what was delivered and what arrived from the store. */
  async #heal(): Promise<void> {
    if (this.#healing) return;
    this.#healing = true;
    try {
      while (this.#needsHealing()) {
        const missing = await this.#store.readEvents(this.channel, { after: this.#lastSeq, limit: HEAL_PAGE });
        let progressed = false;
        for (const event of missing) {
          if (event.seq === this.#lastSeq + 1) {
            this.#pending.delete(event.seq);
            this.#deliver(event);
            progressed = true;
          }
        }
        this.#drainContiguous();
        if (!progressed && this.#pending.size === 0) {
          // The store holds nothing past lastSeq after all (the target was not for us to reach).
          this.#target = this.#lastSeq;
        } else if (!progressed) {
          // Seen on the broker but not yet readable: another node's commit is in flight.
          await new Promise((resolve) => setTimeout(resolve, HEAL_RETRY_MS));
        }
      }
    } catch (error) {
      this.#onError(error);
      if (this.#needsHealing()) setTimeout(() => void this.#heal(), HEAL_RETRY_MS * 4);
    } finally {
      this.#healing = false;
    }
  }

  #drainContiguous(): void {
    if (this.#pending.size === 0) return;
    let next = this.#pending.get(this.#lastSeq + 1);
    while (next) {
      this.#pending.delete(next.seq);
      this.#deliver(next);
      next = this.#pending.get(this.#lastSeq + 1);
    }
    for (const seq of this.#pending.keys()) if (seq <= this.#lastSeq) this.#pending.delete(seq);
  }
}
