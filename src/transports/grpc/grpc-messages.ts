import type { Outbound } from '../../core/delivery.js';
import type {
  Channel,
  ChannelEvent,
  ChannelType,
  Member,
  MemberRole,
  PresenceAction,
  PresenceMember,
  PublishPolicy,
} from '../../core/types.js';
import { jsonToValue, type ProtoValue } from './json-value.js';

/** Core values as switchboard.v1 messages (the shapes @grpc/proto-loader serializes). */

export const CHANNEL_TYPES = {
  public: 'CHANNEL_TYPE_PUBLIC',
  private: 'CHANNEL_TYPE_PRIVATE',
  direct: 'CHANNEL_TYPE_DIRECT',
  inbox: 'CHANNEL_TYPE_INBOX',
} as const satisfies Record<ChannelType, string>;

export const PUBLISH_POLICIES = {
  anyone: 'PUBLISH_POLICY_ANYONE',
  members: 'PUBLISH_POLICY_MEMBERS',
  server: 'PUBLISH_POLICY_SERVER',
} as const satisfies Record<PublishPolicy, string>;

export const MEMBER_ROLES = {
  owner: 'MEMBER_ROLE_OWNER',
  admin: 'MEMBER_ROLE_ADMIN',
  member: 'MEMBER_ROLE_MEMBER',
} as const satisfies Record<MemberRole, string>;

// Looked up by string, so a kind added to the core later goes out as UNSPECIFIED, not a crash.
const EVENT_KINDS: Readonly<Record<string, string>> = {
  message: 'EVENT_KIND_MESSAGE',
  edit: 'EVENT_KIND_EDIT',
  delete: 'EVENT_KIND_DELETE',
  reaction: 'EVENT_KIND_REACTION',
  unreaction: 'EVENT_KIND_UNREACTION',
};

const PRESENCE_ACTIONS = {
  join: 'PRESENCE_ACTION_JOIN',
  add: 'PRESENCE_ACTION_ADD',
  remove: 'PRESENCE_ACTION_REMOVE',
  leave: 'PRESENCE_ACTION_LEAVE',
} as const satisfies Record<PresenceAction, string>;

/** The core name for a proto enum name, or undefined when it is not one of `names`. */
export function fromProtoEnum<K extends string>(names: Record<K, string>, value: string): K | undefined {
  return (Object.keys(names) as K[]).find((key) => names[key] === value);
}

/** Proto3 has no null: a null becomes an unset field. */
function optional<T>(value: T | null): T | undefined {
  return value ?? undefined;
}

export function channelMessage(channel: Channel) {
  return {
    id: channel.id,
    type: CHANNEL_TYPES[channel.type],
    title: optional(channel.title),
    publish: PUBLISH_POLICIES[channel.publish],
    createdBy: optional(channel.createdBy),
    createdAt: channel.createdAt,
    lastSeq: channel.lastSeq,
  };
}

export function memberMessage(member: Member) {
  return { channel: member.channel, user: member.user, role: MEMBER_ROLES[member.role], joinedAt: member.joinedAt };
}

export function presenceMemberMessage(member: PresenceMember) {
  return { user: member.user, sessions: member.sessions };
}

export function eventMessage(event: ChannelEvent) {
  return {
    channel: event.channel,
    seq: event.seq,
    kind: EVENT_KINDS[event.kind] ?? 'EVENT_KIND_UNSPECIFIED',
    id: event.id,
    author: optional(event.author),
    text: optional(event.text),
    data: event.data === null || event.data === undefined ? undefined : (jsonToValue(event.data) as ProtoValue),
    cid: optional(event.cid),
    replyTo: optional(event.replyTo),
    target: optional(event.target),
    createdAt: event.createdAt,
    editedAt: optional(event.editedAt),
    deletedAt: optional(event.deletedAt),
  };
}

/**
 * A SubscribeResponse for something the hub pushes, or null for what a channel stream does
 * not carry (per-user notices, read receipts; `close` is handled by the stream itself).
 */
export function subscribeResponse(message: Outbound) {
  switch (message.type) {
    case 'event':
      return { event: eventMessage(message.event) };
    case 'presence':
      return {
        presence: {
          channel: message.channel,
          action: PRESENCE_ACTIONS[message.action],
          user: message.user,
          session: message.session,
          at: message.at,
        },
      };
    case 'typing':
      return { typing: { channel: message.channel, user: message.user, at: message.at } };
    default:
      return null;
  }
}
