import type { ClientError } from './errors.js';
import type {
  ChannelEvent,
  ChannelId,
  ListChange,
  OccupancyEvent,
  PresenceEvent,
  ProfileEvent,
  ReceiptEvent,
  Seq,
  StatusEvent,
  TypingEvent,
  UserState,
  Welcome,
} from './protocol.js';

/**
 * - `connecting`: the first connection is being opened;
 * - `connected`: authenticated; requests flow;
 * - `reconnecting`: the connection dropped; waiting (backoff) or trying again;
 * - `disconnected`: stopped for good, by `close()` or a fatal close (see `error`).
 */
export type ConnectionState = 'connecting' | 'connected' | 'reconnecting' | 'disconnected';

export interface DisconnectInfo {
  /** The WebSocket close code (1006 when the connection simply broke). */
  readonly code: number;
  readonly reason: string;
  /** False when the client has stopped for good. */
  readonly willReconnect: boolean;
  /** Why it stopped, when it was not `close()`. */
  readonly error: ClientError | null;
}

/**
 * Everything a client emits; listen with `client.on(name, listener)`. The connection
 * emits the first four and fatal errors; the client the rest.
 */
export interface ClientEvents {
  state: { readonly state: ConnectionState; readonly previous: ConnectionState };
  /** A connection is authenticated (after every reconnect too). */
  connected: Welcome;
  disconnected: DisconnectInfo;
  /** The next attempt starts after `delayMs`; `attempt` counts from 1 since the last success. */
  reconnecting: { readonly attempt: number; readonly delayMs: number };
  /** Every event of every subscription, after the subscription's own handler. */
  event: ChannelEvent;
  /**
   * An event of a server-side subscription (the app's connect hook or the token's
   * `channels` claim): each once, in order, resumed after a reconnect with no gap.
   */
  serverEvent: ChannelEvent;
  /** One change to a subscribed channel's presence (a batch frame is handed over change by change). */
  presence: PresenceEvent;
  /** A large channel's user count, in place of presence events. */
  occupancy: OccupancyEvent;
  typing: TypingEvent;
  /** A member of a subscribed private channel or DM read up to a seq. */
  receipt: ReceiptEvent;
  /** A contact's or channel mate's status changed. */
  status: StatusEvent;
  /** A contact's profile (or your own) changed: name, avatar URL, status text. */
  profile: ProfileEvent;
  /** Your contacts and their states, once after each connect. */
  contacts: readonly UserState[];
  /** A change to a live list (see `chat.followList`, which routes them for you). */
  list: ListChange;
  /** Problems not tied to a request: a fatal close, a subscription that could not be restored. */
  error: ClientError;
  /**
   * A subscription resumed from further back than its channel keeps (pruned, out of a
   * memory ring, or a `none` channel): seqs `since` + 1 to `from` - 1 are gone, and
   * delivery goes on from `from`. Fetch what the app needs some other way, or show a break.
   */
  truncated: Truncated;
  /** A subscribed channel was deleted: its subscription has ended (see `Subscription.onDeleted`). */
  deleted: ChannelDeleted;
  /**
   * A subscription's position belonged to an older epoch of its channel (deleted and
   * created again meanwhile): it went on from seq 0 of epoch `current` instead.
   */
  staleEpoch: StaleEpoch;
}

export interface ChannelDeleted {
  readonly channel: ChannelId;
  /** The epoch that was deleted. */
  readonly epoch: number;
  /** When, in ms since the Unix epoch. */
  readonly at: number;
}

export interface StaleEpoch {
  readonly channel: ChannelId;
  /** The epoch the subscription's position belonged to (null: the app gave none). */
  readonly epoch: number | null;
  /** The position it had in that epoch. */
  readonly since: Seq | null;
  /** The channel's epoch now: delivery starts from its seq 1. */
  readonly current: number;
}

export interface Truncated {
  readonly channel: ChannelId;
  /** The last seq the subscription had. */
  readonly since: Seq;
  /** The first seq delivered after the break. */
  readonly from: Seq;
}
