import type { Selectable } from 'kysely';
import type { Channel, ChannelEvent, ChannelType, Member, MemberRole, PublishPolicy, Retention, User } from '../core/types.js';
import type { LogTables } from './schema.js';

/** Rows of the log's tables as the values core works with (shared by every module that reads them). */

type EventRow = Selectable<LogTables['events']>;
type ChannelRow = Selectable<LogTables['channels']>;

export function toEvent(row: EventRow): ChannelEvent {
  const event: ChannelEvent = {
    channel: row.channel,
    seq: Number(row.seq),
    kind: row.kind as ChannelEvent['kind'],
    id: row.id,
    author: row.author,
    text: row.text,
    data: row.data === null ? null : JSON.parse(row.data),
    cid: row.cid,
    replyTo: nullableNumber(row.reply_to),
    target: nullableNumber(row.target),
    createdAt: Number(row.created_at),
    editedAt: nullableNumber(row.edited_at),
    deletedAt: nullableNumber(row.deleted_at),
    // Only roots carry it, so live events (never a root yet) stay as small as before.
    ...(Number(row.reply_count) > 0 && {
      thread: { replies: Number(row.reply_count), lastReplySeq: Number(row.last_reply_seq), lastReplyAt: Number(row.last_reply_at) },
    }),
  };
  // Present only on messages that carry files, so the others' frames do not grow.
  return row.attachments === null ? event : { ...event, attachments: JSON.parse(row.attachments) };
}

export function toChannel(row: ChannelRow): Channel {
  return {
    id: row.id,
    type: row.type as ChannelType,
    title: row.title,
    topic: row.topic,
    publish: row.publish as PublishPolicy,
    createdBy: row.created_by,
    createdAt: Number(row.created_at),
    lastSeq: Number(row.last_seq),
    ...(row.retention === null ? {} : { retention: JSON.parse(row.retention) as Retention }),
    epoch: Number(row.epoch),
    ...(row.archived_at !== null && { archivedAt: Number(row.archived_at) }),
  };
}

export function toMember(row: Selectable<LogTables['members']>): Member {
  return { channel: row.channel, user: row.user_id, role: row.role as MemberRole, joinedAt: Number(row.joined_at) };
}

export function toUser(row: Selectable<LogTables['users']>): User {
  return { id: row.id, name: row.name, avatarUrl: row.avatar_url, statusText: row.status_text, createdAt: Number(row.created_at) };
}

/** `data` as stored: JSON text, or null. */
export function encodeData(data: unknown): string | null {
  return data === null || data === undefined ? null : JSON.stringify(data);
}

function nullableNumber(value: number | string | null): number | null {
  return value === null ? null : Number(value);
}
