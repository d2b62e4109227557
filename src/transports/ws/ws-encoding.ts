import type { RequestId } from '../../../protocol/frames.js';
import { decodeMsgpack, encodeMsgpack, MsgpackError } from '../../../protocol/msgpack.js';
import type { Outbound } from '../../core/delivery.js';
import { SwitchboardError } from '../../core/errors.js';
import { outboundFrame } from './server-frames.js';
import { binaryFrame, textFrame } from './text-frame.js';

/**
 * How one /ws connection's frames are written and read, chosen when it connects
 * (`/ws?encoding=msgpack`; JSON by default). Both carry the same objects (protocol/frames.ts):
 * JSON in text frames, MessagePack in binary frames. A connection speaks one of them both
 * ways. `format` names the encoding for `Delivery.encode`, so each pushed frame is encoded
 * once per encoding, whatever the number of receivers.
 */
export interface WsEncoding {
  readonly name: WsEncodingName;
  readonly format: string;
  /** One server frame as a whole WebSocket frame. */
  frame(value: object): Buffer;
  /** A pushed frame as a whole WebSocket frame (for `Delivery.encode`: one function per encoding). */
  readonly outbound: (message: Outbound) => Buffer;
  /** A client frame's value; throws SwitchboardError (`bad_request`) when it is not this encoding. */
  read(data: Buffer, isBinary: boolean): unknown;
  /** The request id of a frame refused before decoding (over the rate), when it is cheap to find. */
  requestIdOf(data: Buffer): RequestId | null;
}

export const WS_ENCODING_NAMES = ['json', 'msgpack'] as const;
export type WsEncodingName = (typeof WS_ENCODING_NAMES)[number];

export const JSON_ENCODING: WsEncoding = {
  name: 'json',
  format: 'ws-json',
  frame: (value) => textFrame(JSON.stringify(value)),
  outbound: (message) => textFrame(JSON.stringify(outboundFrame(message))),
  read(data, isBinary) {
    if (isBinary) throw badFrame('Frames are JSON text on this connection (connect with ?encoding=msgpack for MessagePack).');
    try {
      return JSON.parse(data.toString('utf8'));
    } catch {
      throw badFrame('The frame is not valid JSON.');
    }
  },
  requestIdOf(data) {
    const match = /"id"\s*:\s*(\d{1,15}|"[^"]{1,64}")/.exec(data.subarray(0, 256).toString('utf8'));
    if (!match) return null;
    const value = match[1]!;
    return value.startsWith('"') ? value.slice(1, -1) : Number(value);
  },
};

export const MSGPACK_ENCODING: WsEncoding = {
  name: 'msgpack',
  format: 'ws-msgpack',
  frame: (value) => binaryFrame(encodeMsgpack(value)),
  outbound: (message) => binaryFrame(encodeMsgpack(outboundFrame(message))),
  read(data, isBinary) {
    if (!isBinary) throw badFrame('Frames are MessagePack in binary frames on this connection.');
    try {
      return decodeMsgpack(data, { binary: false });
    } catch (error) {
      if (error instanceof MsgpackError) throw badFrame(`The frame is not valid MessagePack: ${error.message}`);
      throw error;
    }
  },
  requestIdOf(data) {
    // Decoding is the only way in; a flood of large frames should not buy that.
    if (data.length > 1024) return null;
    try {
      const id = (decodeMsgpack(data, { binary: false }) as { id?: unknown } | null)?.id;
      return typeof id === 'number' || typeof id === 'string' ? id : null;
    } catch {
      return null;
    }
  },
};

/** The encoding a connection asked for in its URL (`?encoding=`); refuses one we do not speak. */
export function encodingFrom(query: URLSearchParams): WsEncoding {
  const name = query.get('encoding');
  if (name === null || name === 'json') return JSON_ENCODING;
  if (name === 'msgpack') return MSGPACK_ENCODING;
  throw new SwitchboardError('bad_request', `Invalid encoding: ${JSON.stringify(name.slice(0, 32))} is not one of ${WS_ENCODING_NAMES.join(', ')}.`);
}

function badFrame(message: string): SwitchboardError {
  return new SwitchboardError('bad_request', message);
}
