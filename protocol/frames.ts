import { z } from 'zod';
import { errorBody, jsonData } from './commands.js';
import { NULLABLE_EVENT_FIELDS } from './compact-event.js';
import {
  avatarUrl,
  channelEvent,
  channelId,
  epoch,
  listAction,
  listedChannel,
  listName,
  member,
  millis,
  presenceAction,
  seq,
  statusText,
  userId,
  userState,
  userStatus,
} from './values.js';

/**
 * Frames the server pushes to a connection (no request id): stored events, presence and
 * other live signals, per-user notices, and the close notice. On /ws each is one JSON
 * object with a `type`; SSE uses `type` as the event name; gRPC streams carry them in a
 * oneof. Replies to requests (`ok`, `error`) are described by each command's result.
 */

/**
 * A stored event as pushed: its fields, with every null one left out (absent means null),
 * `kind` left out for a message and `createdAt` left out when the id carries it (see
 * compact-event.ts, which writes and reads this form, and event-id.ts).
 */
export const eventFrame = channelEvent
  .partial(Object.fromEntries(NULLABLE_EVENT_FIELDS.map((field) => [field, true])) as Record<(typeof NULLABLE_EVENT_FIELDS)[number], true>)
  .extend({
    type: z.literal('event'),
    kind: channelEvent.shape.kind.optional().describe('Absent: `message`.'),
    createdAt: channelEvent.shape.createdAt
      .optional()
      .describe("Absent: the time the id carries (its first 8 characters, base64url, are 48 bits of Unix milliseconds)."),
  })
  .meta({ id: 'EventFrame' });

/** Which frame of a channel's presence this is: the same on every node and wire (each node numbers its own). */
const presenceId = z.string().describe('Unique id of this presence frame, the same on every node and wire.');

/** One session entering or leaving a channel's presence: `join` and `leave` are a user's first and last session. */
export const presenceChange = z
  .object({
    action: presenceAction,
    user: userId,
    session: z.string(),
    info: z
      .unknown()
      .optional()
      .describe("What the app's subscribe hook attached to this subscription (join and add only; docs/backend-hooks.md)."),
  })
  .meta({ id: 'PresenceChange' });

/** The one change to a channel's presence in a tick (more than one in a tick: `presenceBatch`). */
export const presenceFrame = presenceChange
  .extend({ type: z.literal('presence'), channel: channelId, id: presenceId, at: millis })
  .meta({ id: 'PresenceFrame' });

/**
 * The changes to a channel's presence in one tick, in order, as one frame: a thousand
 * subscribes at once cost each subscriber one frame, not a thousand.
 */
export const presenceBatchFrame = z
  .object({
    type: z.literal('presenceBatch'),
    channel: channelId,
    id: presenceId,
    at: millis,
    changes: z.array(presenceChange).min(2),
  })
  .meta({ id: 'PresenceBatchFrame' });

/**
 * How many users a channel's presence holds, for channels above the occupancy threshold
 * (config presence.occupancyAbove): they get no join/leave frames, only this, at most
 * once per presence.occupancyIntervalMs per node, when the count changed. `mode` says
 * which way the channel went: `occupancy` (counts only; page through the members with the
 * `presence` command) or `members` (back at or below the threshold: join/leave frames
 * follow again; read the list with `presence` once to rebuild it).
 */
export const occupancyFrame = z
  .object({
    type: z.literal('occupancy'),
    channel: channelId,
    id: presenceId,
    at: millis,
    users: z.number().int().nonnegative().describe('Distinct users with a session in the channel, every node together.'),
    mode: z.enum(['occupancy', 'members']),
  })
  .meta({ id: 'OccupancyFrame' });

export const typingFrame = z
  .object({ type: z.literal('typing'), channel: channelId, user: userId, at: millis })
  .meta({ id: 'TypingFrame' });

/** A member read a channel up to `seq` (private channels and DMs only; never to non-readers). */
export const receiptFrame = z
  .object({ type: z.literal('receipt'), channel: channelId, user: userId, seq, at: millis })
  .meta({ id: 'ReceiptFrame' });

/** A user's status changed: to their contacts, to whoever shares a channel with them, to their own sessions. */
export const statusFrame = z
  .object({ type: z.literal('status'), user: userId, status: userStatus, lastSeen: millis.nullable(), at: millis })
  .meta({ id: 'StatusFrame' });

/**
 * A user's profile changed (`users.update`, or a name their credential brought): to their
 * contacts and their own sessions. Live users lists get it as a `list` update instead.
 */
export const profileFrame = z
  .object({
    type: z.literal('profile'),
    user: userId,
    name: z.string(),
    avatarUrl: avatarUrl.nullable(),
    statusText: statusText.nullable(),
    at: millis,
  })
  .meta({ id: 'ProfileFrame' });

/** Sent once after authenticating: the user's contacts and their current states. */
export const contactsFrame = z
  .object({ type: z.literal('contacts'), contacts: z.array(userState) })
  .meta({ id: 'ContactsFrame' });


/** A change to a live list the connection follows (`list.subscribe`); the item's shape follows the list. */
export const listFrame = z
  .discriminatedUnion('list', [
    z.object({
      type: z.literal('list'),
      list: z.literal('channels'),
      action: listAction,
      item: z.union([listedChannel, z.object({ id: channelId })]).describe('A deleted channel is named by its id only.'),
    }),
    z.object({
      type: z.literal('list'),
      list: z.literal('members'),
      channel: channelId.describe('The channel whose members changed.'),
      action: listAction,
      item: member,
    }),
    z.object({ type: z.literal('list'), list: z.literal('users'), action: listAction, item: userState }),
  ])
  .meta({ id: 'ListFrame' });

/** The connection is about to close; `reconnect` says whether to come back (and resume). */
export const closeFrame = z
  .object({
    type: z.literal('close'),
    reason: z.string(),
    reconnect: z.boolean(),
    spreadMs: z.number().int().positive().optional().describe('Wait a random delay below this before reconnecting.'),
  })
  .meta({ id: 'CloseFrame' });

/** /ws only: the connection authenticated from its upgrade request. */
export const welcomeFrame = z
  .object({
    type: z.literal('welcome'),
    session: z.string(),
    user: userId,
    name: z.string(),
    expiresAt: millis
      .optional()
      .describe('When the session ends unless refreshed (`auth.refresh`): the credential\'s expiry plus the clock tolerance. Absent: it does not expire.'),
    subscriptions: z
      .array(z.object({ channel: channelId, seq, epoch: epoch.describe('The channel epoch `seq` is in: sent back in `auth.epochs`.') }))
      .optional()
      .describe("Server-side subscriptions (the connect hook's `channels`, or the token's `channels` claim), each live from `seq`; absent: none."),
  })
  .meta({ id: 'WelcomeFrame' });

/**
 * The server ended one subscription: read access to the channel was taken away (removed
 * from a private channel or DM, the channel deleted), on whichever node it changed. Nothing
 * more of the channel follows; subscribing again is refused until access is back. /ws and
 * SSE (`event: unsubscribed`) only: a gRPC Subscribe call ends with the code's status.
 */
export const unsubscribedFrame = z
  .object({
    type: z.literal('unsubscribed'),
    channel: channelId,
    code: errorBody.shape.code.describe('Why: `forbidden` (access taken away), `not_found` (the channel was deleted).'),
    message: z.string(),
  })
  .meta({ id: 'UnsubscribedFrame' });

/**
 * The channel was deleted (by its owner, an app's backend or an administrator), on
 * whichever node: the subscription has ended and nothing more of that channel follows.
 * If the id is created again it is a new channel with a higher `epoch`; subscribe to it
 * afresh (a resume into the old epoch is refused with `stale_epoch`). /ws frame, SSE
 * `event: channelDeleted` (then a one-channel stream ends), gRPC `channel_deleted` (then
 * the call ends OK), Pusher `switchboard:channel_deleted` on the channel.
 */
export const channelDeletedFrame = z
  .object({
    type: z.literal('channelDeleted'),
    channel: channelId,
    epoch: epoch.describe('The epoch that was deleted.'),
    at: millis,
  })
  .meta({ id: 'ChannelDeletedFrame' });

/** /ws replies: one per request, with the request's id. */
export const requestId = z.union([z.number().int(), z.string().min(1).max(64)]);
export const okFrame = z.object({ type: z.literal('ok'), id: requestId, result: z.unknown() });
/** `id` is null when the frame was refused before its id could be read. */
export const errorFrame = errorBody.extend({ type: z.literal('error'), id: requestId.nullable() });

/**
 * /ws: the connection's handshake, not a command. One of a user name (auth "open"), a
 * token (a user's access token or JWT, or an API key, which makes the connection the
 * app's backend) or a single-use ticket. Answered with `ok` and the welcome's fields.
 */
export const authFrame = z
  .strictObject({
    type: z.literal('auth'),
    id: requestId,
    user: z.string().optional(),
    token: z.string().optional(),
    ticket: z.string().optional(),
    data: jsonData.optional().describe("Handed to the app's connect hook as it is (docs/backend-hooks.md)."),
    positions: z
      .record(channelId, seq)
      .optional()
      .describe('The last seq seen per server-side subscription: those channels resume after it, with no gap.'),
    epochs: z
      .record(channelId, epoch)
      .optional()
      .describe(
        'The channel epoch each of `positions` is in (the welcome\'s `subscriptions[].epoch`). A position in an epoch since deleted is answered with `channelDeleted` for that epoch, and the channel starts over from seq 0 of the current one.',
      ),
  })
  .meta({ id: 'AuthFrame' });

/** Everything a channel subscription or a session may be pushed. */
export const pushFrame = z.discriminatedUnion('type', [
  eventFrame,
  presenceFrame,
  presenceBatchFrame,
  occupancyFrame,
  typingFrame,
  receiptFrame,
  statusFrame,
  profileFrame,
  contactsFrame,
  listFrame,
  closeFrame,
  channelDeletedFrame,
]);

export type EventFrame = Readonly<z.output<typeof eventFrame>>;
export type PresenceFrame = Readonly<z.output<typeof presenceFrame>>;
export type PresenceChange = Readonly<z.output<typeof presenceChange>>;
export type PresenceBatchFrame = Readonly<z.output<typeof presenceBatchFrame>>;
export type OccupancyFrame = Readonly<z.output<typeof occupancyFrame>>;
export type TypingFrame = Readonly<z.output<typeof typingFrame>>;
export type ReceiptFrame = Readonly<z.output<typeof receiptFrame>>;
export type StatusFrame = Readonly<z.output<typeof statusFrame>>;
export type ProfileFrame = Readonly<z.output<typeof profileFrame>>;
export type ContactsFrame = Readonly<z.output<typeof contactsFrame>>;
export type ListFrame = Readonly<z.output<typeof listFrame>>;
export type CloseFrame = Readonly<z.output<typeof closeFrame>>;
export type ChannelDeletedFrame = Readonly<z.output<typeof channelDeletedFrame>>;
export type WelcomeFrame = Readonly<z.output<typeof welcomeFrame>>;
export type UnsubscribedFrame = Readonly<z.output<typeof unsubscribedFrame>>;
export type PushFrame = z.output<typeof pushFrame>;
export type ListName = z.output<typeof listName>;
export type ListAction = z.output<typeof listAction>;
export type RequestId = z.output<typeof requestId>;
export type OkFrame = Readonly<z.output<typeof okFrame>>;
export type ErrorFrame = Readonly<z.output<typeof errorFrame>>;
export type AuthFrame = Readonly<z.output<typeof authFrame>>;
