import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { PusherApp } from './pusher-apps.js';

/** Pusher's signatures: HMAC-SHA256 in lower-case hex. */
export function hmacHex(secret: string, text: string): string {
  return createHmac('sha256', secret).update(text, 'utf8').digest('hex');
}

export function md5Hex(text: string): string {
  return createHash('md5').update(text, 'utf8').digest('hex');
}

/** Constant-time string comparison; only the (public) length may leak. */
export function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  return left.length === right.length && timingSafeEqual(left, right);
}

/**
 * Checks `key:HMAC(secret, socket_id:channel[:channel_data])`. The parts are the exact
 * strings the client sent: channel_data is never re-serialised, or a reordered key would
 * break a valid signature (or, worse, let a different one pass).
 */
export function isValidChannelAuth(
  app: PusherApp,
  auth: unknown,
  socketId: string,
  channel: string,
  channelData?: string,
): boolean {
  const signed = channelData === undefined ? `${socketId}:${channel}` : `${socketId}:${channel}:${channelData}`;
  return isValidAuth(app, auth, signed);
}

/** pusher:signin: `key:HMAC(secret, socket_id::user::user_data)`. */
export function isValidUserAuth(app: PusherApp, auth: unknown, socketId: string, userData: string): boolean {
  return isValidAuth(app, auth, `${socketId}::user::${userData}`);
}

function isValidAuth(app: PusherApp, auth: unknown, signed: string): boolean {
  if (typeof auth !== 'string') return false;
  const colon = auth.indexOf(':');
  if (colon < 0) return false;
  const keyMatches = safeEqual(auth.slice(0, colon), app.key);
  const signatureMatches = safeEqual(auth.slice(colon + 1), hmacHex(app.secret, signed));
  return keyMatches && signatureMatches;
}
