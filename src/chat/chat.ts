import type { ListName } from '../../protocol/frames.js';
import type { DirectConversation, ReactionCount, ReadPosition, UserState, UserStatus } from '../../protocol/values.js';
import type { PresenceRegistry } from '../core/broker.js';
import type { Hub } from '../core/hub.js';
import type { HubObserver } from '../core/hub-observer.js';
import type { Logger } from '../core/logger.js';
import { presenceChangesOf } from '../core/presence-frames.js';
import type { Session } from '../core/session.js';
import type { Store } from '../core/store.js';
import type { Channel, ChannelEvent, ChannelId, EphemeralEvent, Member, Principal, Seq, UserId } from '../core/types.js';
import { type CatchUp, catchUp } from './catch-up.js';
import { ChatCache } from './chat-cache.js';
import { type ChatContext, userOf } from './chat-context.js';
import type { ChatStore, SearchCursor } from './chat-store.js';
import { Contacts } from './contacts.js';
import { listDirects } from './directs.js';
import { type ListTarget, LiveLists } from './live-lists.js';
import { Mentions } from './mentions.js';
import { ProfilePushes } from './profiles.js';
import { CHAT_MODULE, type ChatNotice } from './notices.js';
import { Reactions } from './reactions.js';
import { ReadState } from './read-state.js';
import { search, type SearchInput } from './search.js';
import { UserStatusTracker } from './status.js';
import { readThread } from './threads.js';
import { ONLINE_KEY, UserStates } from './user-states.js';

export type { CatchUp } from './catch-up.js';
export type { SearchInput } from './search.js';

export interface ChatOptions {
  readonly hub: Hub;
  /** The log, for the reads the features make after the hub checked access. */
  readonly store: Store;
  /** Chat's own tables, on the database every module shares. */
  readonly tables: ChatStore;
  /** The broker's presence registry: a user is online while any of their sessions is registered. */
  readonly presence: PresenceRegistry;
  /**
   * A channel with more members than this does not carry its members' status (config
   * `presence.occupancyAbove`, where channel presence turns to counts too).
   */
  readonly statusMembersLimit: number;
  readonly logger: Logger;
}

/**
 * The chat module beside core: DMs and contacts, user status, read state and receipts,
 * reactions, threads, mentions, search, live lists and catch-up (one file per feature).
 * It plugs into core through the hub's extension points only: hooks (HubObserver),
 * annotations (reactions are log events of its own kinds), frames to users
 * (`hub.deliverTo`) and notices to its other nodes (`hub.sendNotice`). Its tables come
 * with migration 0003-chat. Nothing here runs on the publish path but one
 * `includes('@')` test.
 */
export class Chat implements HubObserver {
  readonly #context: ChatContext;
  readonly #contacts: Contacts;
  readonly #lists: LiveLists;
  readonly #status: UserStatusTracker;
  readonly #readState: ReadState;
  readonly #reactions: Reactions;
  readonly #mentions: Mentions;
  readonly #profiles: ProfilePushes;

  /**
   * Builds the chat features and hooks them to the hub.
   *
   * @example const chat = Chat.attach({ hub, store, tables: new ChatStore(database), presence: broker.presence, statusMembersLimit: 200, logger });
   */
  static attach(options: ChatOptions): Chat {
    const chat = new Chat(options);
    options.hub.observe(chat);
    return chat;
  }

  private constructor(options: ChatOptions) {
    const states = new UserStates(options.tables, options.presence);
    const context: ChatContext = {
      hub: options.hub,
      log: options.store,
      tables: options.tables,
      states,
      cache: new ChatCache(options.tables, states, options.statusMembersLimit),
      logger: options.logger,
    };
    this.#context = context;
    this.#contacts = new Contacts(context);
    this.#lists = new LiveLists(context);
    this.#status = new UserStatusTracker(context, options.presence, (state) => this.#lists.userChanged(state));
    this.#readState = new ReadState(context);
    this.#reactions = new Reactions(context);
    this.#mentions = new Mentions(context);
    this.#profiles = new ProfilePushes(context, (state) => this.#lists.userChanged(state));
  }

  // --- HubObserver ------------------------------------------------------------------

  connecting(principal: Principal): void {
    // What the session's status change and contacts snapshot will read (see UserStatusTracker).
    this.#context.cache.readAhead(principal.userId);
  }

  sessionOpened(session: Session): void {
    if (session.principal.kind === 'user') this.#status.sessionOpened(session);
  }

  sessionClosed(session: Session): void {
    if (session.principal.kind !== 'user') return;
    this.#lists.sessionClosed(session);
    this.#status.sessionClosed(session);
  }

  published(event: ChannelEvent): void {
    this.#mentions.published(event);
  }

  channelCreated(channel: Channel): void {
    // Its members are not at hand here; creating channels is rare next to connects.
    if (channel.type !== 'inbox') this.#context.cache.channelAdded(null);
    this.#lists.channelCreated(channel);
  }

  channelUpdated(channel: Channel): void {
    this.#lists.channelUpdated(channel);
  }

  channelDeleted(channel: ChannelId): void {
    this.#context.cache.channelDeleted(channel);
    this.#lists.channelDeleted(channel);
  }

  memberAdded(member: Member): void {
    this.#context.cache.membershipChanged(member.channel, member.user);
    this.#lists.memberAdded(member);
    this.#readState.startAtNewest(member.channel, member.user);
  }

  memberRemoved(channel: ChannelId, user: UserId): void {
    this.#context.cache.membershipChanged(channel, user);
    this.#lists.memberRemoved(channel, user);
  }

  profileChanged(user: UserId): void {
    this.#profiles.changed(user);
  }

  brokerResync(): void {
    // Notices may have been lost: what they would have changed is read again.
    this.#context.cache.clear();
  }

  registryChanged(event: EphemeralEvent): void {
    // This node reaped a dead node's sessions (leave), or wrote its own back after being
    // cut off (join): their users' status may have changed.
    if (event.channel !== ONLINE_KEY) return;
    for (const { action, user } of presenceChangesOf(event)) {
      if (action === 'leave' || action === 'join') this.#status.registryChanged(user, action);
    }
  }

  notice(module: string, body: unknown): void {
    if (module !== CHAT_MODULE) return;
    // Sent by this module on another node (see ChatNotice).
    const notice = body as ChatNotice;
    const { cache } = this.#context;
    switch (notice.kind) {
      case 'status':
        this.#status.apply(notice);
        return;
      case 'profile':
        this.#profiles.received(notice);
        return;
      case 'contacts':
        cache.contactsChanged(notice.users);
        return;
      case 'members':
        cache.membershipChanged(notice.member.channel, notice.member.user);
        break;
      case 'channels':
        if (notice.action === 'add') cache.channelAdded(notice.audience);
        break;
      case 'channel-deleted':
        cache.channelDeleted(notice.channel);
        break;
    }
    this.#lists.apply(notice);
  }

  // --- DMs, contacts, status --------------------------------------------------------

  /** The user's direct conversations with their newest message, newest activity first. */
  directs(principal: Principal, limit = 50): Promise<DirectConversation[]> {
    return listDirects(this.#context, principal, limit);
  }

  addContact(principal: Principal, contact: UserId): Promise<UserState> {
    return this.#contacts.add(principal, contact);
  }

  removeContact(principal: Principal, contact: UserId): Promise<void> {
    return this.#contacts.remove(principal, contact);
  }

  contacts(principal: Principal): Promise<UserState[]> {
    return this.#contacts.list(principal);
  }

  setStatus(principal: Principal, status: Exclude<UserStatus, 'offline'>): Promise<UserState> {
    return this.#status.set(userOf(principal), status);
  }

  /** Settles queued status work (tests, shutdown). */
  async idle(): Promise<void> {
    await Promise.all([this.#status.idle(), this.#profiles.idle()]);
  }

  /** The node is stopping: nothing is written or read again after this (the database closes next). */
  close(): void {
    this.#status.close();
    this.#context.tables.close();
  }

  // --- read state ---------------------------------------------------------------------

  /**
   * Moves the user's read position in a channel forward. Members of private channels and
   * DMs get a `receipt`; public channels keep read positions to themselves.
   */
  markRead(principal: Principal, id: ChannelId, seq: Seq): Promise<{ channel: ChannelId; seq: Seq }> {
    return this.#readState.mark(principal, id, seq);
  }

  /** Read positions in a channel: everyone's where receipts show, otherwise only the caller's. */
  readPositions(principal: Principal, id: ChannelId): Promise<ReadPosition[]> {
    return this.#readState.positions(principal, id);
  }

  /** What changed while the user was away: unread channels, new DMs, mentions. */
  async catchUp(principal: Principal): Promise<CatchUp> {
    await this.#readState.settled(principal.userId);
    return catchUp(this.#context, principal);
  }

  // --- reactions, threads, search ---------------------------------------------------

  /**
   * Adds or removes the principal's reaction to a message: a `reaction` / `unreaction`
   * event in the channel's log (so resume carries it). Reacting twice with one emoji, or
   * removing a reaction that is not there, changes nothing and returns null.
   */
  react(
    principal: Principal,
    input: { channel: ChannelId; seq: Seq; emoji: string; remove?: boolean },
  ): Promise<ChannelEvent | null> {
    return this.#reactions.react(principal, input);
  }

  reactions(principal: Principal, id: ChannelId, seqs: readonly Seq[]): Promise<Record<Seq, ReactionCount[]>> {
    return this.#reactions.counts(principal, id, seqs);
  }

  /** A message and its replies, oldest first; page on with `after` (the last reply's seq). */
  thread(
    principal: Principal,
    input: { channel: ChannelId; seq: Seq; after?: Seq; limit?: number },
  ): Promise<{ root: ChannelEvent; replies: ChannelEvent[]; hasMore: boolean }> {
    return readThread(this.#context, principal, input);
  }

  /**
   * Messages with every word of `text`, newest first, only from channels the principal may
   * read. `next` is the `before` of the following page (null on the last).
   */
  search(principal: Principal, input: SearchInput): Promise<{ results: ChannelEvent[]; next: SearchCursor | null }> {
    return search(this.#context, principal, input);
  }

  // --- live lists ---------------------------------------------------------------------

  /** Follows a list and returns its snapshot; changes then arrive as `list` frames. */
  followList(
    session: Session,
    list: ListName,
    target: ListTarget,
  ): Promise<{ list: ListName; channel?: ChannelId; items: readonly (Channel | Member | UserState)[] }> {
    return this.#lists.follow(session, list, target);
  }

  unfollowList(session: Session, list: ListName, target: ListTarget): void {
    this.#lists.unfollow(session, list, target);
  }
}
