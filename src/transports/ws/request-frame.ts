import { type RequestId, requestId } from '../../../protocol/frames.js';
import { SwitchboardError } from '../../core/errors.js';
import { JSON_ENCODING, type WsEncoding } from './ws-encoding.js';

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
 * Reads one client frame: an object with a `type` and an `id`, in the connection's encoding
 * (JSON text by default). Refusals name the frame's id when it has a valid one, so the
 * client can match the error to its request.
 *
 * @example
 *   decodeRequestFrame(Buffer.from('{"type":"publish","id":7,"channel":"news","text":"hi"}'), false)
 *   // -> { ok: true, frame: { id: 7, type: 'publish', input: { channel: 'news', text: 'hi' } } }
 */
export function decodeRequestFrame(data: Buffer, isBinary: boolean, encoding: WsEncoding = JSON_ENCODING): DecodedFrame {
  let raw: unknown;
  try {
    raw = encoding.read(data, isBinary);
  } catch (error) {
    if (error instanceof SwitchboardError) return { ok: false, id: null, error };
    throw error;
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw) || raw instanceof Uint8Array) {
    return refuse(`A frame is ${encoding.name === 'json' ? 'a JSON object' : 'a MessagePack map'}.`);
  }
  const { type, id, ...input } = raw as Record<string, unknown>;
  if (!requestId.safeParse(id).success) {
    return refuse('Invalid id: a request id is an integer or a string of 1-64 characters.');
  }
  const valid = id as RequestId;
  if (typeof type !== 'string') return refuse('Invalid type: a frame names its command in "type".', valid);
  return { ok: true, frame: { id: valid, type, input } };
}

function refuse(message: string, id: RequestId | null = null): DecodedFrame {
  return { ok: false, id, error: new SwitchboardError('bad_request', message) };
}
