/**
 * Frames on /ws as the connection reads and writes them. Their shapes are the protocol
 * module's (types only); the encoding (one JSON object per text frame) lives here alone,
 * so another encoding is a change to this file.
 */
import type { ErrorBody } from '../../protocol/codes.js';
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

export function encodeRequest(frame: RequestFrame): string {
  return JSON.stringify(frame);
}

/**
 * Reads one frame: browsers give a string, `ws` a Buffer (whose toString is UTF-8).
 * Anything that is not a JSON object with a string `type` is null (and ignored).
 */
export function decodeServerFrame(data: unknown): ServerFrame | null {
  let value: unknown;
  try {
    value = JSON.parse(typeof data === 'string' ? data : String(data));
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null || typeof (value as { type?: unknown }).type !== 'string') {
    return null;
  }
  return value as ServerFrame;
}
