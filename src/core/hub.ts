import { DEFAULT_LIMITS } from '../../protocol/limits.js';
import {
  assertCanAnnotate,
  assertCanChangeMessage,
  assertCanDeleteChannel,
  assertCanJoin,
  assertCanManageMembers,
  assertCanPublish,
  assertCanRead,
  assertCanUpdateChannel,
  assertCanUpdateUser,
  canRead,
  membershipMatters,
} from './access.js';
import type { Broker, BrokerMessage } from './broker.js';
import { ChannelDirectory } from './channel-directory.js';
import { type ChannelPolicies, DEFAULT_POLICIES, isVolatile, retentionOf } from './channel-options.js';
import type { Subscriber } from './channel-feed.js';
import { DeadlineQueue } from './deadline-queue.js';
import { Delivery, type Outbound } from './delivery.js';
import { CLOSE_CODES, type ErrorCode, SwitchboardError } from './errors.js';
import { FanOut } from './fan-out.js';
import { type HubObserver, Observers } from './hub-observer.js';
import type {
  AnnotateInput,
  CreateChannelInput,
  EditInput,
  HistoryInput,
  PublishInput,
  PublishResult,
} from './hub-requests.js';
import { LogReaders } from './log-readers.js';
import type { Logger } from './logger.js';
import type { MessageAttachments } from './message-attachments.js';
import { MessageLog } from './message-log.js';
import { Presence, type PresencePage, type PresenceSettings } from './presence.js';
import { RetentionPruner, type PruningOptions } from './retention-pruner.js';
import { type HubSession, SessionRegistry } from './session-registry.js';
import { VolatileNumbering } from './volatile-numbering.js';
import type { Session, SessionSink } from './session.js';
import type { AppendRequest, ChannelChanges, ProfileChanges, Store } from './store.js';
import type {
  Channel,
  ChannelEvent,
  ChannelId,
  EphemeralEvent,
  FileId,
  ListedChannel,
  Member,
  MemberRole,
  PresenceMember,
  Principal,
  Retention,
  Seq,
  User,
  UserId,
} from './types.js';

export type { AnnotateInput, CreateChannelInput, EditInput, HistoryInput, PublishInput, PublishResult } from './hub-requests.js';

export interface HubLimits {
  /** Longest message text, in characters. */
  readonly maxTextLength: number;
  readonly maxSubscriptionsPerSession: number;
  /** Largest page a history request may ask for. */
  readonly maxHistoryPage: number;
  /** Most appends written in one transaction. */
  readonly maxCommitBatch: number;
  /**
   * Live sessions (/ws, SSE, gRPC streams) one user may hold on this node; one more is
   * refused with `too_many_sessions` before it opens. Default 100.
   */
  readonly maxSessionsPerUser?: number;
}

/** How soon an access recheck the store could not answer is tried again. */
const RECHECK_RETRY_MS = 1000;

export interface HubOptions {
  readonly store: Store;
  readonly broker: Broker;
  readonly logger: Logger;
  /** The node's limits (config `limits`, whose defaults are the one source). */
  readonly limits: HubLimits;
  /** When a channel's presence becomes counts only (config `presence`); default DEFAULT_PRESENCE_SETTINGS. */
  readonly presence?: PresenceSettings;
  /** Channel options by namespace (config `namespaces`); default: today's for every channel. */
  readonly policies?: ChannelPolicies;
  /** How bounded durable channels are pruned; default: every 10 s, 500 events per transaction. */
  readonly pruning?: PruningOptions;
}

/**
 * The one entry to a node's core: every transport and module calls these methods with a
 * Principal (who asks) or a Session and gets plain values back or a SwitchboardError.
 * The hub keeps the sessions and checks the rules (access.ts); the work is its parts':
 * the channel directory (channels, members, users), the message log (group commit,
 * history), fan-out (feeds, catch-up, the broker) and presence. Modules plug in through
 * `observe` (hooks and a veto), `annotate` (their own event kinds), `deliverTo` (frames
 * to users) and `sendNotice` (messages to their other nodes).
 */
export class Hub {
  readonly limits: HubLimits;
  readonly #broker: Broker;
  readonly #observers: Observers;
  readonly #sessions = new SessionRegistry();
  readonly #directory: ChannelDirectory;
  readonly #log: MessageLog;
  readonly #fanOut: FanOut;
  readonly #presence: Presence;
  readonly #logger: Logger;
  readonly #policies: ChannelPolicies;
  readonly #readers: LogReaders;
  readonly #pruner: RetentionPruner;
  readonly #numbering: VolatileNumbering;
  readonly #maxSessionsPerUser: number;
  /** Sessions whose credential expires, by when: one timer for all of them. */
  readonly #expiries = new DeadlineQueue<HubSession>((session) => this.#expire(session));
  /**
   * Counts changes that may take read access away (on this node or reported by another),
   * so a subscribe that raced one checks access again once it is in the feed.
   */
  #accessChanges = 0;
  #closing = false;
  #attachments: MessageAttachments | null = null;

  constructor(options: HubOptions) {
    const { store, broker, logger } = options;
    this.limits = options.limits;
    this.#maxSessionsPerUser = options.limits.maxSessionsPerUser ?? DEFAULT_LIMITS.maxSessionsPerUser;
    this.#logger = logger;
    this.#broker = broker;
    this.#policies = options.policies ?? DEFAULT_POLICIES;
    this.#readers = new LogReaders(store, broker.volatile);
    this.#pruner = new RetentionPruner({ store, policies: this.#policies, logger, ...options.pruning });
    this.#numbering = new VolatileNumbering({ store, volatile: broker.volatile, logger });
    const observers = (this.#observers = new Observers(logger));
    this.#directory = new ChannelDirectory({
      store,
      broker,
      policies: this.#policies,
      onCreated: (channel) => observers.notify((o) => o.channelCreated?.(channel)),
    });
    this.#fanOut = new FanOut({ log: this.#readers.durable, broker, observers, logger });
    this.#presence = new Presence({
      registry: broker.presence,
      fanOut: this.#fanOut,
      logger,
      settings: options.presence,
      onFrame: (frame) => observers.notify((o) => o.presenceChanged?.(frame)),
    });
    this.#log = new MessageLog({
      store,
      volatile: broker.volatile,
      maxCommitBatch: this.limits.maxCommitBatch,
      maxHistoryPage: this.limits.maxHistoryPage,
      onCommit: (size, millis) => {
        if (observers.any) observers.notify((o) => o.committed?.(size, millis));
      },
      onAppended: (event, epoch) => {
        if (!this.#fanOut.committed(event, epoch)) this.#feedOutlived(event.channel);
        if (observers.any) observers.notify((o) => o.published?.(event));
      },
    });
  }

  async start(): Promise<void> {
    await this.#broker.start((message) => this.#onBrokerMessage(message));
    this.#pruner.start();
  }

  get sessionCount(): number {
    return this.#sessions.size;
  }

  /** Committed events dropped for being of an older epoch than this node's feed of their channel (late from the broker). */
  get staleEvents(): number {
    return this.#fanOut.staleEvents;
  }

  /** Registers a module's hooks (see HubObserver), its veto included. */
  observe(observer: HubObserver): void {
    this.#observers.add(observer);
  }

  /** Lets publishes carry attachments, resolved by the module that keeps files (one per hub). */
  useAttachments(attachments: MessageAttachments): void {
    if (this.#attachments) throw new Error('The hub already has a MessageAttachments.');
    this.#attachments = attachments;
  }

  // --- sessions -------------------------------------------------------------------

  /**
   * Opens a session for an authenticated principal on one connection of a wire. Refused
   * before it opens: a user at the per-node session limit (`too_many_sessions`), an expired
   * credential (`unauthorized`), and whatever a module vetoes (auth: a banned user). A
   * principal whose credential expires is ended then (see `refresh`).
   */
  async connect(principal: Principal, transport: string, sink: SessionSink): Promise<Session> {
    if (this.#closing) throw new SwitchboardError('unavailable', 'The server is shutting down.');
    if (principal.kind === 'user') {
      // The record is asked for before the reads ahead, so in the round they share the write
      // usually runs first (a state read before it finds no row and is read again).
      const remembered = this.#directory.remember(principal);
      this.#observers.connecting(principal);
      if (remembered !== false && (await remembered)) this.#observers.notify((o) => o.profileChanged?.(principal.userId));
    }
    // From here to `open` nothing awaits: two connects of one user cannot both take the last place.
    if (principal.kind === 'user' && this.#sessions.countOf(principal.userId) >= this.#maxSessionsPerUser) {
      throw new SwitchboardError(
        'too_many_sessions',
        `${principal.userId} already holds ${this.#maxSessionsPerUser} live sessions on this node; close one first.`,
        { limit: this.#maxSessionsPerUser },
      );
    }
    if (isExpired(principal)) throw expiredError(principal);
    const session = this.#sessions.open(principal, transport, sink);
    try {
      this.#observers.admit(session);
    } catch (error) {
      this.#sessions.close(session);
      throw error;
    }
    if (principal.expiresAt !== undefined) session.expiry = this.#expiries.schedule(session, principal.expiresAt);
    this.#observers.notify((o) => o.sessionOpened?.(session));
    return session;
  }

  async disconnect(session: Session): Promise<void> {
    const state = this.#sessions.close(session);
    if (!state) return;
    if (state.expiry) this.#expiries.cancel(state.expiry);
    state.expiry = null;
    this.#observers.notify((o) => o.sessionClosed?.(state));
    await Promise.all([...state.channels].map((channel) => this.#detach(state, channel)));
  }

  /**
   * Moves a live session to a refreshed credential of the same user (`auth.refresh`): it
   * ends at the new credential's expiry instead, and commands on it run with the new
   * principal (roles, name). A credential for another user is `forbidden`.
   */
  refresh(session: Session, principal: Principal): void {
    const state = this.#sessions.live(session);
    if (principal.kind !== 'user' || principal.userId !== state.principal.userId) {
      const owner = state.principal.userId;
      throw new SwitchboardError('forbidden', `A session of ${owner} is refreshed only with a token for ${owner}.`);
    }
    if (isExpired(principal)) throw expiredError(principal);
    state.renew(principal);
    if (principal.expiresAt === undefined) {
      if (state.expiry) this.#expiries.cancel(state.expiry);
      state.expiry = null;
    } else {
      state.expiry = state.expiry
        ? this.#expiries.reschedule(state.expiry, principal.expiresAt)
        : this.#expiries.schedule(state, principal.expiresAt);
    }
  }

  /**
   * Ends every session of a user on this node (a ban): each is sent a `close` that says not
   * to come back, then closed by its wire (/ws 4403, SSE's stream ends, gRPC
   * PERMISSION_DENIED). Other nodes are told by the module that decided it. Returns how many.
   */
  endSessionsOf(user: UserId, reason: string): number {
    const sessions = [...this.#sessions.of(user)];
    const notice = new Delivery({ type: 'close', reason, reconnect: false });
    for (const session of sessions) this.#end(session, notice, CLOSE_CODES.forbidden, reason);
    return sessions.length;
  }

  /**
   * Ends one session from the server's side for a module's reason (the app's refresh hook
   * refused it): the error as a frame, then the wire's close with the code's close code.
   */
  endSession(session: Session, error: SwitchboardError): void {
    const state = this.#sessions.find(session.id);
    if (!state || state.closed) return;
    const { code, message, details } = error.toJSON();
    const frame = new Delivery(details ? { type: 'error', id: null, code, message, details } : { type: 'error', id: null, code, message });
    this.#end(state, frame, error.closeCode, message.slice(0, 100));
  }

  /**
   * Tells every session the node is going away (with `close`), then waits for appends in
   * flight to commit. Transports close their connections afterwards. `spreadMs` asks
   * clients to spread their reconnects over that window (a drain).
   */
  async shutdown(reason: string, options: { readonly spreadMs?: number } = {}): Promise<void> {
    this.#closing = true;
    this.#expiries.stop();
    this.#presence.close();
    this.#pruner.stop();
    const notice = new Delivery(
      options.spreadMs ? { type: 'close', reason, reconnect: true, spreadMs: options.spreadMs } : { type: 'close', reason, reconnect: true },
    );
    for (const session of this.#sessions.all()) session.sink.deliver(notice);
    await this.#log.idle();
    await this.#numbering.flush();
  }

  /**
   * Ends the sessions still open once the transports have closed their connections (a
   * socket's close may come later, or never): their modules' work on session end (a
   * user's offline status) runs now, while the database is still there.
   */
  async closeSessions(): Promise<void> {
    await Promise.all([...this.#sessions.all()].map((session) => this.disconnect(session)));
  }

  /** Prunes bounded durable channels now, as the background job does; resolves with how many events went. */
  pruneNow(): Promise<number> {
    return this.#pruner.sweep();
  }

  /** This node's open sessions (operations: the admin view, gauges). */
  sessions(): IterableIterator<Session> {
    return this.#sessions.all();
  }

  /** A user's open sessions on this node. */
  sessionsOf(user: UserId): Iterable<Session> {
    return this.#sessions.of(user);
  }

  /** Hands a frame to every session of these users on this node (a module's per-user notices). */
  deliverTo(users: Iterable<UserId>, delivery: Delivery): void {
    this.#sessions.deliverTo(users, delivery);
  }

  /** A module's message to the same module on every other node, handed to their `notice` hooks. */
  sendNotice(module: string, body: unknown): void {
    this.#broker.publish({ type: 'notice', module, body });
  }

  // --- channels and members -------------------------------------------------------

  async createChannel(principal: Principal, input: CreateChannelInput): Promise<Channel> {
    const { channel, created } = await this.#directory.create(principal, input);
    if (created) this.#observers.notify((o) => o.channelCreated?.(channel));
    return channel;
  }

  async getChannel(principal: Principal, id: ChannelId): Promise<Channel> {
    const channel = await this.#readable(principal, id, true);
    const retention = await this.#volatileReady(channel);
    if (isVolatile(retention)) return { ...channel, lastSeq: await this.#broker.volatile.lastSeq(id) };
    // The cache serves access checks; lastSeq moves with every publish, so read it fresh.
    return (await this.#directory.current(id)) ?? channel;
  }

  /** Channels the principal may see, with the principal's role in each. */
  listChannels(principal: Principal, options: { limit: number; after?: ChannelId }): Promise<ListedChannel[]> {
    return this.#directory.list(principal, options);
  }

  /** Changes a channel's title, topic or publish policy: its owners and admins (inboxes and DMs: the server). */
  async updateChannel(principal: Principal, id: ChannelId, changes: ChannelChanges): Promise<Channel> {
    const channel = await this.#directory.require(id);
    assertCanUpdateChannel(principal, channel, await this.#directory.membershipOf(principal, channel));
    const updated = await this.#directory.update(id, changes);
    this.#observers.notify((o) => o.channelUpdated?.(updated));
    // The directory told the other nodes (channel-changed); they recheck theirs.
    await this.#recheck(id, null);
    return updated;
  }

  /** Deletes a channel with its history: its owners (inboxes and DMs: the server). */
  async deleteChannel(principal: Principal, id: ChannelId): Promise<void> {
    const channel = await this.#directory.require(id);
    assertCanDeleteChannel(principal, channel, await this.#directory.membershipOf(principal, channel));
    await this.#directory.delete(id);
    if (isVolatile(retentionOf(channel, this.#policies))) {
      this.#numbering.forget(id);
      await this.#broker.volatile.drop(id);
    }
    // Every subscriber, here and on the other nodes, is told and unsubscribed.
    const at = Date.now();
    this.#broker.publish({ type: 'channel-deleted', channel: id, epoch: channel.epoch, at });
    this.#channelGone(id, channel.epoch, at);
    this.#observers.notify((o) => o.channelDeleted?.(id));
    // Subscribes in flight see the change count and check again (not_found).
    await this.#recheck(id, null);
  }

  /** Joins a public channel as a member. Other channels take members only from their owners. */
  async join(principal: Principal, id: ChannelId): Promise<Member> {
    const channel = await this.#directory.require(id);
    const existing = await this.#directory.member(id, principal.userId);
    if (existing) return existing;
    assertCanJoin(channel);
    const member = await this.#directory.addMember(id, principal.userId, 'member');
    this.#observers.notify((o) => o.memberAdded?.(member));
    return member;
  }

  async leave(principal: Principal, id: ChannelId): Promise<void> {
    await this.#directory.require(id);
    if (!(await this.#directory.removeMember(id, principal.userId))) {
      throw new SwitchboardError('not_found', `You are not a member of ${id}.`);
    }
    this.#observers.notify((o) => o.memberRemoved?.(id, principal.userId));
    await this.#membershipChanged(id, principal.userId);
  }

  async addMember(principal: Principal, id: ChannelId, user: UserId, role: MemberRole = 'member'): Promise<Member> {
    const channel = await this.#directory.require(id);
    assertCanManageMembers(principal, channel, await this.#directory.membershipOf(principal, channel), role);
    const member = await this.#directory.addMember(id, user, role);
    this.#observers.notify((o) => o.memberAdded?.(member));
    // Possibly a new role for a member: no role decides reading today (access.ts), but the
    // rule is checked where it lives rather than assumed here.
    await this.#membershipChanged(id, user);
    return member;
  }

  async removeMember(principal: Principal, id: ChannelId, user: UserId): Promise<void> {
    const channel = await this.#directory.require(id);
    if (user !== principal.userId) {
      const target = await this.#directory.member(id, user);
      assertCanManageMembers(principal, channel, await this.#directory.membershipOf(principal, channel), target?.role);
    }
    if (!(await this.#directory.removeMember(id, user))) {
      throw new SwitchboardError('not_found', `${user} is not a member of ${id}.`);
    }
    this.#observers.notify((o) => o.memberRemoved?.(id, user));
    await this.#membershipChanged(id, user);
  }

  async listMembers(principal: Principal, id: ChannelId): Promise<Member[]> {
    await this.#readable(principal, id);
    return this.#directory.listMembers(id);
  }

  // --- users ----------------------------------------------------------------------

  getUser(_principal: Principal, id: UserId): Promise<User> {
    return this.#directory.user(id);
  }

  listUsers(_principal: Principal, options: { limit: number; after?: UserId }): Promise<User[]> {
    return this.#directory.users(options);
  }

  /** Changes a profile: the user themselves, an admin, or the server. */
  async updateUser(principal: Principal, id: UserId, changes: ProfileChanges): Promise<User> {
    assertCanUpdateUser(principal, id);
    // An empty status text is no status text: one way to say it.
    const statusText = changes.statusText === '' ? null : changes.statusText;
    const user = await this.#directory.updateUser(id, { ...changes, ...(statusText !== undefined && { statusText }) });
    this.#observers.notify((o) => o.profileChanged?.(user.id));
    return user;
  }

  // --- the log --------------------------------------------------------------------

  async publish(principal: Principal, input: PublishInput): Promise<PublishResult> {
    const text = input.text ?? null;
    const data = input.data ?? null;
    const files = input.attachments;
    if (text === null && data === null && files === undefined) {
      throw new SwitchboardError('bad_request', 'A message needs text, data or attachments.');
    }
    this.#assertStorableText(text);
    this.#assertStorableText(input.cid ?? null, 'cid');
    const channel = await this.#directory.require(input.channel, principal);
    assertWritable(channel);
    assertCanPublish(principal, channel, await this.#directory.memberFor(principal, channel));
    if (this.#observers.authorizing) await this.#observers.authorize({ type: 'publish', principal, channel, input });
    const request = {
      kind: 'message',
      channel: channel.id,
      author: authorOf(principal),
      text,
      data,
      cid: input.cid ?? null,
      replyTo: input.replyTo ?? null,
      attachments: null,
    } as const;
    const retention = await this.#volatileReady(channel);
    if (isVolatile(retention)) {
      // Files are kept while a stored message refers to them: a channel that stores nothing cannot.
      if (files !== undefined && files.length > 0) {
        throw new SwitchboardError('bad_request', 'Attachments need a durable channel: this one keeps its messages in memory or not at all.');
      }
      const result = await this.#log.appendVolatile(request, retention, channel.epoch);
      if (!result.duplicate) this.#numbering.numbered(result.event);
      return result;
    }
    // Messages without files (nearly all) take no detour.
    if (files === undefined || files.length === 0) return this.#log.append(request);
    return this.#publishWithAttachments(principal, request, files);
  }

  async #publishWithAttachments(
    principal: Principal,
    request: AppendRequest & { kind: 'message' },
    ids: readonly FileId[],
  ): Promise<PublishResult> {
    const attachments = this.#attachments;
    if (!attachments) throw new SwitchboardError('bad_request', 'This server does not take attachments.');
    const resolved = await attachments.prepare(principal, request.channel, ids);
    let result: PublishResult;
    try {
      result = await this.#log.append({ ...request, attachments: resolved });
    } catch (error) {
      await attachments.abandoned(ids).catch((failure: unknown) => this.#logger.warn({ err: failure }, 'releasing attachments failed'));
      throw error;
    }
    // Stored is stored: the files stay reserved (never collected) if recording the reference fails.
    await attachments
      .committed(ids, result.event, result.duplicate)
      .catch((error: unknown) => this.#logger.warn({ err: error, channel: request.channel }, 'recording attachments failed'));
    return result;
  }

  async edit(principal: Principal, input: EditInput): Promise<ChannelEvent> {
    this.#assertStorableText(input.text ?? null);
    const { channel, target } = await this.#changeable(principal, input.channel, input.seq, 'edit');
    const result = await this.#log.append({
      kind: 'edit',
      channel: channel.id,
      author: authorOf(principal),
      target: target.seq,
      text: input.text === undefined ? target.text : input.text,
      data: input.data === undefined ? target.data : input.data,
    });
    return result.event;
  }

  async delete(principal: Principal, input: { channel: ChannelId; seq: Seq }): Promise<ChannelEvent> {
    const { channel, target } = await this.#changeable(principal, input.channel, input.seq, 'delete');
    const result = await this.#log.append({ kind: 'delete', channel: channel.id, author: authorOf(principal), target: target.seq });
    // The delete is stored whatever happens to the files; a failure leaves them to the collector's next look.
    if (target.attachments && this.#attachments) {
      await this.#attachments
        .deleted(channel.id, target.seq)
        .catch((error: unknown) => this.#logger.warn({ err: error, channel: channel.id, seq: target.seq }, 'hiding a deleted message\'s files failed'));
    }
    return result.event;
  }

  /**
   * Appends a module's annotation of a message (chat: a reaction; see AnnotationKind): by
   * a user who may read the channel, outside inboxes. Resolves null when it changes
   * nothing (the store checks under its lock, so of two identical requests one wins).
   * `unchanged`, asked after the access checks, lets a module answer that from a cheap
   * read of its own instead of a commit.
   */
  async annotate(
    principal: Principal,
    input: AnnotateInput,
    options: { readonly unchanged?: () => Promise<boolean> } = {},
  ): Promise<ChannelEvent | null> {
    this.#assertStorableText(input.text);
    const channel = await this.#directory.require(input.channel);
    assertWritable(channel);
    this.#assertDurable(channel, 'reactions');
    assertCanAnnotate(principal, channel, await this.#directory.memberFor(principal, channel));
    if (this.#observers.authorizing) await this.#observers.authorize({ type: 'annotate', principal, channel, input });
    if (await options.unchanged?.()) return null;
    const result = await this.#log.append(
      { kind: input.kind, channel: channel.id, author: principal.userId, target: input.target, text: input.text },
      { unchangedIsNull: true },
    );
    return result?.event ?? null;
  }

  /** Messages in their current state (edited text, tombstones), oldest first. */
  async history(principal: Principal, input: HistoryInput): Promise<{ events: ChannelEvent[]; hasMore: boolean; hasNewer?: boolean }> {
    const channel = await this.#readable(principal, input.channel);
    return this.#log.history(channel, input, this.#readers.for(await this.#volatileReady(channel)));
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
    options: { readonly presence?: boolean; readonly info?: unknown; readonly epoch?: number } = {},
  ): Promise<{ channel: Channel; seq: Seq; epoch: number; truncatedFrom?: Seq }> {
    const state = this.#sessions.live(session);
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
    const accessChanges = this.#accessChanges;
    try {
      const channel = await this.#readable(state.principal, id, true);
      if (since !== undefined && options.epoch !== undefined && options.epoch !== channel.epoch) {
        throw new SwitchboardError(
          'stale_epoch',
          `Channel ${id} was deleted and created again: position ${since} of epoch ${options.epoch} is gone; subscribe from 0 of epoch ${channel.epoch}.`,
          { epoch: channel.epoch },
        );
      }
      if (this.#observers.authorizing) await this.#observers.authorize({ type: 'subscribe', session: state, channel });
      const log = this.#readers.for(await this.#volatileReady(channel));
      if (state.closed || !state.channels.has(id)) {
        throw new SwitchboardError('unavailable', 'The session closed or unsubscribed while subscribing.');
      }
      // From the count to joining the feed nothing awaits: two subscribes cannot both take the last place.
      const { presence: announced, maxSubscribers } = this.#policies.optionsFor(id);
      if (maxSubscribers !== null && this.#fanOut.subscriberCount(id) >= maxSubscribers) {
        throw new SwitchboardError('too_many_subscriptions', `Channel ${id} has its ${maxSubscribers} subscribers on this node.`, {
          limit: maxSubscribers,
        });
      }
      // A feed of an older epoch here means its deletion was never heard of: end it as deleted now.
      const feedEpoch = this.#fanOut.epochOf(id);
      if (feedEpoch !== undefined && feedEpoch < channel.epoch) this.#channelGone(id, feedEpoch, Date.now());
      const subscription = this.#fanOut.subscribe(state, id, {
        presence: announced && (options.presence ?? true),
        since,
        log,
        epoch: channel.epoch,
      });
      subscriber = subscription.subscriber;
      // A change's recheck that ran between the access check and now could not see this
      // subscriber: check again. Any later one finds it in the feed.
      if (accessChanges !== this.#accessChanges) await this.#readable(state.principal, id);
      const { seq, truncatedFrom } = await subscription.live;
      if (state.principal.kind === 'user' && subscriber.active && announced) await this.#presence.enter(state, id, subscriber, options.info);
      const epoch = channel.epoch;
      return truncatedFrom === undefined ? { channel, seq, epoch } : { channel, seq, epoch, truncatedFrom };
    } catch (error) {
      // Detach only this attempt: an unsubscribe may have made room for a newer subscription.
      if (!subscriber || this.#fanOut.isCurrent(subscriber)) await this.#detach(state, id);
      throw error;
    }
  }

  async unsubscribe(session: Session, id: ChannelId): Promise<void> {
    const state = this.#sessions.live(session);
    if (!state.channels.has(id)) throw new SwitchboardError('not_found', `Not subscribed to ${id}.`);
    await this.#detach(state, id);
  }

  /** Who is in the channel's presence, in user id order, a page at a time (`after`: the previous page's `next`). */
  async presence(principal: Principal, id: ChannelId, page: { readonly after?: UserId; readonly limit?: number } = {}): Promise<PresencePage> {
    await this.#readable(principal, id);
    if (!this.#policies.optionsFor(id).presence) return { members: [], next: null, users: 0, mode: 'members' };
    return this.#presence.list(id, page);
  }

  /** A typing signal to the channel's other subscribers: live only, never stored. */
  typing(session: Session, id: ChannelId): void {
    const state = this.#sessions.live(session);
    if (!state.channels.has(id)) throw new SwitchboardError('forbidden', `Subscribe to ${id} before typing in it.`);
    this.#fanOut.broadcast({ type: 'typing', channel: id, user: state.principal.userId, at: Date.now() }, state.id);
  }

  /** Sends a live-only signal (typing, a module's receipt) to the channel's subscribers on every node. */
  signal(event: EphemeralEvent): void {
    this.#fanOut.broadcast(event);
  }

  // --- internals ------------------------------------------------------------------

  /** The channel (as cached), once the principal may read it; `create`: made on demand where its namespace says so. */
  async #readable(principal: Principal, id: ChannelId, create = false): Promise<Channel> {
    const channel = await this.#directory.require(id, create ? principal : undefined);
    assertCanRead(principal, channel, await this.#directory.memberFor(principal, channel));
    return channel;
  }

  /** The message an edit or delete targets, once the rules allow the change. */
  async #changeable(
    principal: Principal,
    id: ChannelId,
    seq: Seq,
    change: 'edit' | 'delete',
  ): Promise<{ channel: Channel; target: ChannelEvent }> {
    const channel = await this.#directory.require(id);
    assertWritable(channel);
    this.#assertDurable(channel, change === 'edit' ? 'edits' : 'deletes');
    const member = await this.#directory.memberFor(principal, channel);
    assertCanRead(principal, channel, member);
    const target = await this.#log.message(channel, seq);
    const moderator = change === 'delete' && target.author !== principal.userId;
    assertCanChangeMessage(principal, target, change, moderator ? await this.#directory.membershipOf(principal, channel) : member);
    if (this.#observers.authorizing) await this.#observers.authorize({ type: change, principal, channel, target });
    return { channel, target };
  }

  /** A user's membership changed here: recheck their subscriptions on this node, and on the others. */
  async #membershipChanged(channel: ChannelId, user: UserId): Promise<void> {
    this.#broker.publish({ type: 'member-changed', channel, user });
    await this.#recheck(channel, user);
  }

  /**
   * Checks again whether this node's subscribers of a channel (`user`'s only, or all of
   * them) may still read it, after a change that may have taken access away, and ends the
   * subscriptions that lost it with `unsubscribed`. Runs once per change, never per event.
   * If the store cannot answer it is tried again every second; meanwhile nothing new can
   * be stored in the channel either.
   */
  async #recheck(id: ChannelId, user: UserId | null): Promise<void> {
    this.#accessChanges++;
    if (this.#closing) return;
    const affected = this.#fanOut.subscribersOf(id).filter((s) => user === null || s.session.principal.userId === user);
    if (affected.length === 0) return;
    let channel: Channel | undefined;
    let members: ReadonlyMap<UserId, Member>;
    try {
      channel = await this.#directory.current(id);
      members = channel ? await this.#membersAmong(channel, affected) : new Map();
    } catch (error) {
      this.#logger.warn({ err: error, channel: id }, 'access recheck failed; retrying');
      setTimeout(() => void this.#recheck(id, user), RECHECK_RETRY_MS).unref();
      return;
    }
    const ended: Promise<void>[] = [];
    for (const subscriber of affected) {
      // Unsubscribed meanwhile, or subscribed afresh (that subscribe checked access itself).
      if (!this.#fanOut.isCurrent(subscriber)) continue;
      const principal = subscriber.session.principal;
      if (!channel) ended.push(this.#endDeleted(subscriber, this.#fanOut.epochOf(id) ?? 0, Date.now()));
      else if (!canRead(principal, channel, members.get(principal.userId))) {
        ended.push(this.#revoke(subscriber, 'forbidden', `You may no longer read channel ${id}.`));
      }
    }
    await Promise.all(ended);
  }

  /** The memberships the rule needs, in one read: one user's, or the channel's list. */
  async #membersAmong(channel: Channel, subscribers: readonly Subscriber[]): Promise<ReadonlyMap<UserId, Member>> {
    const users = new Set<UserId>();
    for (const { session } of subscribers) {
      if (membershipMatters(session.principal, channel)) users.add(session.principal.userId);
    }
    const members = new Map<UserId, Member>();
    if (users.size === 0) return members;
    if (users.size === 1) {
      const only = users.values().next().value!;
      const member = await this.#directory.member(channel.id, only);
      if (member) members.set(only, member);
      return members;
    }
    for (const member of await this.#directory.listMembers(channel.id)) if (users.has(member.user)) members.set(member.user, member);
    return members;
  }

  /** Ends one subscription from the server's side: nothing more of the channel, then `unsubscribed` saying why. */
  #revoke(subscriber: Subscriber, code: ErrorCode, message: string): Promise<void> {
    return this.#endSubscription(subscriber, { type: 'unsubscribed', channel: subscriber.channel, code, message });
  }

  /**
   * The channel's `epoch` was deleted: each of this node's subscriptions to it (or to an
   * older epoch) is ended and told `channelDeleted`.
   */
  #channelGone(id: ChannelId, epoch: number, at: number): void {
    const feedEpoch = this.#fanOut.epochOf(id);
    // A feed of a newer epoch was made after the deletion (another node's message came late).
    if (feedEpoch === undefined || feedEpoch > epoch) return;
    for (const subscriber of this.#fanOut.subscribersOf(id)) {
      void this.#endDeleted(subscriber, feedEpoch || epoch, at).catch((error: unknown) =>
        this.#logger.warn({ err: error, channel: id }, 'ending a deleted channel\'s subscription failed'),
      );
    }
  }

  /**
   * An event of a newer epoch than this node's feed of the channel came (the broker's
   * `channel-deleted` is late or lost): the feed's epoch was deleted, so it ends as deleted
   * now, as a subscribe that finds it does. Its subscribers re-subscribe to the new epoch.
   */
  #feedOutlived(id: ChannelId): void {
    const feedEpoch = this.#fanOut.epochOf(id);
    if (feedEpoch !== undefined) this.#channelGone(id, feedEpoch, Date.now());
  }

  /** Ends one subscription to a deleted channel: nothing more of it, then `channelDeleted`. */
  #endDeleted(subscriber: Subscriber, epoch: number, at: number): Promise<void> {
    return this.#endSubscription(subscriber, { type: 'channelDeleted', channel: subscriber.channel, epoch, at });
  }

  /** Detaches the subscriber (so nothing more of the channel reaches it), then sends the frame that says why. */
  async #endSubscription(subscriber: Subscriber, why: Outbound): Promise<void> {
    const state = this.#sessions.find(subscriber.session.id);
    if (!state) return;
    const detached = this.#detach(state, subscriber.channel);
    state.sink.deliver(new Delivery(why));
    await detached;
  }

  /** The credential of a session ran out (and was not refreshed): an `unauthorized` error, then the wire's 4401. */
  #expire(state: HubSession): void {
    state.expiry = null;
    if (state.closed) return;
    const { code, message, details } = expiredError(state.principal).toJSON();
    this.#end(state, new Delivery({ type: 'error', id: null, code, message, details }), CLOSE_CODES.unauthorized, 'token expired');
  }

  /** Ends a session from the server's side: the frame that says why, the wire's close, then the session itself. */
  #end(state: HubSession, notice: Delivery, code: number, reason: string): void {
    state.sink.deliver(notice);
    state.sink.close?.(code, reason);
    this.disconnect(state).catch((error: unknown) => this.#logger.warn({ err: error, session: state.id }, 'ending a session failed'));
  }

  async #detach(state: HubSession, id: ChannelId): Promise<void> {
    state.leave(id);
    const removed = this.#fanOut.unsubscribe(state.id, id);
    if (removed && state.principal.kind === 'user') await this.#presence.leave(state, id);
  }

  #onBrokerMessage(message: BrokerMessage): void {
    switch (message.type) {
      case 'event':
        if (!this.#fanOut.received(message.event, message.epoch ?? 0)) this.#feedOutlived(message.event.channel);
        return;
      case 'ephemeral':
        this.#fanOut.deliverHere(message.event);
        return;
      case 'registry-changed':
        if (this.#observers.any) this.#observers.notify((o) => o.registryChanged?.(message.event));
        return;
      case 'resync':
        void this.#fanOut.resync(message.channel);
        if (message.channel === null && this.#observers.any) this.#observers.notify((o) => o.brokerResync?.());
        return;
      case 'channel-changed':
        this.#directory.evict(message.channel);
        void this.#recheck(message.channel, null);
        return;
      case 'channel-deleted':
        this.#directory.evict(message.channel);
        this.#numbering.forget(message.channel);
        this.#channelGone(message.channel, message.epoch, message.at);
        return;
      case 'member-changed':
        void this.#recheck(message.channel, message.user);
        return;
      case 'notice':
        this.#observers.notify((o) => o.notice?.(message.module, message.body));
        return;
    }
  }

  /** The channel's retention, once a volatile channel's numbering is ready on this node (see VolatileNumbering). */
  async #volatileReady(channel: Channel): Promise<Retention> {
    const retention = retentionOf(channel, this.#policies);
    if (isVolatile(retention)) await this.#numbering.prepare(channel);
    return retention;
  }

  /** Edits, deletes and reactions change stored messages: a channel that stores none has none to change. */
  #assertDurable(channel: Channel, what: string): void {
    const { mode } = retentionOf(channel, this.#policies);
    if (mode !== 'durable') {
      throw new SwitchboardError('bad_request', `Channel ${channel.id} keeps its messages with retention "${mode}", which allows no ${what}.`);
    }
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
}

function authorOf(principal: Principal): UserId | null {
  return principal.kind === 'user' ? principal.userId : null;
}

/** An archived channel is read-only: history and subscribing go on, nothing new is stored. */
function assertWritable(channel: Channel): void {
  if (channel.archivedAt !== undefined) {
    throw new SwitchboardError('archived', `Channel ${channel.id} is archived: it is read-only.`, { archivedAt: channel.archivedAt });
  }
}

function isExpired(principal: Principal): boolean {
  return principal.expiresAt !== undefined && principal.expiresAt <= Date.now();
}

function expiredError(principal: Principal): SwitchboardError {
  return new SwitchboardError('unauthorized', 'The token expired.', { expiredAt: principal.expiresAt });
}
