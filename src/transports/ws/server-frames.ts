import { compactEvent } from '../../../protocol/compact-event.js';
import type { ErrorFrame, OkFrame, RequestId, WelcomeFrame } from '../../../protocol/frames.js';
import type { Outbound } from '../../core/delivery.js';
import type { SwitchboardError } from '../../core/errors.js';

/**
 * Every frame the server sends on /ws, as the object an encoding (ws-encoding.ts) writes
 * (shapes: protocol/frames.ts). A stored event goes out compact: its null fields left out.
 */

export function outboundFrame(message: Outbound): object {
  return message.type === 'event' ? compactEvent(message.event, { type: 'event' }) : message;
}

export function okFrame(id: RequestId, result: unknown): OkFrame {
  return { type: 'ok', id, result: result ?? null };
}

/** `id` is null when the frame was refused before its id could be read. */
export function errorFrame(id: RequestId | null, error: SwitchboardError): ErrorFrame {
  return { type: 'error', id, ...error.toJSON() };
}

export function welcomeFrame(welcome: Omit<WelcomeFrame, 'type'>): WelcomeFrame {
  return { type: 'welcome', ...welcome };
}
