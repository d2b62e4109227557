/**
 * Frames on /ws as the connection reads and writes them. Their shapes are the protocol
 * module's (types only); the encodings live here alone: one JSON object per text frame
 * (the default), or one MessagePack map per binary frame (`encoding: 'msgpack'`).
 */
import type { ErrorBody } from '../../protocol/codes.js';
import { decodeMsgpack, encodeMsgpack } from '../../protocol/msgpack.js';
import type { CloseFrame, PushFrame, RequestId, UnsubscribedFrame, WelcomeFrame } from '../../protocol/frames.js';

export interface OkFrame {
  readonly type: 'ok';
  readonly id: RequestId;
  readonly result: unknown;
}

/** A request's error, or (`id` null) the reason the server is about to close the connection. */
export type ErrorFrame = ErrorBody & { readonly type: 'error'; readonly id: RequestId | null };

export type ReplyFrame = OkFrame | ErrorFrame;

/** Everything the server sends on /ws. */
export type ServerFrame = ReplyFrame | WelcomeFrame | PushFrame | UnsubscribedFrame;

/** Pushed frames the connection hands on (it handles `close` itself). */
export type DeliveredFrame = Exclude<PushFrame, CloseFrame> | UnsubscribedFrame;

/** A request: the command's name as `type`, the SDK's id, and the command's fields. */
export interface RequestFrame {
  readonly type: string;
  readonly id: number;
  readonly [field: string]: unknown;
}

/** How frames travel: JSON text (the default) or MessagePack in binary frames, asked for when connecting. */
export type Encoding = 'json' | 'msgpack';

export function encodeRequest(frame: RequestFrame, encoding: Encoding): string | Uint8Array {
  return encoding === 'msgpack' ? encodeMsgpack(frame) : JSON.stringify(frame);
}

/**
 * Reads one frame. JSON: browsers give a string, `ws` a Buffer (whose toString is UTF-8).
 * MessagePack: an ArrayBuffer (the SDK asks for those), or a Buffer. Anything that is not
 * an object with a string `type` in the connection's encoding is null (and ignored).
 */
export function decodeServerFrame(data: unknown, encoding: Encoding): ServerFrame | null {
  let value: unknown;
  try {
    value = encoding === 'msgpack' ? decodeMsgpack(bytesOf(data)) : JSON.parse(typeof data === 'string' ? data : String(data));
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null || typeof (value as { type?: unknown }).type !== 'string') {
    return null;
  }
  return value as ServerFrame;
}

function bytesOf(data: unknown): Uint8Array | ArrayBuffer {
  if (data instanceof Uint8Array || data instanceof ArrayBuffer) return data;
  throw new TypeError('A MessagePack frame comes in a binary frame.');
}
