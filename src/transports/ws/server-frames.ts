import type { ErrorFrame, OkFrame, RequestId, WelcomeFrame } from '../../../protocol/frames.js';
import type { Outbound } from '../../core/delivery.js';
import type { SwitchboardError } from '../../core/errors.js';
import type { ChannelEvent } from '../../core/types.js';

/** Every frame the server sends on /ws, as JSON text (shapes: protocol/frames.ts). */

export function encodeOutbound(message: Outbound): string {
  return message.type === 'event' ? encodeEvent(message.event) : JSON.stringify(message);
}

export function encodeEvent(event: ChannelEvent): string {
  return JSON.stringify({ type: 'event', ...event });
}

export function encodeOk(id: RequestId, result: unknown): string {
  const frame: OkFrame = { type: 'ok', id, result: result ?? null };
  return JSON.stringify(frame);
}

/** `id` is null when the frame was refused before its id could be read. */
export function encodeError(id: RequestId | null, error: SwitchboardError): string {
  const frame: ErrorFrame = { type: 'error', id, ...error.toJSON() };
  return JSON.stringify(frame);
}

export function encodeWelcome(welcome: Omit<WelcomeFrame, 'type'>): string {
  const frame: WelcomeFrame = { type: 'welcome', ...welcome };
  return JSON.stringify(frame);
}
