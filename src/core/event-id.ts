import { randomFillSync } from 'node:crypto';
import { EVENT_ID_TIME_CHARS } from '../../protocol/event-id.js';

const TIME_BYTES = (EVENT_ID_TIME_CHARS * 6) / 8;
const RANDOM_BYTES = 9;
/** Random bytes for 256 ids at a time: one call into the system's generator, not one per event. */
const POOL = Buffer.allocUnsafe(RANDOM_BYTES * 256);
let next = POOL.length;
const ID = Buffer.allocUnsafe(TIME_BYTES + RANDOM_BYTES);

/**
 * A new event's id: its creation time (48 bits of milliseconds) then 72 random bits, in
 * base64url: 20 characters where a UUID takes 36. Ids sort by time, and a pushed frame can
 * leave out `createdAt`, which the id carries (protocol/event-id.ts reads it back): every
 * pushed event carries its id, so each byte saved is paid once per event per receiver.
 * Events stored with older ids (UUIDs, 22 random characters) keep them and their `createdAt`.
 */
export function newEventId(createdAt: number): string {
  if (next === POOL.length) {
    randomFillSync(POOL);
    next = 0;
  }
  ID.writeUIntBE(createdAt, 0, TIME_BYTES);
  POOL.copy(ID, TIME_BYTES, next, next + RANDOM_BYTES);
  next += RANDOM_BYTES;
  return ID.toString('base64url');
}
