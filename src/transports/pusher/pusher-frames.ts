import { z } from 'zod';

/** Pusher's error codes (sent in `pusher:error` and as WebSocket close codes). */
export const PUSHER_CODES = {
  /** Refused: do not reconnect. */
  unknownApp: 4001,
  invalidVersion: 4006,
  unsupportedProtocol: 4007,
  noProtocol: 4008,
  unauthorized: 4009,
  /** Back off, then reconnect. */
  overCapacity: 4100,
  /** Reconnect now (the node is draining). */
  reconnect: 4200,
  pongNotReceived: 4201,
  clientEventRateLimit: 4301,
} as const;

/** The protocol versions spoken here (pusher-js 8 speaks 7). */
export const SUPPORTED_PROTOCOLS = new Set([5, 6, 7]);

/** Largest `data` of one event, in bytes, as on the hosted service. */
export const MAX_EVENT_DATA_BYTES = 10 * 1024;

/** A frame from a client: `data` is an object for pusher:* events and anything for client events. */
export const clientFrameSchema = z.object({
  event: z.string().min(1).max(200),
  channel: z.string().max(200).optional(),
  data: z.unknown().optional(),
});
export type ClientFrame = z.infer<typeof clientFrameSchema>;

export const subscribeDataSchema = z.object({
  channel: z.string().min(1).max(200),
  auth: z.string().max(500).optional(),
  channel_data: z.string().max(MAX_EVENT_DATA_BYTES).optional(),
});

export const signinDataSchema = z.object({
  auth: z.string().max(500),
  user_data: z.string().max(MAX_EVENT_DATA_BYTES),
});

/** presence channel_data: `user_id` is a string or a number on the wire; we keep it as a string. */
export const channelDataSchema = z.object({
  user_id: z.union([z.string().min(1).max(128), z.number().int()]).transform(String),
  user_info: z.unknown().optional(),
});

/**
 * One server frame. Pusher sends `data` as a JSON string; user events keep the string
 * the publisher gave, and objects (our own pusher:* payloads, relayed client events) are
 * serialised here.
 */
export function encodeFrame(event: string, data: unknown, channel?: string, userId?: string): string {
  const frame: Record<string, unknown> = { event };
  if (channel !== undefined) frame.channel = channel;
  frame.data = typeof data === 'string' ? data : JSON.stringify(data ?? {});
  if (userId !== undefined) frame.user_id = userId;
  return JSON.stringify(frame);
}

export function errorFrame(code: number | null, message: string): string {
  return encodeFrame('pusher:error', { code, message });
}

/** `code`: the app's subscribe hook's error code, when it refused (pusher-js ignores what it does not know). */
export function subscriptionErrorFrame(channel: string, type: string, error: string, status: number, code?: string): string {
  return encodeFrame('pusher:subscription_error', code === undefined ? { type, error, status } : { type, error, status, code }, channel);
}

/**
 * An event's data as it travels: a string as given (Pusher's data is a string), anything
 * else as its JSON. Null when it nests too deep to be written again: JSON.stringify
 * recurses and overflows the stack at some ten thousand levels, which a 256 KiB body or a
 * 64 KiB frame can hold; such data is malformed input, refused as the sender's fault.
 */
export function encodeEventData(data: unknown): string | null {
  if (typeof data === 'string') return data;
  try {
    return JSON.stringify(data) ?? 'null';
  } catch {
    return null;
  }
}
