/** Plain types shared by the core, the stores, the brokers and the transports. */

export type ChannelId = string;
export type UserId = string;
export type SessionId = string;
export type NodeId = string;
export type MessageId = string;
/** Position of an event in its channel's log: 1, 2, 3 ... with no holes. */
export type Seq = number;
/** Milliseconds since the Unix epoch. */
export type Millis = number;

export type ChannelType = 'public' | 'private' | 'direct' | 'inbox';
/** Who may publish: any user who may read, members only, or only the server (API key). */
export type PublishPolicy = 'anyone' | 'members' | 'server';
export type MemberRole = 'owner' | 'admin' | 'member';

export interface Channel {
  readonly id: ChannelId;
  readonly type: ChannelType;
  readonly title: string | null;
  readonly publish: PublishPolicy;
  readonly createdBy: UserId | null;
  readonly createdAt: Millis;
  /** Seq of the newest event in the channel; 0 when empty. */
  readonly lastSeq: Seq;
}

export interface Member {
  readonly channel: ChannelId;
  readonly user: UserId;
  readonly role: MemberRole;
  readonly joinedAt: Millis;
}

export interface User {
  readonly id: UserId;
  readonly name: string;
  readonly createdAt: Millis;
}

/**
 * What a stored event is: a message, or a change to an earlier one. `reaction` and
 * `unreaction` carry the emoji in `text` and the message in `target`.
 */
export type EventKind = 'message' | 'edit' | 'delete' | 'reaction' | 'unreaction';

/**
 * One entry of a channel's log. A `message` row shows its current state (edited text,
 * or a tombstone with `deletedAt` and no text); `edit` and `delete` rows record the
 * change itself and point at the message through `target`.
 */
export interface ChannelEvent {
  readonly channel: ChannelId;
  readonly seq: Seq;
  readonly kind: EventKind;
  readonly id: MessageId;
  readonly author: UserId | null;
  readonly text: string | null;
  readonly data: unknown;
  readonly cid: string | null;
  readonly replyTo: Seq | null;
  readonly target: Seq | null;
  readonly createdAt: Millis;
  readonly editedAt: Millis | null;
  readonly deletedAt: Millis | null;
}

export type PresenceAction = 'join' | 'add' | 'remove' | 'leave';

/** Events delivered live and never stored: presence changes and client signals. */
export type EphemeralEvent =
  | {
      readonly type: 'presence';
      readonly channel: ChannelId;
      readonly action: PresenceAction;
      readonly user: UserId;
      readonly session: SessionId;
      readonly at: Millis;
    }
  | { readonly type: 'typing'; readonly channel: ChannelId; readonly user: UserId; readonly at: Millis }
  /** A member read the channel up to `seq` (only in channels that show read receipts). */
  | { readonly type: 'receipt'; readonly channel: ChannelId; readonly user: UserId; readonly seq: Seq; readonly at: Millis };

/** Who is asking. `server` principals (API keys) pass every channel rule. */
export interface Principal {
  readonly kind: 'user' | 'server';
  readonly userId: UserId;
  readonly name: string;
  readonly roles: readonly string[];
}

export interface PresenceMember {
  readonly user: UserId;
  readonly sessions: number;
}
