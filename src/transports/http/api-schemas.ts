import { z } from 'zod';
import { ERROR_CODES, type ErrorCode } from '../../core/errors.js';
import { CHANNEL_ID_PATTERN, MAX_DIRECT_MEMBERS, USER_ID_PATTERN } from '../../core/names.js';

/**
 * The REST API's shapes: one zod schema per request part and response, used by Fastify to
 * validate requests and by @fastify/swagger to write /openapi.json, so the docs cannot
 * drift from what the server accepts.
 */

export const channelId = z
  .string()
  .regex(CHANNEL_ID_PATTERN, 'a channel id is 1-128 of A-Z a-z 0-9 _ . : @ , + -')
  .describe('Channel id. `user:<id>` is a user\'s inbox, `dm:<a>,<b>` a direct channel.');
export const userId = z.string().regex(USER_ID_PATTERN, 'a user id is 1-64 of A-Z a-z 0-9 _ . @ -');
const seq = z.number().int().nonnegative();
const millis = z.number().int().describe('Milliseconds since the Unix epoch.');
const cid = z.string().min(1).max(128).describe('Client id: a retry with the same cid is stored once.');
/** Query and path numbers arrive as strings. */
const seqParam = z.coerce.number().int().positive();
const pageLimit = z.coerce.number().int().min(1).max(200).default(50);

export const errorBody = z
  .object({
    code: z.enum(Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]]),
    message: z.string(),
    details: z.record(z.string(), z.unknown()).optional(),
  })
  .meta({ id: 'Error' });

export const channel = z
  .object({
    id: channelId,
    type: z.enum(['public', 'private', 'direct', 'inbox']),
    title: z.string().nullable(),
    publish: z.enum(['anyone', 'members', 'server']),
    createdBy: userId.nullable(),
    createdAt: millis,
    lastSeq: seq.describe('Seq of the newest event; 0 when empty.'),
  })
  .meta({ id: 'Channel' });

export const member = z
  .object({ channel: channelId, user: userId, role: z.enum(['owner', 'admin', 'member']), joinedAt: millis })
  .meta({ id: 'Member' });

export const user = z.object({ id: userId, name: z.string(), createdAt: millis }).meta({ id: 'User' });

export const event = z
  .object({
    channel: channelId,
    seq: z.number().int().positive(),
    kind: z.enum(['message', 'edit', 'delete', 'reaction', 'unreaction']),
    id: z.string(),
    author: userId.nullable().describe('Null for events the server published.'),
    text: z.string().nullable(),
    data: z.unknown().describe('Any JSON value, or null.'),
    cid: z.string().nullable(),
    replyTo: seq.nullable(),
    target: seq.nullable().describe('For edit, delete and reactions: the seq of the message concerned.'),
    createdAt: millis,
    editedAt: millis.nullable(),
    deletedAt: millis.nullable(),
  })
  .meta({ id: 'Event' });

export const presenceMember = z
  .object({ user: userId, sessions: z.number().int().positive() })
  .meta({ id: 'PresenceMember' });

// --- requests ---------------------------------------------------------------------

export const channelParams = z.object({ channel: channelId });
export const memberParams = z.object({ channel: channelId, user: userId });
export const messageParams = z.object({ channel: channelId, seq: seqParam });
export const userParams = z.object({ user: userId });

export const createChannelBody = z.strictObject({
  id: channelId.optional().describe('Omit for a generated id; ignored for direct channels.'),
  type: z.enum(['public', 'private', 'direct']),
  title: z.string().max(200).nullable().optional(),
  publish: z.enum(['anyone', 'members', 'server']).optional(),
  members: z.array(userId).max(1000).optional().describe(`Users to add; for direct channels the others (at most ${MAX_DIRECT_MEMBERS - 1}).`),
});

export const updateChannelBody = z.strictObject({
  title: z.string().max(200).nullable().optional(),
  publish: z.enum(['anyone', 'members', 'server']).optional(),
});

export const listQuery = z.strictObject({
  limit: pageLimit,
  after: z.string().min(1).max(128).optional().describe('The `next` of the previous page.'),
});

export const addMemberBody = z.strictObject({
  user: userId,
  role: z.enum(['owner', 'admin', 'member']).optional(),
});

export const messageBody = z.strictObject({
  text: z.string().nullable().optional(),
  data: z.unknown().optional(),
  cid: cid.optional(),
  replyTo: seq.optional(),
});

export const historyQuery = z.strictObject({
  before: seqParam.optional().describe('Messages older than this seq (paging back); default: the newest.'),
  after: z.coerce.number().int().nonnegative().optional().describe('Messages newer than this seq (paging forward).'),
  limit: pageLimit,
});

export const editBody = z.strictObject({
  text: z.string().nullable().optional(),
  data: z.unknown().optional(),
});

export const batchBody = z.strictObject({
  messages: z
    .array(messageBody.extend({ channel: channelId }))
    .min(1)
    .max(100),
});

export const serverEventBody = z
  .strictObject({
    channel: channelId.optional(),
    user: userId.optional().describe('Push to this user\'s inbox (`user:<id>`) on all their devices.'),
    text: z.string().nullable().optional(),
    data: z.unknown().optional(),
    cid: cid.optional(),
  })
  .refine((body) => (body.channel === undefined) !== (body.user === undefined), {
    message: 'give exactly one of `channel` and `user`',
    path: ['channel'],
  });

export const updateUserBody = z.strictObject({ name: z.string().min(1).max(200) });

// --- responses --------------------------------------------------------------------

export const publishResult = z
  .object({
    seq: z.number().int().positive(),
    duplicate: z.boolean().describe('True when the cid was stored before: nothing new was written.'),
    event,
  })
  .meta({ id: 'PublishResult' });

export const batchResult = z.object({
  results: z.array(
    z.union([
      z.object({ ok: z.literal(true), seq: z.number().int().positive(), duplicate: z.boolean(), event }),
      z.object({ ok: z.literal(false), code: errorBody.shape.code, message: z.string() }),
    ]),
  ),
});

export const channelPage = z.object({
  channels: z.array(channel),
  next: z.string().nullable().describe('Pass as `after` for the next page; null on the last.'),
});
export const userPage = z.object({ users: z.array(user), next: z.string().nullable() });
export const historyPage = z.object({
  events: z.array(event).describe('Oldest first, in their current state (edited text, tombstones).'),
  hasMore: z.boolean(),
});
export const memberList = z.object({ members: z.array(member) });
export const presenceList = z.object({ members: z.array(presenceMember) });

/** Error responses a route may give, for the docs; the body is always `{code, message}`. */
export function errors(...statuses: (400 | 401 | 403 | 404 | 409 | 413 | 429)[]): Record<number, typeof errorBody> {
  return Object.fromEntries([401, ...statuses].map((status) => [status, errorBody]));
}
