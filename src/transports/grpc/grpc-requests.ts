import { z } from 'zod';
import { SwitchboardError } from '../../core/errors.js';
import { CHANNEL_ID_PATTERN, USER_ID_PATTERN } from '../../core/names.js';
import { CHANNEL_TYPES, fromProtoEnum, MEMBER_ROLES, PUBLISH_POLICIES } from './grpc-messages.js';
import { valueToJson } from './json-value.js';

/**
 * Validation of decoded switchboard.v1 requests, with the limits of the WebSocket frames
 * (src/transports/ws/client-frames.ts). Protobuf has already checked the types; this checks
 * the values. Proto3 cannot tell an empty string from an unset one, so a required string
 * that is empty is reported as missing.
 */

const channelId = z
  .string({ error: 'is required' })
  .regex(CHANNEL_ID_PATTERN, 'must be 1-128 of A-Z a-z 0-9 _ . : @ , + -');
const userId = z.string({ error: 'is required' }).regex(USER_ID_PATTERN, 'must be 1-64 of A-Z a-z 0-9 _ . @ -');
const seq = z.number().int().nonnegative();
const requiredSeq = z.number({ error: 'is required' }).int().positive();
/** A proto3 string where empty means unset. */
const optionalString = (max: number) =>
  z
    .string()
    .max(max, `must be at most ${max} characters`)
    .optional()
    .transform((value) => (value === '' ? undefined : value));
const protoEnum = <K extends string>(names: Record<K, string>, allowed: readonly K[]) =>
  z
    .string()
    .optional()
    .transform((value, context) => {
      if (value === undefined || value.endsWith('_UNSPECIFIED')) return undefined;
      const name = fromProtoEnum(names, value);
      if (name === undefined || !allowed.includes(name)) {
        context.addIssue({ code: 'custom', message: `must be one of ${allowed.map((a) => names[a]).join(', ')}` });
        return z.NEVER;
      }
      return name;
    });
/** google.protobuf.Value as JSON; an unset field stays undefined (edits keep the old data). */
const jsonData = z
  .unknown()
  .optional()
  .transform((value, context) => {
    if (value === undefined) return undefined;
    try {
      return valueToJson(value);
    } catch (error) {
      context.addIssue({ code: 'custom', message: (error as Error).message.replace(/^data /, '').replace(/\.$/, '') });
      return z.NEVER;
    }
  });

const channelOnly = z.object({ channel: channelId });

export const requests = {
  publish: z.object({
    channel: channelId,
    text: z.string().optional(),
    data: jsonData,
    cid: optionalString(128),
    replyTo: seq.optional(),
  }),
  edit: z.object({ channel: channelId, seq: requiredSeq, text: z.string().optional(), data: jsonData }),
  delete: z.object({ channel: channelId, seq: requiredSeq }),
  subscribe: z.object({ channel: channelId, since: seq.optional(), eventsOnly: z.boolean().optional() }),
  history: z.object({
    channel: channelId,
    before: seq.optional(),
    after: seq.optional(),
    limit: z.number().int().min(0).max(1000).optional(),
  }),
  presence: channelOnly,
  createChannel: z.object({
    channel: optionalString(128).pipe(channelId.optional()),
    type: protoEnum(CHANNEL_TYPES, ['public', 'private', 'direct']).pipe(
      z.enum(['public', 'private', 'direct'], { error: 'is required: CHANNEL_TYPE_PUBLIC, _PRIVATE or _DIRECT' }),
    ),
    title: z.string().max(200, 'must be at most 200 characters').optional(),
    publish: protoEnum(PUBLISH_POLICIES, ['anyone', 'members', 'server']),
    members: z.array(userId).max(1000, 'must list at most 1000 users').optional(),
  }),
  getChannel: channelOnly,
  listChannels: z.object({
    limit: z.number().int().min(0).max(500, 'must be at most 500').optional(),
    after: optionalString(128).pipe(channelId.optional()),
  }),
  joinChannel: channelOnly,
  leaveChannel: channelOnly,
  addMember: z.object({
    channel: channelId,
    user: userId,
    role: protoEnum(MEMBER_ROLES, ['owner', 'admin', 'member']),
  }),
  removeMember: z.object({ channel: channelId, user: userId }),
  listMembers: channelOnly,
} as const;

/** Parses a decoded request, or throws `bad_request` naming the field and what is wrong. */
export function parseRequest<S extends z.ZodType>(schema: S, request: unknown): z.output<S> {
  const parsed = schema.safeParse(request ?? {});
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const field = issue.path.map(String).map(toSnakeCase).join('.') || 'request';
  throw new SwitchboardError('bad_request', `Invalid ${field}: ${issue.message}.`);
}

/** Field names as the .proto spells them, so the message matches what the caller wrote. */
function toSnakeCase(name: string): string {
  return name.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
}
