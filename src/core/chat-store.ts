import type { Channel, ChannelEvent, ChannelId, Millis, Seq, User, UserId } from './types.js';

/** A user's availability as others see it. `away` is set by the user; the rest follows their sessions. */
export type UserStatus = 'online' | 'away' | 'offline';

export interface UserState {
  readonly user: UserId;
  readonly name: string;
  readonly status: UserStatus;
  /** When the user was last online; null if never seen. */
  readonly lastSeen: Millis | null;
}

export interface ReadPosition {
  readonly user: UserId;
  readonly seq: Seq;
  readonly at: Millis;
}

export interface UnreadChannel {
  readonly channel: ChannelId;
  readonly type: Channel['type'];
  readonly lastSeq: Seq;
  /** The user's read position (0: nothing read). */
  readonly readSeq: Seq;
  /** Messages by others after the read position. */
  readonly unread: number;
}

export interface DirectConversation {
  readonly channel: Channel;
  readonly members: UserId[];
  /** The newest message (in its current state), or null when none was sent yet. */
  readonly latest: ChannelEvent | null;
}

export interface ReactionCount {
  readonly emoji: string;
  readonly count: number;
  readonly users: UserId[];
}

export interface SearchQuery {
  /** Words to find (all of them); matched on whole words, case-insensitively. */
  readonly text: string;
  /** Only channels the user may read: null means every channel (server principals). */
  readonly readableBy: UserId | null;
  readonly channel?: ChannelId;
  readonly author?: UserId;
  /** Results older than this position (newest first): `{createdAt, channel, seq}` of the last result seen. */
  readonly before?: { readonly createdAt: Millis; readonly channel: ChannelId; readonly seq: Seq };
  readonly limit: number;
}

/**
 * The chat features' durable state, next to the Store on the same database. Every method
 * is one or two queries; none runs on the publish path.
 */
export interface ChatStore {
  /** Adds the contact both ways; false when they already were contacts. */
  addContact(user: UserId, contact: UserId): Promise<boolean>;
  /** Removes the contact both ways; false when they were not contacts. */
  removeContact(user: UserId, contact: UserId): Promise<boolean>;
  listContacts(user: UserId): Promise<UserState[]>;
  /** Who hears about this user's status: contacts and everyone sharing a channel or DM (members). */
  statusAudience(user: UserId): Promise<UserId[]>;
  setStatus(user: UserId, status: UserStatus, at: Millis): Promise<void>;
  /** States of known users, in the order asked; unknown ids are left out. */
  userStates(users: readonly UserId[]): Promise<UserState[]>;
  /** Users whose id or name is one of `names`. */
  findUsers(names: readonly string[]): Promise<User[]>;
  /** Which of `users` are members of the channel. */
  membersAmong(channel: ChannelId, users: readonly UserId[]): Promise<UserId[]>;

  /** Moves the read position forward (never back); returns the position now stored. */
  markRead(channel: ChannelId, user: UserId, seq: Seq, at: Millis): Promise<Seq>;
  readPositions(channel: ChannelId): Promise<ReadPosition[]>;
  /** Channels the user belongs to that have messages from others after their read position. */
  unreadChannels(user: UserId): Promise<UnreadChannel[]>;
  /** The user's direct channels, newest activity first. */
  directConversations(user: UserId, limit: number): Promise<DirectConversation[]>;

  reactionsOf(channel: ChannelId, seqs: readonly Seq[]): Promise<Map<Seq, ReactionCount[]>>;
  hasReaction(channel: ChannelId, seq: Seq, emoji: string, user: UserId): Promise<boolean>;

  /** Replies to `root`, oldest first, after `after` if given. */
  thread(channel: ChannelId, root: Seq, options: { after?: Seq; limit: number }): Promise<ChannelEvent[]>;
  /** Messages matching the query, newest first. */
  search(query: SearchQuery): Promise<ChannelEvent[]>;
}
