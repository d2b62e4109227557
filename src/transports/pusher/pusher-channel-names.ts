import { createHash } from 'node:crypto';
import { PUSHER_NAMESPACE } from '../../../protocol/names.js';
import type { Channel } from '../../core/types.js';
import { USER_ID_PATTERN } from '../../core/names.js';

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

/** Pusher's alphabet and length for channel names, as on the hosted service. */
const NAME_PATTERN = /^[A-Za-z0-9_\-=@,.;]{1,164}$/;
const USER_CHANNEL_PREFIX = '#server-to-user-';
/** The hub's longest channel id (protocol/names.ts CHANNEL_ID_PATTERN). */
const MAX_HUB_ID = 128;

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

/** What the mapping needs of an app. */
export interface PusherAppNames {
  readonly id: string;
  /** Empty: the app's users are Switchboard's users (its user channels are their inboxes). */
  readonly channelPrefix: string;
}

export interface HubChannelRef {
  readonly id: string;
  /** The Pusher channel's name (kept as the hub channel's title, so a hashed id can be read back). */
  readonly name: string;
  readonly kind: PusherChannelKind;
  /** What to create when the hub does not have it yet; null: the hub makes it itself (inboxes). */
  readonly createAs: 'public' | 'private' | null;
}

/** `pusher:<app id>:`, the app's part of the reserved namespace. */
export function appNamespace(app: PusherAppNames): string {
  return `${PUSHER_NAMESPACE}${app.id}:`;
}

/**
 * The one mapping from a Pusher channel to a hub channel. Every app's channels live in
 * its part of the reserved `pusher:` namespace, which no one but the Pusher transport may
 * create channels in (protocol/names.ts), so a native user can never hold the channel an
 * app's events go to:
 * - `news` is `pusher:1001:news`. Pusher's `=` and `;`, which hub ids cannot hold, are
 *   written `+3D` and `+3B` (Pusher names never contain `+`, so this reads back exactly).
 * - a name whose id would be longer than the hub allows (128) is `pusher:1001:hash:`
 *   and the SHA-256 of the name (base64url); the name is the channel's title.
 * - `#server-to-user-bob` is bob's inbox `user:bob` for the app whose users are
 *   Switchboard's (no channelPrefix), else `pusher:1001:user:bob`.
 * Escaped names never contain `:`, so `user:` and `hash:` ids cannot collide with them.
 */
export function toHubChannel(app: PusherAppNames, channel: PusherChannelName): HubChannelRef {
  const { name, kind } = channel;
  const namespace = appNamespace(app);
  if (kind === 'user') {
    return app.channelPrefix === ''
      ? { id: `user:${channel.user}`, name, kind, createAs: null }
      : { id: `${namespace}user:${channel.user}`, name, kind, createAs: 'private' };
  }
  const escaped = name.replaceAll('=', '+3D').replaceAll(';', '+3B');
  const id =
    namespace.length + escaped.length <= MAX_HUB_ID
      ? `${namespace}${escaped}`
      : `${namespace}hash:${createHash('sha256').update(name, 'utf8').digest('base64url')}`;
  return { id, name, kind, createAs: kind === 'public' ? 'public' : 'private' };
}

/**
 * The Pusher name of one of the app's hub channels, read back from its id; null for ids
 * that are not the app's, and for hashed ids (their name is the channel's title).
 * Delivery does not need it (a connection knows the names it subscribed to); it is the
 * proof that the mapping loses nothing, and what operators read ids with.
 */
export function toPusherChannel(app: PusherAppNames, hubId: string): string | null {
  if (app.channelPrefix === '' && hubId.startsWith('user:')) return `${USER_CHANNEL_PREFIX}${hubId.slice('user:'.length)}`;
  const namespace = appNamespace(app);
  if (!hubId.startsWith(namespace)) return null;
  const rest = hubId.slice(namespace.length);
  if (rest.startsWith('user:')) return app.channelPrefix === '' ? null : `${USER_CHANNEL_PREFIX}${rest.slice('user:'.length)}`;
  if (rest.includes(':')) return null;
  return rest.replaceAll('+3D', '=').replaceAll('+3B', ';');
}

/**
 * Why an existing hub channel may not carry this Pusher channel, or null when it may. It
 * must be one the Pusher transport (or the server) made, never a user's: databases from
 * before `pusher:` was reserved may hold a user's squat. And its type must be the one the
 * Pusher name implies: public for public names, private for `private-`, `presence-` and
 * encrypted ones, so a channel that needs the app's signature is never open to everyone.
 */
export function refusalToServe(ref: HubChannelRef, channel: Pick<Channel, 'type' | 'createdBy'>): string | null {
  if (channel.createdBy !== null) {
    return `${ref.id} was created by ${channel.createdBy}, not by the Pusher transport: an operator must delete it.`;
  }
  const fits =
    ref.kind === 'public'
      ? channel.type === 'public'
      : ref.kind === 'user'
        ? channel.type === 'inbox' || channel.type === 'private'
        : channel.type === 'private';
  return fits ? null : `${ref.id} is a ${channel.type} channel, which cannot carry ${ref.kind} channel ${ref.name}.`;
}
