/**
 * Frames a payload as one unmasked, final WebSocket frame (RFC 6455 section 5.2): a text
 * frame for JSON, a binary frame for MessagePack. The server frames each event once and
 * writes the same bytes to every socket.
 */
export function textFrame(payload: string): Buffer {
  const length = Buffer.byteLength(payload);
  const frame = withHeader(0x81, length);
  frame.write(payload, frame.length - length, 'utf8');
  return frame;
}

export function binaryFrame(payload: Uint8Array): Buffer {
  const frame = withHeader(0x82, payload.length);
  frame.set(payload, frame.length - payload.length);
  return frame;
}

/** A buffer for the whole frame with its header written; the payload goes in its last `length` bytes. */
function withHeader(first: number, length: number): Buffer {
  const headerLength = length < 126 ? 2 : length < 65536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(headerLength + length);
  frame[0] = first;
  if (length < 126) {
    frame[1] = length;
  } else if (length < 65536) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeUInt32BE(0, 2);
    frame.writeUInt32BE(length, 6);
  }
  return frame;
}
