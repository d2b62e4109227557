import type { Generated } from 'kysely';

/**
 * The log's tables as Kysely sees them (migrations 0001-initial, 0008-retention). Times are epoch
 * milliseconds; `data` is JSON text. Modules that join them (chat) add their own tables
 * to this type; nothing else here belongs to a module.
 */
export interface LogTables {
  /** `avatar_url` and `status_text` were added by 0012-user-profiles; null: unset. */
  users: { id: string; name: string; created_at: number; avatar_url: string | null; status_text: string | null };
  channels: {
    id: string;
    type: string;
    title: string | null;
    /** Added by 0010-topics-and-threads. */
    topic: string | null;
    publish: string;
    created_by: string | null;
    created_at: number;
    last_seq: Generated<number>;
    /** JSON of the Retention chosen at creation (migration 0008-retention); null: the default. */
    retention: string | null;
    /** The channel's generation (0011-channel-lifecycle): see channel_epochs. */
    epoch: Generated<number>;
    /** When it was archived (read-only); null: it is not. */
    archived_at: number | null;
  };
  /** The last epoch each channel id used, kept after the channel is deleted (0011-channel-lifecycle). */
  channel_epochs: { channel: string; epoch: number };
  members: { channel: string; user_id: string; role: string; joined_at: number };
  events: {
    channel: string;
    seq: number;
    kind: string;
    id: string;
    author: string | null;
    text: string | null;
    data: string | null;
    cid: string | null;
    reply_to: number | null;
    target: number | null;
    created_at: number;
    edited_at: number | null;
    deleted_at: number | null;
    /** JSON text of the message's attachments (migration 0008); null: none. */
    attachments: string | null;
    /** Replies to this message, the newest one's seq and time (0010-topics-and-threads). */
    reply_count: number;
    last_reply_seq: number | null;
    last_reply_at: number | null;
  };
}
