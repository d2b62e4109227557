import type { PusherApp } from './pusher-apps.js';
import { hmacHex, md5Hex, safeEqual } from './pusher-crypto.js';

/** How far auth_timestamp may be from our clock, as on the hosted service. */
export const MAX_CLOCK_SKEW_SECONDS = 600;

export interface SignedRequest {
  readonly method: string;
  /** The path as sent, without the query string. */
  readonly path: string;
  readonly query: Readonly<Record<string, unknown>>;
  /** The body exactly as received; empty when there was none. */
  readonly body: string;
}

/**
 * Checks a Pusher HTTP API signature: HMAC-SHA256 of `METHOD\npath\nquery`, where query
 * is every parameter but auth_signature, sorted by key, as key=value joined by `&`.
 * Returns why the request is refused, or null when it is genuine.
 */
export function checkRequestSignature(app: PusherApp, request: SignedRequest, now = Date.now()): string | null {
  const query = request.query;
  const params: [string, string][] = [];
  for (const [key, value] of Object.entries(query)) {
    if (typeof value !== 'string') return `Query parameter ${key} is given more than once.`;
    if (key !== 'auth_signature') params.push([key.toLowerCase(), value]);
  }
  if (query.auth_key !== app.key) return 'Unknown auth_key.';
  if (query.auth_version !== '1.0') return 'auth_version must be 1.0.';
  const timestamp = Number(query.auth_timestamp);
  if (!Number.isInteger(timestamp) || Math.abs(now / 1000 - timestamp) > MAX_CLOCK_SKEW_SECONDS) {
    return `auth_timestamp is missing or more than ${MAX_CLOCK_SKEW_SECONDS} s from the server's clock.`;
  }
  if (request.body.length > 0 && !safeEqual(String(query.body_md5 ?? ''), md5Hex(request.body))) {
    return 'body_md5 does not match the body.';
  }
  params.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const signed = `${request.method.toUpperCase()}\n${request.path}\n${params.map(([k, v]) => `${k}=${v}`).join('&')}`;
  const signature = typeof query.auth_signature === 'string' ? query.auth_signature : '';
  return safeEqual(signature, hmacHex(app.secret, signed)) ? null : 'Invalid signature.';
}
