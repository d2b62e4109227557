import type { EventRange } from './store.js';
import type {
  ChannelEvent,
  ChannelId,
  EphemeralEvent,
  NodeId,
  PresenceMember,
  Seq,
  SessionId,
  UserId,
} from './types.js';

/**
 * A module's message to the same module on the other nodes (chat: a user's status, live
 * lists), for state that lives in each node's memory. Core carries it without reading it:
 * `module` names the receiver, `body` is the module's own and must survive JSON.
 *
 * @example
 * broker.publish({ type: 'notice', module: 'chat', body: { kind: 'status', ... } });
 */
export interface ModuleNotice {
  readonly type: 'notice';
  readonly module: string;
  readonly body: unknown;
}

/**
 * What nodes tell each other. A node never receives its own messages back. `resync` comes
 * from a node's own broker, never from another node: traffic for `channel` (null: every
 * watched channel) may have been lost (a reconnect, a subscription that just took
 * effect), so the hub compares its feeds with the store and heals what is missing.
 */
export type BrokerMessage =
  /**
   * A committed event, with the channel's `epoch` it was numbered in (0 or absent: not
   * known, from a node that sends none): a feed of another epoch must not take its seq.
   */
  | { readonly type: 'event'; readonly event: ChannelEvent; readonly epoch?: number }
  | { readonly type: 'ephemeral'; readonly event: EphemeralEvent }
  /**
   * The presence registry changed on its own, at this node: it reaped a dead node's
   * sessions, or wrote this node's sessions back after a partition. Only the node that made
   * the change hears this (every node hears the changes as an `ephemeral` event), so
   * exactly one node acts on it.
   */
  | { readonly type: 'registry-changed'; readonly event: EphemeralEvent }
  | { readonly type: 'resync'; readonly channel: ChannelId | null }
  /** A channel's settings changed or it was deleted: drop any cached copy, recheck its subscribers' access. */
  | { readonly type: 'channel-changed'; readonly channel: ChannelId }
  /**
   * A channel was deleted: end this node's subscriptions to that epoch of it (each is sent
   * `channelDeleted`). Sent as well as `channel-changed`, which only rechecks access and
   * would miss a channel created again before the recheck ran.
   */
  | { readonly type: 'channel-deleted'; readonly channel: ChannelId; readonly epoch: number; readonly at: number }
  /** A user's membership of a channel changed (added, removed, another role): recheck their access there. */
  | { readonly type: 'member-changed'; readonly channel: ChannelId; readonly user: UserId }
  | ModuleNotice;

/**
 * Carries committed events and ephemeral events to the other nodes of a cluster.
 * Delivery is best effort: the hub heals gaps from the store, so a broker may drop or
 * reorder. `publish` never throws: failures are the broker's to log and count.
 */
export interface Broker {
  readonly nodeId: NodeId;
  readonly presence: PresenceRegistry;
  /** The logs of channels kept out of the database (retention `memory` and `none`). */
  readonly volatile: VolatileLog;
  start(onMessage: (message: BrokerMessage) => void): Promise<void>;
  publish(message: BrokerMessage): void;
  /** Interest in a channel's traffic, so a broker may route only what a node needs. */
  watch(channel: ChannelId): void;
  unwatch(channel: ChannelId): void;
  /** Resolves when the broker is connected and usable (readiness). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** A page of a channel's members, read at one moment. */
export interface PresenceSlice {
  readonly members: PresenceMember[];
  /** Whether members follow the last one. */
  readonly more: boolean;
  /** Distinct users in the channel, every page together. */
  readonly users: number;
}

/**
 * Who is subscribed where, across all nodes. `add` tells whether this was the user's
 * first session in the channel (`join`) or another one (`add`); `remove` likewise
 * (`leave` for the last, `remove` otherwise, null if the session was not there).
 */
export interface PresenceRegistry {
  /** `info`: what the app's subscribe hook attached to the subscription, listed with the member. */
  add(channel: ChannelId, user: UserId, session: SessionId, info?: unknown): Promise<'join' | 'add'>;
  remove(channel: ChannelId, user: UserId, session: SessionId): Promise<'leave' | 'remove' | null>;
  /**
   * The channel's members in user id order, at most `limit` of them after `after`, each
   * with its number of sessions. A page is read from where `after` ends, not by listing the
   * channel (but for an implementation's stated exceptions: the first page of a channel in
   * memory sorts it, and Redis reads it all during a rolling upgrade).
   */
  page(channel: ChannelId, after: UserId | undefined, limit: number): Promise<PresenceSlice>;
  /** How many distinct users the channel holds: cheaper than a page (decides occupancy mode every tick). */
  count(channel: ChannelId): Promise<number>;
  /** How many sessions the user has in the channel (0: not there): one user's entry, not the channel's list. */
  sessionsOf(channel: ChannelId, user: UserId): Promise<number>;
  /** Those of `users` with a session in the channel: one read for the lot (their entries, not the channel's list). */
  presentAmong(channel: ChannelId, users: readonly UserId[]): Promise<Set<UserId>>;
}

/** A message for a channel whose log is not in the database: everything but the seq. */
export type VolatileEvent = Omit<ChannelEvent, 'seq'>;

/**
 * Seqs and newest events of the channels whose events never reach the database
 * (retention `memory`: a ring of `keep` events; `none`: `keep` 0). Shared by every node of
 * a cluster (Redis; in one process, the memory bus), so a subscriber on any node resumes
 * from the same ring and seqs never repeat; lost when that shared state is (a full
 * restart). Appends never wait for a disk.
 */
export interface VolatileLog {
  /**
   * Assigns the channel's next seq and keeps the event in its ring of `keep` (the oldest
   * beyond fall out). A `cid` seen recently (the implementation's window: an hour in
   * Redis, the newest 1000 per channel in memory) returns the first event again with
   * `duplicate` true, even where nothing is kept.
   */
  append(event: VolatileEvent, keep: number): Promise<{ event: ChannelEvent; duplicate: boolean }>;
  /** The newest seq assigned in the channel (0: none yet). */
  lastSeq(channel: ChannelId): Promise<Seq>;
  /** What the ring holds in `range`, ascending. */
  readEvents(channel: ChannelId, range: EventRange): Promise<ChannelEvent[]>;
  /** Numbering of a channel the log knows nothing of goes on after `seq` (what the database last recorded). */
  startAfter(channel: ChannelId, seq: Seq): Promise<void>;
  /** Forgets the channel (deleted): its seq and ring. */
  drop(channel: ChannelId): Promise<void>;
}
