import type { ListAction, ListName } from '../../protocol/frames.js';
import type { UserState } from '../../protocol/values.js';
import { Delivery } from '../core/delivery.js';
import { SwitchboardError } from '../core/errors.js';
import type { Session } from '../core/session.js';
import type { Channel, ChannelId, ListedChannel, Member, SessionId, UserId } from '../core/types.js';
import { type ChatContext, SERVER } from './chat-context.js';
import { CHAT_MODULE, type ChatNotice } from './notices.js';

export interface ListTarget {
  readonly channel?: ChannelId;
  readonly users?: readonly UserId[];
}

interface Following {
  readonly session: Session;
  channels: boolean;
  /** Channel ids this session's channel list holds (snapshot plus changes), so updates reach only them. */
  readonly known: Set<ChannelId>;
  readonly members: Set<ChannelId>;
  readonly users: Set<UserId>;
}

type ListNotice = Extract<ChatNotice, { kind: 'channels' | 'members' | 'channel-deleted' }>;

/**
 * Live lists (the changefeed idea): a session follows the channels it may see, one
 * channel's members, or chosen users, and gets a snapshot, then each add, update and
 * removal that concerns it as a `list` frame. Changes made on other nodes arrive as
 * notices and are applied the same way.
 */
export class LiveLists {
  readonly #context: ChatContext;
  readonly #following = new Map<SessionId, Following>();

  constructor(context: ChatContext) {
    this.#context = context;
  }

  /** Follows a list and returns its snapshot; changes then arrive as `list` frames. */
  async follow(
    session: Session,
    list: ListName,
    target: ListTarget,
  ): Promise<{ list: ListName; channel?: ChannelId; items: readonly (Channel | Member | UserState)[] }> {
    const { hub, tables } = this.#context;
    const who = session.principal;
    // Follow first, then read: a change in between arrives twice (harmless), never not at all.
    switch (list) {
      case 'channels': {
        this.#entry(session).channels = true;
        const items = await hub.listChannels(who, { limit: 1000 });
        const entry = this.#following.get(session.id);
        if (entry?.channels) for (const channel of items) entry.known.add(channel.id);
        return { list, items };
      }
      case 'members': {
        if (!target.channel) throw new SwitchboardError('bad_request', 'A members list needs a channel.');
        await hub.getChannel(who, target.channel);
        this.#entry(session).members.add(target.channel);
        return { list, channel: target.channel, items: await hub.listMembers(who, target.channel) };
      }
      case 'users': {
        if (!target.users || target.users.length === 0) throw new SwitchboardError('bad_request', 'A users list needs users.');
        const entry = this.#entry(session);
        for (const user of target.users) entry.users.add(user);
        return { list, items: await tables.userStates(target.users) };
      }
    }
  }

  unfollow(session: Session, list: ListName, target: ListTarget): void {
    const entry = this.#following.get(session.id);
    let changed = false;
    if (entry && list === 'channels') {
      changed = entry.channels;
      entry.channels = false;
      entry.known.clear();
    }
    if (entry && list === 'members' && target.channel) changed = entry.members.delete(target.channel);
    if (entry && list === 'users') {
      for (const user of target.users ?? [...entry.users]) changed = entry.users.delete(user) || changed;
    }
    if (!changed) throw new SwitchboardError('not_found', `Not following that ${list} list.`);
  }

  sessionClosed(session: Session): void {
    this.#following.delete(session.id);
  }

  // --- changes (from this node's hub hooks, and other nodes' notices) ----------------

  channelCreated(channel: Channel): void {
    if (channel.type === 'inbox') return;
    if (channel.type === 'public') {
      this.#announce({ kind: 'channels', action: 'add', channel, audience: null });
      // Its creator's other sessions learn they own it.
      if (channel.createdBy !== null) {
        this.#announce({ kind: 'channels', action: 'update', channel: { ...channel, role: 'owner' }, audience: [channel.createdBy] });
      }
      return;
    }
    void this.#context.log.listMembers(channel.id).then(
      (members) => {
        for (const role of ['owner', 'admin', 'member'] as const) {
          const audience = members.filter((m) => m.role === role).map((m) => m.user);
          if (audience.length > 0) this.#announce({ kind: 'channels', action: 'add', channel: { ...channel, role }, audience });
        }
      },
      (error: unknown) => this.#context.logger.warn({ err: error, channel: channel.id }, 'channel list notice failed'),
    );
  }

  channelUpdated(channel: Channel): void {
    if (channel.type !== 'inbox') this.#announce({ kind: 'channels', action: 'update', channel, audience: null });
  }

  channelDeleted(channel: ChannelId): void {
    this.#announce({ kind: 'channel-deleted', channel });
  }

  /** The member's channel list gains the channel (a public one: their role in it). */
  memberAdded(member: Member): void {
    this.#announce({ kind: 'members', action: 'add', member });
    void this.#withChannel(member.channel, (channel) =>
      this.#announce({
        kind: 'channels',
        action: channel.type === 'public' ? 'update' : 'add',
        channel: { ...channel, role: member.role },
        audience: [member.user],
      }),
    );
  }

  /** The former member's list loses the channel (a public one stays, with no role). */
  memberRemoved(channel: ChannelId, user: UserId): void {
    this.#announce({ kind: 'members', action: 'remove', member: { channel, user, role: 'member', joinedAt: Date.now() } });
    void this.#withChannel(channel, (found) =>
      this.#announce(
        found.type === 'public'
          ? { kind: 'channels', action: 'update', channel: { ...found, role: null }, audience: [user] }
          : { kind: 'channels', action: 'remove', channel: found, audience: [user] },
      ),
    );
  }

  /** A user's status changed (here or on another node): to the sessions following that user. */
  userChanged(state: UserState): void {
    const delivery = new Delivery({ type: 'list', list: 'users', action: 'update', item: state });
    for (const entry of this.#following.values()) {
      if (entry.users.has(state.user)) entry.session.sink.deliver(delivery);
    }
  }

  /** A change another node announced. */
  apply(notice: ListNotice): void {
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
    }
  }

  // --- internals ----------------------------------------------------------------------

  /** Applies a change here and tells the other nodes. */
  #announce(notice: ListNotice): void {
    this.apply(notice);
    this.#context.hub.sendNotice(CHAT_MODULE, notice);
  }

  async #withChannel(id: ChannelId, then: (channel: Channel) => void): Promise<void> {
    try {
      then(await this.#context.hub.getChannel(SERVER, id));
    } catch (error) {
      this.#context.logger.warn({ err: error, channel: id }, 'channel list notice failed');
    }
  }

  #channelChanged(action: ListAction, channel: ListedChannel, audience: readonly UserId[] | null): void {
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
    const delivery = new Delivery({ type: 'list', list: 'members', channel: member.channel, action, item: member });
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
