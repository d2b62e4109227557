import type { ErrorCode } from './errors.js';
import type {
  Attachment,
  Channel,
  ChannelEvent,
  ChannelId,
  ChannelType,
  EventKind,
  ListedChannel,
  Member,
  MemberRole,
  PublishPolicy,
  Retention,
  Seq,
  User,
  UserId,
} from './types.js';

export interface NewChannel {
  readonly id: ChannelId;
  readonly type: ChannelType;
  readonly title: string | null;
  readonly topic?: string | null;
  readonly publish: PublishPolicy;
  readonly createdBy: UserId | null;
  readonly members: readonly { user: UserId; role: MemberRole }[];
  /** Stored only when chosen at creation; absent: the namespace's setting, else durable. */
  readonly retention?: Retention;
}

/**
 * A user as a credential names them. `fillsIn`: the name is a guess (open mode's user id,
 * a token without a name claim, a copy of the stored name): it names a new user, or one
 * whose stored name is still their id, and never overwrites a stored profile.
 */
export interface SeenUser {
  readonly id: UserId;
  readonly name: string;
  readonly fillsIn?: boolean;
}

/** What `users.update` may change on a profile; absent: unchanged, null: removed. */
export interface ProfileChanges {
  readonly name?: string;
  readonly avatarUrl?: string | null;
  readonly statusText?: string | null;
}

/** What an update may change on a channel (type and id are fixed for life). */
export interface ChannelChanges {
  readonly title?: string | null;
  readonly topic?: string | null;
  readonly publish?: PublishPolicy;
  /** true: archive (read-only) from now; false: writable again. */
  readonly archived?: boolean;
}

/**
 * Log events that modules define (chat's reactions): an annotation of an earlier message,
 * stored in the channel's log with a seq of its own so live subscribers and resumes carry
 * it. The store writes it together with the module's own tables (see the store's
 * AnnotationWriter); core handles it like any other event.
 */
export type AnnotationKind = Exclude<EventKind, 'message' | 'edit' | 'delete'>;

/** One write to a channel's log. The store assigns `seq`, `id` and times. */
export type AppendRequest =
  | {
      readonly kind: 'message';
      readonly channel: ChannelId;
      readonly author: UserId | null;
      readonly text: string | null;
      readonly data: unknown;
      readonly cid: string | null;
      readonly replyTo: Seq | null;
      /** What the attachments module made of the publish's file ids; absent or null: none. Stored as given. */
      readonly attachments?: readonly Attachment[] | null;
    }
  | {
      readonly kind: 'edit';
      readonly channel: ChannelId;
      readonly author: UserId | null;
      readonly target: Seq;
      readonly text: string | null;
      readonly data: unknown;
    }
  | { readonly kind: 'delete'; readonly channel: ChannelId; readonly author: UserId | null; readonly target: Seq }
  | AnnotationAppend;

/** An annotation of message `target`; its value (an emoji) is stored as the event's `text`. */
export interface AnnotationAppend {
  readonly kind: AnnotationKind;
  readonly channel: ChannelId;
  readonly author: UserId;
  readonly target: Seq;
  readonly text: string;
}

/** `duplicate` is true when a message with the same `cid` was already stored. */
export type AppendResult =
  | {
      readonly ok: true;
      readonly event: ChannelEvent;
      readonly duplicate: boolean;
      /**
       * The channel's epoch the event was numbered in, read under the same lock as its seq
       * (a new event; a duplicate leaves it out): what the other nodes' feeds compare theirs with.
       */
      readonly epoch?: number;
    }
  | {
      readonly ok: false;
      readonly code: ErrorCode;
      readonly message: string;
      /** An annotation that changes nothing (a reaction already there): nothing was stored. */
      readonly unchanged?: boolean;
    };

export interface EventRange {
  /** Events with seq strictly greater than this. */
  readonly after?: Seq;
  /** Events with seq strictly less than this. */
  readonly before?: Seq;
  readonly limit: number;
  /** Only `message` rows (the history view); otherwise every log entry (resume). */
  readonly messagesOnly?: boolean;
}

/**
 * The reads a channel feed makes: where a channel's log stands, and its events. The
 * store answers for durable channels, the broker's volatile log for `memory` and `none`.
 */
export interface LogReader {
  /** The newest seq assigned in the channel (0: none yet). */
  lastSeq(channel: ChannelId): Promise<Seq>;
  readEvents(channel: ChannelId, range: EventRange): Promise<ChannelEvent[]>;
  /** True for a channel that keeps no events (retention `none`): a gap is never healed, only waited out. */
  readonly keepsNothing?: boolean;
}

/** A store read as a LogReader. */
export function storeReader(store: Store): LogReader {
  return {
    lastSeq: async (channel) => (await store.getChannel(channel))?.lastSeq ?? 0,
    readEvents: (channel, range) => store.readEvents(channel, range),
  };
}

/**
 * Durable state of the log: users, channels, members and events. One implementation for
 * every database, written once with Kysely (src/store). `appendBatch` is the hot path:
 * one transaction for the whole batch, results in request order, each request failing or
 * succeeding on its own.
 */
export interface Store {
  ping(): Promise<void>;
  close(): Promise<void>;

  /** Creates the user or sets their name (see SeenUser for a name that only fills in). */
  upsertUser(user: SeenUser): Promise<User>;
  /**
   * Records a user seen on connect (created, or renamed): soft state, batched with the
   * other connects of the same tick and committed without waiting for the disk. True
   * when a user stored before got a new name (caches of user names are then stale);
   * false for a new user, whom no cache can hold yet.
   */
  rememberUser(user: SeenUser): Promise<boolean>;
  getUser(id: UserId): Promise<User | undefined>;
  /** Users in id order, after `after` (for the REST user list). */
  listUsers(options: { limit: number; after?: UserId }): Promise<User[]>;
  /** Changes an existing user's profile; undefined when there is no such user. */
  updateUser(id: UserId, changes: ProfileChanges): Promise<User | undefined>;

  /** Creates the channel, or returns undefined when the id is taken. */
  createChannel(channel: NewChannel): Promise<Channel | undefined>;
  getChannel(id: ChannelId): Promise<Channel | undefined>;
  /** Changes a channel's title, topic or publish policy; undefined when there is no such channel. */
  updateChannel(id: ChannelId, changes: ChannelChanges): Promise<Channel | undefined>;
  /**
   * Records that a `memory` or `none` channel has numbered up to `seq` (never lowering
   * it), so its numbering goes on from there after a restart. Soft state, like users.
   */
  raiseLastSeq(id: ChannelId, seq: Seq): Promise<void>;
  /** Deletes the channel with its members, its log and every module's rows about it. */
  deleteChannel(id: ChannelId): Promise<boolean>;
  /** Channels the user may see in a list, with the user's role: public ones and those the user belongs to. */
  listChannels(options: { visibleTo: UserId | null; limit: number; after?: ChannelId }): Promise<ListedChannel[]>;

  addMember(channel: ChannelId, user: UserId, role: MemberRole): Promise<Member>;
  /** Returns false when the user was not a member. */
  removeMember(channel: ChannelId, user: UserId): Promise<boolean>;
  getMember(channel: ChannelId, user: UserId): Promise<Member | undefined>;
  listMembers(channel: ChannelId): Promise<Member[]>;

  appendBatch(requests: readonly AppendRequest[]): Promise<AppendResult[]>;
  /** With `after`: the oldest events after it. Without: the newest (before `before`, if given). Always ascending. */
  readEvents(channel: ChannelId, range: EventRange): Promise<ChannelEvent[]>;
  getEvent(channel: ChannelId, seq: Seq): Promise<ChannelEvent | undefined>;

  /**
   * Deletes up to `limit` of the channel's oldest events that fall outside its bounds: at
   * or below `throughSeq`, or created before `createdBefore`. One short transaction, so
   * publishing never waits long; returns how many went.
   */
  pruneEvents(channel: ChannelId, bounds: { throughSeq?: Seq; createdBefore?: number }, limit: number): Promise<number>;
  /** Channels whose durable log may need pruning: those with a stored retention, and those whose id starts with a prefix. */
  boundedChannels(prefixes: readonly string[]): Promise<Channel[]>;
}
