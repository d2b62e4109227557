import type { ChannelType } from '../../core/types.js';
import { CHANNEL_ID_PATTERN, USER_ID_PATTERN } from '../../core/names.js';

/**
 * Pusher's channel kinds. `user` is `#server-to-user-<id>`, which only a connection
 * signed in as that user may subscribe to.
 */
export type PusherChannelKind = 'public' | 'private' | 'presence' | 'encrypted' | 'user';

export interface PusherChannelName {
  readonly name: string;
  readonly kind: PusherChannelKind;
  /** `cache-` variants replay their last event to new subscribers. */
  readonly cache: boolean;
  /** For `user` channels: whose. */
  readonly user?: string;
}

/** Pusher's alphabet for channel names. */
const NAME_PATTERN = /^[A-Za-z0-9_\-=@,.;]{1,164}$/;
const USER_CHANNEL_PREFIX = '#server-to-user-';

/** Classifies a Pusher channel name, or returns null when it is not a valid one. */
export function parseChannelName(name: unknown): PusherChannelName | null {
  if (typeof name !== 'string') return null;
  if (name.startsWith(USER_CHANNEL_PREFIX)) {
    const user = name.slice(USER_CHANNEL_PREFIX.length);
    return USER_ID_PATTERN.test(user) ? { name, kind: 'user', cache: false, user } : null;
  }
  if (!NAME_PATTERN.test(name)) return null;
  for (const [prefix, kind] of [
    ['private-encrypted-', 'encrypted'],
    ['private-', 'private'],
    ['presence-', 'presence'],
  ] as const) {
    if (name.startsWith(prefix)) return { name, kind, cache: name.startsWith('cache-', prefix.length) };
  }
  return { name, kind: 'public', cache: name.startsWith('cache-') };
}

/** Channels whose subscription needs a signature from the app's backend. */
export function needsSignature(kind: PusherChannelKind): boolean {
  return kind === 'private' || kind === 'presence' || kind === 'encrypted';
}

/** Client events are allowed where every subscriber was authorised: private and presence. */
export function allowsClientEvents(kind: PusherChannelKind): boolean {
  return kind === 'private' || kind === 'presence';
}

export interface HubChannelRef {
  readonly id: string;
  /** What to create when the hub does not have it yet; null: the hub makes it itself (inboxes). */
  readonly createAs: Extract<ChannelType, 'public' | 'private'> | null;
}

/**
 * The one mapping between a Pusher channel and a hub channel. Names are kept (behind the
 * app's prefix), so `chat` is `chat` for /ws, SSE and Pusher alike; `#server-to-user-bob`
 * is bob's inbox `user:bob`. Everything but public channels is private in the hub: the
 * Pusher signature is what admits a Pusher connection, and native users need membership.
 * Returns null for Pusher names the hub cannot hold (`=` or `;`, or too long).
 */
export function toHubChannel(prefix: string, channel: PusherChannelName): HubChannelRef | null {
  if (channel.kind === 'user') {
    return prefix === ''
      ? { id: `user:${channel.user}`, createAs: null }
      : { id: `${prefix}user:${channel.user}`, createAs: 'private' };
  }
  const id = `${prefix}${channel.name}`;
  if (!CHANNEL_ID_PATTERN.test(id)) return null;
  return { id, createAs: channel.kind === 'public' ? 'public' : 'private' };
}

/** The Pusher name of a hub channel for an app with this prefix (the inverse of toHubChannel). */
export function toPusherChannel(prefix: string, hubId: string): string | null {
  if (!hubId.startsWith(prefix)) return null;
  const rest = hubId.slice(prefix.length);
  if (rest.startsWith('user:')) return `${USER_CHANNEL_PREFIX}${rest.slice('user:'.length)}`;
  return rest.includes(':') ? null : rest;
}

/**
 * Whether a Pusher channel may be served from an existing hub channel of this type. A
 * public Pusher name admits anyone, so it may only ever show a public hub channel: a
 * native private channel named `staff` stays closed to an unsigned `staff` subscription.
 */
export function mayServe(kind: PusherChannelKind, hubType: ChannelType): boolean {
  switch (kind) {
    case 'public':
      return hubType === 'public';
    case 'private':
    case 'presence':
    case 'encrypted':
      return hubType === 'public' || hubType === 'private';
    case 'user':
      return hubType === 'inbox' || hubType === 'private';
  }
}
