import { createHmac, timingSafeEqual } from 'node:crypto';

/** Headers every webhook POST carries. */
export const WEBHOOK_HEADERS = {
  /** Unix seconds when this attempt was signed; part of the signed text, so it cannot be swapped. */
  timestamp: 'x-switchboard-timestamp',
  /** `v1=<hex HMAC-SHA256 of "<timestamp>.<raw body>">`. */
  signature: 'x-switchboard-signature',
  /** The event id (also in the body): the same on every retry, so receivers drop duplicates. */
  eventId: 'x-switchboard-event-id',
  event: 'x-switchboard-event',
} as const;

/**
 * The signature of one attempt: HMAC-SHA256 with the shared secret over
 * `<timestamp>.<raw body>`. Signing the timestamp with the body lets a receiver refuse
 * replays of an old, captured request.
 *
 * @example
 *   const signature = signWebhook(secret, Math.floor(Date.now() / 1000), body); // 'v1=…'
 */
export function signWebhook(secret: string, timestamp: number, body: string): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/**
 * What a receiver runs: true when the signature matches the raw body and the timestamp is
 * within `toleranceSeconds` of now. Compares in constant time.
 */
export function verifyWebhook(
  secret: string,
  request: { timestamp: string | undefined; signature: string | undefined; body: string },
  options: { toleranceSeconds?: number; now?: number } = {},
): boolean {
  const { timestamp, signature, body } = request;
  if (timestamp === undefined || signature === undefined || !/^\d{1,12}$/.test(timestamp)) return false;
  const now = options.now ?? Date.now();
  if (Math.abs(now / 1000 - Number(timestamp)) > (options.toleranceSeconds ?? 300)) return false;
  const expected = Buffer.from(signWebhook(secret, Number(timestamp), body));
  const given = Buffer.from(signature);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
