import { randomBytes } from 'node:crypto';
import type { PresenceChange } from '../../protocol/frames.js';
import type { ChannelId, EphemeralEvent, Millis } from './types.js';

/**
 * Ids for presence frames: unique per process (a random prefix), increasing within it.
 * A frame is made once, on the node where the change happened, and carried as it is, so
 * every node and wire shows the same id.
 */
export class FrameIds {
  readonly #prefix = randomBytes(6).toString('base64url');
  #last = 0;

  next(): string {
    return `${this.#prefix}.${(++this.#last).toString(36)}`;
  }
}

/** One tick's changes to a channel's presence as one frame: `presence` for one change, `presenceBatch` for more. */
export function presenceFrameOf(channel: ChannelId, changes: readonly PresenceChange[], id: string, at: Millis): EphemeralEvent {
  if (changes.length === 1) return { type: 'presence', channel, id, at, ...changes[0]! };
  return { type: 'presenceBatch', channel, id, at, changes: [...changes] };
}

/** The changes a presence frame carries (none for an `occupancy` count or any other frame). */
export function presenceChangesOf(event: EphemeralEvent): readonly PresenceChange[] {
  if (event.type === 'presence') return [event];
  if (event.type === 'presenceBatch') return event.changes;
  return [];
}
