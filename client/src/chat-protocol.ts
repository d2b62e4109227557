/**
 * The chat features of the protocol ("Chat features" in docs/protocol.md): DMs, contacts
 * and status, read state, catch-up, reactions, threads, search and live lists.
 */
import type { Channel, ChannelEvent, ChannelId, Member, Millis, Seq, UserId } from './protocol.js';

export type UserStatus = 'online' | 'away' | 'offline';

export interface UserState {
  readonly user: UserId;
  readonly name: string;
  readonly status: UserStatus;
  /** When the user last went offline; null if never seen. */
  readonly lastSeen: Millis | null;
}

export interface DirectConversation {
  readonly channel: Channel;
  readonly members: readonly UserId[];
  /** The newest message in its current state; null when none was sent yet. */
  readonly latest: ChannelEvent | null;
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
  /** Your read position (0: nothing read). */
  readonly readSeq: Seq;
  /** Messages by others after your read position. */
  readonly unread: number;
}

/** What happened while you were away; subscribe with `since` to fetch the messages. */
export interface CatchUp {
  readonly lastSeen: Millis | null;
  readonly channels: readonly UnreadChannel[];
  readonly directs: readonly DirectConversation[];
  /** Mention notices in your inbox after its read position. */
  readonly mentions: readonly ChannelEvent[];
}

export interface ReactionResult {
  readonly channel: ChannelId;
  readonly target: Seq;
  /** The reaction event's seq; null when nothing changed (already there, or not there). */
  readonly seq: Seq | null;
  readonly changed: boolean;
}

export interface ReactionCount {
  readonly emoji: string;
  readonly count: number;
  readonly users: readonly UserId[];
}

export interface Thread {
  readonly root: ChannelEvent;
  /** Oldest first. */
  readonly replies: readonly ChannelEvent[];
  readonly hasMore: boolean;
}

/** Where a search page ended: pass it as `before` for the next page. */
export interface SearchCursor {
  readonly createdAt: Millis;
  readonly channel: ChannelId;
  readonly seq: Seq;
}

export interface SearchQuery {
  readonly channel?: ChannelId;
  readonly author?: UserId;
  readonly before?: SearchCursor;
  /** 1-100; default 20. */
  readonly limit?: number;
}

export interface SearchPage {
  /** Newest first. */
  readonly results: readonly ChannelEvent[];
  /** Null on the last page. */
  readonly next: SearchCursor | null;
}

export type ListName = 'channels' | 'members' | 'users';
export type ListAction = 'add' | 'update' | 'remove';

/** The items of each live list. A deleted channel is removed by its id alone. */
export interface ListItems {
  channels: Channel | { readonly id: ChannelId };
  members: Member;
  users: UserState;
}

/** One change to a live list, as pushed by the server. */
export interface ListChange<L extends ListName = ListName> {
  readonly list: L;
  /** The channel of a `members` list. */
  readonly channel?: ChannelId;
  readonly action: ListAction;
  readonly item: ListItems[L];
}

/** Someone's status changed (pushed to contacts and channel mates). */
export interface StatusEvent {
  readonly user: UserId;
  readonly status: UserStatus;
  readonly lastSeen: Millis | null;
  readonly at: Millis;
}

/** A member of a private channel or DM read up to `seq`. */
export interface ReceiptEvent {
  readonly channel: ChannelId;
  readonly user: UserId;
  readonly seq: Seq;
  readonly at: Millis;
}

type ListTarget = { list: ListName; channel?: ChannelId; users?: readonly UserId[] };

/** The chat commands: their fields and the `result` of their ok reply. */
export interface ChatCommands {
  'dm.list': { params: { limit?: number }; result: { directs: DirectConversation[] } };
  'contacts.add': { params: { user: UserId }; result: UserState };
  'contacts.remove': { params: { user: UserId }; result: null };
  'contacts.list': { params: Record<string, never>; result: { contacts: UserState[] } };
  'status.set': { params: { status: 'online' | 'away' }; result: UserState };
  'read.mark': { params: { channel: ChannelId; seq: Seq }; result: { channel: ChannelId; seq: Seq } };
  'read.get': { params: { channel: ChannelId }; result: { positions: ReadPosition[] } };
  catchup: { params: Record<string, never>; result: CatchUp };
  'reaction.add': { params: { channel: ChannelId; seq: Seq; emoji: string }; result: ReactionResult };
  'reaction.remove': { params: { channel: ChannelId; seq: Seq; emoji: string }; result: ReactionResult };
  'reactions.get': {
    params: { channel: ChannelId; seqs: readonly Seq[] };
    result: { reactions: Record<string, ReactionCount[]> };
  };
  thread: { params: { channel: ChannelId; seq: Seq; after?: Seq; limit?: number }; result: Thread };
  search: { params: { text: string } & SearchQuery; result: SearchPage };
  'list.subscribe': {
    params: ListTarget;
    result: { list: ListName; channel?: ChannelId; items: ListItems[ListName][] };
  };
  'list.unsubscribe': { params: ListTarget; result: null };
}
