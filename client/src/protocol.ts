/**
 * The wire protocol of /ws as the SDK sees it (docs/protocol.md is the spec). These are
 * the SDK's own declarations: it depends on the public protocol, never on server code.
 */
import type { ChatCommands, ListChange, ReceiptEvent, StatusEvent, UserState } from './chat-protocol.js';

export type ChannelId = string;
export type UserId = string;
export type SessionId = string;
/** Position of an event in its channel's log: 1, 2, 3 ... with no holes. */
export type Seq = number;
/** Milliseconds since the Unix epoch. */
export type Millis = number;

export type ChannelType = 'public' | 'private' | 'direct' | 'inbox';
export type PublishPolicy = 'anyone' | 'members' | 'server';
export type MemberRole = 'owner' | 'admin' | 'member';
/** `reaction` and `unreaction` carry the emoji in `text` and the message in `target`. */
export type EventKind = 'message' | 'edit' | 'delete' | 'reaction' | 'unreaction';
export type PresenceAction = 'join' | 'add' | 'remove' | 'leave';

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

/**
 * One entry of a channel's log. `message` events show their current state when replayed
 * (edited text, or a tombstone with `deletedAt`); `edit` and `delete` events name the
 * message they change in `target`.
 */
export interface ChannelEvent {
  readonly channel: ChannelId;
  readonly seq: Seq;
  readonly kind: EventKind;
  readonly id: string;
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

/** A user's first session joined a channel (`join`), a further one did (`add`), and back. */
export interface PresenceEvent {
  readonly channel: ChannelId;
  readonly action: PresenceAction;
  readonly user: UserId;
  readonly session: SessionId;
  readonly at: Millis;
}

export interface TypingEvent {
  readonly channel: ChannelId;
  readonly user: UserId;
  readonly at: Millis;
}

export interface PresenceMember {
  readonly user: UserId;
  readonly sessions: number;
}

/** Who the server says we are, once a connection is authenticated. */
export interface Welcome {
  readonly session: SessionId;
  readonly user: UserId;
  readonly name: string;
}

export interface CreateChannelInput {
  /** Omit for a direct channel: its id is derived from its members. */
  readonly channel?: ChannelId;
  readonly type: 'public' | 'private' | 'direct';
  readonly title?: string;
  readonly publish?: PublishPolicy;
  /** Other users to add (for a direct channel: the other participants). */
  readonly members?: readonly UserId[];
}

export interface PublishInput {
  readonly text?: string | null;
  readonly data?: unknown;
  /** Makes the publish idempotent. The SDK generates one when it is omitted. */
  readonly cid?: string;
  readonly replyTo?: Seq;
}

export interface PublishResult {
  readonly channel: ChannelId;
  readonly seq: Seq;
  readonly id: string;
  readonly createdAt: Millis;
  /** True when this cid had been stored before (a retry): nothing new was written. */
  readonly duplicate: boolean;
}

export interface EditInput {
  readonly text?: string | null;
  readonly data?: unknown;
}

/** The reply to an edit or delete: the change's own seq and the message it changed. */
export interface ChangeResult {
  readonly channel: ChannelId;
  readonly seq: Seq;
  readonly target: Seq;
}

export interface HistoryQuery {
  /** Messages before this seq (paging back). */
  readonly before?: Seq;
  /** Messages after this seq (paging forward). */
  readonly after?: Seq;
  /** 1-200; the server's default is 50. */
  readonly limit?: number;
}

export interface HistoryPage {
  /** Oldest first, in their current state. */
  readonly events: readonly ChannelEvent[];
  readonly hasMore: boolean;
}

export interface SubscribeResult {
  readonly channel: ChannelId;
  readonly seq: Seq;
}

/** Every request: its fields (without `type` and `id`) and the `result` of its ok reply. */
export interface Commands extends ChatCommands {
  auth: { params: { user?: string; token?: string; ticket?: string }; result: Welcome };
  ping: { params: Record<string, never>; result: { at: Millis } };
  'channel.create': {
    params: {
      channel?: ChannelId;
      channelType: CreateChannelInput['type'];
      title?: string;
      publish?: PublishPolicy;
      members?: readonly UserId[];
    };
    result: Channel;
  };
  'channel.get': { params: { channel: ChannelId }; result: Channel };
  'channel.list': { params: { after?: ChannelId; limit?: number }; result: { channels: Channel[] } };
  'channel.join': { params: { channel: ChannelId }; result: Member };
  'channel.leave': { params: { channel: ChannelId }; result: null };
  'members.list': { params: { channel: ChannelId }; result: { members: Member[] } };
  'members.add': { params: { channel: ChannelId; user: UserId; role?: MemberRole }; result: Member };
  'members.remove': { params: { channel: ChannelId; user: UserId }; result: null };
  subscribe: { params: { channel: ChannelId; since?: Seq; presence?: boolean }; result: SubscribeResult };
  unsubscribe: { params: { channel: ChannelId }; result: null };
  publish: { params: { channel: ChannelId } & PublishInput & { cid: string }; result: PublishResult };
  edit: { params: { channel: ChannelId; seq: Seq } & EditInput; result: ChangeResult };
  delete: { params: { channel: ChannelId; seq: Seq }; result: ChangeResult };
  history: { params: { channel: ChannelId } & HistoryQuery; result: HistoryPage };
  presence: { params: { channel: ChannelId }; result: { members: PresenceMember[] } };
  typing: { params: { channel: ChannelId }; result: null };
}

export type CommandType = keyof Commands;
export type RequestId = number;

/** Frames the server sends. */
export type ServerFrame =
  | { readonly type: 'ok'; readonly id: RequestId | string | null; readonly result: unknown }
  | {
      readonly type: 'error';
      readonly id: RequestId | string | null;
      readonly code: string;
      readonly message: string;
      readonly details?: Readonly<Record<string, unknown>>;
    }
  | ({ readonly type: 'event' } & ChannelEvent)
  | ({ readonly type: 'presence' } & PresenceEvent)
  | ({ readonly type: 'typing' } & TypingEvent)
  | ({ readonly type: 'welcome' } & Welcome)
  | ({ readonly type: 'receipt' } & ReceiptEvent)
  | ({ readonly type: 'status' } & StatusEvent)
  | { readonly type: 'contacts'; readonly contacts: readonly UserState[] }
  | ({ readonly type: 'list' } & ListChange)
  /** `spreadMs`: a draining server asks for a reconnect after a random delay below it. */
  | { readonly type: 'close'; readonly reason: string; readonly reconnect: boolean; readonly spreadMs?: number };

/** Parses one text frame; anything that is not a JSON object with a string `type` is null. */
export function parseServerFrame(text: string): ServerFrame | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null || typeof (value as { type?: unknown }).type !== 'string') {
    return null;
  }
  return value as ServerFrame;
}
