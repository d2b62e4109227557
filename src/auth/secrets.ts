import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** A fresh 256-bit random secret, URL-safe, with a prefix that says what it is. */
export function randomSecret(prefix: string): string {
  return `${prefix}_${randomBytes(32).toString('base64url')}`;
}

/** What the database keeps of a high-entropy secret (refresh token, ticket). */
export function digest(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/**
 * Compares two strings in time that depends on neither's content: both are hashed to
 * equal length first, so even the length of the expected value does not leak.
 */
export function constantTimeEquals(candidate: string, expected: string): boolean {
  const a = createHash('sha256').update(candidate).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}
