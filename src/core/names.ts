/** The shapes of names and ids, shared by every transport's validation. */

/** User ids: what `open` mode accepts as a name, and what tokens must carry as `sub`. */
export const USER_ID_PATTERN = /^[A-Za-z0-9_.@-]{1,64}$/;
/** Channel ids. `user:` and `dm:` prefixes are reserved for inboxes and direct channels. */
export const CHANNEL_ID_PATTERN = /^[A-Za-z0-9_.:@,+-]{1,128}$/;

export const MAX_DIRECT_MEMBERS = 16;

/** The one channel id of a direct conversation, whoever starts it. */
export function directChannelId(users: readonly string[]): string {
  return `dm:${[...new Set(users)].sort().join(',')}`;
}

export function isReservedChannelId(id: string): boolean {
  return id.startsWith('user:') || id.startsWith('dm:');
}
