import { z } from 'zod';
import { CHANNEL_ID_PATTERN, CHANNEL_ID_RULE, FILE_ID_PATTERN, USER_ID_PATTERN, USER_ID_RULE } from './names.js';

/**
 * The values the protocol carries (channels, members, users, events ...), as zod schemas:
 * they validate, document (OpenAPI, .proto) and type. The TypeScript types below are what
 * the server's core, the SDK and the web app use; the SDK imports them as types only.
 */

export const channelId = z.string().regex(CHANNEL_ID_PATTERN, CHANNEL_ID_RULE).meta({
  description: 'Channel id. `user:<id>` is a user\'s inbox, `dm:<a>,<b>` a direct channel.',
});
export const userId = z.string().regex(USER_ID_PATTERN, USER_ID_RULE);
/** A position in a channel's log: 1, 2, 3 ... with no holes (0: before the first). */
export const seq = z.number().int().nonnegative();
export const millis = z.number().int().nonnegative().describe('Milliseconds since the Unix epoch.');
/**
 * A channel's generation: 1 for the first channel of an id, one more each time the id is
 * created again after a delete, so a position (`since`) in a deleted channel's log is never
 * taken for one in its successor's.
 */
export const epoch = z.number().int().positive();

export const channelType = z.enum(['public', 'private', 'direct', 'inbox']).meta({ id: 'ChannelType' });
/** Who may publish: any user who may read, members only, or only the server (API key). */
export const publishPolicy = z.enum(['anyone', 'members', 'server']).meta({ id: 'PublishPolicy' });
export const memberRole = z.enum(['owner', 'admin', 'member']).meta({ id: 'MemberRole' });
/** `reaction` and `unreaction` carry the emoji in `text` and the message in `target`. */
export const eventKind = z.enum(['message', 'edit', 'delete', 'reaction', 'unreaction']).meta({ id: 'EventKind' });
export const presenceAction = z.enum(['join', 'add', 'remove', 'leave']).meta({ id: 'PresenceAction' });
/** Live lists a connection may follow: the channels it may see, a channel's members, chosen users. */
export const listName = z.enum(['channels', 'members', 'users']).meta({ id: 'ListName' });
export const listAction = z.enum(['add', 'update', 'remove']).meta({ id: 'ListAction' });
/** `away` is set by the user; online and offline follow their connections. */
export const userStatus = z.enum(['online', 'away', 'offline']).meta({ id: 'UserStatus' });

/**
 * What a channel keeps of its log. `durable` (the default) stores every event, bounded by
 * `maxAge` seconds and/or `maxCount` events when given (older ones are pruned in the
 * background); `memory` keeps the newest `maxCount` events (default 100) in memory (Redis
 * in a cluster) and nothing in the database, lost on a full restart; `none` keeps nothing.
 * Every mode numbers events 1, 2, 3 ...; a resume older than what is kept says so
 * (`truncated`).
 */
export const retentionMode = z.enum(['durable', 'memory', 'none']).meta({ id: 'RetentionMode' });
export const MAX_MEMORY_RING = 10_000;
export const retention = z
  .strictObject({
    mode: retentionMode,
    maxAge: z.number().int().positive().max(10 * 365 * 86_400).optional().describe('Seconds an event is kept (durable, memory).'),
    maxCount: z
      .number()
      .int()
      .positive()
      .optional()
      .describe(`Newest events kept: durable prunes older ones; memory's ring size (default 100, at most ${MAX_MEMORY_RING}).`),
  })
  .superRefine((value, context) => {
    const problem = retentionProblem(value);
    if (problem) context.addIssue({ code: 'custom', message: problem });
  })
  .meta({ id: 'Retention' });

/** Why a retention setting makes no sense, or null (shared by the protocol and the config file). */
export function retentionProblem(value: { mode: string; maxAge?: number; maxCount?: number }): string | null {
  if (value.mode === 'none' && (value.maxAge !== undefined || value.maxCount !== undefined)) {
    return 'retention "none" keeps nothing, so it takes no maxAge or maxCount';
  }
  if (value.mode === 'memory' && value.maxCount !== undefined && value.maxCount > MAX_MEMORY_RING) {
    return `a memory ring holds at most ${MAX_MEMORY_RING} events`;
  }
  return null;
}

export const channel = z
  .object({
    id: channelId,
    type: channelType,
    title: z.string().nullable(),
    topic: z.string().nullable().describe('What the channel is about, shown under its title; null when unset.'),
    publish: publishPolicy,
    createdBy: userId.nullable(),
    createdAt: millis,
    lastSeq: seq.describe('Seq of the newest event; 0 when empty.'),
    retention: retention.optional().describe("What the channel keeps; absent: durable, unbounded (or its namespace's setting)."),
    epoch: epoch.describe('Which generation of the id this is: a channel deleted and created again gets a higher one.'),
    archivedAt: millis.optional().describe('When it was archived (read-only: no publish, edit, delete or reaction); absent: not archived.'),
  })
  .meta({ id: 'Channel' });

/**
 * A channel as a list shows it to one caller: with the caller's role in it. In a live
 * list's changes the role is there when the change concerns the caller's membership
 * (joined, added, role changed, left: null) and absent otherwise (keep the one you had).
 */
export const listedChannel = channel
  .extend({
    role: memberRole
      .nullable()
      .optional()
      .describe('Your role; null when you are not a member (and for an API key). Absent: unchanged.'),
  })
  .meta({ id: 'ListedChannel' });

export const member = z
  .object({ channel: channelId, user: userId, role: memberRole, joinedAt: millis })
  .meta({ id: 'Member' });

/** Longest avatar URL a profile keeps. */
export const MAX_AVATAR_URL_LENGTH = 2048;
/** Longest status text a profile keeps (a line, like a chat app's "custom status"). */
export const MAX_STATUS_TEXT_LENGTH = 140;

/** An avatar: an absolute http(s) URL, so a client can put it in `<img src>` without surprises (`javascript:`, `data:`). */
export const avatarUrl = z
  .string()
  .max(MAX_AVATAR_URL_LENGTH)
  .refine((value) => isHttpUrl(value), { error: 'an avatar URL is an absolute http:// or https:// URL' })
  .describe(`An absolute http(s) URL, up to ${MAX_AVATAR_URL_LENGTH} characters.`);
export const statusText = z
  .string()
  .max(MAX_STATUS_TEXT_LENGTH)
  .refine((value) => !/[\u0000-\u001f\u007f]/.test(value), { error: 'a status text is one line without control characters' })
  .describe(`One line, up to ${MAX_STATUS_TEXT_LENGTH} characters.`);

function isHttpUrl(value: string): boolean {
  if (!URL.canParse(value)) return false;
  const { protocol, host } = new URL(value);
  return (protocol === 'http:' || protocol === 'https:') && host.length > 0;
}

/** A user's profile beside their id: what the users list, contacts and `users.get` show. */
const profileFields = {
  avatarUrl: avatarUrl.nullable().describe('The user\'s picture (an http(s) URL); null when unset.'),
  statusText: statusText.nullable().describe('A line the user shows beside their name; null when unset.'),
};

export const user = z.object({ id: userId, name: z.string(), ...profileFields, createdAt: millis }).meta({ id: 'User' });

/** An uploaded file's id: `f` and 22 url-safe characters. */
export const fileId = z.string().regex(FILE_ID_PATTERN, 'a file id is f and 22 letters, digits, - or _');
/** `none`: not an image the server previews; `pending`: being made; `ready`: at `/api/files/:id/thumbnail`. */
export const thumbnailState = z.enum(['none', 'pending', 'ready']).meta({ id: 'ThumbnailState' });

/**
 * A file a message carries: what a client needs to show a file card or lay out an image
 * preview before it downloads anything. No link: links expire, events are kept; readers
 * get signed links with `files.get`.
 */
export const attachment = z
  .object({
    id: fileId,
    name: z.string().describe('Sanitised: no path, control or bidirectional characters.'),
    size: z.number().int().nonnegative().describe('Bytes.'),
    type: z.string().describe('Sniffed from the bytes, never taken from the client (`application/octet-stream` when unknown).'),
    width: z.number().int().positive().nullable().describe('Images: pixels as shown; null otherwise.'),
    height: z.number().int().positive().nullable(),
    thumbnail: thumbnailState,
  })
  .meta({ id: 'Attachment' });

/** A file with signed links to its bytes, for a reader of its channel (`files.get`). */
export const fileLinks = attachment
  .extend({
    channel: channelId,
    url: z.string().describe('Signed link to the bytes, relative to the server; works without headers (`<img src>`, `<a href>`).'),
    thumbnailUrl: z.string().nullable().describe('Signed link to the thumbnail (WebP); null when there is none.'),
    urlsExpireAt: millis.describe('When both links stop working.'),
  })
  .meta({ id: 'FileLinks' });
/** A thread's summary on its root message, kept by the server as replies are stored. */
export const threadSummary = z
  .object({
    replies: z.number().int().positive().describe('Replies stored (a deleted one stays as a tombstone and counts).'),
    lastReplySeq: seq.describe('The newest reply: a live reply with a higher seq is not counted yet.'),
    lastReplyAt: millis.describe('When the newest reply was stored.'),
  })
  .meta({ id: 'ThreadSummary' });

/**
 * One entry of a channel's log. A `message` shows its current state when replayed (edited
 * text, or a tombstone with `deletedAt` and no text); `edit`, `delete`, `reaction` and
 * `unreaction` name the message they concern in `target`.
 */
export const channelEvent = z
  .object({
    channel: channelId,
    seq: seq,
    kind: eventKind,
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
    attachments: z
      .array(attachment)
      .optional()
      .describe('Files the message carries (messages only); absent when it has none or was deleted.'),
    thread: threadSummary
      .optional()
      .describe(
        'On a message with replies (history, thread, search): how many, the newest one. Live, each reply is its own event with `replyTo`.',
      ),
  })
  .meta({ id: 'Event' });

export const presenceMember = z
  .object({
    user: userId,
    sessions: z.number().int().positive(),
    info: z
      .unknown()
      .optional()
      .describe("What the app's subscribe hook attached to the user's subscription (one of them, if the user's sessions got different ones); absent: none (docs/backend-hooks.md)."),
  })
  .meta({ id: 'PresenceMember' });

export const userState = z
  .object({
    user: userId,
    name: z.string(),
    ...profileFields,
    status: userStatus,
    lastSeen: millis.nullable().describe('When the user was last online; null if never seen.'),
  })
  .meta({ id: 'UserState' });

export const readPosition = z.object({ user: userId, seq, at: millis }).meta({ id: 'ReadPosition' });

export const unreadChannel = z
  .object({
    channel: channelId,
    type: channelType,
    lastSeq: seq,
    readSeq: seq.describe('Your read position (0: nothing read).'),
    unread: z.number().int().nonnegative().describe('Messages by others after your read position.'),
  })
  .meta({ id: 'UnreadChannel' });

export const directConversation = z
  .object({
    channel,
    members: z.array(userId),
    latest: channelEvent.nullable().describe('The newest message in its current state; null before the first.'),
  })
  .meta({ id: 'DirectConversation' });

export const reactionCount = z
  .object({ emoji: z.string(), count: z.number().int().positive(), users: z.array(userId) })
  .meta({ id: 'ReactionCount' });

export type ChannelId = string;
export type UserId = string;
export type SessionId = string;
export type MessageId = string;
export type Seq = number;
export type Millis = number;

export type ChannelType = z.output<typeof channelType>;
export type PublishPolicy = z.output<typeof publishPolicy>;
export type RetentionMode = z.output<typeof retentionMode>;
export type Retention = Readonly<z.output<typeof retention>>;
export type MemberRole = z.output<typeof memberRole>;
export type EventKind = z.output<typeof eventKind>;
export type PresenceAction = z.output<typeof presenceAction>;
export type UserStatus = z.output<typeof userStatus>;
export type Channel = Readonly<z.output<typeof channel>>;
export type ListedChannel = Readonly<z.output<typeof listedChannel>>;
export type ThreadSummary = Readonly<z.output<typeof threadSummary>>;
export type Member = Readonly<z.output<typeof member>>;
export type User = Readonly<z.output<typeof user>>;
export type ChannelEvent = Readonly<z.output<typeof channelEvent>>;
export type PresenceMember = Readonly<z.output<typeof presenceMember>>;
export type UserState = Readonly<z.output<typeof userState>>;
export type ReadPosition = Readonly<z.output<typeof readPosition>>;
export type UnreadChannel = Readonly<z.output<typeof unreadChannel>>;
export type DirectConversation = Readonly<z.output<typeof directConversation>>;
export type ReactionCount = Readonly<z.output<typeof reactionCount>>;
export type FileId = string;
export type ThumbnailState = z.output<typeof thumbnailState>;
export type Attachment = Readonly<z.output<typeof attachment>>;
export type FileLinks = Readonly<z.output<typeof fileLinks>>;
