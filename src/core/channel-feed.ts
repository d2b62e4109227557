import { Delivery } from './delivery.js';
import { SwitchboardError } from './errors.js';
import { RecentEvents } from './recent-events.js';
import type { Session } from './session.js';
import type { LogReader } from './store.js';
import type { ChannelEvent, ChannelId, Seq } from './types.js';

/** A session's subscription to one channel on this node, as others may see it. */
export interface Subscriber {
  readonly session: Session;
  readonly channel: ChannelId;
  /** False once unsubscribed: nothing more is sent, and a catch-up under way stops. */
  readonly active: boolean;
  /** Whether presence events (join, leave ...) are sent to this subscriber. */
  readonly presence: boolean;
}

/**
 * Where a subscription went live. `truncatedFrom`: its `since` was older than what the
 * channel keeps (pruned, out of the ring, or never kept), so the events from `since` + 1
 * to `truncatedFrom` - 1 were not sent.
 */
export interface Live {
  readonly seq: Seq;
  readonly truncatedFrom?: Seq;
}

/** The feed's own record of a subscriber: only the feed changes it. */
interface SubscriberState extends Subscriber {
  active: boolean;
  /** Resume point; while set, live events are held in `buffer` until the catch-up has sent what came before. */
  since: Seq | undefined;
  buffer: ChannelEvent[];
}

const HEAL_PAGE = 1000;
const CATCH_UP_PAGE = 500;
/** Events kept for resuming clients, and the audience from which keeping them pays. */
const RECENT_EVENTS = 128;
const RECENT_EVENTS_MIN_SUBSCRIBERS = 16;
const HEAL_RETRY_MS = 50;

/**
 * The live stream of one channel on this node, and the one owner of its subscribers'
 * state. Hands every subscriber each seq once, in order. Events may arrive from the
 * broker late, twice or out of order: anything already delivered is dropped, and a jump
 * ahead is healed by reading the missing seqs from the store before delivering further.
 * A subscriber that resumes is sent what it missed (from memory or the store) while its
 * live events are held back, then goes live with no gap and no duplicate.
 */
export class ChannelFeed {
  readonly channel: ChannelId;
  /** The channel's generation this feed streams (0: not known); a newer one gets a feed of its own. */
  readonly epoch: number;
  readonly #subscribers = new Map<string, SubscriberState>();
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
  readonly #log: LogReader;
  readonly #onError: (error: unknown) => void;
  readonly #onDelivered: ((event: ChannelEvent, recipients: ReadonlyMap<string, number>) => void) | undefined;

  constructor(
    channel: ChannelId,
    log: LogReader,
    onError: (error: unknown) => void,
    /** Told once per live event how many subscribers got it, per transport (for metrics). */
    onDelivered?: (event: ChannelEvent, recipients: ReadonlyMap<string, number>) => void,
    epoch = 0,
  ) {
    this.channel = channel;
    this.epoch = epoch;
    this.#log = log;
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

  get hasPresenceSubscribers(): boolean {
    return this.#presenceSubscribers > 0;
  }

  async #init(): Promise<void> {
    this.#lastSeq = await this.#log.lastSeq(this.channel);
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

  /** Compares the feed with the store's position and heals what the broker lost. */
  async resync(): Promise<void> {
    this.catchUpTo(await this.#log.lastSeq(this.channel));
  }

  close(): void {
    this.#closed = true;
    this.#pending.clear();
    this.#recent = null;
  }

  /**
   * Adds a session (replacing an earlier subscriber of it). With `since`, its live events
   * are held back until `goLive` has sent what it missed; without, it is live at once.
   */
  add(session: Session, options: { readonly presence: boolean; readonly since?: Seq }): Subscriber {
    this.remove(session.id);
    const subscriber: SubscriberState = {
      session,
      channel: this.channel,
      active: true,
      presence: options.presence,
      since: options.since,
      buffer: [],
    };
    this.#subscribers.set(session.id, subscriber);
    if (subscriber.presence) this.#presenceSubscribers++;
    return subscriber;
  }

  /** Removes the session's subscriber (only `which`, when given); returns it, or null when it was not there. */
  remove(sessionId: string, which?: Subscriber): Subscriber | null {
    const subscriber = this.#subscribers.get(sessionId);
    if (!subscriber || (which && subscriber !== which)) return null;
    subscriber.active = false;
    this.#subscribers.delete(sessionId);
    if (subscriber.presence) this.#presenceSubscribers--;
    return subscriber;
  }

  /**
   * Resolves with the seq the subscriber is live at. A resuming subscriber is first sent
   * every event after its `since`, in order; a subscriber removed meanwhile is sent nothing more.
   */
  async goLive(subscriber: Subscriber): Promise<Live> {
    // Every subscriber is made by `add`, so it is the feed's own record.
    const state = subscriber as SubscriberState;
    await this.ready;
    if (state.since === undefined) return { seq: this.#lastSeq };
    if (state.since > this.#lastSeq) await this.#assertReached(state.since);
    return this.#catchUp(state, state.since);
  }

  /**
   * A resume point beyond what this node delivered may be events still on their way from
   * the broker; beyond what the store holds it is a mistake (a client's seq from a deleted
   * and recreated channel, a typo), refused rather than answered live at a seq that later
   * events would contradict. Asked only then, so an ordinary resume costs no read.
   */
  async #assertReached(since: Seq): Promise<void> {
    const newest = await this.#log.lastSeq(this.channel);
    if (since > newest) {
      throw new SwitchboardError('bad_request', `Invalid since: ${since} is beyond the channel's newest seq ${newest}.`, {
        since,
        lastSeq: newest,
      });
    }
  }

  async #catchUp(subscriber: SubscriberState, since: Seq): Promise<Live> {
    const target = this.#lastSeq;
    const { sink } = subscriber.session;
    let sent = since;
    /** The first seq sent after a hole at the start: what the channel no longer keeps. */
    let truncatedFrom: Seq | undefined;
    for (const delivery of this.#recent?.between(since, target) ?? []) {
      if (!subscriber.active) break;
      sink.deliver(delivery);
      sent++;
      const full = sink.whenWritable?.();
      if (full) await full;
    }
    while (subscriber.active && sent < target) {
      const changesAtRead = this.#recent?.changes ?? -1;
      const events = await this.#log.readEvents(this.channel, { after: sent, limit: CATCH_UP_PAGE });
      // A first read that starts past since + 1: what lies between is no longer kept.
      const first = events[0]?.seq ?? target + 1;
      if (sent === since && first > since + 1) truncatedFrom = Math.min(first, target + 1);
      if (events.length === 0) break;
      // Kept for the resuming clients that follow (the reconnect storm after a restart).
      this.#recentForAudience()?.prepend(events, this.#lastSeq, changesAtRead);
      for (const event of events) {
        // Newer events are committed but still on their way from the broker: they come
        // through the buffer, and sending them here too would send them twice.
        if (event.seq > target || !subscriber.active) break;
        sink.deliver(new Delivery({ type: 'event', event }));
        sent = event.seq;
        // After each event, not each page: a page of large events must not overrun a send queue.
        const full = sink.whenWritable?.();
        if (full) await full;
      }
    }
    if (!subscriber.active) return { seq: sent, truncatedFrom };
    // Synchronous from here: no live event can slip between the buffer and going live.
    for (const event of subscriber.buffer) {
      if (event.seq <= sent) continue;
      sink.deliver(new Delivery({ type: 'event', event }));
      sent = event.seq;
    }
    subscriber.buffer = [];
    subscriber.since = undefined;
    return { seq: Math.max(sent, this.#lastSeq), truncatedFrom };
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
      if (subscriber.since !== undefined) subscriber.buffer.push(event);
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
    let waited = false;
    try {
      while (this.#needsHealing()) {
        const missing = await this.#log.readEvents(this.channel, { after: this.#lastSeq, limit: HEAL_PAGE });
        let progressed = false;
        // A hole before what the log returns is one it no longer keeps (pruned, out of the ring): skip it.
        if (missing.length > 0 && missing[0]!.seq > this.#lastSeq + 1) this.#skipTo(missing[0]!.seq);
        else if (missing.length === 0 && this.#log.keepsNothing && waited && this.#pending.size > 0) {
          // Nothing is kept to heal from: the lost seqs stay lost (clients see the gap in seq).
          this.#skipTo(Math.min(...this.#pending.keys()));
        }
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
          // Seen on the broker but not yet readable: another node's commit is in flight
          // (or, with nothing kept, an earlier seq still on its way: waited for once).
          await new Promise((resolve) => setTimeout(resolve, HEAL_RETRY_MS));
          waited = true;
        }
      }
    } catch (error) {
      this.#onError(error);
      if (this.#needsHealing()) setTimeout(() => void this.#heal(), HEAL_RETRY_MS * 4);
    } finally {
      this.#healing = false;
    }
  }

  /** Moves past seqs that will never come, so `seq` is delivered next. */
  #skipTo(seq: Seq): void {
    if (seq > this.#lastSeq + 1) this.#lastSeq = seq - 1;
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
