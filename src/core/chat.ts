import { inboxChannelOf } from './access.js';
import type { PresenceRegistry } from './broker.js';
import type { ClusterNotice, ListName } from './chat-notices.js';
import type {
  ChatStore,
  DirectConversation,
  ReactionCount,
  ReadPosition,
  UnreadChannel,
  UserState,
  UserStatus,
} from './chat-store.js';
import { SwitchboardError } from './errors.js';
import type { Hub } from './hub.js';
import type { HubObserver } from './hub-observer.js';
import { LiveLists } from './live-lists.js';
import { LocalSessions } from './local-sessions.js';
import type { Logger } from './logger.js';
import { mentionedNames } from './mentions.js';
import type { Session } from './session.js';
import type { Store } from './store.js';
import type {
  Channel,
  ChannelEvent,
  ChannelId,
  EphemeralEvent,
  Member,
  Millis,
  Principal,
  Seq,
  UserId,
} from './types.js';
import { ONLINE_KEY, UserStatusTracker } from './user-status.js';

export interface ChatOptions {
  readonly hub: Hub;
  readonly store: Store;
  /** The store's chat tables (`store.chat`). */
  readonly chatStore: ChatStore;
  readonly presence: PresenceRegistry;
  readonly logger: Logger;
}

export interface CatchUp {
  /** When the user was last online before this session (null: never). */
  readonly lastSeen: Millis | null;
  readonly channels: UnreadChannel[];
  /** Direct conversations with a message from someone else since `lastSeen`. */
  readonly directs: DirectConversation[];
  /** Mention notices in the user's inbox after its read position. */
  readonly mentions: ChannelEvent[];
}

export interface SearchInput {
  readonly text: string;
  readonly channel?: ChannelId;
  readonly author?: UserId;
  readonly before?: { createdAt: Millis; channel: ChannelId; seq: Seq };
  readonly limit?: number;
}

/** The server itself, for the chat features' own reads and inbox pushes. */
const SERVER: Principal = { kind: 'server', userId: 'switchboard', name: 'switchboard', roles: [] };
const MAX_PAGE = 100;

/** Channel types whose members see each other's read positions. Public channels are too large for that. */
export function showsReadReceipts(channel: Channel): boolean {
  return channel.type === 'private' || channel.type === 'direct';
}

/**
 * The chat features beside the hub: DMs and contacts, user status, read state and
 * receipts, reactions, threads, mentions, search, live lists. It watches the hub through
 * HubObserver; nothing here runs on the publish path except one `includes('@')` test.
 */
export class Chat implements HubObserver {
  readonly #hub: Hub;
  readonly #store: Store;
  readonly #chat: ChatStore;
  readonly #logger: Logger;
  readonly #sessions = new LocalSessions();
  readonly #lists = new LiveLists();
  readonly #status: UserStatusTracker;

  /**
   * Builds the chat features and hooks them to the hub, when the store has their tables.
   *
   * @example const chat = Chat.attach({ hub, store, presence: broker.presence, logger });
   */
  static attach(options: Omit<ChatOptions, 'chatStore'>): Chat | null {
    const chatStore = options.store.chat;
    if (!chatStore) return null;
    const chat = new Chat({ ...options, chatStore });
    options.hub.observe(chat);
    return chat;
  }

  constructor(options: ChatOptions) {
    this.#hub = options.hub;
    this.#store = options.store;
    this.#chat = options.chatStore;
    this.#logger = options.logger;
    this.#status = new UserStatusTracker({
      store: this.#chat,
      presence: options.presence,
      sessions: this.#sessions,
      logger: options.logger,
      broadcast: (notice) => this.#hub.sendClusterNotice(notice),
      onChange: (state) => this.#lists.userChanged(state),
    });
  }

  // --- HubObserver ------------------------------------------------------------------

  sessionOpened(session: Session): void {
    if (session.principal.kind !== 'user') return;
    this.#sessions.add(session);
    this.#status.sessionOpened(session);
  }

  sessionClosed(session: Session): void {
    if (session.principal.kind !== 'user') return;
    this.#sessions.remove(session);
    this.#lists.sessionClosed(session);
    this.#status.sessionClosed(session);
  }

  published(event: ChannelEvent): void {
    // The only work on every publish: messages without an "@" cost nothing more.
    if (event.kind !== 'message' || event.text === null || !event.text.includes('@')) return;
    const names = mentionedNames(event.text);
    if (names.length > 0) void this.#notifyMentions(event, names).catch((error: unknown) => {
      this.#logger.warn({ err: error, channel: event.channel, seq: event.seq }, 'mention notices failed');
    });
  }

  channelCreated(channel: Channel): void {
    if (channel.type === 'inbox') return;
    if (channel.type === 'public') {
      this.#announce({ kind: 'channels', action: 'add', channel, audience: null });
      return;
    }
    void this.#store.listMembers(channel.id).then(
      (members) => this.#announce({ kind: 'channels', action: 'add', channel, audience: members.map((m) => m.user) }),
      (error: unknown) => this.#logger.warn({ err: error, channel: channel.id }, 'channel list notice failed'),
    );
  }

  channelUpdated(channel: Channel): void {
    if (channel.type !== 'inbox') this.#announce({ kind: 'channels', action: 'update', channel, audience: null });
  }

  channelDeleted(channel: ChannelId): void {
    this.#announce({ kind: 'channel-deleted', channel });
  }

  memberAdded(member: Member): void {
    this.#announce({ kind: 'members', action: 'add', member });
    void this.#whenNotPublic(member.channel, (channel) =>
      this.#announce({ kind: 'channels', action: 'add', channel, audience: [member.user] }),
    );
  }

  memberRemoved(channel: ChannelId, user: UserId): void {
    this.#announce({ kind: 'members', action: 'remove', member: { channel, user, role: 'member', joinedAt: Date.now() } });
    void this.#whenNotPublic(channel, (found) =>
      this.#announce({ kind: 'channels', action: 'remove', channel: found, audience: [user] }),
    );
  }

  brokerEphemeral(event: EphemeralEvent): void {
    // A node died and the broker removed its sessions (leave), or a node that was cut off
    // wrote its sessions back (join): their users' status may have changed.
    if (event.type === 'presence' && event.channel === ONLINE_KEY && (event.action === 'leave' || event.action === 'join')) {
      this.#status.registryChanged(event.user, event.action);
    }
  }

  clusterNotice(notice: ClusterNotice): void {
    if (notice.kind === 'status') this.#status.apply(notice);
    else this.#lists.apply(notice);
  }

  // --- DMs, contacts, status --------------------------------------------------------

  /** The user's direct conversations with their newest message, newest activity first. */
  directs(principal: Principal, limit = 50): Promise<DirectConversation[]> {
    return this.#chat.directConversations(this.#userOf(principal), clamp(limit));
  }

  async addContact(principal: Principal, contact: UserId): Promise<UserState> {
    const user = this.#userOf(principal);
    if (contact === user) throw new SwitchboardError('bad_request', 'You cannot add yourself as a contact.');
    const [state] = await this.#chat.userStates([contact]);
    if (!state) throw new SwitchboardError('not_found', `No user ${contact}.`);
    await this.#chat.addContact(user, contact);
    return state;
  }

  async removeContact(principal: Principal, contact: UserId): Promise<void> {
    if (!(await this.#chat.removeContact(this.#userOf(principal), contact))) {
      throw new SwitchboardError('not_found', `${contact} is not your contact.`);
    }
  }

  contacts(principal: Principal): Promise<UserState[]> {
    return this.#chat.listContacts(this.#userOf(principal));
  }

  setStatus(principal: Principal, status: Exclude<UserStatus, 'offline'>): Promise<UserState> {
    return this.#status.set(this.#userOf(principal), status);
  }

  /** Settles queued status work (tests). */
  idle(): Promise<void> {
    return this.#status.idle();
  }

  // --- read state ---------------------------------------------------------------------

  /**
   * Moves the user's read position in a channel forward. Members of private channels and
   * DMs get a `receipt`; public channels keep read positions to themselves.
   */
  async markRead(principal: Principal, id: ChannelId, seq: Seq): Promise<{ channel: ChannelId; seq: Seq }> {
    const user = this.#userOf(principal);
    const channel = await this.#hub.getChannel(principal, id);
    const stored = await this.#store.getChannel(id);
    if (seq > (stored?.lastSeq ?? 0)) throw new SwitchboardError('bad_request', `Channel ${id} has no seq ${seq} yet.`);
    const now = Date.now();
    const position = await this.#chat.markRead(id, user, seq, now);
    if (position === seq && showsReadReceipts(channel)) {
      this.#hub.signal({ type: 'receipt', channel: id, user, seq, at: now });
    }
    return { channel: id, seq: position };
  }

  /** Read positions in a channel: everyone's where receipts show, otherwise only the caller's. */
  async readPositions(principal: Principal, id: ChannelId): Promise<ReadPosition[]> {
    const channel = await this.#hub.getChannel(principal, id);
    const positions = await this.#chat.readPositions(id);
    if (showsReadReceipts(channel) || principal.kind === 'server') return positions;
    return positions.filter((p) => p.user === principal.userId);
  }

  /** What changed while the user was away: unread channels, new DMs, mentions. */
  async catchUp(principal: Principal): Promise<CatchUp> {
    const user = this.#userOf(principal);
    const inbox = inboxChannelOf(user);
    const [[state], channels, directs] = await Promise.all([
      this.#chat.userStates([user]),
      this.#chat.unreadChannels(user),
      this.#chat.directConversations(user, MAX_PAGE),
    ]);
    const lastSeen = state?.lastSeen ?? null;
    const inboxRead = channels.find((c) => c.channel === inbox)?.readSeq;
    const mentions =
      inboxRead === undefined
        ? []
        : (await this.#store.readEvents(inbox, { after: inboxRead, limit: MAX_PAGE, messagesOnly: true })).filter(
            (event) => isMention(event.data),
          );
    return {
      lastSeen,
      channels,
      directs: directs.filter(
        (d) => d.latest !== null && d.latest.author !== user && d.latest.createdAt > (lastSeen ?? 0),
      ),
      mentions,
    };
  }

  // --- reactions, threads, search ---------------------------------------------------

  async reactions(principal: Principal, id: ChannelId, seqs: readonly Seq[]): Promise<Record<Seq, ReactionCount[]>> {
    await this.#hub.getChannel(principal, id);
    return Object.fromEntries(await this.#chat.reactionsOf(id, seqs));
  }

  /** A message and its replies, oldest first; page on with `after` (the last reply's seq). */
  async thread(
    principal: Principal,
    input: { channel: ChannelId; seq: Seq; after?: Seq; limit?: number },
  ): Promise<{ root: ChannelEvent; replies: ChannelEvent[]; hasMore: boolean }> {
    await this.#hub.getChannel(principal, input.channel);
    const root = await this.#store.getEvent(input.channel, input.seq);
    if (!root || root.kind !== 'message') {
      throw new SwitchboardError('not_found', `No message with seq ${input.seq} in ${input.channel}.`);
    }
    const limit = clamp(input.limit ?? 50);
    const replies = await this.#chat.thread(input.channel, input.seq, { after: input.after, limit: limit + 1 });
    return { root, replies: replies.slice(0, limit), hasMore: replies.length > limit };
  }

  /**
   * Messages with every word of `text`, newest first, only from channels the principal may
   * read. `next` is the `before` of the following page (null on the last).
   */
  async search(
    principal: Principal,
    input: SearchInput,
  ): Promise<{ results: ChannelEvent[]; next: SearchInput['before'] | null }> {
    if (!/[\p{L}\p{N}_]/u.test(input.text)) throw new SwitchboardError('bad_request', 'Search needs a word to look for.');
    if (input.channel !== undefined) await this.#hub.getChannel(principal, input.channel);
    const limit = clamp(input.limit ?? 20);
    const found = await this.#chat.search({
      text: input.text,
      readableBy: principal.kind === 'server' ? null : principal.userId,
      channel: input.channel,
      author: input.author,
      before: input.before,
      limit: limit + 1,
    });
    const results = found.slice(0, limit);
    const last = results.at(-1);
    return {
      results,
      next: found.length > limit && last ? { createdAt: last.createdAt, channel: last.channel, seq: last.seq } : null,
    };
  }

  // --- live lists ---------------------------------------------------------------------

  /** Follows a list and returns its snapshot; changes then arrive as `list` frames. */
  async followList(
    session: Session,
    list: ListName,
    target: { channel?: ChannelId; users?: readonly UserId[] },
  ): Promise<{ list: ListName; channel?: ChannelId; items: readonly (Channel | Member | UserState)[] }> {
    const who = session.principal;
    // Follow first, then read: a change in between arrives twice (harmless), never not at all.
    switch (list) {
      case 'channels': {
        this.#lists.follow(session, list, target);
        const items = await this.#hub.listChannels(who, { limit: 1000 });
        this.#lists.remember(session, items.map((c) => c.id));
        return { list, items };
      }
      case 'members': {
        if (!target.channel) throw new SwitchboardError('bad_request', 'A members list needs a channel.');
        await this.#hub.getChannel(who, target.channel);
        this.#lists.follow(session, list, target);
        return { list, channel: target.channel, items: await this.#hub.listMembers(who, target.channel) };
      }
      case 'users': {
        if (!target.users || target.users.length === 0) throw new SwitchboardError('bad_request', 'A users list needs users.');
        this.#lists.follow(session, list, target);
        return { list, items: await this.#chat.userStates(target.users) };
      }
    }
  }

  unfollowList(session: Session, list: ListName, target: { channel?: ChannelId; users?: readonly UserId[] }): void {
    if (!this.#lists.unfollow(session, list, target)) throw new SwitchboardError('not_found', `Not following that ${list} list.`);
  }

  // --- internals ----------------------------------------------------------------------

  /** Applies a change here and tells the other nodes. */
  #announce(notice: ClusterNotice): void {
    this.#lists.apply(notice);
    this.#hub.sendClusterNotice(notice);
  }

  async #whenNotPublic(id: ChannelId, then: (channel: Channel) => void): Promise<void> {
    try {
      const channel = await this.#hub.getChannel(SERVER, id);
      if (channel.type !== 'public') then(channel);
    } catch (error) {
      this.#logger.warn({ err: error, channel: id }, 'channel list notice failed');
    }
  }

  /** Pushes a notice into the inbox of every mentioned user who may read the message. */
  async #notifyMentions(event: ChannelEvent, names: readonly string[]): Promise<void> {
    const channel = await this.#hub.getChannel(SERVER, event.channel);
    if (channel.type === 'inbox') return;
    const users = (await this.#chat.findUsers(names)).map((u) => u.id).filter((id) => id !== event.author);
    if (users.length === 0) return;
    const readers = channel.type === 'public' ? users : await this.#chat.membersAmong(channel.id, users);
    for (const user of readers) {
      await this.#hub.publish(SERVER, {
        channel: inboxChannelOf(user),
        data: { type: 'mention', channel: event.channel, seq: event.seq, author: event.author, text: event.text },
        // Idempotent: a retried notice for the same message is stored once.
        cid: `mention:${event.channel}:${event.seq}`,
      });
    }
  }

  #userOf(principal: Principal): UserId {
    if (principal.kind !== 'user') throw new SwitchboardError('bad_request', 'This request is made by a user.');
    return principal.userId;
  }
}

function clamp(limit: number): number {
  return Math.min(Math.max(Math.trunc(limit), 1), MAX_PAGE);
}

function isMention(data: unknown): boolean {
  return typeof data === 'object' && data !== null && (data as { type?: unknown }).type === 'mention';
}
