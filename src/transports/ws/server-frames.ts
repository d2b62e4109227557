import type { Outbound } from '../../core/delivery.js';
import type { SwitchboardError } from '../../core/errors.js';
import type { ChannelEvent } from '../../core/types.js';

/** Every frame the server sends on /ws, as JSON text. */

export type RequestId = number | string | null;

export function encodeOutbound(message: Outbound): string {
  return message.type === 'event' ? encodeEvent(message.event) : JSON.stringify(message);
}

export function encodeEvent(event: ChannelEvent): string {
  return JSON.stringify({ type: 'event', ...event });
}

export function encodeOk(id: RequestId, result: unknown): string {
  return JSON.stringify({ type: 'ok', id, result: result ?? null });
}

export function encodeError(id: RequestId, error: SwitchboardError): string {
  return JSON.stringify({ type: 'error', id, ...error.toJSON() });
}
