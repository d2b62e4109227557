import {
  type BackoffOptions,
  type Channel,
  type ChannelEvent,
  ClientError,
  type ConnectionState,
  createClient,
  inboxChannelOf,
  type ListedChannel,
  type LiveList,
  type Member,
  type MemberRole,
  type PresenceAction,
  type PublishPolicy,
  type ReactionCount,
  type SwitchboardClient,
  type UserState,
} from '../../../client/src/index.js';
import type { Credentials } from '../auth-session.js';
import { applyEvent, type ChannelView, emptyView, indexOfSeq, mergeMessages, NO_FAILED_LOADS } from './channel-view.js';
import { FileShelf } from './file-shelf.js';
import { type Action, humanError, isRefusal } from './human-errors.js';
import { LocalStore, type PendingMessage } from './local-store.js';
import { Notifier } from './notifier.js';

export type { ChannelView } from './channel-view.js';
export type { PendingMessage } from './local-store.js';

export interface Toast {
  readonly id: number;
  readonly text: string;
  readonly tone: 'error' | 'info';
}

export type Panel =
  | { readonly kind: 'thread'; readonly channel: string; readonly root: number }
  | { readonly kind: 'search' }
  | { readonly kind: 'mentions' }
  | { readonly kind: 'members'; readonly channel: string };

export interface ThreadState {
  readonly channel: string;
  readonly root: ChannelEvent | null;
  readonly replies: readonly ChannelEvent[];
  readonly loading: boolean;
  readonly hasMore: boolean;
}

export interface SearchState {
  readonly query: string;
  readonly channel: string | null;
  readonly results: readonly ChannelEvent[];
  readonly next: string | null;
  readonly loading: boolean;
  readonly searched: boolean;
}

/** A mention notice from your inbox: someone wrote `@you` in a channel. */
export interface Mention {
  readonly seq: number;
  readonly channel: string;
  readonly target: number;
  readonly author: string;
  readonly text: string;
  readonly at: number;
}

export interface ChatState {
  readonly me: string;
  readonly connection: ConnectionState;
  /** When the next reconnect attempt starts (ms), while reconnecting. */
  readonly retryAt: number | null;
  /** Why the client stopped for good, if it did. */
  readonly fatal: string | null;
  /** Every channel you may see (public ones and yours), by id; inboxes left out. */
  readonly channels: ReadonlyMap<string, Channel>;
  /** Channels you are a member of (private channels and DMs always). */
  readonly joined: ReadonlySet<string>;
  /** Your role in each channel you are a member of, as the server's channel list says. */
  readonly roles: ReadonlyMap<string, MemberRole>;
  /** False until the channel list and your memberships are known. */
  readonly ready: boolean;
  readonly current: string | null;
  readonly views: ReadonlyMap<string, ChannelView>;
  readonly unread: ReadonlyMap<string, number>;
  readonly mentions: readonly Mention[];
  readonly mentionsUnread: number;
  readonly users: ReadonlyMap<string, UserState>;
  /** Every user id the page has heard of (for @-completion and pickers). */
  readonly knownUsers: readonly string[];
  readonly outbox: readonly PendingMessage[];
  readonly panel: Panel | null;
  readonly thread: ThreadState | null;
  readonly search: SearchState;
  readonly members: readonly Member[];
  readonly toasts: readonly Toast[];
  /** The message being edited: in the list (`list`) or the thread panel. */
  readonly editing: { readonly channel: string; readonly seq: number } | null;
  readonly firstRun: boolean;
  readonly notifications: 'ask' | 'granted' | 'denied' | 'unsupported';
}

export interface ModelOptions {
  readonly url?: string;
  readonly backoff?: Partial<BackoffOptions>;
}

const PAGE = 50;
const FIRST_UNREAD_PAGE = 100;
/** Presence members per request: a large channel's first page is all the app reads of it. */
const PRESENCE_PAGE = 100;
const TYPING_SHOWN_MS = 4000;
const TYPING_SENT_EVERY_MS = 2500;
/** A message is published until the server answers it, however long that takes. */
const DELIVERY_TIMEOUT_MS = 24 * 60 * 60 * 1000;
const DEFAULT_CHANNEL = 'general';

/**
 * Everything the chat page shows, kept in sync with the server through the SDK. React
 * reads it with useSyncExternalStore (`subscribe`, `snapshot`); components call its
 * actions and never talk to the server themselves.
 */
export class ChatModel {
  readonly me: string;
  /** Uploads from the composers, and links to files in messages. */
  readonly files: FileShelf;
  readonly #client: SwitchboardClient;
  readonly #store: LocalStore;
  readonly #notifier: Notifier;
  readonly #listeners = new Set<() => void>();
  readonly #following = new Set<string>();
  readonly #readSeqs = new Map<string, number>();
  readonly #markTimers = new Map<string, ReturnType<typeof setTimeout>>();
  readonly #delivering = new Set<string>();
  /** Per channel, the live events collected for each page load on its way (`#catching`). */
  readonly #caught = new Map<string, Set<ChannelEvent[]>>();
  /**
   * Per channel, how many times its window was replaced (a jump, "Jump to latest"): a page
   * before or after the window that lands after a replacement belongs to the old one.
   */
  readonly #windows = new Map<string, number>();
  /** Per channel, the presence read under way (#loadPresence): a later one replaces it. */
  readonly #presenceReads = new Map<string, PresenceRead>();
  #state: ChatState;
  #toastId = 0;
  #focusToken = 0;
  #lastTypingSent = 0;
  #membersList: LiveList<'members'> | null = null;
  #usersList: LiveList<'users'> | null = null;
  #followedUsers = '';
  #usersTimer: ReturnType<typeof setTimeout> | null = null;
  #typingTimer: ReturnType<typeof setInterval>;
  #closed = false;
  #booted = false;
  readonly #offs: (() => void)[] = [];

  constructor(me: string, credentials: Credentials, options: ModelOptions = {}) {
    this.me = me;
    this.#store = new LocalStore(me);
    this.#notifier = new Notifier(this.#store);
    this.#state = {
      me,
      connection: 'connecting',
      retryAt: null,
      fatal: null,
      channels: new Map(),
      joined: new Set(),
      roles: new Map(),
      ready: false,
      current: null,
      views: new Map(),
      unread: new Map(),
      mentions: [],
      mentionsUnread: 0,
      users: new Map(),
      knownUsers: [me],
      outbox: this.#store.outbox(),
      panel: null,
      thread: null,
      search: { query: '', channel: null, results: [], next: null, loading: false, searched: false },
      members: [],
      toasts: [],
      editing: null,
      firstRun: false,
      notifications: this.#notifier.choice,
    };
    this.#client = createClient({
      url: options.url ?? '/ws',
      ...credentials,
      // Come back quickly after a restart; "Retry now" skips even that.
      backoff: { initialDelayMs: 300, maxDelayMs: 8000, ...options.backoff },
    });
    this.files = new FileShelf(this.#client);
    this.#offs.push(
      this.#client.on('state', ({ state }) => this.#set({ connection: state, retryAt: state === 'reconnecting' ? this.#state.retryAt : null })),
      this.#client.on('reconnecting', ({ delayMs }) => this.#set({ retryAt: Date.now() + delayMs })),
      this.#client.on('connected', () => this.#onConnected()),
      this.#client.on('error', (error) => {
        if (this.#client.state === 'disconnected') this.#set({ fatal: error.message });
      }),
      this.#client.on('status', ({ user, status, lastSeen }) => this.#setUser(user, { status, lastSeen })),
      this.#client.on('profile', ({ user, name, avatarUrl, statusText }) => this.#setUser(user, { name, avatarUrl, statusText })),
      this.#client.on('contacts', (contacts) => {
        for (const contact of contacts) this.#setUser(contact.user, contact);
      }),
    );
    this.#typingTimer = setInterval(() => this.#expireTyping(), 1000);
    const onVisible = () => this.#onVisibility();
    const onOnline = () => this.retryNow();
    document.addEventListener('visibilitychange', onVisible);
    window.addEventListener('online', onOnline);
    this.#offs.push(
      () => document.removeEventListener('visibilitychange', onVisible),
      () => window.removeEventListener('online', onOnline),
    );
    void this.#boot();
  }

  // --- React's view -----------------------------------------------------------------

  subscribe = (listener: () => void): (() => void) => {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  };

  snapshot = (): ChatState => this.#state;

  // --- start-up -----------------------------------------------------------------------

  async #boot(): Promise<void> {
    // Messages typed before a reload (or while the server was away) go out with their cid.
    for (const entry of this.#state.outbox) if (entry.error === null) void this.#deliver(entry);
    const initial = this.#store.joined();
    if (initial.length > 0) this.#set({ joined: new Set(initial) });
    try {
      await this.#client.chat.followList(
        { list: 'channels' },
        {
          onSnapshot: (channels) => void this.#onChannelSnapshot(channels.filter(isChannel)),
          onChange: ({ action, item }) => this.#onChannelChange(action, item),
          onError: (error) => this.toast(humanError('load', error)),
        },
      );
    } catch (error) {
      this.toast(humanError('load', error));
    }
  }

  async #onChannelSnapshot(list: ListedChannel[]): Promise<void> {
    const channels = new Map<string, Channel>();
    const roles = new Map<string, MemberRole>();
    for (const channel of list) {
      if (channel.type === 'inbox') continue;
      channels.set(channel.id, channel);
      if (channel.role) roles.set(channel.id, channel.role);
    }
    this.#set({ channels, roles });
    // The list gives your role in each channel: those with one are yours.
    const joined = new Set(roles.keys());
    this.#setJoined(joined);
    for (const id of joined) void this.#follow(id);
    void this.#follow(inboxChannelOf(this.me));
    this.#rememberUsers(
      [...channels.values()].filter((c) => c.type === 'direct').flatMap((c) => directMembers(c.id)),
    );
    if (!this.#booted) {
      this.#booted = true;
      await this.#firstRun(channels, joined);
      await this.#loadCatchUp();
      await this.#openInitial();
      void this.#loadUserDirectory();
      this.#set({ ready: true });
    }
  }

  /** The first user finds a `general` channel; everyone who belongs nowhere joins it. */
  async #firstRun(channels: ReadonlyMap<string, Channel>, joined: Set<string>): Promise<void> {
    const hasGeneral = channels.has(DEFAULT_CHANNEL);
    const belongsSomewhere = [...joined].some((id) => channels.get(id)?.type !== 'direct');
    if (belongsSomewhere) return;
    try {
      if (!hasGeneral) {
        const created = await this.#client.createChannel({ channel: DEFAULT_CHANNEL, type: 'public', title: DEFAULT_CHANNEL });
        this.#putChannel(created);
      } else {
        await this.#client.joinChannel(DEFAULT_CHANNEL);
        this.#readFromHere(DEFAULT_CHANNEL);
      }
      this.#setRole(DEFAULT_CHANNEL, hasGeneral ? 'member' : 'owner');
      this.#setJoined([...this.#state.joined, DEFAULT_CHANNEL]);
      void this.#follow(DEFAULT_CHANNEL);
      this.#set({ firstRun: true });
    } catch (error) {
      // Someone else created it a moment ago: join theirs.
      if (error instanceof ClientError && error.code === 'conflict') {
        await this.#client.joinChannel(DEFAULT_CHANNEL).catch(() => {});
        this.#readFromHere(DEFAULT_CHANNEL);
        this.#setRole(DEFAULT_CHANNEL, 'member');
        this.#setJoined([...this.#state.joined, DEFAULT_CHANNEL]);
        void this.#follow(DEFAULT_CHANNEL);
        this.#set({ firstRun: true });
      }
    }
  }

  /**
   * Someone who joins a channel has not missed its past: the server starts their read
   * position at the newest message, and the page does the same with what it knows.
   */
  #readFromHere(channel: string): void {
    const lastSeq = this.#state.channels.get(channel)?.lastSeq ?? 0;
    if ((this.#readSeqs.get(channel) ?? 0) < lastSeq) this.#readSeqs.set(channel, lastSeq);
  }

  /** Unread counts and read positions from the server, so badges survive reloads and devices. */
  async #loadCatchUp(): Promise<void> {
    try {
      const missed = await this.#client.chat.catchUp();
      const unread = new Map(this.#state.unread);
      let mentionsUnread = 0;
      for (const entry of missed.channels) {
        this.#readSeqs.set(entry.channel, entry.readSeq);
        if (entry.type === 'inbox') mentionsUnread = entry.unread;
        else if (entry.unread > 0 && entry.channel !== this.#state.current) unread.set(entry.channel, entry.unread);
      }
      this.#set({ unread, mentionsUnread });
    } catch {
      // Badges only; the channels still work.
    }
  }

  /** A link (`#c=general&m=42`), else the last channel you had open, else `general`. */
  async #openInitial(): Promise<void> {
    const link = parseLink(location.hash);
    if (link && this.#state.channels.has(link.channel)) {
      await this.jumpTo(link.channel, link.seq);
      return;
    }
    const visible = (id: string | null) => id !== null && this.#state.channels.has(id);
    const last = this.#store.lastChannel();
    const first = [...this.#state.joined].sort()[0] ?? null;
    const target = visible(last) ? last : visible(DEFAULT_CHANNEL) ? DEFAULT_CHANNEL : first;
    if (target) await this.open(target);
  }

  #onConnected(): void {
    this.#set({ fatal: null, retryAt: null });
    // Everything missed while away arrives through the resumed subscriptions; refresh the
    // read receipts and presence of the open channel, which are not replayed.
    const current = this.#state.current;
    if (current && this.#booted) void this.#loadSignals(current);
  }

  // --- channels -----------------------------------------------------------------------

  #onChannelChange(action: 'add' | 'update' | 'remove', item: ListedChannel | { readonly id: string }): void {
    if (action === 'remove' || !isChannel(item)) {
      this.#lostChannel(item.id);
      return;
    }
    if (item.type === 'inbox') return;
    const known = this.#state.channels.has(item.id);
    this.#putChannel(item);
    // A change about your membership carries your role (null: you left); others leave it as it was.
    if (item.role !== undefined) this.#onRole(item.id, item.role);
    // A private channel or DM appears when you become a member.
    if (!known && item.type !== 'public') {
      this.#setJoined([...this.#state.joined, item.id]);
      void this.#follow(item.id);
      if (item.type === 'direct') this.#rememberUsers(directMembers(item.id));
    }
  }

  /** Removed from a private channel, or the channel was deleted: it goes, with everything shown of it. */
  #lostChannel(id: string): void {
    const existed = this.#state.channels.has(id);
    const channels = new Map(this.#state.channels);
    channels.delete(id);
    const joined = new Set(this.#state.joined);
    joined.delete(id);
    const views = new Map(this.#state.views);
    views.delete(id);
    const unread = new Map(this.#state.unread);
    unread.delete(id);
    const roles = new Map(this.#state.roles);
    roles.delete(id);
    const wasCurrent = this.#state.current === id;
    const panel = this.#state.panel;
    const panelGone = panel !== null && 'channel' in panel && panel.channel === id;
    this.#set({
      channels,
      joined,
      roles,
      views,
      unread,
      current: wasCurrent ? null : this.#state.current,
      panel: panelGone ? null : panel,
      thread: panelGone ? null : this.#state.thread,
    });
    this.#store.setJoined(joined);
    this.#unfollow(id);
    if (existed && wasCurrent) {
      this.toast(`You no longer have access to ${labelOf(id)}.`, 'info');
      const next = joined.has(DEFAULT_CHANNEL) ? DEFAULT_CHANNEL : ([...joined].sort()[0] ?? null);
      if (next) void this.open(next);
    }
  }

  /** Joined, left, or a new role, on this device or another. */
  #onRole(channel: string, role: MemberRole | null): void {
    const was = this.#state.roles.get(channel) ?? null;
    this.#setRole(channel, role);
    if (role !== null && !this.#state.joined.has(channel)) {
      this.#readFromHere(channel);
      this.#setJoined([...this.#state.joined, channel]);
      // Added by someone else (a new DM, say): what they said before this page subscribed
      // came by no live event, so the badge is asked of the server once the subscription is on.
      void this.#follow(channel).then((following) => (following ? this.#loadCatchUp() : undefined));
    } else if (role === null && was !== null && this.#state.joined.has(channel)) {
      const joined = new Set(this.#state.joined);
      joined.delete(channel);
      this.#setJoined(joined);
    }
  }

  #setRole(channel: string, role: MemberRole | null): void {
    if ((this.#state.roles.get(channel) ?? null) === role) return;
    const roles = new Map(this.#state.roles);
    if (role === null) roles.delete(channel);
    else roles.set(channel, role);
    this.#set({ roles });
  }

  #putChannel(channel: Channel): void {
    const channels = new Map(this.#state.channels);
    channels.set(channel.id, channel);
    this.#set({ channels });
  }

  #setJoined(ids: Iterable<string>): void {
    const joined = new Set(ids);
    this.#set({ joined });
    this.#store.setJoined([...joined].filter((id) => this.#state.channels.get(id)?.type === 'public'));
  }

  async open(channel: string, focusSeq?: number): Promise<void> {
    const previous = this.#state.current;
    const unread = new Map(this.#state.unread);
    const unreadBefore = unread.get(channel) ?? 0;
    unread.delete(channel);
    const panel = this.#state.panel;
    const keepPanel = panel === null || panel.kind === 'search' || panel.kind === 'mentions';
    this.#set({ current: channel, unread, editing: null, panel: keepPanel ? panel : null, thread: keepPanel ? this.#state.thread : null });
    if (previous !== channel) this.#lastTypingSent = 0;
    this.#store.setLastChannel(channel);
    writeLink(channel, null);
    const subscribed = await this.#follow(channel);
    if (!subscribed && !this.#state.channels.has(channel)) return;
    let view = this.#state.views.get(channel);
    if (focusSeq !== undefined) {
      await this.#loadAround(channel, focusSeq, true);
    } else if (!view?.loaded) {
      const readSeq = this.#readSeqs.get(channel);
      // Never read (just joined): the first unread only when the whole unread run fits one page.
      const atFirstUnread = readSeq !== undefined && (readSeq > 0 || unreadBefore <= FIRST_UNREAD_PAGE);
      if (unreadBefore > 0 && atFirstUnread) await this.#loadAround(channel, readSeq!, false, readSeq!);
      else await this.#loadNewest(channel);
    } else if (unreadBefore > 0) {
      this.#setView(channel, { unreadAfter: this.#readSeqs.get(channel) ?? null });
    }
    view = this.#state.views.get(channel);
    const newest = view?.messages.at(-1);
    if (newest && !view?.hasNewer) this.#markRead(channel, newest.seq);
    void this.#loadSignals(channel);
  }

  async #loadNewest(channel: string): Promise<void> {
    await this.#attempt('load', async () => {
      const [page, caught] = await this.#catching(channel, () => this.#client.history(channel, { limit: PAGE }));
      const current = this.#view(channel);
      this.#setPage(channel, caught, {
        // Live events that came in while the page was on its way are kept.
        messages: mergeMessages(page.events, current.loaded ? [] : current.messages),
        hasOlder: page.hasMore,
        hasNewer: false,
        ...this.#newWindow(channel),
        loaded: true,
        unreadAfter: null,
        focus: null,
      });
      void this.#loadReactions(channel, page.events);
    });
  }

  /**
   * A window around `seq`: the messages before it and after it. Opening at the first
   * unread (`unreadAfter`) or jumping to a message from search, mentions or a link.
   */
  async #loadAround(channel: string, seq: number, highlight: boolean, unreadAfter: number | null = null): Promise<void> {
    const existing = this.#state.views.get(channel);
    if (existing?.loaded && indexOfSeq(existing.messages, seq) >= 0 && (!existing.hasNewer || highlight)) {
      this.#setView(channel, { focus: { seq, token: ++this.#focusToken, highlight }, unreadAfter });
      return;
    }
    await this.#attempt('load', async () => {
      const [page, caught] = await this.#catching(channel, () =>
        unreadAfter === null ? this.#pageAround(channel, seq) : this.#pageFrom(channel, seq),
      );
      const { messages } = page;
      const target = unreadAfter === null ? seq : (messages.find((m) => m.seq > seq && m.author !== this.me)?.seq ?? seq);
      this.#setPage(channel, caught, {
        messages,
        reactions: new Map(),
        hasOlder: page.hasOlder,
        hasNewer: page.hasNewer,
        ...this.#newWindow(channel),
        loaded: true,
        unreadAfter,
        focus: { seq: target, token: ++this.#focusToken, highlight },
      });
      void this.#loadReactions(channel, messages);
    });
  }

  /** A jump to a message: the page centred on it, in one request. */
  async #pageAround(channel: string, seq: number): Promise<{ messages: ChannelEvent[]; hasOlder: boolean; hasNewer: boolean }> {
    const page = await this.#client.history(channel, { around: seq, limit: PAGE });
    return { messages: page.events, hasOlder: page.hasMore, hasNewer: page.hasNewer ?? false };
  }

  /** Opening at the first unread: a little before the read position, and a long run of what follows. */
  async #pageFrom(channel: string, seq: number): Promise<{ messages: ChannelEvent[]; hasOlder: boolean; hasNewer: boolean }> {
    const [before, after] = await Promise.all([
      this.#client.history(channel, { before: seq + 1, limit: 20 }),
      this.#client.history(channel, { after: seq, limit: FIRST_UNREAD_PAGE }),
    ]);
    return { messages: mergeMessages(before.events, after.events), hasOlder: before.hasMore, hasNewer: after.hasMore };
  }

  /**
   * Loads a page, with the live events of its channel that arrive meanwhile: the window they
   * came to did not keep them (it stopped before the newest, or is being replaced), and the
   * page may have been read before they were stored.
   */
  async #catching<T>(channel: string, load: () => Promise<T>): Promise<[T, ChannelEvent[]]> {
    const caught: ChannelEvent[] = [];
    const loads = this.#caught.get(channel) ?? new Set();
    this.#caught.set(channel, loads.add(caught));
    try {
      return [await load(), caught];
    } finally {
      loads.delete(caught);
      if (loads.size === 0) this.#caught.delete(channel);
    }
  }

  /** A page's window, with the events caught while it loaded applied to it as they came (they are idempotent). */
  #setPage(channel: string, caught: readonly ChannelEvent[], change: Partial<ChannelView>): void {
    this.#setView(channel, caught.reduce(applyEvent, { ...this.#view(channel), ...change }));
  }

  /** A replaced window's fields: no load of the old one is under way for it, or failed. */
  #newWindow(channel: string): Partial<ChannelView> {
    this.#windows.set(channel, (this.#windows.get(channel) ?? 0) + 1);
    return { ...NO_FAILED_LOADS, loadingOlder: false, loadingNewer: false };
  }

  /** Whether the channel's window is still the one that was there when a load began (`window`: #windows then). */
  #sameWindow(channel: string, window: number): boolean {
    return (this.#windows.get(channel) ?? 0) === window;
  }

  /** Infinite scroll upward: the page before the window; after a failed load, only when the reader asks again (`retry`). */
  async loadOlder(channel: string, retry = false): Promise<void> {
    const view = this.#state.views.get(channel);
    if (!view?.loaded || !view.hasOlder || view.loadingOlder || (view.olderFailed && !retry)) return;
    const oldest = view.messages[0]?.seq;
    const window = this.#windows.get(channel) ?? 0;
    this.#setView(channel, { loadingOlder: true, olderFailed: false });
    const ok = await this.#attempt('load', async () => {
      const page = await this.#client.history(channel, { before: oldest, limit: PAGE });
      if (!this.#sameWindow(channel, window)) return;
      const current = this.#view(channel);
      this.#setView(channel, {
        messages: mergeMessages(page.events, current.messages),
        hasOlder: page.hasMore,
        loadingOlder: false,
      });
      void this.#loadReactions(channel, page.events);
    });
    if (!ok && this.#sameWindow(channel, window)) this.#setView(channel, { loadingOlder: false, olderFailed: true });
  }

  /**
   * After a jump back in history: the page after the window, until it reaches the newest.
   * After a failed load, only once a new window (a jump, "Jump to latest") replaces this one.
   */
  async loadNewer(channel: string): Promise<void> {
    const view = this.#state.views.get(channel);
    if (!view?.loaded || !view.hasNewer || view.loadingNewer || view.newerFailed) return;
    const newest = view.messages.at(-1)?.seq ?? 0;
    const window = this.#windows.get(channel) ?? 0;
    this.#setView(channel, { loadingNewer: true });
    const ok = await this.#attempt('load', async () => {
      const [page, caught] = await this.#catching(channel, () => this.#client.history(channel, { after: newest, limit: 100 }));
      if (!this.#sameWindow(channel, window)) return;
      const current = this.#view(channel);
      this.#setPage(channel, caught, {
        messages: mergeMessages(current.messages, page.events),
        hasNewer: page.hasMore,
        loadingNewer: false,
      });
      void this.#loadReactions(channel, page.events);
      if (!page.hasMore) this.#caughtUp(channel);
    });
    if (!ok && this.#sameWindow(channel, window)) this.#setView(channel, { loadingNewer: false, newerFailed: true });
  }

  /** "Jump to latest": the newest page, wherever the window was. */
  async jumpToLatest(channel: string): Promise<void> {
    const view = this.#state.views.get(channel);
    if (view?.hasNewer) await this.#loadNewest(channel);
    this.#setView(channel, { focus: null, unreadAfter: null });
    this.#caughtUp(channel);
  }

  /**
   * The window reached the channel's newest message: read up to it, and, while you look at
   * the channel, no unread count for it (messages that came while the window stopped short
   * of the newest counted as unread).
   */
  #caughtUp(channel: string): void {
    const newest = this.#state.views.get(channel)?.messages.at(-1);
    if (newest) this.#markRead(channel, newest.seq);
    if (channel !== this.#state.current || document.hidden || !this.#state.unread.has(channel)) return;
    const unread = new Map(this.#state.unread);
    unread.delete(channel);
    this.#set({ unread });
  }

  /** Opens a channel at one message, highlighted (search results, mentions, links). */
  async jumpTo(channel: string, seq: number): Promise<void> {
    if (!this.#state.channels.has(channel)) {
      this.toast(`${labelOf(channel)} is not available to you.`, 'info');
      return;
    }
    if (this.#state.current !== channel) {
      this.#set({ current: channel });
    }
    await this.open(channel, seq);
    writeLink(channel, seq);
  }

  async #loadReactions(channel: string, messages: readonly ChannelEvent[]): Promise<void> {
    const seqs = messages.filter((m) => m.deletedAt === null).map((m) => m.seq);
    for (let i = 0; i < seqs.length; i += 200) {
      try {
        const found = await this.#client.chat.reactions(channel, seqs.slice(i, i + 200));
        const view = this.#state.views.get(channel);
        if (!view) return;
        const reactions = new Map(view.reactions);
        for (const [seq, counts] of Object.entries(found)) {
          if (counts.length > 0) reactions.set(Number(seq), counts as readonly ReactionCount[]);
        }
        this.#setView(channel, { reactions });
      } catch {
        return; // Counts only; the messages still show.
      }
    }
  }

  /** Presence and read receipts of the open channel: not replayed on resume, so asked for. */
  async #loadSignals(channel: string): Promise<void> {
    await this.#loadPresence(channel);
    const type = this.#state.channels.get(channel)?.type;
    if (type === 'private' || type === 'direct') {
      try {
        const positions = await this.#client.chat.readPositions(channel);
        this.#setView(channel, {
          positions: new Map(positions.filter((p) => p.user !== this.me).map((p) => [p.user, p.seq])),
        });
      } catch {
        // As above.
      }
    }
    this.#followUsersSoon();
  }

  /**
   * Who is here: every page while join/leave events keep the list true afterwards; in
   * occupancy mode (a large channel) the first page and the count, which occupancy events
   * keep up to date. 20 pages at 20,000 users would be read for a count. Join and leave
   * events heard while the pages are read apply to what they make; an occupancy event
   * heard meanwhile is newer than their count and mode; a read begun later replaces this
   * one.
   */
  async #loadPresence(channel: string): Promise<void> {
    const read: PresenceRead = { changes: [], occupancyHeard: false };
    this.#presenceReads.set(channel, read);
    try {
      const first = await this.#client.presencePage(channel, { limit: PRESENCE_PAGE });
      const here = [...first.members];
      for (let after = first.next; after !== null && first.mode !== 'occupancy'; ) {
        const page = await this.#client.presencePage(channel, { after, limit: PRESENCE_PAGE });
        here.push(...page.members);
        after = page.next;
      }
      if (this.#presenceReads.get(channel) !== read) return;
      const presence = new Map(here.map((member) => [member.user, member.sessions]));
      for (const change of read.changes) applyPresence(presence, change.user, change.action);
      // A server that does not say the mode leaves the count to its events.
      const mode = read.occupancyHeard ? undefined : (first.mode as PresencePageMode | undefined);
      this.#setView(channel, { presence, ...(mode && { occupancy: mode === 'occupancy' ? first.users : null }) });
      this.#rememberUsers(here.map((member) => member.user));
    } catch {
      // Not important enough to bother anyone.
    } finally {
      if (this.#presenceReads.get(channel) === read) this.#presenceReads.delete(channel);
    }
  }

  /** Subscribes (once) to a channel's live events; false when it cannot be read. */
  async #follow(channel: string): Promise<boolean> {
    if (this.#following.has(channel)) return true;
    this.#following.add(channel);
    try {
      await this.#client.subscribe(channel, {
        onEvent: (event) => this.#onEvent(event),
        onPresence: ({ user, action }) => {
          this.#presenceReads.get(channel)?.changes.push({ user, action });
          const view = this.#state.views.get(channel);
          if (!view) return;
          const presence = new Map(view.presence);
          applyPresence(presence, user, action);
          this.#setView(channel, { presence });
          this.#rememberUsers([user]);
        },
        onOccupancy: ({ users, mode }) => {
          const read = this.#presenceReads.get(channel);
          if (read) read.occupancyHeard = true;
          if (!this.#state.views.get(channel)) return;
          this.#setView(channel, { occupancy: mode === 'occupancy' ? users : null });
          // Back to join/leave events: they apply to the list as it is now.
          if (mode === 'members') void this.#loadPresence(channel);
        },
        onTyping: ({ user }) => {
          if (user === this.me) return;
          const view = this.#view(channel);
          this.#setView(channel, { typing: new Map(view.typing).set(user, Date.now() + TYPING_SHOWN_MS) });
        },
        onReceipt: ({ user, seq }) => {
          if (user === this.me) return;
          const view = this.#view(channel);
          if ((view.positions.get(user) ?? 0) >= seq) return;
          this.#setView(channel, { positions: new Map(view.positions).set(user, seq) });
        },
        onError: () => this.#lostChannel(channel),
        // Deleted (on any node): gone as a lost channel is.
        onDeleted: () => this.#lostChannel(channel),
      });
      return true;
    } catch (error) {
      this.#following.delete(channel);
      if (error instanceof ClientError && (error.code === 'forbidden' || error.code === 'not_found')) {
        if (this.#state.current === channel) this.#lostChannel(channel);
        return false;
      }
      if (!(error instanceof ClientError && error.code === 'closed')) this.toast(humanError('open', error));
      return false;
    }
  }

  #unfollow(channel: string): void {
    this.#following.delete(channel);
    void this.#client.subscription(channel)?.unsubscribe().catch(() => {});
  }

  #onEvent(event: ChannelEvent): void {
    if (event.channel === inboxChannelOf(this.me)) {
      this.#onInboxEvent(event);
      return;
    }
    const view = this.#state.views.get(event.channel);
    if (view) this.#setView(event.channel, applyEvent(view, event));
    for (const caught of this.#caught.get(event.channel) ?? []) caught.push(event);
    if (event.kind === 'message') {
      if (event.author) this.#rememberUsers([event.author]);
      if (event.cid && this.#state.outbox.some((entry) => entry.cid === event.cid)) this.#dropPending(event.cid);
      this.#onThreadEvent(event);
      if (event.author !== this.me) this.#onArrived(event);
    } else if (event.kind === 'edit' || event.kind === 'delete') {
      this.#onThreadEvent(event);
    }
  }

  /** Someone else's message: read at once if you are looking at it, else counted and maybe notified. */
  #onArrived(event: ChannelEvent): void {
    const channel = event.channel;
    const looking = channel === this.#state.current && !document.hidden;
    const view = this.#state.views.get(channel);
    if (looking && view && !view.hasNewer) {
      this.#markRead(channel, event.seq);
    } else if (this.#state.joined.has(channel) && event.replyTo === null) {
      this.#set({ unread: new Map(this.#state.unread).set(channel, (this.#state.unread.get(channel) ?? 0) + 1) });
    }
    if (this.#state.channels.get(channel)?.type === 'direct' && event.deletedAt === null) {
      this.#notifier.show(`${event.author ?? 'Someone'} (direct message)`, event.text ?? '', () => void this.open(channel));
    }
  }

  #onInboxEvent(event: ChannelEvent): void {
    const mention = toMention(event);
    if (!mention) return;
    if (this.#state.mentions.some((m) => m.seq === mention.seq)) return;
    const panelOpen = this.#state.panel?.kind === 'mentions';
    this.#set({
      mentions: [mention, ...this.#state.mentions],
      mentionsUnread: panelOpen ? 0 : this.#state.mentionsUnread + 1,
    });
    if (panelOpen) this.#markRead(inboxChannelOf(this.me), event.seq);
    this.#notifier.show(`${mention.author} mentioned you in ${labelOf(mention.channel)}`, mention.text, () => {
      void this.jumpTo(mention.channel, mention.target);
    });
  }

  #onThreadEvent(event: ChannelEvent): void {
    const thread = this.#state.thread;
    if (!thread || thread.channel !== event.channel || !thread.root) return;
    if (event.kind === 'message' && event.replyTo === thread.root.seq) {
      if (thread.replies.some((reply) => reply.seq === event.seq)) return;
      this.#set({ thread: { ...thread, replies: [...thread.replies, event] } });
      return;
    }
    if (event.target === null) return;
    const change = (message: ChannelEvent): ChannelEvent =>
      message.seq !== event.target
        ? message
        : event.kind === 'edit'
          ? { ...message, text: event.text, editedAt: event.createdAt }
          : { ...message, text: null, deletedAt: event.createdAt };
    this.#set({ thread: { ...thread, root: change(thread.root), replies: thread.replies.map(change) } });
  }

  #markRead(channel: string, seq: number): void {
    const previous = this.#readSeqs.get(channel) ?? 0;
    if (seq <= previous) return;
    this.#readSeqs.set(channel, seq);
    // One request for a burst of messages.
    clearTimeout(this.#markTimers.get(channel));
    this.#markTimers.set(
      channel,
      setTimeout(() => {
        this.#markTimers.delete(channel);
        void this.#client.chat.markRead(channel, this.#readSeqs.get(channel) ?? seq).catch(() => {});
      }, 250),
    );
  }

  #onVisibility(): void {
    const channel = this.#state.current;
    if (document.hidden || !channel) return;
    if (this.#state.unread.has(channel)) {
      const unread = new Map(this.#state.unread);
      unread.delete(channel);
      this.#set({ unread });
    }
    const view = this.#state.views.get(channel);
    const newest = view?.messages.at(-1);
    if (newest && !view?.hasNewer) this.#markRead(channel, newest.seq);
  }

  // --- sending ----------------------------------------------------------------------

  /**
   * Sends a message. It shows at once as "sending" and is kept (across reloads) until the
   * server stores it: while disconnected it waits, and after a reconnect or a reload it is
   * published again with the same cid, so it is stored once. Only a refusal by the server
   * turns it into an error with "Retry".
   */
  send(channel: string, text: string, replyTo: number | null = null, attachments: readonly string[] = []): void {
    const trimmed = text.replace(/\s+$/, '').replace(/^\n+/, '');
    if (trimmed.trim() === '' && attachments.length === 0) return;
    this.#lastTypingSent = 0;
    const entry: PendingMessage = {
      cid: newCid(),
      channel,
      text: trimmed,
      replyTo,
      createdAt: Date.now(),
      error: null,
      ...(attachments.length > 0 && { attachments: [...attachments] }),
    };
    this.#setOutbox([...this.#state.outbox, entry]);
    void this.#deliver(entry);
  }

  async #deliver(entry: PendingMessage): Promise<void> {
    if (this.#delivering.has(entry.cid)) return;
    this.#delivering.add(entry.cid);
    try {
      const ack = await this.#client.request(
        'publish',
        {
          channel: entry.channel,
          text: entry.text === '' ? undefined : entry.text,
          cid: entry.cid,
          replyTo: entry.replyTo ?? undefined,
          attachments: entry.attachments?.length ? [...entry.attachments] : undefined,
        },
        { timeoutMs: DELIVERY_TIMEOUT_MS },
      );
      this.#delivering.delete(entry.cid);
      // The event itself comes through the subscription; until then the row stays, without a
      // gap. Not subscribed (a preview), or the event was seen already: drop it now.
      const view = this.#state.views.get(entry.channel);
      const seen = view?.messages.some((m) => m.cid === entry.cid) ?? false;
      if (seen || !this.#following.has(entry.channel)) this.#dropPending(entry.cid);
      else setTimeout(() => this.#dropPending(entry.cid), 5000);
      void ack;
    } catch (error) {
      this.#delivering.delete(entry.cid);
      if (error instanceof ClientError && error.code === 'closed') return; // Kept for the next page load.
      if (!isRefusal(error)) {
        // The connection went and the request gave up: try again when it is back.
        this.#client.once('connected', () => void this.#deliver(entry));
        return;
      }
      this.#setOutbox(
        this.#state.outbox.map((e) => (e.cid === entry.cid ? { ...e, error: humanError('send', error) } : e)),
      );
    }
  }

  retrySend(cid: string): void {
    const entry = this.#state.outbox.find((e) => e.cid === cid);
    if (!entry) return;
    const retried = { ...entry, error: null };
    this.#setOutbox(this.#state.outbox.map((e) => (e.cid === cid ? retried : e)));
    void this.#deliver(retried);
  }

  discardPending(cid: string): void {
    this.#dropPending(cid);
  }

  #dropPending(cid: string): void {
    if (!this.#state.outbox.some((e) => e.cid === cid)) return;
    this.#setOutbox(this.#state.outbox.filter((e) => e.cid !== cid));
  }

  #setOutbox(outbox: readonly PendingMessage[]): void {
    this.#set({ outbox });
    this.#store.setOutbox(outbox);
  }

  draft(channel: string): string {
    return this.#store.draft(channel);
  }

  saveDraft(channel: string, text: string): void {
    this.#store.setDraft(channel, text);
  }

  typed(channel: string): void {
    const now = Date.now();
    if (now - this.#lastTypingSent < TYPING_SENT_EVERY_MS || this.#state.connection !== 'connected') return;
    this.#lastTypingSent = now;
    void this.#client.typing(channel).catch(() => {});
  }

  startEditing(channel: string, seq: number): void {
    this.#set({ editing: { channel, seq } });
  }

  /** Edits your newest message in the channel (the Up key in an empty composer). */
  editLast(channel: string, inThread: number | null = null): boolean {
    const source =
      inThread === null
        ? (this.#state.views.get(channel)?.messages ?? []).filter((m) => m.replyTo === null)
        : (this.#state.thread?.replies ?? []);
    const mine = [...source].reverse().find((m) => m.author === this.me && m.deletedAt === null);
    if (!mine) return false;
    this.startEditing(channel, mine.seq);
    return true;
  }

  stopEditing(): void {
    this.#set({ editing: null });
  }

  async edit(channel: string, seq: number, text: string): Promise<boolean> {
    if (text.trim() === '') return false;
    const ok = await this.#attempt('edit', () => this.#client.editMessage(channel, seq, text.trim()));
    if (ok) this.#set({ editing: null });
    return ok;
  }

  async remove(channel: string, seq: number): Promise<void> {
    await this.#attempt('delete', () => this.#client.deleteMessage(channel, seq));
  }

  async toggleReaction(channel: string, seq: number, emoji: string): Promise<void> {
    const mine = this.#state.views.get(channel)?.reactions.get(seq)?.some((r) => r.emoji === emoji && r.users.includes(this.me));
    await this.#attempt('react', () =>
      mine ? this.#client.chat.unreact(channel, seq, emoji) : this.#client.chat.react(channel, seq, emoji),
    );
  }

  // --- panels: threads, search, mentions, members ---------------------------------------

  closePanel(): void {
    void this.#membersList?.close();
    this.#membersList = null;
    this.#set({ panel: null, thread: null, editing: this.#state.editing });
  }

  async openThread(channel: string, root: number): Promise<void> {
    void this.#membersList?.close();
    this.#membersList = null;
    const fromView = this.#state.views.get(channel)?.messages;
    const known = fromView ? fromView[indexOfSeq(fromView, root)] : undefined;
    this.#set({
      panel: { kind: 'thread', channel, root },
      thread: {
        channel,
        root: known ?? null,
        replies: (fromView ?? []).filter((m) => m.replyTo === root),
        loading: true,
        hasMore: false,
      },
    });
    await this.#attempt('thread', async () => {
      const thread = await this.#client.chat.thread(channel, root, { limit: 100 });
      const current = this.#state.thread;
      if (!current || current.channel !== channel || this.#state.panel?.kind !== 'thread') return;
      const replies = mergeMessages(thread.replies, current.replies);
      this.#set({ thread: { channel, root: thread.root, replies, loading: false, hasMore: thread.hasMore } });
    });
  }

  async search(query: string, channel: string | null): Promise<void> {
    const text = query.trim();
    this.#set({ panel: { kind: 'search' } });
    if (!text) return;
    this.#set({ search: { query: text, channel, results: [], next: null, loading: true, searched: false } });
    const ok = await this.#attempt('search', async () => {
      const page = await this.#client.chat.search(text, { channel: channel ?? undefined, limit: 20 });
      this.#set({
        search: { query: text, channel, results: page.results, next: cursorOf(page.next), loading: false, searched: true },
      });
    });
    if (!ok) this.#set({ search: { ...this.#state.search, loading: false, searched: true } });
  }

  async searchMore(): Promise<void> {
    const search = this.#state.search;
    if (!search.next || search.loading) return;
    this.#set({ search: { ...search, loading: true } });
    const ok = await this.#attempt('search', async () => {
      const page = await this.#client.chat.search(search.query, {
        channel: search.channel ?? undefined,
        cursor: search.next ?? undefined,
        limit: 20,
      });
      this.#set({
        search: { ...search, results: [...search.results, ...page.results], next: cursorOf(page.next), loading: false },
      });
    });
    if (!ok) this.#set({ search: { ...this.#state.search, loading: false } });
  }

  showSearch(): void {
    this.#set({ panel: { kind: 'search' } });
  }

  async showMentions(): Promise<void> {
    this.#set({ panel: { kind: 'mentions' }, mentionsUnread: 0 });
    const inbox = inboxChannelOf(this.me);
    await this.#attempt('load', async () => {
      const page = await this.#client.history(inbox, { limit: PAGE });
      const loaded = page.events.map(toMention).filter((m): m is Mention => m !== null).reverse();
      const seen = new Set(loaded.map((m) => m.seq));
      this.#set({ mentions: [...this.#state.mentions.filter((m) => !seen.has(m.seq)), ...loaded].sort((a, b) => b.seq - a.seq) });
      const newest = page.events.at(-1);
      if (newest) this.#markRead(inbox, newest.seq);
    });
  }

  async showMembers(channel: string): Promise<void> {
    void this.#membersList?.close();
    this.#membersList = null;
    this.#set({ panel: { kind: 'members', channel }, members: [], thread: null });
    try {
      this.#membersList = await this.#client.chat.followList(
        { list: 'members', channel },
        {
          onSnapshot: (members) => {
            this.#set({ members: sortMembers(members) });
            this.#rememberUsers(members.map((m) => m.user));
            this.#followUsersSoon();
          },
          onChange: ({ action, item }) => {
            const others = this.#state.members.filter((m) => m.user !== item.user);
            this.#set({ members: sortMembers(action === 'remove' ? others : [...others, item]) });
            this.#rememberUsers([item.user]);
          },
        },
      );
    } catch (error) {
      this.toast(humanError('members', error));
    }
  }

  async addMember(channel: string, user: string, role: MemberRole = 'member'): Promise<boolean> {
    return this.#attempt('members', () => this.#client.addMember(channel, user.trim(), role));
  }

  async removeMember(channel: string, user: string): Promise<boolean> {
    return this.#attempt('members', () => this.#client.removeMember(channel, user));
  }

  /** Your role in a channel (null: not a member). */
  roleIn(channel: string): MemberRole | null {
    return this.#state.roles.get(channel) ?? null;
  }

  // --- channel management -------------------------------------------------------------

  async createChannel(id: string, type: 'public' | 'private', title: string, members: string[] = []): Promise<boolean> {
    const name = id.trim().toLowerCase().replace(/\s+/g, '-');
    if (!/^[a-z0-9_.-]{1,80}$/.test(name)) {
      this.toast('The channel was not created: use letters, digits, - _ or . in its name (up to 80).');
      return false;
    }
    return this.#attempt('create-channel', async () => {
      const channel = await this.#client.createChannel({
        channel: name,
        type,
        title: title.trim() || name,
        members: members.length > 0 ? members : undefined,
      });
      this.#putChannel(channel);
      this.#setRole(channel.id, 'owner');
      this.#setJoined([...this.#state.joined, channel.id]);
      // Done once it exists: the dialog closes while the channel opens behind it.
      void this.open(channel.id);
    });
  }

  async join(channel: string): Promise<boolean> {
    return this.#attempt('join', async () => {
      const member = await this.#client.joinChannel(channel);
      this.#readFromHere(channel);
      this.#setRole(channel, member.role);
      this.#setJoined([...this.#state.joined, channel]);
      await this.#follow(channel);
    });
  }

  async leave(channel: string): Promise<boolean> {
    const ok = await this.#attempt('leave', () => this.#client.leaveChannel(channel));
    if (ok) {
      const type = this.#state.channels.get(channel)?.type;
      if (type === 'public') {
        const joined = new Set(this.#state.joined);
        joined.delete(channel);
        this.#setRole(channel, null);
        this.#setJoined(joined);
        if (this.#state.current === channel) {
          const next = [...joined].sort()[0];
          if (next) await this.open(next);
        }
      } else {
        this.#lostChannel(channel);
      }
    }
    return ok;
  }

  async updateChannel(channel: string, change: { title?: string; topic?: string; publish?: PublishPolicy }): Promise<boolean> {
    return this.#attempt('settings', async () => {
      const updated = await this.#client.updateChannel(channel, {
        title: change.title === undefined ? undefined : change.title.trim() || null,
        topic: change.topic === undefined ? undefined : change.topic.trim() || null,
        publish: change.publish,
      });
      this.#putChannel(updated);
    });
  }

  async deleteChannel(channel: string): Promise<boolean> {
    const ok = await this.#attempt('settings', () => this.#client.deleteChannel(channel));
    if (ok) this.#lostChannel(channel);
    return ok;
  }

  async openDirect(users: string[]): Promise<boolean> {
    const others = [...new Set(users.map((u) => u.trim()).filter((u) => u && u !== this.me))];
    if (others.length === 0) return false;
    return this.#attempt('direct', async () => {
      const channel = await this.#client.createChannel({ type: 'direct', members: others });
      this.#putChannel(channel);
      this.#setRole(channel.id, this.#state.roles.get(channel.id) ?? 'member');
      this.#setJoined([...this.#state.joined, channel.id]);
      this.#rememberUsers(others);
      void this.open(channel.id);
    });
  }

  // --- people -------------------------------------------------------------------------

  async setStatus(status: 'online' | 'away'): Promise<void> {
    await this.#attempt('status', async () => {
      const state = await this.#client.chat.setStatus(status);
      this.#setUser(this.me, state);
    });
  }

  #setUser(user: string, change: Partial<UserState>): void {
    const users = new Map(this.#state.users);
    const before: UserState = users.get(user) ?? { user, name: user, avatarUrl: null, statusText: null, status: 'offline', lastSeen: null };
    users.set(user, { ...before, ...change, user });
    this.#set({ users });
    this.#rememberUsers([user]);
  }

  #rememberUsers(users: readonly string[]): void {
    const known = this.#state.knownUsers;
    const fresh = users.filter((u) => u && !known.includes(u) && !u.includes(':'));
    if (fresh.length === 0) return;
    this.#set({ knownUsers: [...known, ...new Set(fresh)].sort() });
    this.#followUsersSoon();
  }

  /** Everyone the page has heard of, where the server lists users (users.list). */
  async #loadUserDirectory(): Promise<void> {
    try {
      let page = await this.#client.listUsers({ limit: 200 });
      this.#rememberUsers(page.users.map((u) => u.id));
      for (let pages = 1; page.next && pages < 5; pages++) {
        page = await this.#client.listUsers({ after: page.next, limit: 200 });
        this.#rememberUsers(page.users.map((u) => u.id));
      }
    } catch {
      // Older servers have no users.* on /ws: names come from members, authors and presence.
    }
  }

  /** Status and last seen of everyone shown, as a live list (refollowed when the set grows). */
  #followUsersSoon(): void {
    if (this.#usersTimer !== null || this.#closed) return;
    this.#usersTimer = setTimeout(() => {
      this.#usersTimer = null;
      void this.#followUsers();
    }, 300);
  }

  async #followUsers(): Promise<void> {
    const users = this.#state.knownUsers.slice(0, 500);
    const key = users.join(',');
    if (key === this.#followedUsers || users.length === 0) return;
    this.#followedUsers = key;
    const previous = this.#usersList;
    try {
      this.#usersList = await this.#client.chat.followList(
        { list: 'users', users },
        {
          onSnapshot: (states) => {
            for (const state of states) this.#setUser(state.user, state);
          },
          onChange: ({ item }) => this.#setUser(item.user, item),
        },
      );
      await previous?.close();
    } catch {
      this.#followedUsers = '';
    }
  }

  // --- connection, notifications, toasts ------------------------------------------------

  retryNow(): void {
    this.#client.reconnectNow();
  }

  async enableNotifications(): Promise<void> {
    await this.#notifier.ask();
    this.#set({ notifications: this.#notifier.choice });
  }

  declineNotifications(): void {
    this.#notifier.decline();
    this.#set({ notifications: this.#notifier.choice });
  }

  dismissFirstRun(): void {
    this.#set({ firstRun: false });
  }

  toast(text: string, tone: 'error' | 'info' = 'error'): void {
    const toast = { id: ++this.#toastId, text, tone };
    this.#set({ toasts: [...this.#state.toasts, toast].slice(-4) });
    setTimeout(() => this.dismiss(toast.id), tone === 'error' ? 10_000 : 6000);
  }

  dismiss(id: number): void {
    if (!this.#state.toasts.some((t) => t.id === id)) return;
    this.#set({ toasts: this.#state.toasts.filter((toast) => toast.id !== id) });
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#typingTimer);
    if (this.#usersTimer !== null) clearTimeout(this.#usersTimer);
    for (const timer of this.#markTimers.values()) clearTimeout(timer);
    for (const off of this.#offs) off();
    await this.#client.close();
  }

  // --- internals --------------------------------------------------------------------

  #view(channel: string): ChannelView {
    return this.#state.views.get(channel) ?? emptyView(channel);
  }

  #setView(channel: string, change: Partial<ChannelView> | ChannelView): void {
    const views = new Map(this.#state.views);
    views.set(channel, { ...this.#view(channel), ...change });
    this.#set({ views });
  }

  #expireTyping(): void {
    const now = Date.now();
    for (const [channel, view] of this.#state.views) {
      if ([...view.typing.values()].some((until) => until <= now)) {
        this.#setView(channel, { typing: new Map([...view.typing].filter(([, until]) => until > now)) });
      }
    }
  }

  /** Runs an action; a failure becomes a sentence on screen instead of an unhandled rejection. */
  async #attempt(action: Action, run: () => Promise<unknown>): Promise<boolean> {
    try {
      await run();
      return true;
    } catch (error) {
      if (!this.#closed) this.toast(humanError(action, error));
      return false;
    }
  }

  #set(change: Partial<ChatState>): void {
    if (this.#closed) return;
    this.#state = { ...this.#state, ...change };
    for (const listener of this.#listeners) listener();
  }
}

/** Live-list removals carry only the id. */
function isChannel(item: ListedChannel | { readonly id: string }): item is ListedChannel {
  return 'type' in item;
}

function directMembers(id: string): string[] {
  return id.startsWith('dm:') ? id.slice(3).split(',') : [];
}

/** A presence read under way, and what its channel's events said meanwhile. */
interface PresenceRead {
  readonly changes: { readonly user: string; readonly action: PresenceAction }[];
  occupancyHeard: boolean;
}

type PresencePageMode = 'members' | 'occupancy';

/**
 * A join or leave applied to who is here (sessions per user). Applied again to a list read
 * after it, it leaves the user as present as the list says: a join makes one session at
 * least, a remove leaves one.
 */
function applyPresence(presence: Map<string, number>, user: string, action: PresenceAction): void {
  const sessions = presence.get(user) ?? 0;
  if (action === 'leave') presence.delete(user);
  else if (action === 'join') presence.set(user, Math.max(sessions, 1));
  else if (action === 'add') presence.set(user, sessions + 1);
  else presence.set(user, Math.max(sessions - 1, 1));
}

function sortMembers(members: readonly Member[]): Member[] {
  const rank = { owner: 0, admin: 1, member: 2 } as const;
  return [...members].sort((a, b) => rank[a.role] - rank[b.role] || a.user.localeCompare(b.user));
}

function toMention(event: ChannelEvent): Mention | null {
  const data = event.data as { type?: unknown; channel?: unknown; seq?: unknown; author?: unknown; text?: unknown } | null;
  if (event.kind !== 'message' || !data || data.type !== 'mention') return null;
  if (typeof data.channel !== 'string' || typeof data.seq !== 'number') return null;
  return {
    seq: event.seq,
    channel: data.channel,
    target: data.seq,
    author: typeof data.author === 'string' ? data.author : 'someone',
    text: typeof data.text === 'string' ? data.text : '',
    at: event.createdAt,
  };
}

/** Search pages name the next page with an opaque string (older servers: an object, not followed). */
function cursorOf(next: unknown): string | null {
  return typeof next === 'string' ? next : null;
}

/** `#general`, or a DM as its people (without you, when `me` is given). */
export function labelOf(channel: string, me?: string): string {
  if (!channel.startsWith('dm:')) return `#${channel}`;
  const people = channel.slice(3).split(',');
  const others = people.filter((user) => user !== me);
  return `@${(others.length > 0 ? others : people).join(', @')}`;
}

/** A link to a channel, or to one message in it: `#c=general&m=42`. */
export function linkTo(channel: string, seq: number | null): string {
  const params = new URLSearchParams({ c: channel });
  if (seq !== null) params.set('m', String(seq));
  return `${location.origin}${location.pathname}#${params}`;
}

function writeLink(channel: string, seq: number | null): void {
  const params = new URLSearchParams({ c: channel });
  if (seq !== null) params.set('m', String(seq));
  history.replaceState(null, '', `#${params}`);
}

function parseLink(hash: string): { channel: string; seq: number } | null {
  const params = new URLSearchParams(hash.replace(/^#/, ''));
  const channel = params.get('c');
  const seq = Number(params.get('m'));
  return channel && Number.isInteger(seq) && seq > 0 ? { channel, seq } : null;
}

/** 128 random bits in base64url: 22 characters, which every receiver of the message gets in its event. */
function newCid(): string {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}
