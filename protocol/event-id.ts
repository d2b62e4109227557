/**
 * Event ids made since compact frames (20 characters of base64url) begin with their event's
 * creation time: the first 8 characters are 48 bits of Unix milliseconds, big-endian. A
 * pushed frame leaves out `createdAt` when the id carries it; this reads it back. Plain code,
 * so the SDK may load it in the browser.
 */

/** How many leading characters of an id hold its time. */
export const EVENT_ID_TIME_CHARS = 8;
const EVENT_ID_LENGTH = 20;
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** The creation time an event id carries, in Unix milliseconds; null for ids that carry none (UUIDs, older ids). */
export function timeOfEventId(id: string): number | null {
  if (id.length !== EVENT_ID_LENGTH) return null;
  let time = 0;
  for (let i = 0; i < EVENT_ID_TIME_CHARS; i++) {
    const digit = ALPHABET.indexOf(id[i]!);
    if (digit < 0) return null;
    // 48 bits: past 32, so arithmetic rather than bit shifts.
    time = time * 64 + digit;
  }
  return time;
}
