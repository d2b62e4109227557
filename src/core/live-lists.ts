import type { ClusterNotice, ListAction, ListName, UserNotice } from './chat-notices.js';
import type { UserState } from './chat-store.js';
import { Delivery } from './delivery.js';
import type { Session } from './session.js';
import type { Channel, ChannelId, Member, SessionId, UserId } from './types.js';

interface Following {
  readonly session: Session;
  channels: boolean;
  /** Channel ids this session's channel list holds (snapshot plus changes), so updates reach only them. */
  readonly known: Set<ChannelId>;
  readonly members: Set<ChannelId>;
  readonly users: Set<UserId>;
}

/**
 * Live lists on this node: which session follows the channel list, which channels'
 * members, which users. The caller sends the snapshot (with access checks); this class
 * then hands each session the adds, updates and removals that concern it. Changes made
 * on other nodes arrive as ClusterNotices and are applied the same way.
 */
export class LiveLists {
  readonly #following = new Map<SessionId, Following>();

  follow(session: Session, list: ListName, target: { channel?: ChannelId; users?: readonly UserId[] }): void {
    const entry = this.#entry(session);
    if (list === 'channels') entry.channels = true;
    if (list === 'members' && target.channel) entry.members.add(target.channel);
    if (list === 'users') for (const user of target.users ?? []) entry.users.add(user);
  }

  /** Records the snapshot a session was sent, so later updates and removals find it. */
  remember(session: Session, channels: readonly ChannelId[]): void {
    const entry = this.#following.get(session.id);
    if (entry?.channels) for (const id of channels) entry.known.add(id);
  }

  /** Returns false when the session did not follow that list. */
  unfollow(session: Session, list: ListName, target: { channel?: ChannelId; users?: readonly UserId[] }): boolean {
    const entry = this.#following.get(session.id);
    if (!entry) return false;
    let changed = false;
    if (list === 'channels') {
      changed = entry.channels;
      entry.channels = false;
      entry.known.clear();
    }
    if (list === 'members' && target.channel) changed = entry.members.delete(target.channel);
    if (list === 'users') {
      const users = target.users ?? [...entry.users];
      for (const user of users) changed = entry.users.delete(user) || changed;
    }
    return changed;
  }

  sessionClosed(session: Session): void {
    this.#following.delete(session.id);
  }

  apply(notice: ClusterNotice): void {
    switch (notice.kind) {
      case 'channels':
        this.#channelChanged(notice.action, notice.channel, notice.audience);
        return;
      case 'members':
        this.#memberChanged(notice.action, notice.member);
        return;
      case 'channel-deleted':
        this.#channelDeleted(notice.channel);
        return;
      case 'status':
        this.userChanged(notice.state);
        return;
    }
  }

  userChanged(state: UserState): void {
    const delivery = new Delivery({ type: 'list', list: 'users', action: 'update', item: state });
    for (const entry of this.#following.values()) {
      if (entry.users.has(state.user)) entry.session.sink.deliver(delivery);
    }
  }

  #channelChanged(action: ListAction, channel: Channel, audience: readonly UserId[] | null): void {
    const allowed = audience && new Set(audience);
    const delivery = new Delivery({ type: 'list', list: 'channels', action, item: channel });
    for (const entry of this.#following.values()) {
      if (!entry.channels) continue;
      if (allowed && !allowed.has(entry.session.principal.userId)) continue;
      if (!allowed && action !== 'add' && !entry.known.has(channel.id)) continue;
      if (action === 'remove') entry.known.delete(channel.id);
      else entry.known.add(channel.id);
      entry.session.sink.deliver(delivery);
    }
  }

  #channelDeleted(id: ChannelId): void {
    const delivery = new Delivery({ type: 'list', list: 'channels', action: 'remove', item: { id } });
    for (const entry of this.#following.values()) {
      if (entry.known.delete(id)) entry.session.sink.deliver(delivery);
      // Its members list is gone with it.
      entry.members.delete(id);
    }
  }

  #memberChanged(action: ListAction, member: Member): void {
    const notice: UserNotice = { type: 'list', list: 'members', channel: member.channel, action, item: member };
    const delivery = new Delivery(notice);
    for (const entry of this.#following.values()) {
      if (!entry.members.has(member.channel)) continue;
      entry.session.sink.deliver(delivery);
      // Someone who left may no longer read the channel: they stop following its members.
      if (action === 'remove' && entry.session.principal.userId === member.user) entry.members.delete(member.channel);
    }
  }

  #entry(session: Session): Following {
    let entry = this.#following.get(session.id);
    if (!entry) {
      entry = { session, channels: false, known: new Set(), members: new Set(), users: new Set() };
      this.#following.set(session.id, entry);
    }
    return entry;
  }
}
