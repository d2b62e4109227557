import { randomFillSync } from 'node:crypto';

const ID_BYTES = 16;
/** Random bytes for 256 ids at a time: one call into the system's generator, not one per event. */
const POOL = Buffer.allocUnsafe(ID_BYTES * 256);
let next = POOL.length;

/**
 * A new event's id: 128 random bits (a UUID holds 122) in base64url, 22 characters where
 * a UUID takes 36. Every pushed event carries its id, so the 14 bytes are paid once per
 * event per receiver. Ids are opaque: events stored with a UUID keep it, and nothing looks
 * an event up or deduplicates by id (a publish's `cid` does that).
 */
export function newEventId(): string {
  if (next === POOL.length) {
    randomFillSync(POOL);
    next = 0;
  }
  const id = POOL.toString('base64url', next, next + ID_BYTES);
  next += ID_BYTES;
  return id;
}
