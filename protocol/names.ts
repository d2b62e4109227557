/**
 * The shapes of names and ids, and the reserved channel ids. Imports nothing: the SDK and
 * the web app use these at run time (a DM's id, a user's inbox).
 */

/** User ids: what `open` mode accepts as a name, and what tokens must carry as `sub`. */
export const USER_ID_PATTERN = /^[A-Za-z0-9_.@-]{1,64}$/;
/** Channel ids. `user:`, `dm:` and `pusher:` prefixes are reserved (see isReservedChannelId). */
export const CHANNEL_ID_PATTERN = /^[A-Za-z0-9_.:@,+-]{1,128}$/;
export const CHANNEL_ID_RULE = 'a channel id is 1-128 of A-Z a-z 0-9 _ . : @ , + -';
export const USER_ID_RULE = 'a user id is 1-64 of A-Z a-z 0-9 _ . @ -';

/** Most users in one direct (group) conversation. */
export const MAX_DIRECT_MEMBERS = 16;

/** Most files one message carries. */
export const MAX_ATTACHMENTS = 10;
/** Uploaded files' ids: `f` and 22 url-safe characters (128 random bits). */
export const FILE_ID_PATTERN = /^f[A-Za-z0-9_-]{22}$/;

/**
 * Where the channels of Pusher apps live: app `1001`'s channel `private-orders` is
 * `pusher:1001:private-orders` (docs/pusher.md, "Channels").
 */
export const PUSHER_NAMESPACE = 'pusher:';
/** The user id of the `server` principal the Pusher transport acts as: the one creator of `pusher:` channels. */
export const PUSHER_SERVER_USER = 'pusher';

/** Who creates a channel, as far as reserved ids go (a Principal has both fields). */
export interface ChannelCreator {
  readonly kind: 'user' | 'server';
  readonly userId: string;
}

/** The one channel id of a direct conversation, whoever starts it. */
export function directChannelId(users: readonly string[]): string {
  return `dm:${[...new Set(users)].sort().join(',')}`;
}

/** A user's inbox: pushes to all of their devices. */
export function inboxChannelOf(userId: string): string {
  return `user:${userId}`;
}

/**
 * Whether `channel.create` may not make `id`. Inboxes (`user:`) and direct channels
 * (`dm:`) are made by the hub itself, so those ids are reserved for every creator. The
 * `pusher:` namespace belongs to the Pusher transport, which creates each channel there
 * with the type its Pusher name implies: with `creator`, every other creator is refused
 * it, so no one can squat a Pusher app's channel (a public `pusher:1001:private-orders`
 * would receive the app's private events). Without `creator`, the answer is whether the
 * id is reserved for everyone.
 *
 * @example
 *   isReservedChannelId('dm:alice,bob'); // true
 *   isReservedChannelId('pusher:1001:news', { kind: 'user', userId: 'mallory' }); // true
 *   isReservedChannelId('pusher:1001:news', { kind: 'server', userId: PUSHER_SERVER_USER }); // false
 */
export function isReservedChannelId(id: string, creator?: ChannelCreator): boolean {
  if (id.startsWith('user:') || id.startsWith('dm:')) return true;
  if (creator === undefined || !id.startsWith(PUSHER_NAMESPACE)) return false;
  return creator.kind !== 'server' || creator.userId !== PUSHER_SERVER_USER;
}
