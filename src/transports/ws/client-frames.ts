import { z } from 'zod';
import { CHANNEL_ID_PATTERN, USER_ID_PATTERN } from '../../core/names.js';
import { chatFrameSchemas } from './chat-client-frames.js';

/** Every frame a client may send on /ws. docs/protocol.md shows each with an example. */

const requestId = z.union([z.number().int(), z.string().min(1).max(64)]);
const channelId = z.string().regex(CHANNEL_ID_PATTERN, 'a channel id is 1-128 of A-Z a-z 0-9 _ . : @ , + -');
const userId = z.string().regex(USER_ID_PATTERN, 'a user id is 1-64 of A-Z a-z 0-9 _ . @ -');
const seq = z.number().int().nonnegative();
const cid = z.string().min(1).max(128);

const frame = <T extends string, S extends z.ZodRawShape>(type: T, shape: S) =>
  z.strictObject({ type: z.literal(type), id: requestId, ...shape });

export const clientFrameSchema = z.discriminatedUnion('type', [
  frame('auth', { user: z.string().optional(), token: z.string().optional(), ticket: z.string().optional() }),
  frame('ping', {}),
  frame('channel.create', {
    channel: channelId.optional(),
    channelType: z.enum(['public', 'private', 'direct']),
    title: z.string().max(200).optional(),
    publish: z.enum(['anyone', 'members', 'server']).optional(),
    members: z.array(userId).max(1000).optional(),
  }),
  frame('channel.get', { channel: channelId }),
  frame('channel.list', { after: channelId.optional(), limit: z.number().int().min(1).max(500).optional() }),
  frame('channel.join', { channel: channelId }),
  frame('channel.leave', { channel: channelId }),
  frame('members.list', { channel: channelId }),
  frame('members.add', { channel: channelId, user: userId, role: z.enum(['owner', 'admin', 'member']).optional() }),
  frame('members.remove', { channel: channelId, user: userId }),
  frame('subscribe', { channel: channelId, since: seq.optional(), presence: z.boolean().optional() }),
  frame('unsubscribe', { channel: channelId }),
  frame('publish', {
    channel: channelId,
    text: z.string().nullable().optional(),
    data: z.unknown().optional(),
    cid: cid.optional(),
    replyTo: seq.optional(),
  }),
  frame('edit', { channel: channelId, seq, text: z.string().nullable().optional(), data: z.unknown().optional() }),
  frame('delete', { channel: channelId, seq }),
  frame('history', {
    channel: channelId,
    before: seq.optional(),
    after: seq.optional(),
    limit: z.number().int().min(1).max(1000).optional(),
  }),
  frame('presence', { channel: channelId }),
  frame('typing', { channel: channelId }),
  ...chatFrameSchemas,
]);

export type ClientFrame = z.infer<typeof clientFrameSchema>;
export type ClientFrameType = ClientFrame['type'];

export const CLIENT_FRAME_TYPES: ReadonlySet<string> = new Set(clientFrameSchema.options.map((o) => o.shape.type.value));
