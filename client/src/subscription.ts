import { callSafely } from './emitter.js';
import type { ClientError } from './errors.js';
import type { ChannelDeleted, StaleEpoch, Truncated } from './events.js';
import type { ChannelEvent, ChannelId, OccupancyEvent, PresenceEvent, ReceiptEvent, Seq, TypingEvent } from './protocol.js';

export interface SubscriptionHandlers {
  /** Each event of the channel, exactly once and in seq order, across reconnects. */
  readonly onEvent?: (event: ChannelEvent) => void;
  /** Users coming and going (live only; never replayed). */
  readonly onPresence?: (event: PresenceEvent) => void;
  /** A large channel's user count, instead of join/leave events (live only; at most once per second or so). */
  readonly onOccupancy?: (event: OccupancyEvent) => void;
  /** Someone is typing (live only; expire it yourself after a few seconds). */
  readonly onTyping?: (event: TypingEvent) => void;
  /** A member read up to a seq (private channels and DMs; live only). */
  readonly onReceipt?: (event: ReceiptEvent) => void;
  /** A resume reached further back than the channel keeps: the seqs before `from` are gone (see the client's `truncated`). */
  readonly onTruncated?: (truncated: Truncated) => void;
  /**
   * The channel was deleted: the subscription has ended (`closed` is true) and nothing
   * more of it comes. If the id is created again, subscribe to it afresh.
   */
  readonly onDeleted?: (deleted: ChannelDeleted) => void;
  /**
   * The channel was deleted and created again while this subscription was away: its
   * position belonged to the old epoch. The SDK has gone on from seq 0 of the new epoch
   * (every event of the new channel follows); drop what you showed of the old one.
   */
  readonly onStaleEpoch?: (stale: StaleEpoch) => void;
  /**
   * The subscription ended for good: the server ended it because read access was taken
   * away (`forbidden`: you were removed from the channel; `not_found`: it was deleted), or
   * it could not be restored after a reconnect. `closed` is true.
   */
  readonly onError?: (error: ClientError) => void;
}

export interface SubscribeOptions extends SubscriptionHandlers {
  /**
   * Replay every event after this seq before going live (for example the last seq the
   * app stored). Omit it to start live from now.
   */
  readonly since?: Seq;
  /**
   * The channel epoch `since` belongs to (a subscription's `epoch`, stored with the seq):
   * if the channel was deleted and created again since, the SDK starts from 0 of the new
   * epoch and says so (`onStaleEpoch`) instead of resuming in the wrong log.
   */
  readonly epoch?: number;
  /**
   * `false`: the server sends no presence events (join, leave ...) for this channel,
   * which spares large channels one frame per member change. Default true.
   */
  readonly presence?: boolean;
  /** Rejects the subscribe promise with `timeout` after this long. Default: the client's. */
  readonly timeoutMs?: number;
}

/**
 * One channel the client follows. It remembers the last seq handed to the app, so after
 * any disconnect the SDK resumes from there: the app sees every event exactly once, in
 * order, with no gap.
 */
export class Subscription {
  readonly channel: ChannelId;
  /** Whether presence events were asked for (undefined: the server's default, yes). */
  readonly wantsPresence: boolean | undefined;
  readonly #handlers: SubscriptionHandlers;
  readonly #unsubscribe: (subscription: Subscription) => Promise<void>;
  #lastSeq: Seq | null;
  /** The channel epoch `#lastSeq` belongs to; null until the server or the app named one. */
  #epoch: number | null;
  #closed = false;
  /**
   * Events that arrived after a hole while a subscribe was under way: its answer may say
   * the channel no longer keeps what lies in between (`truncated`), or it is a real gap.
   */
  #held: ChannelEvent[] = [];
  /** Confirmed by the server once, so it is restored after every reconnect. */
  confirmed = false;
  /** Subscribed on the current connection (the server confirmed it there). */
  live = false;
  /** Re-subscribing on this connection to heal a gap; further gaps wait for it. */
  resyncing = false;

  constructor(
    channel: ChannelId,
    options: SubscribeOptions,
    unsubscribe: (subscription: Subscription) => Promise<void>,
  ) {
    this.channel = channel;
    this.wantsPresence = options.presence;
    this.#handlers = options;
    this.#lastSeq = options.since ?? null;
    this.#epoch = options.epoch ?? null;
    this.#unsubscribe = unsubscribe;
  }

  /** The channel epoch the subscription follows (see `SubscribeOptions.epoch`); null before the server said. */
  get epoch(): number | null {
    return this.#epoch;
  }

  /** Seq of the last event handed to the app (or the position subscribed at); null before either. */
  get lastSeq(): Seq | null {
    return this.#lastSeq;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Stops delivery at once and tells the server. Safe to call twice. */
  unsubscribe(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    return this.#unsubscribe(this);
  }

  /**
   * Hands an event to the app if it is the next one. Returns `gap` when events are
   * missing before it (the caller re-subscribes from `lastSeq`); duplicates are dropped.
   */
  offer(event: ChannelEvent): 'delivered' | 'duplicate' | 'gap' | 'held' {
    if (this.#closed) return 'duplicate';
    const last = this.#lastSeq;
    if (last !== null && event.seq <= last) return 'duplicate';
    if (last !== null && event.seq !== last + 1) {
      if (this.live) return 'gap';
      this.#held.push(event);
      return 'held';
    }
    this.#lastSeq = event.seq;
    if (this.#handlers.onEvent) callSafely(this.#handlers.onEvent, event);
    return 'delivered';
  }

  /**
   * The server confirmed the subscription at `seq`; a fresh one starts from there. With
   * `truncatedFrom`, the seqs before it are gone: the subscription moves past them and
   * says so (`onTruncated`, and the returned `truncated` for the client's event). `held`:
   * the events that arrived meanwhile, for the caller to offer again.
   */
  onSubscribed(seq: Seq, truncatedFrom?: Seq, epoch?: number): { readonly held: ChannelEvent[]; readonly truncated: Truncated | null } {
    if (epoch !== undefined) this.#epoch = epoch;
    const since = this.#lastSeq;
    let truncated: Truncated | null = null;
    if (truncatedFrom !== undefined && since !== null && truncatedFrom > since + 1) {
      this.#lastSeq = truncatedFrom - 1;
      truncated = { channel: this.channel, since, from: truncatedFrom };
      if (this.#handlers.onTruncated) callSafely(this.#handlers.onTruncated, truncated);
    }
    this.#lastSeq ??= seq;
    this.confirmed = true;
    const held = this.#held;
    this.#held = [];
    return { held, truncated };
  }

  /**
   * The position belongs to an older epoch of the channel (`stale_epoch`): start from 0 of
   * `current`, so every event of the new channel is delivered, and tell the app.
   */
  restartEpoch(current: number): StaleEpoch {
    const stale: StaleEpoch = { channel: this.channel, epoch: this.#epoch, since: this.#lastSeq, current };
    this.#epoch = current;
    this.#lastSeq = 0;
    this.#held = [];
    if (this.#handlers.onStaleEpoch) callSafely(this.#handlers.onStaleEpoch, stale);
    return stale;
  }

  /** The channel was deleted: the subscription is over. */
  deleted(deleted: ChannelDeleted): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#handlers.onDeleted) callSafely(this.#handlers.onDeleted, deleted);
  }

  /** Resume is impossible (the events are no longer retained): go on live from now. */
  restartLive(): void {
    this.#lastSeq = null;
  }

  presence(event: PresenceEvent): void {
    if (!this.#closed && this.#handlers.onPresence) callSafely(this.#handlers.onPresence, event);
  }

  occupancy(event: OccupancyEvent): void {
    if (!this.#closed && this.#handlers.onOccupancy) callSafely(this.#handlers.onOccupancy, event);
  }

  typing(event: TypingEvent): void {
    if (!this.#closed && this.#handlers.onTyping) callSafely(this.#handlers.onTyping, event);
  }

  receipt(event: ReceiptEvent): void {
    if (!this.#closed && this.#handlers.onReceipt) callSafely(this.#handlers.onReceipt, event);
  }

  /** Ends the subscription because of `error` (the client reports it too). */
  fail(error: ClientError): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#handlers.onError) callSafely(this.#handlers.onError, error);
  }

  /** Ends it without a word (the client closed). */
  end(): void {
    this.#closed = true;
  }
}
