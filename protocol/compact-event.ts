import { timeOfEventId } from './event-id.js';
import type { ChannelEvent } from './values.js';

/**
 * A stored event as it is pushed (/ws in JSON or MessagePack, SSE): the event's fields with
 * every null one left out, so a plain text message carries no `"data":null,"replyTo":null,…`.
 * Absent means null; an absent `kind` means `message`, and an absent `createdAt` is the time
 * the event's id carries (event-id.ts). The server writes the compact form once per event
 * for all receivers; the SDK reads it back into the full {@link ChannelEvent}. Plain code
 * (no zod), so the SDK may load it in the browser.
 */

/** The event's fields that may be null, and so are left out of a pushed frame when they are. */
export const NULLABLE_EVENT_FIELDS = ['author', 'text', 'data', 'cid', 'replyTo', 'target', 'editedAt', 'deletedAt'] as const;

type NullableField = (typeof NULLABLE_EVENT_FIELDS)[number];

/** The compact form's type: the nullable fields, `kind` and `createdAt` may be absent. */
export type CompactEvent = Omit<ChannelEvent, NullableField | 'kind' | 'createdAt'> & {
  readonly [K in NullableField | 'kind' | 'createdAt']?: ChannelEvent[K];
};

/**
 * Writes the event's present fields into `into` (a frame's leading fields, such as
 * `{type: 'event'}`), in the protocol's order, and returns it.
 *
 * @example
 *   compactEvent(event, { type: 'event' })
 *   // -> { type: 'event', channel: 'general', seq: 42, id: 'AaIOhh0A…', author: 'alice', text: 'hi' }
 */
export function compactEvent<T extends Record<string, unknown>>(event: ChannelEvent, into: T): T & CompactEvent {
  const frame = into as Record<string, unknown>;
  frame.channel = event.channel;
  frame.seq = event.seq;
  if (event.kind !== 'message') frame.kind = event.kind;
  frame.id = event.id;
  if (event.author !== null) frame.author = event.author;
  if (event.text !== null) frame.text = event.text;
  if (event.data !== null && event.data !== undefined) frame.data = event.data;
  if (event.cid !== null) frame.cid = event.cid;
  if (event.replyTo !== null) frame.replyTo = event.replyTo;
  if (event.target !== null) frame.target = event.target;
  if (timeOfEventId(event.id) !== event.createdAt) frame.createdAt = event.createdAt;
  if (event.editedAt !== null) frame.editedAt = event.editedAt;
  if (event.deletedAt !== null) frame.deletedAt = event.deletedAt;
  if (event.attachments !== undefined && event.attachments !== null) frame.attachments = event.attachments;
  if (event.thread !== undefined && event.thread !== null) frame.thread = event.thread;
  return frame as T & CompactEvent;
}

/** The full event from its compact form: every absent nullable field is null. Other fields (`type`) are dropped. */
export function expandEvent(frame: CompactEvent): ChannelEvent {
  return {
    channel: frame.channel,
    seq: frame.seq,
    kind: frame.kind ?? 'message',
    id: frame.id,
    author: frame.author ?? null,
    text: frame.text ?? null,
    data: frame.data ?? null,
    cid: frame.cid ?? null,
    replyTo: frame.replyTo ?? null,
    target: frame.target ?? null,
    // Every frame has one or the other: the server writes `createdAt` when the id lacks it.
    createdAt: frame.createdAt ?? timeOfEventId(frame.id) ?? 0,
    editedAt: frame.editedAt ?? null,
    deletedAt: frame.deletedAt ?? null,
    ...(frame.attachments ? { attachments: frame.attachments } : {}),
    ...(frame.thread ? { thread: frame.thread } : {}),
  };
}
