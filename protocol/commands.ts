import { z } from 'zod';
import { ERROR_CODES, type ErrorCode } from './codes.js';
import { DEFAULT_LIMITS, dataProblem, stringProblem } from './limits.js';
import { MAX_ATTACHMENTS, MAX_DIRECT_MEMBERS } from './names.js';
import {
  avatarUrl,
  channel,
  channelEvent,
  channelId,
  directConversation,
  epoch,
  fileId,
  fileLinks,
  listedChannel,
  listName,
  member,
  memberRole,
  millis,
  presenceMember,
  publishPolicy,
  reactionCount,
  readPosition,
  retention,
  seq,
  statusText,
  unreadChannel,
  user,
  userId,
  userState,
} from './values.js';

/**
 * Every command a client or an app's backend can send, defined once: its input and result
 * schemas, who may call it, whether it needs a live connection, and whether a lost reply
 * may be retried. The server's registry holds one handler per entry; /ws, REST, gRPC and
 * the SDK derive from this table (bindings.ts says where each lives on each wire).
 */
export interface CommandContract<I extends z.ZodType = z.ZodType, R extends z.ZodType = z.ZodType> {
  readonly summary: string;
  readonly input: I;
  readonly result: R;
  /**
   * `user`: a signed-in user (a server principal gets `bad_request`); `server`: the app's
   * backend with an API key (others get `forbidden`); `any`: either.
   */
  readonly caller: 'any' | 'user' | 'server';
  /**
   * `required`: acts on the caller's live connection (subscriptions, live lists), so only
   * wires with one serve it, and what it set up ends with the connection: a client makes
   * it afresh on a new connection (resuming with `since`), whatever `retry` says;
   * `optional`: uses the connection when there is one; `none`.
   */
  readonly session: 'none' | 'optional' | 'required';
  /** Safe to send again when the reply was lost: reads, and writes made idempotent by a `cid`. */
  readonly retry: boolean;
}

const command = <I extends z.ZodType, R extends z.ZodType>(contract: CommandContract<I, R>) => contract;

// --- shared fields --------------------------------------------------------------------

const cid = z.string().min(1).max(128).describe('Client id: a retry with the same cid is stored once.');
const positiveSeq = z.number().int().positive();
const emoji = z.string().regex(/^\S{1,32}$/u, 'an emoji is 1-32 characters without spaces');
const title = z.string().max(200);
const topic = z.string().max(500).describe('What the channel is about (up to 500 characters).');
const text = z
  .string()
  .refine((value) => stringProblem(value) === null, { error: (issue) => `${stringProblem(issue.input as string)}` })
  .describe(`Up to ${DEFAULT_LIMITS.maxTextLength} characters (the server's maxTextLength).`);

/**
 * Any JSON value that every wire can carry: at most 32 levels deep and 32 KiB as JSON, no
 * NUL and no unpaired surrogate in its strings. Checked here, before anything is stored,
 * so what one transport accepts is deliverable on all of them. Too large is `too_large`;
 * anything else `bad_request`.
 */
export const jsonData = z
  .unknown()
  .superRefine((value, context) => {
    const problem = dataProblem(value);
    if (problem === null) return;
    const tooLarge = problem.startsWith('is larger');
    context.addIssue({ code: 'custom', message: problem, params: tooLarge ? { errorCode: 'too_large' } : undefined });
  })
  .describe(`Any JSON value, at most ${DEFAULT_LIMITS.maxDataDepth} levels deep and ${DEFAULT_LIMITS.maxDataBytes / 1024} KiB as JSON.`);

const pageLimit = (max: number, fallback: number) => z.number().int().min(1).max(max).default(fallback);

/** The most members a `presence` page holds, and what it holds when the client names no limit. */
export const PRESENCE_PAGE_LIMIT = 1000;
const none = z.null().describe('No content.');

/** The reply to a stored write: where the event sits in its channel's log. */
export const eventAck = z
  .object({
    channel: channelId,
    seq: positiveSeq,
    id: z.string(),
    createdAt: millis,
    /** For edits and deletes: the message they change. */
    target: seq.nullable(),
    duplicate: z.boolean().describe('True when the cid was stored before: nothing new was written or sent.'),
  })
  .meta({ id: 'EventAck' });

const errorCode = z.enum(Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]]).meta({ id: 'ErrorCode' });
export const errorBody = z
  .object({ code: errorCode, message: z.string(), details: z.record(z.string(), z.unknown()).optional() })
  .meta({ id: 'Error' });

const publishInput = z.strictObject({
  channel: channelId,
  text: text.nullable().optional(),
  data: jsonData.optional(),
  cid: cid.optional(),
  replyTo: seq.optional().describe('The seq of the message this one answers (a thread).'),
  attachments: z
    .array(fileId)
    .min(1)
    .max(MAX_ATTACHMENTS)
    .optional()
    .describe(`Up to ${MAX_ATTACHMENTS} files you uploaded for this channel (\`POST /api/files\`, or resumable); the message may then have no text.`),
});

/**
 * One message of a batch. Each succeeds or fails on its own, so a message that is not
 * valid passes here as `{unchecked: <the message as sent>}` and the handler refuses it in
 * the words a single `publish` gets, while the others are published; the batch's own shape
 * (1-100 messages) is checked here. Documented (OpenAPI, .proto) as `publish`'s input.
 */
const batchMessage = publishInput.catch(({ value }) => ({ unchecked: value }) as unknown as z.output<typeof publishInput>);

const listTarget = {
  list: listName,
  channel: channelId.optional().describe('The channel of a `members` list.'),
  users: z.array(userId).min(1).max(500).optional().describe('The users of a `users` list.'),
};

// --- the commands ---------------------------------------------------------------------

export const COMMANDS = {
  ping: command({
    summary: 'Checks the connection; answers the server time',
    input: z.strictObject({}),
    result: z.object({ at: millis }),
    caller: 'any',
    session: 'none',
    retry: true,
  }),

  // channels and members
  'channel.create': command({
    summary: 'Creates a channel; a direct channel is opened once and returned to whoever opens it again',
    input: z.strictObject({
      channel: channelId.optional().describe('Omit for a generated id; ignored for direct channels.'),
      channelType: z.enum(['public', 'private', 'direct']),
      title: title.nullable().optional(),
      topic: topic.nullable().optional(),
      publish: publishPolicy.optional().describe('Default: anyone in public channels, members otherwise.'),
      members: z
        .array(userId)
        .max(1000)
        .optional()
        .describe(`Users to add; for direct channels the others (at most ${MAX_DIRECT_MEMBERS - 1}).`),
      retention: retention.optional().describe("What the channel keeps of its log; default: its namespace's setting, else durable."),
    }),
    result: channel,
    caller: 'any',
    session: 'none',
    retry: false,
  }),
  'channel.get': command({
    summary: 'A channel, with its newest seq',
    input: z.strictObject({ channel: channelId }),
    result: channel,
    caller: 'any',
    session: 'none',
    retry: true,
  }),
  'channel.list': command({
    summary: 'Channels you may see, by id, with your role in each: public ones and those you belong to (all, for an API key)',
    input: z.strictObject({ after: channelId.optional().describe('The `next` of the previous page.'), limit: pageLimit(500, 100) }),
    result: z.object({ channels: z.array(listedChannel), next: channelId.nullable().describe('Pass as `after`; null on the last page.') }),
    caller: 'any',
    session: 'none',
    retry: true,
  }),
  'channel.update': command({
    summary: 'Changes the title, topic or publish policy, or archives the channel (owners and admins)',
    input: z.strictObject({
      channel: channelId,
      title: title.nullable().optional(),
      topic: topic.nullable().optional().describe('null or an empty string clears it.'),
      publish: publishPolicy.optional(),
      archived: z
        .boolean()
        .optional()
        .describe('true: read-only from now on (publish, edit, delete and reactions answer `archived`); false: writable again.'),
    }),
    result: channel,
    caller: 'any',
    session: 'none',
    retry: true,
  }),
  'channel.delete': command({
    summary: 'Deletes a channel with its history (owners)',
    input: z.strictObject({ channel: channelId }),
    result: none,
    caller: 'any',
    session: 'none',
    retry: false,
  }),
  'channel.join': command({
    summary: 'Joins a public channel as a member',
    input: z.strictObject({ channel: channelId }),
    result: member,
    caller: 'user',
    session: 'none',
    retry: true,
  }),
  'channel.leave': command({
    summary: 'Leaves a channel you are a member of',
    input: z.strictObject({ channel: channelId }),
    result: none,
    caller: 'user',
    session: 'none',
    retry: false,
  }),
  'members.list': command({
    summary: 'Members of a channel',
    input: z.strictObject({ channel: channelId }),
    result: z.object({ members: z.array(member) }),
    caller: 'any',
    session: 'none',
    retry: true,
  }),
  'members.add': command({
    summary: 'Adds a member or changes their role (owners and admins; only owners make owners)',
    input: z.strictObject({ channel: channelId, user: userId, role: memberRole.optional() }),
    result: member,
    caller: 'any',
    session: 'none',
    retry: true,
  }),
  'members.remove': command({
    summary: 'Removes a member (owners and admins), or yourself',
    input: z.strictObject({ channel: channelId, user: userId }),
    result: none,
    caller: 'any',
    session: 'none',
    retry: false,
  }),

  // the log
  subscribe: command({
    summary: 'Streams a channel: with `since`, every event after it first, then live events, with no gap and no duplicate',
    input: z.strictObject({
      channel: channelId,
      since: seq.optional().describe('The last seq you have; omit to start live from now.'),
      presence: z.boolean().optional().describe('false: no join/leave events on this channel (default true).'),
      epoch: epoch
        .optional()
        .describe('The channel epoch `since` belongs to (from an earlier subscribe): another one answers `stale_epoch`.'),
    }),
    result: z.object({
      channel: channelId,
      seq: seq.describe('The seq the subscription went live at.'),
      epoch: epoch.describe("The channel's current epoch: keep it with your position to resume."),
      truncated: z
        .boolean()
        .optional()
        .describe('Present when `since` was older than what the channel keeps: events after `since` up to `from` - 1 are gone.'),
      from: seq.optional().describe('With `truncated`: the first seq sent (or, if none was kept, the next live one).'),
    }),
    caller: 'any',
    session: 'required',
    retry: false,
  }),
  unsubscribe: command({
    summary: 'Stops a subscription',
    input: z.strictObject({ channel: channelId }),
    result: none,
    caller: 'any',
    session: 'required',
    retry: false,
  }),
  publish: command({
    summary: 'Appends a message; acknowledged once stored. A retry with the same cid stores nothing new',
    input: publishInput,
    result: eventAck,
    caller: 'any',
    session: 'none',
    retry: true,
  }),
  'publish.batch': command({
    summary: 'Publishes up to 100 messages to any channels; each succeeds or fails on its own',
    input: z.strictObject({ messages: z.array(batchMessage).min(1).max(100) }),
    result: z.object({
      results: z.array(
        z.union([
          eventAck.extend({ ok: z.literal(true) }),
          z.object({ ok: z.literal(false), code: errorCode, message: z.string() }),
        ]),
      ),
    }),
    caller: 'any',
    session: 'none',
    retry: true,
  }),
  push: command({
    summary: "The app's backend publishes to a channel, or to a user's inbox on all their devices",
    input: z
      .strictObject({
        channel: channelId.optional(),
        user: userId.optional().describe("Push to this user's inbox (`user:<id>`)."),
        text: text.nullable().optional(),
        data: jsonData.optional(),
        cid: cid.optional(),
      })
      .refine((input) => (input.channel === undefined) !== (input.user === undefined), {
        message: 'give exactly one of `channel` and `user`',
        path: ['channel'],
      }),
    result: eventAck,
    caller: 'server',
    session: 'none',
    retry: true,
  }),
  edit: command({
    summary: "Changes a message's text and/or data (its author); the edit takes its own seq",
    input: z.strictObject({ channel: channelId, seq: positiveSeq, text: text.nullable().optional(), data: jsonData.optional() }),
    result: eventAck,
    caller: 'any',
    session: 'none',
    retry: false,
  }),
  delete: command({
    summary: 'Deletes a message, leaving a tombstone (its author, or channel owners and admins)',
    input: z.strictObject({ channel: channelId, seq: positiveSeq }),
    result: eventAck,
    caller: 'any',
    session: 'none',
    retry: false,
  }),
  history: command({
    summary: 'Messages in their current state, oldest first: the newest, or a page before / after / around a seq',
    input: z
      .strictObject({
        channel: channelId,
        before: positiveSeq.optional().describe('Messages older than this seq (paging back).'),
        after: seq.optional().describe('Messages newer than this seq (paging forward).'),
        around: positiveSeq
          .optional()
          .describe('A page centred on this seq (a jump to a message): half the page up to it, the rest after it.'),
        limit: pageLimit(200, 50),
      })
      .refine((input) => input.around === undefined || (input.before === undefined && input.after === undefined), {
        message: 'give `around` alone, without `before` or `after`',
        path: ['around'],
      }),
    result: z.object({
      events: z.array(channelEvent),
      hasMore: z.boolean().describe('More messages beyond the page: older ones when paging back (and with `around`), newer ones with `after`.'),
      hasNewer: z.boolean().optional().describe('With `around` only: whether newer messages follow the page.'),
    }),
    caller: 'any',
    session: 'none',
    retry: true,
  }),

  // presence and signals
  presence: command({
    summary: 'Who is subscribed to a channel now, with their number of sessions, in user id order, a page at a time',
    input: z.strictObject({
      channel: channelId,
      after: userId.optional().describe('The `next` of the previous page.'),
      limit: pageLimit(PRESENCE_PAGE_LIMIT, PRESENCE_PAGE_LIMIT),
    }),
    result: z.object({
      members: z.array(presenceMember),
      next: userId.nullable().describe('Pass as `after`; null on the last page.'),
      users: z.number().int().nonnegative().describe('Distinct users in the channel, every page together.'),
      mode: z
        .enum(['members', 'occupancy'])
        .describe(
          'How the channel announces its presence now: `members`, join/leave frames (a client that shows the list reads every page once, then follows them); `occupancy`, counts only, above `presence.occupancyAbove` (read further pages only on request).',
        ),
    }),
    caller: 'any',
    session: 'none',
    retry: true,
  }),
  typing: command({
    summary: "Tells the channel's other subscribers you are typing (live only, never stored)",
    input: z.strictObject({ channel: channelId }),
    result: none,
    caller: 'user',
    session: 'optional',
    retry: false,
  }),

  // users
  'users.get': command({
    summary: 'A user',
    input: z.strictObject({ user: userId }),
    result: user,
    caller: 'any',
    session: 'none',
    retry: true,
  }),
  'users.list': command({
    summary: 'Users, in id order',
    input: z.strictObject({ after: userId.optional(), limit: pageLimit(200, 50) }),
    result: z.object({ users: z.array(user), next: userId.nullable() }),
    caller: 'any',
    session: 'none',
    retry: true,
  }),
  'users.update': command({
    summary:
      "Changes a user's profile: name, avatar URL, status text (yourself; an API key or an admin: anyone); pushed to users lists and contacts",
    input: z
      .strictObject({
        user: userId,
        name: z.string().trim().min(1).max(200).optional(),
        avatarUrl: avatarUrl.nullable().optional().describe('An absolute http(s) URL; null removes it.'),
        statusText: statusText.nullable().optional().describe('null (or "") removes it.'),
      })
      .refine((input) => input.name !== undefined || input.avatarUrl !== undefined || input.statusText !== undefined, {
        message: 'give at least one of `name`, `avatarUrl` and `statusText`',
        path: ['name'],
      }),
    result: user,
    caller: 'any',
    session: 'none',
    retry: true,
  }),
  'users.register': command({
    summary: "The app's backend registers a user (or refreshes one) and gets a token for the user's client",
    input: z.strictObject({
      user: userId,
      name: z.string().min(1).max(200).optional(),
      roles: z.array(z.string().min(1).max(64)).max(32).optional(),
    }),
    result: z.object({
      user: z.object({ id: userId, name: z.string(), roles: z.array(z.string()) }),
      token: z.string(),
      expiresAt: millis,
      inbox: channelId,
      created: z.boolean().describe('False when the user existed already.'),
    }),
    caller: 'server',
    session: 'none',
    retry: true,
  }),
  'ticket.create': command({
    summary: 'A single-use connect ticket for `/ws?ticket=` and `/sse?ticket=`, so no token goes into a URL',
    input: z.strictObject({
      user: userId.optional().describe("The app's backend names the user; a user gets one for themselves."),
      name: z.string().min(1).max(200).optional(),
      roles: z.array(z.string().min(1).max(64)).max(32).optional(),
    }),
    result: z.object({ ticket: z.string(), expiresAt: millis }),
    caller: 'any',
    session: 'none',
    retry: true,
  }),
  'users.ban': command({
    summary: "The app's backend bans a user: their sessions end on every node, and they cannot authenticate until unbanned",
    input: z.strictObject({
      user: userId,
      reason: z.string().min(1).max(200).optional().describe('Kept with the ban; never shown to the user.'),
    }),
    result: z.object({
      user: userId,
      reason: z.string().nullable(),
      bannedAt: millis.describe('When the ban was first made: banning again changes nothing.'),
    }),
    caller: 'server',
    session: 'none',
    retry: true,
  }),
  'users.unban': command({
    summary: "The app's backend lifts a ban: the user may authenticate again",
    input: z.strictObject({ user: userId }),
    result: none,
    caller: 'server',
    session: 'none',
    retry: true,
  }),
  'users.disconnect': command({
    summary:
      'Ends every session of a user on every node (an administrator or the backend); their clients are told not to reconnect by themselves, and the user may connect again',
    input: z.strictObject({ user: userId }),
    result: z.object({
      user: userId,
      disconnected: z.number().int().nonnegative().describe('Sessions ended, every node that answered together.'),
      missing: z.array(z.string()).optional().describe('Nodes that did not answer in time (their sessions may remain).'),
    }),
    caller: 'any',
    session: 'none',
    retry: true,
  }),
  'auth.refresh': command({
    summary:
      "Keeps a live session past its credential's expiry: a new token for the same user moves the session's end; without one it ends at the old token's exp plus the clock tolerance",
    input: z.strictObject({ token: z.string().min(1).max(8192).describe("A new access token (JWT) for the session's user.") }),
    result: z.object({
      user: userId,
      expiresAt: millis.nullable().describe('When the session now ends unless refreshed again; null: never.'),
    }),
    caller: 'user',
    session: 'required',
    retry: true,
  }),

  // chat: direct messages, contacts, status
  'dm.list': command({
    summary: 'Your direct conversations with their newest message, newest activity first',
    input: z.strictObject({ limit: pageLimit(100, 50) }),
    result: z.object({ directs: z.array(directConversation) }),
    caller: 'user',
    session: 'none',
    retry: true,
  }),
  'contacts.add': command({
    summary: 'Adds a contact (both ways)',
    input: z.strictObject({ user: userId }),
    result: userState,
    caller: 'user',
    session: 'none',
    retry: true,
  }),
  'contacts.remove': command({
    summary: 'Removes a contact (both ways)',
    input: z.strictObject({ user: userId }),
    result: none,
    caller: 'user',
    session: 'none',
    retry: false,
  }),
  'contacts.list': command({
    summary: 'Your contacts and their status',
    input: z.strictObject({}),
    result: z.object({ contacts: z.array(userState) }),
    caller: 'user',
    session: 'none',
    retry: true,
  }),
  'status.set': command({
    summary: 'Sets your status to online or away (offline follows your connections: without one, `conflict`)',
    input: z.strictObject({ status: z.enum(['online', 'away']) }),
    result: userState,
    caller: 'user',
    session: 'none',
    retry: true,
  }),

  // chat: read state
  'read.mark': command({
    summary: 'Moves your read position forward (members of private channels and DMs get a receipt)',
    input: z.strictObject({ channel: channelId, seq }),
    result: z.object({ channel: channelId, seq }),
    caller: 'user',
    session: 'none',
    retry: true,
  }),
  'read.get': command({
    summary: "Read positions: every member's in private channels and DMs, only yours in public ones",
    input: z.strictObject({ channel: channelId }),
    result: z.object({ positions: z.array(readPosition) }),
    caller: 'any',
    session: 'none',
    retry: true,
  }),
  catchup: command({
    summary: 'What changed since you were last seen: unread channels, DMs, mentions',
    input: z.strictObject({}),
    result: z.object({
      lastSeen: millis.nullable(),
      channels: z.array(unreadChannel),
      directs: z.array(directConversation),
      mentions: z.array(channelEvent),
    }),
    caller: 'user',
    session: 'none',
    retry: true,
  }),

  // chat: reactions, threads, search
  'reaction.add': command({
    summary: 'Reacts to a message (a `reaction` event; twice with one emoji is once)',
    input: z.strictObject({ channel: channelId, seq: positiveSeq, emoji }),
    result: z.object({ channel: channelId, target: seq, seq: seq.nullable(), changed: z.boolean() }),
    caller: 'user',
    session: 'none',
    retry: true,
  }),
  'reaction.remove': command({
    summary: 'Removes your reaction (an `unreaction` event)',
    input: z.strictObject({ channel: channelId, seq: positiveSeq, emoji }),
    result: z.object({ channel: channelId, target: seq, seq: seq.nullable(), changed: z.boolean() }),
    caller: 'user',
    session: 'none',
    retry: true,
  }),
  'reactions.get': command({
    summary: 'Reaction counts per emoji for up to 200 messages',
    input: z.strictObject({ channel: channelId, seqs: z.array(positiveSeq).min(1).max(200) }),
    result: z.object({ reactions: z.record(z.string(), z.array(reactionCount)).describe('By seq.') }),
    caller: 'any',
    session: 'none',
    retry: true,
  }),
  thread: command({
    summary: 'A message and its replies, oldest first; page on with `after`',
    input: z.strictObject({ channel: channelId, seq: positiveSeq, after: seq.optional(), limit: pageLimit(100, 50) }),
    result: z.object({ root: channelEvent, replies: z.array(channelEvent), hasMore: z.boolean() }),
    caller: 'any',
    session: 'none',
    retry: true,
  }),
  search: command({
    summary: 'Full-text search over the messages you may read, newest first',
    input: z.strictObject({
      text: z.string().min(1).max(200).describe('Words to find (all of them).'),
      channel: channelId.optional(),
      author: userId.optional(),
      cursor: z.string().max(400).optional().describe('The `next` of the previous page.'),
      limit: pageLimit(100, 20),
    }),
    result: z.object({ results: z.array(channelEvent), next: z.string().nullable().describe('Pass as `cursor`; null on the last page.') }),
    caller: 'any',
    session: 'none',
    retry: true,
  }),

  // files
  'files.get': command({
    summary: "Files with fresh signed links to their bytes and thumbnails: readers of each file's channel",
    input: z.strictObject({ ids: z.array(fileId).min(1).max(100) }),
    result: z.object({
      files: z.array(fileLinks).describe('In the order asked, each once.'),
      missing: z.array(fileId).describe("Ids that are unknown, hidden (their message was deleted) or in a channel you may not read."),
    }),
    caller: 'any',
    session: 'none',
    retry: true,
  }),

  // chat: live lists
  'list.subscribe': command({
    summary: 'Follows a live list (channels you may see, a channel\'s members, chosen users): a snapshot, then changes',
    input: z.strictObject(listTarget),
    result: z.object({
      list: listTarget.list,
      channel: channelId.optional(),
      items: z.array(z.union([listedChannel, member, userState])),
    }),
    caller: 'any',
    session: 'required',
    retry: false,
  }),
  'list.unsubscribe': command({
    summary: 'Stops following a live list',
    input: z.strictObject(listTarget),
    result: none,
    caller: 'any',
    session: 'required',
    retry: false,
  }),

  // the app's backend
  rpc: command({
    summary: "Calls the app's backend through Switchboard (the rpc hook) and answers with its reply; `unavailable` when no rpc hook is set up",
    input: z.strictObject({
      method: z.string().regex(/^[A-Za-z0-9_.:\/-]{1,128}$/, 'a method is 1-128 letters, digits or _ . : / -').describe("The backend's method name."),
      data: jsonData.optional().describe('What the backend is handed.'),
    }),
    result: z.object({ data: z.unknown().describe("The backend's answer (any JSON; null when it sent none).") }).meta({ id: 'RpcResult' }),
    caller: 'user',
    session: 'optional',
    // The backend may act on a call: a lost reply is not sent again.
    retry: false,
  }),
} as const;

export type Commands = typeof COMMANDS;
export type CommandName = keyof Commands;
/** What a client sends (defaults not yet applied). */
export type CommandRequest<N extends CommandName> = z.input<Commands[N]['input']>;
/** What a handler receives: validated, defaults applied. */
export type CommandInput<N extends CommandName> = z.output<Commands[N]['input']>;
export type CommandResult<N extends CommandName> = z.output<Commands[N]['result']>;

export const COMMAND_NAMES = Object.keys(COMMANDS) as CommandName[];

export function isCommandName(name: string): name is CommandName {
  return Object.hasOwn(COMMANDS, name);
}
