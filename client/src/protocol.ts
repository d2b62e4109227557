/**
 * The protocol as the SDK names it. Every shape comes from the shared protocol module
 * (`protocol/`), imported as types only: the bundle carries none of its zod schemas, and
 * the SDK cannot drift from what the server validates. What the SDK adds is naming: a
 * pushed frame without its `type` is the event an app handles, and a command's fields
 * without the ones a method takes as arguments are that method's input.
 */
import type { CommandName, CommandRequest, CommandResult } from '../../protocol/commands.js';
import type {
  ListFrame,
  ListName,
  OccupancyFrame,
  PresenceFrame,
  ReceiptFrame,
  ProfileFrame,
  StatusFrame,
  TypingFrame,
  WelcomeFrame,
} from '../../protocol/frames.js';
import type { Channel, ChannelId, Member, UserState } from '../../protocol/values.js';

export type { CommandName, CommandRequest, CommandResult };
export type { ErrorCode } from '../../protocol/codes.js';
export type { ListAction, ListName } from '../../protocol/frames.js';
export type {
  Attachment,
  Channel,
  ChannelEvent,
  ChannelId,
  ChannelType,
  DirectConversation,
  EventKind,
  FileId,
  FileLinks,
  ListedChannel,
  Member,
  MemberRole,
  MessageId,
  Millis,
  PresenceAction,
  PresenceMember,
  PublishPolicy,
  ReactionCount,
  ReadPosition,
  Seq,
  SessionId,
  ThumbnailState,
  ThreadSummary,
  UnreadChannel,
  User,
  UserId,
  UserState,
  UserStatus,
} from '../../protocol/values.js';

// --- pushed frames, as events -------------------------------------------------------

/** Who the server says we are, once a connection is authenticated; `expiresAt`: when the session ends unless refreshed. */
export type Welcome = Omit<WelcomeFrame, 'type'>;
/**
 * A user's first session joined a channel (`join`), a further one did (`add`), and back.
 * `id` is the frame's: the server sends a tick's changes in one frame (`presenceBatch`),
 * which the SDK hands over one change at a time, each with that frame's `id` and `at`.
 */
export type PresenceEvent = Omit<PresenceFrame, 'type'>;
/**
 * A large channel's presence as a count (more users than the server's
 * `presence.occupancyAbove`): it gets no join/leave events while `mode` is `occupancy`;
 * `members`: it is back at or below the threshold, join/leave events follow again (read
 * the list once with `presence()` to rebuild it).
 */
export type OccupancyEvent = Omit<OccupancyFrame, 'type'>;
export type TypingEvent = Omit<TypingFrame, 'type'>;
/** A member of a private channel or DM read up to `seq`. */
export type ReceiptEvent = Omit<ReceiptFrame, 'type'>;
/** Someone's status changed (pushed to contacts and channel mates). */
export type StatusEvent = Omit<StatusFrame, 'type'>;
/** Someone's profile changed: name, avatar URL, status text (pushed to their contacts and their own sessions). */
export type ProfileEvent = Omit<ProfileFrame, 'type'>;

/** One change to a live list, as pushed by the server: its item typed by its list. */
export type ListChange<L extends ListName = ListName> = L extends ListName ? Omit<Extract<ListFrame, { list: L }>, 'type'> : never;

/** The items of each live list. A deleted channel is removed by its id alone. */
export type ListItems = { readonly [L in ListName]: Extract<ListFrame, { list: L }>['item'] };

// --- what the SDK's methods take and give ---------------------------------------------

/**
 * The reply to every stored write (publish, push, edit, delete): where the event sits in
 * its channel's log; `target` names the message an edit or delete changed.
 */
export type EventAck = CommandResult<'publish'>;
/** What `publish` resolves with (an {@link EventAck}). */
export type PublishResult = EventAck;
/** What `editMessage` and `deleteMessage` resolve with (an {@link EventAck}). */
export type ChangeResult = EventAck;

/** `channel.create` with `type` for the protocol's `channelType`. */
export type CreateChannelInput = Omit<CommandRequest<'channel.create'>, 'channelType'> & {
  readonly type: CommandRequest<'channel.create'>['channelType'];
};
export type ChannelChange = Omit<CommandRequest<'channel.update'>, 'channel'>;
export type ChannelQuery = CommandRequest<'channel.list'>;
/** A page of channels; pass `next` as `after` for the following one (null: the last page). */
export type ChannelPage = CommandResult<'channel.list'>;

export type PublishInput = Omit<CommandRequest<'publish'>, 'channel'>;
/** One message of `publishBatch`: a channel and what `publish` takes. */
export type BatchMessage = CommandRequest<'publish.batch'>['messages'][number];
/** The outcome of one message of a batch: its ack with `ok: true`, or its own error. */
export type BatchResult = CommandResult<'publish.batch'>['results'][number];
export type PushInput = CommandRequest<'push'>;
export type EditInput = Omit<CommandRequest<'edit'>, 'channel' | 'seq'>;
export type HistoryQuery = Omit<CommandRequest<'history'>, 'channel'>;
export type HistoryPage = CommandResult<'history'>;
export type SubscribeResult = CommandResult<'subscribe'>;

export type UserQuery = CommandRequest<'users.list'>;
/** A page of users; pass `next` as `after` for the following one (null: the last page). */
export type UserPage = CommandResult<'users.list'>;
export type UserChange = Omit<CommandRequest<'users.update'>, 'user'>;
export type RegisterInput = CommandRequest<'users.register'>;
/** A registered user, a token for their client and their inbox. */
export type Registration = CommandResult<'users.register'>;
export type TicketInput = CommandRequest<'ticket.create'>;
export type Ticket = CommandResult<'ticket.create'>;
/** A ban in place: since when, and why (the app's own note). */
export type Ban = CommandResult<'users.ban'>;
/** What `disconnectUser` resolves with: how many sessions ended, and any node that did not answer. */
export type Disconnected = CommandResult<'users.disconnect'>;

/** What happened while you were away; subscribe with `since` to fetch the messages. */
export type CatchUp = CommandResult<'catchup'>;
/** `seq` is the reaction event's, null when nothing changed (already there, or not there). */
export type ReactionResult = CommandResult<'reaction.add'>;
export type ThreadQuery = Omit<CommandRequest<'thread'>, 'channel' | 'seq'>;
export type Thread = CommandResult<'thread'>;
/** Pass a page's `next` as `cursor` for the following page. */
export type SearchQuery = Omit<CommandRequest<'search'>, 'text'>;
/** Newest first; `next` is an opaque cursor, null on the last page. */
export type SearchPage = CommandResult<'search'>;
