import { randomUUID } from 'node:crypto';
import {
  assertCanPublish,
  assertCanRead,
  canChangeMessage,
  canManageMembers,
  canRead,
  inboxChannelOf,
} from './access.js';
import type { Broker, BrokerMessage } from './broker.js';
import type { ClusterNotice } from './chat-notices.js';
import { ChannelFeed, type Subscriber } from './channel-feed.js';
import { Delivery } from './delivery.js';
import { SwitchboardError } from './errors.js';
import { GroupCommitter } from './group-commit.js';
import type { HubObserver } from './hub-observer.js';
import type { Logger } from './logger.js';
import { directChannelId, isReservedChannelId, MAX_DIRECT_MEMBERS } from './names.js';
import type { Session, SessionSink } from './session.js';
import type { AppendRequest, ChannelChanges, Store } from './store.js';
import type {
  Channel,
  ChannelEvent,
  ChannelId,
  ChannelType,
  EphemeralEvent,
  Member,
  MemberRole,
  PresenceMember,
  Principal,
  PublishPolicy,
  Seq,
  SessionId,
  User,
  UserId,
} from './types.js';

export interface HubLimits {
  /** Longest message text, in characters. */
  readonly maxTextLength: number;
  readonly maxSubscriptionsPerSession: number;
  /** Largest page a history request may ask for. */
  readonly maxHistoryPage: number;
  /** Most appends written in one transaction. */
  readonly maxCommitBatch: number;
}

export const defaultHubLimits: HubLimits = {
  maxTextLength: 4000,
  maxSubscriptionsPerSession: 100,
  maxHistoryPage: 200,
  maxCommitBatch: 1000,
};

export interface HubOptions {
  readonly store: Store;
  readonly broker: Broker;
  readonly logger: Logger;
  readonly limits?: Partial<HubLimits>;
}

export interface CreateChannelInput {
  readonly id?: ChannelId;
  readonly type: Exclude<ChannelType, 'inbox'>;
  readonly title?: string | null;
  readonly publish?: PublishPolicy;
  /** Other users to add (for direct channels: the other participants). */
  readonly members?: readonly UserId[];
}

export interface PublishInput {
  readonly channel: ChannelId;
  readonly text?: string | null;
  readonly data?: unknown;
  readonly cid?: string | null;
  readonly replyTo?: Seq | null;
}

export interface PublishResult {
  readonly event: ChannelEvent;
  /** True when the `cid` had been stored before: nothing new was written or sent. */
  readonly duplicate: boolean;
}

export interface HistoryInput {
  readonly channel: ChannelId;
  readonly before?: Seq;
  readonly after?: Seq;
  readonly limit?: number;
}

const CATCH_UP_PAGE = 500;
const KNOWN_USERS_LIMIT = 100_000;

class HubSession implements Session {
  readonly id: SessionId;
  readonly principal: Principal;
  readonly transport: string;
  readonly sink: SessionSink;
  /** Made on the first subscribe: most sessions of a large node are idle (a Set is ~230 bytes). */
  #channels: Set<ChannelId> | null = null;
  closed = false;

  constructor(principal: Principal, transport: string, sink: SessionSink) {
    this.id = randomUUID();
    this.principal = principal;
    this.transport = transport;
    this.sink = sink;
  }

  get channels(): ReadonlySet<ChannelId> {
    return this.#channels ?? NO_CHANNELS;
  }

  enter(id: ChannelId): void {
    (this.#channels ??= new Set()).add(id);
  }

  leave(id: ChannelId): void {
    this.#channels?.delete(id);
  }
}

const NO_CHANNELS: ReadonlySet<ChannelId> = new Set();

/**
 * The heart of a node: sessions, channels, subscriptions, fan-out, presence and resume.
 * Every transport calls these methods with a Principal (who asks) and gets plain values
 * back or a SwitchboardError; the rules live here and in access.ts, nowhere else.
 */
export class Hub {
  readonly limits: HubLimits;
  readonly #store: Store;
  readonly #broker: Broker;
  readonly #logger: Logger;
  readonly #committer: GroupCommitter;
  readonly #sessions = new Map<SessionId, HubSession>();
  readonly #feeds = new Map<ChannelId, ChannelFeed>();
  readonly #channelCache = new Map<ChannelId, Channel>();
  /** Counts evictions, so a read that raced one is not cached. */
  #channelGeneration = 0;
  /** Users known to be stored under their current name (bounded; cleared when full). */
  readonly #knownUsers = new Map<UserId, string>();
  readonly #observers: HubObserver[] = [];
  #closing = false;

  constructor(options: HubOptions) {
    this.limits = { ...defaultHubLimits, ...options.limits };
    this.#store = options.store;
    this.#broker = options.broker;
    this.#logger = options.logger;
    this.#committer = new GroupCommitter(this.#store, {
      maxBatch: this.limits.maxCommitBatch,
      onCommit: (size, millis) => {
        if (this.#observers.length > 0) this.#notify((o) => o.committed?.(size, millis));
      },
    });
  }

  async start(): Promise<void> {
    await this.#broker.start((message) => this.#onBrokerMessage(message));
  }

  get sessionCount(): number {
    return this.#sessions.size;
  }

  /** Registers hooks for a feature built beside the hub (see HubObserver). */
  observe(observer: HubObserver): void {
    this.#observers.push(observer);
  }

  // --- sessions -------------------------------------------------------------------

  async connect(principal: Principal, transport: string, sink: SessionSink): Promise<Session> {
    if (this.#closing) throw new SwitchboardError('unavailable', 'The server is shutting down.');
    if (principal.kind === 'user') await this.#rememberUser(principal);
    const session = new HubSession(principal, transport, sink);
    this.#sessions.set(session.id, session);
    this.#notify((o) => o.sessionOpened?.(session));
    return session;
  }

  /**
   * Records the user on first sight and on a rename. Skipping the write otherwise keeps
   * connects (and reconnect storms) off the store's write path.
   */
  async #rememberUser(principal: Principal): Promise<void> {
    const { userId, name } = principal;
    if (this.#knownUsers.get(userId) === name) return;
    await this.#store.rememberUser({ id: userId, name });
    if (this.#knownUsers.size >= KNOWN_USERS_LIMIT) this.#knownUsers.clear();
    this.#knownUsers.set(userId, name);
  }

  async disconnect(session: Session): Promise<void> {
    const state = this.#sessions.get(session.id);
    if (!state || state.closed) return;
    state.closed = true;
    this.#sessions.delete(session.id);
    this.#notify((o) => o.sessionClosed?.(state));
    await Promise.all([...state.channels].map((channel) => this.#detach(state, channel)));
  }

  /**
   * Tells every session the node is going away (with `close`), then waits for appends in
   * flight to commit. Transports close their connections afterwards. `spreadMs` asks
   * clients to spread their reconnects over that window (a drain).
   */
  async shutdown(reason: string, options: { readonly spreadMs?: number } = {}): Promise<void> {
    this.#closing = true;
    const notice = new Delivery(
      options.spreadMs ? { type: 'close', reason, reconnect: true, spreadMs: options.spreadMs } : { type: 'close', reason, reconnect: true },
    );
    for (const session of this.#sessions.values()) session.sink.deliver(notice);
    await this.#committer.idle();
  }

  // --- channels and members -------------------------------------------------------

  async createChannel(principal: Principal, input: CreateChannelInput): Promise<Channel> {
    if (input.type === 'direct') return this.#openDirect(principal, input.members ?? []);
    const id = input.id ?? `c-${randomUUID().slice(0, 8)}`;
    if (isReservedChannelId(id)) {
      throw new SwitchboardError('bad_request', 'Channel ids starting with "user:" or "dm:" are reserved.');
    }
    const creator = principal.kind === 'user' ? principal.userId : null;
    const members = new Map<UserId, MemberRole>();
    for (const user of input.members ?? []) members.set(user, 'member');
    if (creator) members.set(creator, 'owner');
    const channel = await this.#store.createChannel({
      id,
      type: input.type,
      title: input.title ?? null,
      publish: input.publish ?? (input.type === 'public' ? 'anyone' : 'members'),
      createdBy: creator,
      members: [...members].map(([user, role]) => ({ user, role })),
    });
    if (!channel) throw new SwitchboardError('conflict', `Channel ${id} already exists.`);
    this.#notify((o) => o.channelCreated?.(channel));
    return channel;
  }

  async getChannel(principal: Principal, id: ChannelId): Promise<Channel> {
    const channel = await this.#requireChannel(id);
    assertCanRead(principal, channel, await this.#memberFor(principal, channel));
    // The cache serves access checks; lastSeq moves with every publish, so read it fresh.
    return (await this.#store.getChannel(id)) ?? channel;
  }

  listChannels(principal: Principal, options: { limit: number; after?: ChannelId }): Promise<Channel[]> {
    const visibleTo = principal.kind === 'server' ? null : principal.userId;
    return this.#store.listChannels({ visibleTo, limit: options.limit, after: options.after });
  }

  /** Changes a channel's title or publish policy: its owners and admins (inboxes and DMs: the server). */
  async updateChannel(principal: Principal, id: ChannelId, changes: ChannelChanges): Promise<Channel> {
    const channel = await this.#requireChannel(id);
    if (channel.type === 'inbox' || channel.type === 'direct') {
      if (principal.kind !== 'server') throw new SwitchboardError('forbidden', `A ${channel.type} channel has no settings to change.`);
    } else {
      this.#assertCanManage(principal, channel, await this.#membershipOf(principal, channel));
    }
    const updated = await this.#store.updateChannel(id, changes);
    this.#forgetChannel(id);
    if (!updated) throw new SwitchboardError('not_found', `Channel ${id} does not exist.`);
    this.#notify((o) => o.channelUpdated?.(updated));
    return updated;
  }

  /** Deletes a channel with its history: its owners (inboxes and DMs: the server). */
  async deleteChannel(principal: Principal, id: ChannelId): Promise<void> {
    const channel = await this.#requireChannel(id);
    const fixed = channel.type === 'inbox' || channel.type === 'direct';
    const allowed = fixed
      ? principal.kind === 'server'
      : canManageMembers(principal, channel, await this.#membershipOf(principal, channel), 'owner');
    if (!allowed) {
      throw new SwitchboardError('forbidden', fixed ? `Only the server deletes ${channel.type} channels.` : `Only the owners delete ${id}.`);
    }
    const deleted = await this.#store.deleteChannel(id);
    this.#forgetChannel(id);
    if (!deleted) throw new SwitchboardError('not_found', `Channel ${id} does not exist.`);
    this.#notify((o) => o.channelDeleted?.(id));
  }

  // --- users ----------------------------------------------------------------------

  async getUser(_principal: Principal, id: UserId): Promise<User> {
    const user = await this.#store.getUser(id);
    if (!user) throw new SwitchboardError('not_found', `User ${id} does not exist.`);
    return user;
  }

  listUsers(_principal: Principal, options: { limit: number; after?: UserId }): Promise<User[]> {
    return this.#store.listUsers(options);
  }

  /** Changes a profile: the user themselves, an admin, or the server. */
  async updateUser(principal: Principal, id: UserId, changes: { name: string }): Promise<User> {
    if (principal.kind !== 'server' && principal.userId !== id && !principal.roles.includes('admin')) {
      throw new SwitchboardError('forbidden', 'You may change only your own profile.');
    }
    const user = await this.#store.updateUser(id, changes);
    if (!user) throw new SwitchboardError('not_found', `User ${id} does not exist.`);
    return user;
  }

  /** Joins a public channel as a member. Other channels take members only from their owners. */
  async join(principal: Principal, id: ChannelId): Promise<Member> {
    const channel = await this.#requireChannel(id);
    const existing = await this.#store.getMember(id, principal.userId);
    if (existing) return existing;
    if (channel.type !== 'public') {
      throw new SwitchboardError('forbidden', `Channel ${id} is ${channel.type}: an owner must add you.`);
    }
    const member = await this.#store.addMember(id, principal.userId, 'member');
    this.#notify((o) => o.memberAdded?.(member));
    return member;
  }

  async leave(principal: Principal, id: ChannelId): Promise<void> {
    await this.#requireChannel(id);
    if (!(await this.#store.removeMember(id, principal.userId))) {
      throw new SwitchboardError('not_found', `You are not a member of ${id}.`);
    }
    this.#notify((o) => o.memberRemoved?.(id, principal.userId));
  }

  async addMember(principal: Principal, id: ChannelId, user: UserId, role: MemberRole = 'member'): Promise<Member> {
    const channel = await this.#requireChannel(id);
    this.#assertCanManage(principal, channel, await this.#membershipOf(principal, channel), role);
    const member = await this.#store.addMember(id, user, role);
    this.#notify((o) => o.memberAdded?.(member));
    return member;
  }

  async removeMember(principal: Principal, id: ChannelId, user: UserId): Promise<void> {
    const channel = await this.#requireChannel(id);
    if (user !== principal.userId) {
      const target = await this.#store.getMember(id, user);
      this.#assertCanManage(principal, channel, await this.#membershipOf(principal, channel), target?.role);
    }
    if (!(await this.#store.removeMember(id, user))) {
      throw new SwitchboardError('not_found', `${user} is not a member of ${id}.`);
    }
    this.#notify((o) => o.memberRemoved?.(id, user));
  }

  async listMembers(principal: Principal, id: ChannelId): Promise<Member[]> {
    const channel = await this.#requireChannel(id);
    assertCanRead(principal, channel, await this.#memberFor(principal, channel));
    return this.#store.listMembers(id);
  }

  // --- messages -------------------------------------------------------------------

  async publish(principal: Principal, input: PublishInput): Promise<PublishResult> {
    const text = input.text ?? null;
    const data = input.data ?? null;
    if (text === null && data === null) throw new SwitchboardError('bad_request', 'A message needs text or data.');
    this.#assertStorableText(text);
    this.#assertStorableText(input.cid ?? null, 'cid');
    const channel = await this.#requireChannel(input.channel);
    assertCanPublish(principal, channel, await this.#memberFor(principal, channel));
    const result = await this.#append({
      kind: 'message',
      channel: channel.id,
      author: this.#authorOf(principal),
      text,
      data,
      cid: input.cid ?? null,
      replyTo: input.replyTo ?? null,
    });
    return result;
  }

  async edit(
    principal: Principal,
    input: { channel: ChannelId; seq: Seq; text?: string | null; data?: unknown },
  ): Promise<ChannelEvent> {
    this.#assertStorableText(input.text ?? null);
    const channel = await this.#requireChannel(input.channel);
    const target = await this.#changeableMessage(principal, channel, input.seq, 'edit');
    const result = await this.#append({
      kind: 'edit',
      channel: channel.id,
      author: this.#authorOf(principal),
      target: target.seq,
      text: input.text === undefined ? target.text : input.text,
      data: input.data === undefined ? target.data : input.data,
    });
    return result.event;
  }

  async delete(principal: Principal, input: { channel: ChannelId; seq: Seq }): Promise<ChannelEvent> {
    const channel = await this.#requireChannel(input.channel);
    const target = await this.#changeableMessage(principal, channel, input.seq, 'delete');
    const result = await this.#append({
      kind: 'delete',
      channel: channel.id,
      author: this.#authorOf(principal),
      target: target.seq,
    });
    return result.event;
  }

  /**
   * Adds or removes the principal's reaction to a message: a `reaction` / `unreaction`
   * event in the channel's log (so resume carries it). Reacting twice with one emoji, or
   * removing a reaction that is not there, changes nothing and returns null.
   */
  async react(
    principal: Principal,
    input: { channel: ChannelId; seq: Seq; emoji: string; remove?: boolean },
  ): Promise<ChannelEvent | null> {
    const chat = this.#store.chat;
    if (!chat) throw new SwitchboardError('unavailable', 'This store keeps no reactions.');
    if (principal.kind !== 'user') throw new SwitchboardError('bad_request', 'Reactions belong to users.');
    const channel = await this.#requireChannel(input.channel);
    if (channel.type === 'inbox') throw new SwitchboardError('forbidden', 'Inbox messages take no reactions.');
    assertCanRead(principal, channel, await this.#memberFor(principal, channel));
    const present = await chat.hasReaction(channel.id, input.seq, input.emoji, principal.userId);
    if (present === !input.remove) return null;
    // Checked again under the store's lock: a concurrent twin of this request answers unchanged.
    const result = await this.#append(
      {
        kind: input.remove ? 'unreaction' : 'reaction',
        channel: channel.id,
        author: principal.userId,
        target: input.seq,
        emoji: input.emoji,
      },
      { unchangedIsNull: true },
    );
    return result?.event ?? null;
  }

  /** Sends a channel signal (a read receipt) to the channel's subscribers on every node. */
  signal(event: EphemeralEvent): void {
    this.#broadcastEphemeral(event);
  }

  /** Tells the other nodes' chat features about a change (see ClusterNotice). */
  sendClusterNotice(notice: ClusterNotice): void {
    this.#broker.publish({ type: 'chat', notice });
  }

  /** Messages in their current state (edited text, tombstones), oldest first. */
  async history(principal: Principal, input: HistoryInput): Promise<{ events: ChannelEvent[]; hasMore: boolean }> {
    const channel = await this.#requireChannel(input.channel);
    assertCanRead(principal, channel, await this.#memberFor(principal, channel));
    const limit = Math.min(Math.max(input.limit ?? 50, 1), this.limits.maxHistoryPage);
    const events = await this.#store.readEvents(channel.id, {
      after: input.after,
      before: input.before,
      limit: limit + 1,
      messagesOnly: true,
    });
    const hasMore = events.length > limit;
    if (!hasMore) return { events, hasMore };
    // Paging back (before only) keeps the newest `limit`; paging forward keeps the oldest.
    return { events: input.after === undefined ? events.slice(1) : events.slice(0, limit), hasMore };
  }

  // --- subscriptions, presence, signals -----------------------------------------

  /**
   * Subscribes a session. With `since`, every event after that seq is sent first (in
   * order), then live events, with no gap and no duplicate. Resolves with the seq the
   * session is at when it goes live.
   */
  async subscribe(
    session: Session,
    id: ChannelId,
    since?: Seq,
    options: { readonly presence?: boolean } = {},
  ): Promise<{ channel: Channel; seq: Seq }> {
    const state = this.#liveSession(session);
    if (state.channels.has(id)) throw new SwitchboardError('conflict', `Already subscribed to ${id}.`);
    if (state.channels.size >= this.limits.maxSubscriptionsPerSession) {
      throw new SwitchboardError(
        'too_many_subscriptions',
        `At most ${this.limits.maxSubscriptionsPerSession} subscriptions per connection.`,
      );
    }
    // Taken before any await, so a second subscribe to the channel in flight is a conflict.
    state.enter(id);
    let subscriber: Subscriber | undefined;
    try {
      const channel = await this.#requireChannel(id);
      assertCanRead(state.principal, channel, await this.#memberFor(state.principal, channel));
      if (state.closed || !state.channels.has(id)) {
        throw new SwitchboardError('unavailable', 'The session closed or unsubscribed while subscribing.');
      }
      const feed = this.#feedFor(id);
      subscriber = {
        session: state,
        catchingUp: since !== undefined,
        buffer: [],
        active: true,
        presence: options.presence ?? true,
      };
      feed.addSubscriber(state.id, subscriber);
      await feed.ready;
      const seq = since === undefined ? feed.lastSeq : await this.#catchUp(feed, subscriber, since);
      if (state.principal.kind === 'user' && subscriber.active) await this.#announce(state, id, subscriber);
      return { channel, seq };
    } catch (error) {
      const feed = this.#feeds.get(id);
      // Detach only this attempt: an unsubscribe may have made room for a newer subscription.
      if (!subscriber || feed?.subscribers.get(state.id) === subscriber) await this.#detach(state, id);
      throw error;
    }
  }

  /** Adds the session to the channel's presence, unless it left while that was under way. */
  async #announce(state: HubSession, id: ChannelId, subscriber: Subscriber): Promise<void> {
    const action = await this.#broker.presence.add(id, state.principal.userId, state.id);
    if (subscriber.active) {
      this.#broadcastEphemeral(this.#presenceEvent(id, action, state));
      return;
    }
    await this.#broker.presence.remove(id, state.principal.userId, state.id);
  }

  async unsubscribe(session: Session, id: ChannelId): Promise<void> {
    const state = this.#liveSession(session);
    if (!state.channels.has(id)) throw new SwitchboardError('not_found', `Not subscribed to ${id}.`);
    await this.#detach(state, id);
  }

  async presence(principal: Principal, id: ChannelId): Promise<PresenceMember[]> {
    const channel = await this.#requireChannel(id);
    assertCanRead(principal, channel, await this.#memberFor(principal, channel));
    return this.#broker.presence.list(id);
  }

  /** A typing signal to the channel's other subscribers: live only, never stored. */
  typing(session: Session, id: ChannelId): void {
    const state = this.#liveSession(session);
    if (!state.channels.has(id)) throw new SwitchboardError('forbidden', `Subscribe to ${id} before typing in it.`);
    this.#broadcastEphemeral({ type: 'typing', channel: id, user: state.principal.userId, at: Date.now() }, state.id);
  }

  // --- internals ------------------------------------------------------------------

  #append(request: AppendRequest): Promise<{ event: ChannelEvent; duplicate: boolean }>;
  #append(
    request: AppendRequest,
    options: { unchangedIsNull: true },
  ): Promise<{ event: ChannelEvent; duplicate: boolean } | null>;
  async #append(
    request: AppendRequest,
    options?: { unchangedIsNull: true },
  ): Promise<{ event: ChannelEvent; duplicate: boolean } | null> {
    const result = await this.#committer.append(request);
    if (!result.ok) {
      if (result.unchanged && options?.unchangedIsNull) return null;
      throw new SwitchboardError(result.code, result.message);
    }
    if (!result.duplicate) {
      this.#feeds.get(result.event.channel)?.offer(result.event);
      this.#broker.publish({ type: 'event', event: result.event });
      if (this.#observers.length > 0) this.#notify((o) => o.published?.(result.event));
    }
    return result;
  }

  async #catchUp(feed: ChannelFeed, subscriber: Subscriber, since: Seq): Promise<Seq> {
    const target = feed.lastSeq;
    const { sink } = subscriber.session;
    let sent = since;
    for (const delivery of feed.recentBetween(since, target) ?? []) {
      if (!subscriber.active) break;
      sink.deliver(delivery);
      sent++;
      const full = sink.whenWritable?.();
      if (full) await full;
    }
    while (subscriber.active && sent < target) {
      const changesAtRead = feed.recentChanges;
      const events = await this.#store.readEvents(feed.channel, { after: sent, limit: CATCH_UP_PAGE });
      if (events.length === 0) break;
      feed.rememberRead(events, changesAtRead);
      for (const event of events) {
        // Newer events are committed but still on their way from the broker: they come
        // through the buffer, and sending them here too would send them twice.
        if (event.seq > target || !subscriber.active) break;
        sink.deliver(new Delivery({ type: 'event', event }));
        sent = event.seq;
        // After each event, not each page: a page of large events must not overrun a send queue.
        const full = sink.whenWritable?.();
        if (full) await full;
      }
    }
    if (!subscriber.active) return sent;
    // Synchronous from here: no live event can slip between the buffer and going live.
    for (const event of subscriber.buffer) {
      if (event.seq <= sent) continue;
      subscriber.session.sink.deliver(new Delivery({ type: 'event', event }));
      sent = event.seq;
    }
    subscriber.buffer = [];
    subscriber.catchingUp = false;
    return Math.max(sent, feed.lastSeq);
  }

  async #detach(state: HubSession, id: ChannelId): Promise<void> {
    state.leave(id);
    const feed = this.#feeds.get(id);
    const subscriber = feed?.subscribers.get(state.id);
    if (!feed || !subscriber) return;
    subscriber.active = false;
    feed.removeSubscriber(state.id);
    if (feed.subscribers.size === 0) {
      feed.close();
      this.#feeds.delete(id);
      this.#broker.unwatch(id);
      this.#notify((o) => o.channelVacated?.(id));
    }
    if (state.principal.kind !== 'user') return;
    try {
      const action = await this.#broker.presence.remove(id, state.principal.userId, state.id);
      if (action) this.#broadcastEphemeral(this.#presenceEvent(id, action, state));
    } catch (error) {
      this.#logger.warn({ err: error, channel: id }, 'presence removal failed');
    }
  }

  #feedFor(id: ChannelId): ChannelFeed {
    let feed = this.#feeds.get(id);
    if (!feed) {
      feed = new ChannelFeed(
        id,
        this.#store,
        (error) => this.#logger.warn({ err: error, channel: id }, 'gap healing failed; retrying'),
        this.#observers.length > 0 ? (event, recipients) => this.#notify((o) => o.delivered?.(event, recipients)) : undefined,
      );
      this.#feeds.set(id, feed);
      this.#broker.watch(id);
      this.#notify((o) => o.channelOccupied?.(id));
    }
    return feed;
  }

  #onBrokerMessage(message: BrokerMessage): void {
    switch (message.type) {
      case 'event':
        this.#feeds.get(message.event.channel)?.offer(message.event);
        return;
      case 'ephemeral':
        this.#deliverEphemeral(message.event, null);
        if (this.#observers.length > 0) this.#notify((o) => o.brokerEphemeral?.(message.event));
        return;
      case 'chat':
        this.#notify((o) => o.clusterNotice?.(message.notice));
        return;
      case 'resync':
        void this.#resync(message.channel);
        return;
      case 'channel-changed':
        this.#evictChannel(message.channel);
        return;
    }
  }

  /** Drops the cached copy here and on every other node (access checks read it). */
  #forgetChannel(id: ChannelId): void {
    this.#evictChannel(id);
    this.#broker.publish({ type: 'channel-changed', channel: id });
  }

  #evictChannel(id: ChannelId): void {
    this.#channelCache.delete(id);
    this.#channelGeneration++;
  }

  /** Brings feeds up to the store's last seq: the broker may have lost the newest events. */
  async #resync(channel: ChannelId | null): Promise<void> {
    for (const id of channel === null ? [...this.#feeds.keys()] : [channel]) {
      const feed = this.#feeds.get(id);
      if (!feed) continue;
      try {
        const stored = await this.#store.getChannel(id);
        if (stored) feed.catchUpTo(stored.lastSeq);
      } catch (error) {
        this.#logger.warn({ err: error, channel: id }, 'resync failed; the next one retries');
      }
    }
  }

  #broadcastEphemeral(event: EphemeralEvent, except: SessionId | null = null): void {
    this.#deliverEphemeral(event, except);
    this.#broker.publish({ type: 'ephemeral', event });
  }

  #deliverEphemeral(event: EphemeralEvent, except: SessionId | null): void {
    const feed = this.#feeds.get(event.channel);
    const isPresence = event.type === 'presence';
    if (!feed || (isPresence && !feed.hasPresenceSubscribers)) return;
    const delivery = new Delivery(event, except);
    for (const subscriber of feed.subscribers.values()) {
      if (subscriber.session.id === except || (isPresence && !subscriber.presence)) continue;
      subscriber.session.sink.deliver(delivery);
    }
  }

  #presenceEvent(channel: ChannelId, action: 'join' | 'add' | 'remove' | 'leave', state: HubSession): EphemeralEvent {
    return { type: 'presence', channel, action, user: state.principal.userId, session: state.id, at: Date.now() };
  }

  async #openDirect(principal: Principal, others: readonly UserId[]): Promise<Channel> {
    const users = [...new Set([principal.userId, ...others])];
    if (principal.kind !== 'user') throw new SwitchboardError('bad_request', 'Direct channels belong to users.');
    if (users.length < 2) throw new SwitchboardError('bad_request', 'A direct channel needs another user.');
    if (users.length > MAX_DIRECT_MEMBERS) {
      throw new SwitchboardError('bad_request', `A direct channel has at most ${MAX_DIRECT_MEMBERS} users.`);
    }
    const id = directChannelId(users);
    const created = await this.#store.createChannel({
      id,
      type: 'direct',
      title: null,
      publish: 'members',
      createdBy: principal.userId,
      members: users.map((user) => ({ user, role: 'member' as const })),
    });
    if (created) this.#notify((o) => o.channelCreated?.(created));
    return created ?? (await this.#requireChannel(id));
  }

  async #requireChannel(id: ChannelId): Promise<Channel> {
    const cached = this.#channelCache.get(id);
    if (cached) return cached;
    const generation = this.#channelGeneration;
    let channel = await this.#store.getChannel(id);
    if (!channel && id.startsWith('user:')) channel = await this.#createInbox(id);
    if (!channel) throw new SwitchboardError('not_found', `Channel ${id} does not exist.`);
    // A change seen while this read was under way may have made it stale: don't keep it.
    if (generation !== this.#channelGeneration) return channel;
    if (this.#channelCache.size > 10_000) this.#channelCache.clear();
    this.#channelCache.set(id, channel);
    return channel;
  }

  /** A user's inbox exists from the first time anyone refers to it. */
  async #createInbox(id: ChannelId): Promise<Channel | undefined> {
    const user = id.slice('user:'.length);
    if (inboxChannelOf(user) !== id || user.length === 0) return undefined;
    const created = await this.#store.createChannel({
      id,
      type: 'inbox',
      title: null,
      publish: 'server',
      createdBy: null,
      members: [{ user, role: 'member' }],
    });
    return created ?? (await this.#store.getChannel(id));
  }

  /** The principal's membership, looked up only when the channel's rules depend on it. */
  async #memberFor(principal: Principal, channel: Channel): Promise<Member | undefined> {
    if (principal.kind === 'server') return undefined;
    if (channel.type === 'public' && channel.publish === 'anyone') return undefined;
    if (channel.type === 'inbox') return undefined;
    return this.#store.getMember(channel.id, principal.userId);
  }

  /** The principal's membership whatever the channel's rules (roles matter on public channels too). */
  async #membershipOf(principal: Principal, channel: Channel): Promise<Member | undefined> {
    return principal.kind === 'server' ? undefined : this.#store.getMember(channel.id, principal.userId);
  }

  #assertCanManage(principal: Principal, channel: Channel, member: Member | undefined, targetRole?: MemberRole): void {
    if (!canManageMembers(principal, channel, member, targetRole)) {
      const who = targetRole === 'owner' ? 'owners' : 'owners and admins';
      throw new SwitchboardError('forbidden', `Only ${who} manage ${targetRole === 'owner' ? 'the owners' : 'the members'} of ${channel.id}.`);
    }
  }

  async #changeableMessage(
    principal: Principal,
    channel: Channel,
    seq: Seq,
    change: 'edit' | 'delete',
  ): Promise<ChannelEvent> {
    const member = await this.#memberFor(principal, channel);
    if (!canRead(principal, channel, member)) {
      throw new SwitchboardError('forbidden', `You may not read channel ${channel.id}.`);
    }
    const target = await this.#store.getEvent(channel.id, seq);
    if (!target || target.kind !== 'message') {
      throw new SwitchboardError('not_found', `No message with seq ${seq} in ${channel.id}.`);
    }
    if (target.deletedAt !== null) throw new SwitchboardError('conflict', `Message ${seq} is deleted.`);
    const moderator = change === 'delete' && target.author !== principal.userId;
    if (!canChangeMessage(principal, target, change, moderator ? await this.#membershipOf(principal, channel) : member)) {
      throw new SwitchboardError('forbidden', 'You may change only your own messages.');
    }
    return target;
  }

  #authorOf(principal: Principal): UserId | null {
    return principal.kind === 'user' ? principal.userId : null;
  }

  /** Within the length limit, and free of NUL, which PostgreSQL cannot store in text. */
  #assertStorableText(text: string | null, field = 'Text'): void {
    if (text !== null && text.includes('\u0000')) {
      throw new SwitchboardError('bad_request', `${field} may not contain the NUL character.`);
    }
    if (text !== null && text.length > this.limits.maxTextLength) {
      throw new SwitchboardError('too_large', `Text is longer than ${this.limits.maxTextLength} characters.`, {
        limit: this.limits.maxTextLength,
      });
    }
  }

  #notify(call: (observer: HubObserver) => void): void {
    for (const observer of this.#observers) {
      try {
        call(observer);
      } catch (error) {
        this.#logger.error({ err: error }, 'hub observer failed');
      }
    }
  }

  #liveSession(session: Session): HubSession {
    const state = this.#sessions.get(session.id);
    if (!state || state.closed) throw new SwitchboardError('unavailable', 'The session is closed.');
    return state;
  }
}
