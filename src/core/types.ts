/**
 * The values core works with. What the protocol carries (channels, members, users,
 * events, presence) is defined once in protocol/values.ts and only re-exported here;
 * this file adds what never leaves the server.
 */
import type { PushFrame } from '../../protocol/frames.js';
import type { ChannelId, Millis, UserId } from '../../protocol/values.js';

export type {
  Attachment,
  Channel,
  ChannelEvent,
  ChannelId,
  ChannelType,
  EventKind,
  FileId,
  ListedChannel,
  Member,
  MemberRole,
  MessageId,
  Millis,
  PresenceAction,
  PresenceMember,
  PublishPolicy,
  Retention,
  RetentionMode,
  Seq,
  SessionId,
  User,
  UserId,
} from '../../protocol/values.js';

export type NodeId = string;

/**
 * A pushed frame about one channel that is never stored: presence changes, typing, and
 * whatever signal a module sends to a channel's subscribers (chat's read receipts). Every
 * node delivers it to its own subscribers of `channel`.
 */
export type EphemeralEvent = Exclude<Extract<PushFrame, { readonly channel: ChannelId }>, { readonly type: 'event' }>;

/** Who is asking. `server` principals (API keys) pass every channel rule. */
export interface Principal {
  readonly kind: 'user' | 'server';
  readonly userId: UserId;
  readonly name: string;
  readonly roles: readonly string[];
  /**
   * The name is not the user's own choice (auth "open", a token without a `name` claim, or
   * with `name_is_copy`): it names a user the server has not stored, and never overwrites
   * a stored profile (a rename by `users.update` stays).
   */
  readonly nameFillsIn?: boolean;
  /**
   * When the credential stops being accepted, in epoch milliseconds: a token's `exp` plus
   * the clock tolerance (jwt.clockToleranceSeconds). A session opened with it ends then,
   * unless refreshed (`auth.refresh`). Absent: it does not expire (API keys, auth "open",
   * tickets the app's backend made for a user).
   */
  readonly expiresAt?: Millis;
  /**
   * Channels the server subscribes the user's connections to when they open (the token's
   * `channels` claim, or the app's connect hook): server-side subscriptions.
   */
  readonly channels?: readonly ChannelId[];
  /** What the app's connect hook said about this connection, handed back to its other hooks. */
  readonly info?: unknown;
}
