import { compactEvent } from '../../../protocol/compact-event.js';
import type { Outbound } from '../../core/delivery.js';

/**
 * Server-sent event text for one outbound message, without its `id:` line (each stream
 * adds its own cursor). Stored events use the default type, so `EventSource.onmessage`
 * sees them; presence, typing, receipts, notices and `unsubscribed` carry their own `event:` name.
 * A stored event is compact, as on /ws: its null fields are left out.
 * JSON.stringify never emits a raw newline, so one `data:` line always suffices.
 */
export function encodeSseFrame(message: Outbound): string {
  switch (message.type) {
    case 'event':
      return `data: ${JSON.stringify(compactEvent(message.event, {}))}\n\n`;
    case 'close': {
      const { type: _type, ...close } = message;
      return `event: close\ndata: ${JSON.stringify(close)}\n\n`;
    }
    // Why the stream is about to end (an expired token): the same `error` event as a refusal.
    case 'error': {
      const { type: _type, id: _id, ...error } = message;
      return `event: error\ndata: ${JSON.stringify(error)}\n\n`;
    }
    default:
      return `event: ${message.type}\ndata: ${JSON.stringify(message)}\n\n`;
  }
}

/** A comment line: keeps proxies from timing the stream out; EventSource ignores it. */
export const HEARTBEAT = ': ping\n\n';
