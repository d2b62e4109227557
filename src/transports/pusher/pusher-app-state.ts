import type { PusherApp } from './pusher-apps.js';
import { encodeFrame } from './pusher-frames.js';
import type { PusherWebhookEvent, PusherWebhookSender } from './pusher-webhooks.js';

/** What the app state needs of a connection. */
export interface PusherPeer {
  readonly socketId: string;
  send(frame: string | Buffer): void;
  close(code: number, reason: string): void;
}

export interface PresenceMemberInfo {
  readonly userId: string;
  readonly info: unknown;
}

interface PresenceEntry {
  info: unknown;
  readonly peers: Set<PusherPeer>;
}

export interface PresenceSnapshot {
  readonly ids: string[];
  readonly hash: Record<string, unknown>;
  readonly count: number;
}

/**
 * One app's Pusher connections on this node: who is subscribed where, presence members
 * (a user with several connections is one member), and signed-in users. It raises the
 * occupied/vacated and member webhooks, so they fire exactly on the transitions.
 */
export class PusherAppState {
  readonly app: PusherApp;
  readonly #webhooks: PusherWebhookSender;
  readonly #maxPresenceMembers: number;
  readonly #channels = new Map<string, Set<PusherPeer>>();
  readonly #presence = new Map<string, Map<string, PresenceEntry>>();
  readonly #users = new Map<string, Set<PusherPeer>>();

  constructor(app: PusherApp, webhooks: PusherWebhookSender, maxPresenceMembers: number) {
    this.app = app;
    this.#webhooks = webhooks;
    this.#maxPresenceMembers = maxPresenceMembers;
  }

  /** False when a new user would take a presence channel over its member limit. */
  hasRoomFor(channel: string, userId: string): boolean {
    const members = this.#presence.get(channel);
    return !members || members.has(userId) || members.size < this.#maxPresenceMembers;
  }

  join(peer: PusherPeer, channel: string, member?: PresenceMemberInfo): void {
    let peers = this.#channels.get(channel);
    if (!peers) {
      peers = new Set();
      this.#channels.set(channel, peers);
      this.webhook({ name: 'channel_occupied', channel });
    }
    peers.add(peer);
    if (!member) return;
    let members = this.#presence.get(channel);
    if (!members) {
      members = new Map();
      this.#presence.set(channel, members);
    }
    const entry = members.get(member.userId);
    if (entry) {
      entry.peers.add(peer);
      return;
    }
    members.set(member.userId, { info: member.info, peers: new Set([peer]) });
    const added = encodeFrame('pusher_internal:member_added', { user_id: member.userId, user_info: member.info }, channel);
    for (const other of peers) if (other !== peer) other.send(added);
    this.webhook({ name: 'member_added', channel, user_id: member.userId });
  }

  leave(peer: PusherPeer, channel: string, userId?: string): void {
    const peers = this.#channels.get(channel);
    if (!peers?.delete(peer)) return;
    if (userId !== undefined) this.#leavePresence(peer, channel, userId, peers);
    if (peers.size === 0) {
      this.#channels.delete(channel);
      this.webhook({ name: 'channel_vacated', channel });
    }
  }

  presence(channel: string): PresenceSnapshot {
    const members = this.#presence.get(channel);
    const hash: Record<string, unknown> = {};
    for (const [id, entry] of members ?? []) hash[id] = entry.info ?? null;
    const ids = Object.keys(hash);
    return { ids, hash, count: ids.length };
  }

  subscribers(channel: string): ReadonlySet<PusherPeer> {
    return this.#channels.get(channel) ?? new Set();
  }

  /** Occupied channels with their subscription counts (and user counts for presence). */
  occupied(): { name: string; subscriptionCount: number; userCount: number | null }[] {
    return [...this.#channels].map(([name, peers]) => ({
      name,
      subscriptionCount: peers.size,
      userCount: this.#presence.get(name)?.size ?? (name.startsWith('presence-') ? 0 : null),
    }));
  }

  signIn(peer: PusherPeer, userId: string): void {
    let peers = this.#users.get(userId);
    if (!peers) {
      peers = new Set();
      this.#users.set(userId, peers);
    }
    peers.add(peer);
  }

  signOut(peer: PusherPeer, userId: string): void {
    const peers = this.#users.get(userId);
    if (!peers?.delete(peer)) return;
    if (peers.size === 0) this.#users.delete(userId);
  }

  /** Closes every connection signed in as the user, or subscribed to presence as the user. */
  terminate(userId: string): number {
    const targets = new Set(this.#users.get(userId) ?? []);
    for (const members of this.#presence.values()) for (const peer of members.get(userId)?.peers ?? []) targets.add(peer);
    for (const peer of targets) peer.close(4009, 'Connection terminated by the app');
    return targets.size;
  }

  webhook(event: PusherWebhookEvent): void {
    this.#webhooks.send(this.app, event);
  }

  #leavePresence(peer: PusherPeer, channel: string, userId: string, peers: Set<PusherPeer>): void {
    const members = this.#presence.get(channel);
    const entry = members?.get(userId);
    if (!members || !entry?.peers.delete(peer) || entry.peers.size > 0) return;
    members.delete(userId);
    if (members.size === 0) this.#presence.delete(channel);
    const removed = encodeFrame('pusher_internal:member_removed', { user_id: userId }, channel);
    for (const other of peers) other.send(removed);
    this.webhook({ name: 'member_removed', channel, user_id: userId });
  }
}
