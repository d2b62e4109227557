import { z } from 'zod';
import { CHANNEL_ID_PATTERN, USER_ID_PATTERN } from '../../core/names.js';

/** The chat features' frames (see "Chat features" in docs/protocol.md); part of clientFrameSchema. */

const requestId = z.union([z.number().int(), z.string().min(1).max(64)]);
const channelId = z.string().regex(CHANNEL_ID_PATTERN, 'a channel id is 1-128 of A-Z a-z 0-9 _ . : @ , + -');
const userId = z.string().regex(USER_ID_PATTERN, 'a user id is 1-64 of A-Z a-z 0-9 _ . @ -');
const seq = z.number().int().nonnegative();
const limit = z.number().int().min(1).max(100).optional();
/** One emoji or a short name (`:shipit:`): no spaces, at most 32 characters. */
const emoji = z.string().regex(/^\S{1,32}$/u, 'an emoji is 1-32 characters without spaces');

const frame = <T extends string, S extends z.ZodRawShape>(type: T, shape: S) =>
  z.strictObject({ type: z.literal(type), id: requestId, ...shape });

export const chatFrameSchemas = [
  frame('dm.list', { limit }),
  frame('contacts.add', { user: userId }),
  frame('contacts.remove', { user: userId }),
  frame('contacts.list', {}),
  frame('status.set', { status: z.enum(['online', 'away']) }),
  frame('read.mark', { channel: channelId, seq }),
  frame('read.get', { channel: channelId }),
  frame('catchup', {}),
  frame('reaction.add', { channel: channelId, seq, emoji }),
  frame('reaction.remove', { channel: channelId, seq, emoji }),
  frame('reactions.get', { channel: channelId, seqs: z.array(seq).min(1).max(200) }),
  frame('thread', { channel: channelId, seq, after: seq.optional(), limit }),
  frame('search', {
    text: z.string().min(1).max(200),
    channel: channelId.optional(),
    author: userId.optional(),
    before: z.strictObject({ createdAt: z.number().int().nonnegative(), channel: channelId, seq }).optional(),
    limit,
  }),
  frame('list.subscribe', {
    list: z.enum(['channels', 'members', 'users']),
    channel: channelId.optional(),
    users: z.array(userId).min(1).max(500).optional(),
  }),
  frame('list.unsubscribe', {
    list: z.enum(['channels', 'members', 'users']),
    channel: channelId.optional(),
    users: z.array(userId).min(1).max(500).optional(),
  }),
] as const;

export type ChatFrame = z.infer<(typeof chatFrameSchemas)[number]>;

const CHAT_FRAME_TYPES: ReadonlySet<string> = new Set(chatFrameSchemas.map((schema) => schema.shape.type.value));

export function isChatFrame(frame: { type: string }): frame is ChatFrame {
  return CHAT_FRAME_TYPES.has(frame.type);
}
