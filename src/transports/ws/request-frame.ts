import { type RequestId, requestId } from '../../../protocol/frames.js';
import { SwitchboardError } from '../../core/errors.js';

/**
 * A request frame split into what the pipeline takes: the command's name (`type`) and its
 * raw input (the frame without `type` and `id`). What the input must hold is the
 * command's business (protocol/commands.ts), checked by the pipeline, not here.
 */
export interface RequestFrame {
  readonly id: RequestId;
  readonly type: string;
  readonly input: Record<string, unknown>;
}

export type DecodedFrame =
  | { readonly ok: true; readonly frame: RequestFrame }
  | { readonly ok: false; readonly id: RequestId | null; readonly error: SwitchboardError };

/**
 * Reads one client frame: a JSON object with a `type` and an `id`. Refusals name the
 * frame's id when it has a valid one, so the client can match the error to its request.
 *
 * @example
 *   decodeRequestFrame(Buffer.from('{"type":"publish","id":7,"channel":"news","text":"hi"}'), false)
 *   // -> { ok: true, frame: { id: 7, type: 'publish', input: { channel: 'news', text: 'hi' } } }
 */
export function decodeRequestFrame(data: Buffer, isBinary: boolean): DecodedFrame {
  if (isBinary) return refuse('Frames are JSON text.');
  let raw: unknown;
  try {
    raw = JSON.parse(data.toString('utf8'));
  } catch {
    return refuse('The frame is not valid JSON.');
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return refuse('A frame is a JSON object.');
  const { type, id, ...input } = raw as Record<string, unknown>;
  if (!requestId.safeParse(id).success) {
    return refuse('Invalid id: a request id is an integer or a string of 1-64 characters.');
  }
  const valid = id as RequestId;
  if (typeof type !== 'string') return refuse('Invalid type: a frame names its command in "type".', valid);
  return { ok: true, frame: { id: valid, type, input } };
}

/** The id of a frame refused before decoding (over the rate), when it is cheap to find. */
export function requestIdOf(data: Buffer): RequestId | null {
  const match = /"id"\s*:\s*(\d{1,15}|"[^"]{1,64}")/.exec(data.subarray(0, 256).toString('utf8'));
  if (!match) return null;
  const value = match[1]!;
  return value.startsWith('"') ? value.slice(1, -1) : Number(value);
}

function refuse(message: string, id: RequestId | null = null): DecodedFrame {
  return { ok: false, id, error: new SwitchboardError('bad_request', message) };
}
