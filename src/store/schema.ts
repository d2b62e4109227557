import type { Generated } from 'kysely';

/** Table shapes as Kysely sees them. Times are epoch milliseconds; `data` is JSON text. */
export interface Database {
  users: { id: string; name: string; created_at: number };
  channels: {
    id: string;
    type: string;
    title: string | null;
    publish: string;
    created_by: string | null;
    created_at: number;
    last_seq: Generated<number>;
  };
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
  };
  // Chat features (migration 0003).
  contacts: { user_id: string; contact_id: string; created_at: number };
  user_status: { user_id: string; status: string; last_seen: number | null; updated_at: number };
  read_state: { channel: string; user_id: string; seq: number; updated_at: number };
  reactions: { channel: string; seq: number; emoji: string; user_id: string; created_at: number };
}
