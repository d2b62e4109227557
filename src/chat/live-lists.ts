import type { ListAction, ListName } from '../../protocol/frames.js';
import type { UserState } from '../../protocol/values.js';
import { Delivery } from '../core/delivery.js';
import { SwitchboardError } from '../core/errors.js';
import { MultiMap } from '../core/multimap.js';
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
 *
 * A change is looked up in indexes of who follows what, so its cost is the sessions it
 * reaches, not every session that follows some list: a status change (every connect and
 * last disconnect in the cluster) used to walk them all, which made a reconnect storm of
 * web clients quadratic. Only a new public channel goes to every channel list.
 */
export class LiveLists {
  readonly #context: ChatContext;
  readonly #following = new Map<SessionId, Following>();
  /** Sessions following a channel list, all of them (a new public channel reaches each). */
  readonly #channelLists = new Set<Following>();
  /** The same, by the session's user (a change meant for some users). */
  readonly #channelListsOf = new MultiMap<UserId, Following>();
  /** Channel lists by the channels they hold (updates and removals reach only those). */
  readonly #holding = new MultiMap<ChannelId, Following>();
  /** Members lists by channel. */
  readonly #membersOf = new MultiMap<ChannelId, Following>();
  /** Users lists by the users they follow. */
  readonly #usersFollowing = new MultiMap<UserId, Following>();

  constructor(context: ChatContext) {
    this.#context = context;
  }

  /** Follows a list and returns its snapshot; changes then arrive as `list` frames. */
  async follow(
    session: Session,
    list: ListName,
    target: ListTarget,
  ): Promise<{ list: ListName; channel?: ChannelId; items: readonly (Channel | Member | UserState)[] }> {
    const { hub, states } = this.#context;
    const who = session.principal;
    // Follow first, then read: a change in between arrives twice (harmless), never not at all.
    switch (list) {
      case 'channels': {
        this.#followChannels(this.#entry(session));
        const items = await hub.listChannels(who, { limit: 1000 });
        const entry = this.#following.get(session.id);
        if (entry?.channels) for (const channel of items) this.#hold(entry, channel.id);
        return { list, items };
      }
      case 'members': {
        if (!target.channel) throw new SwitchboardError('bad_request', 'A members list needs a channel.');
        await hub.getChannel(who, target.channel);
        this.#followMembers(this.#entry(session), target.channel);
        return { list, channel: target.channel, items: await hub.listMembers(who, target.channel) };
      }
      case 'users': {
        if (!target.users || target.users.length === 0) throw new SwitchboardError('bad_request', 'A users list needs users.');
        const entry = this.#entry(session);
        for (const user of target.users) this.#followUser(entry, user);
        return { list, items: await states.of(target.users) };
      }
    }
  }

  unfollow(session: Session, list: ListName, target: ListTarget): void {
    const entry = this.#following.get(session.id);
    let changed = false;
    if (entry && list === 'channels') {
      changed = entry.channels;
      this.#unfollowChannels(entry);
    }
    if (entry && list === 'members' && target.channel) changed = this.#unfollowMembers(entry, target.channel);
    if (entry && list === 'users') {
      for (const user of target.users ?? [...entry.users]) changed = this.#unfollowUser(entry, user) || changed;
    }
    if (!changed) throw new SwitchboardError('not_found', `Not following that ${list} list.`);
  }

  sessionClosed(session: Session): void {
    const entry = this.#following.get(session.id);
    if (!entry) return;
    this.#following.delete(session.id);
    this.#unfollowChannels(entry);
    for (const channel of entry.members) this.#membersOf.delete(channel, entry);
    for (const user of entry.users) this.#usersFollowing.delete(user, entry);
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
    if (this.#usersFollowing.count(state.user) === 0) return;
    const delivery = new Delivery({ type: 'list', list: 'users', action: 'update', item: state });
    for (const entry of this.#usersFollowing.get(state.user)) entry.session.sink.deliver(delivery);
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
    // Meant for some users: their channel lists. For everyone: a new public channel goes to
    // every channel list, an update or removal to the lists that hold the channel.
    const reached: Iterable<Following> = audience
      ? [...new Set(audience)].flatMap((user) => [...this.#channelListsOf.get(user)])
      : action === 'add'
        ? this.#channelLists
        : [...this.#holding.get(channel.id)];
    const delivery = new Delivery({ type: 'list', list: 'channels', action, item: channel });
    for (const entry of reached) {
      if (action === 'remove') this.#release(entry, channel.id);
      else this.#hold(entry, channel.id);
      entry.session.sink.deliver(delivery);
    }
  }

  #channelDeleted(id: ChannelId): void {
    const delivery = new Delivery({ type: 'list', list: 'channels', action: 'remove', item: { id } });
    for (const entry of [...this.#holding.get(id)]) {
      this.#release(entry, id);
      entry.session.sink.deliver(delivery);
    }
    // Its members lists are gone with it.
    for (const entry of [...this.#membersOf.get(id)]) this.#unfollowMembers(entry, id);
  }

  #memberChanged(action: ListAction, member: Member): void {
    const delivery = new Delivery({ type: 'list', list: 'members', channel: member.channel, action, item: member });
    for (const entry of [...this.#membersOf.get(member.channel)]) {
      entry.session.sink.deliver(delivery);
      // Someone who left may no longer read the channel: they stop following its members.
      if (action === 'remove' && entry.session.principal.userId === member.user) this.#unfollowMembers(entry, member.channel);
    }
  }

  // --- who follows what (each change to an entry goes through these, indexes with it) --

  #followChannels(entry: Following): void {
    if (entry.channels) return;
    entry.channels = true;
    this.#channelLists.add(entry);
    this.#channelListsOf.add(entry.session.principal.userId, entry);
  }

  #unfollowChannels(entry: Following): void {
    if (!entry.channels) return;
    entry.channels = false;
    this.#channelLists.delete(entry);
    this.#channelListsOf.delete(entry.session.principal.userId, entry);
    for (const channel of entry.known) this.#holding.delete(channel, entry);
    entry.known.clear();
  }

  /** The session's channel list holds the channel (its snapshot, or a change since). */
  #hold(entry: Following, channel: ChannelId): void {
    if (entry.known.has(channel)) return;
    entry.known.add(channel);
    this.#holding.add(channel, entry);
  }

  #release(entry: Following, channel: ChannelId): void {
    if (entry.known.delete(channel)) this.#holding.delete(channel, entry);
  }

  #followMembers(entry: Following, channel: ChannelId): void {
    entry.members.add(channel);
    this.#membersOf.add(channel, entry);
  }

  #unfollowMembers(entry: Following, channel: ChannelId): boolean {
    if (!entry.members.delete(channel)) return false;
    this.#membersOf.delete(channel, entry);
    return true;
  }

  #followUser(entry: Following, user: UserId): void {
    entry.users.add(user);
    this.#usersFollowing.add(user, entry);
  }

  #unfollowUser(entry: Following, user: UserId): boolean {
    if (!entry.users.delete(user)) return false;
    this.#usersFollowing.delete(user, entry);
    return true;
  }

  #entry(session: Session): Following {
    let entry = this.#following.get(session.id);
    if (!entry) {
      // Closed already (during a read, or before the follow ran): sessionClosed has run, and
      // an entry made now would stay for good, handed every later change.
      if (session.closed) throw new SwitchboardError('unavailable', 'The session is closed.');
      entry = { session, channels: false, known: new Set(), members: new Set(), users: new Set() };
      this.#following.set(session.id, entry);
    }
    return entry;
  }
}
