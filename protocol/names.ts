/**
 * The shapes of names and ids, and the reserved channel ids. Imports nothing: the SDK and
 * the web app use these at run time (a DM's id, a user's inbox).
 */

/** User ids: what `open` mode accepts as a name, and what tokens must carry as `sub`. */
export const USER_ID_PATTERN = /^[A-Za-z0-9_.@-]{1,64}$/;
/** Channel ids. `user:` and `dm:` prefixes are reserved for inboxes and direct channels. */
export const CHANNEL_ID_PATTERN = /^[A-Za-z0-9_.:@,+-]{1,128}$/;
export const CHANNEL_ID_RULE = 'a channel id is 1-128 of A-Z a-z 0-9 _ . : @ , + -';
export const USER_ID_RULE = 'a user id is 1-64 of A-Z a-z 0-9 _ . @ -';

/** Most users in one direct (group) conversation. */
export const MAX_DIRECT_MEMBERS = 16;

/** The one channel id of a direct conversation, whoever starts it. */
export function directChannelId(users: readonly string[]): string {
  return `dm:${[...new Set(users)].sort().join(',')}`;
}

/** A user's inbox: pushes to all of their devices. */
export function inboxChannelOf(userId: string): string {
  return `user:${userId}`;
}

export function isReservedChannelId(id: string): boolean {
  return id.startsWith('user:') || id.startsWith('dm:');
}
