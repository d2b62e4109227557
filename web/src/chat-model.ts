import {
  type Channel,
  type ChannelEvent,
  ClientError,
  type ConnectionState,
  createClient,
  type PresenceEvent,
  type SwitchboardClient,
  type TypingEvent,
} from '../../client/src/index.js';
import type { Credentials } from './auth-session.js';

export interface ChatMessage {
  readonly seq: number;
  readonly author: string | null;
  readonly text: string | null;
  readonly createdAt: number;
  readonly edited: boolean;
  readonly deleted: boolean;
}

export interface ChannelView {
  /** Messages by seq, oldest first. */
  readonly messages: readonly ChatMessage[];
  readonly hasOlder: boolean;
  readonly loaded: boolean;
}

export interface Toast {
  readonly id: number;
  readonly text: string;
}

export interface ChatSnapshot {
  readonly me: string;
  readonly connection: ConnectionState;
  readonly channels: readonly Channel[];
  readonly current: string | null;
  readonly view: ChannelView | null;
  readonly online: readonly string[];
  readonly typing: readonly string[];
  readonly unread: ReadonlyMap<string, number>;
  readonly toasts: readonly Toast[];
}

const TYPING_SHOWN_MS = 4000;
const TYPING_SENT_EVERY_MS = 2500;
const PAGE = 50;

interface ChannelState {
  readonly messages: Map<number, ChatMessage>;
  hasOlder: boolean;
  loaded: boolean;
  readonly presence: Map<string, number>;
  readonly typing: Map<string, number>;
}

/**
 * Everything the chat page shows, kept in sync with the server through the SDK. React
 * reads it through `subscribe`/`snapshot` (useSyncExternalStore); it never talks to the
 * server itself.
 */
export class ChatModel {
  readonly me: string;
  readonly #client: SwitchboardClient;
  readonly #listeners = new Set<() => void>();
  readonly #channels = new Map<string, Channel>();
  readonly #states = new Map<string, ChannelState>();
  /** Channels subscribed to (or being subscribed to); the SDK resumes them after drops. */
  readonly #following = new Set<string>();
  readonly #unread = new Map<string, number>();
  #connection: ConnectionState = 'connecting';
  #current: string | null = null;
  #toasts: Toast[] = [];
  #toastId = 0;
  #lastTypingSent = 0;
  #snapshot: ChatSnapshot | null = null;
  #typingTimer: ReturnType<typeof setInterval> | null = null;

  constructor(me: string, credentials: Credentials, url = '/ws') {
    this.me = me;
    this.#client = createClient({ url, ...credentials });
    this.#client.on('state', ({ state }) => {
      this.#connection = state;
      this.#changed();
    });
    this.#client.on('error', (error) => this.notify(error.message));
    this.#typingTimer = setInterval(() => this.#expireTyping(), 1000);
    void this.#attempt(() => this.#followChannelList());
    void this.#attempt(() => this.#loadUnread());
  }

  // --- React's view -----------------------------------------------------------------

  subscribe = (listener: () => void): (() => void) => {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  };

  snapshot = (): ChatSnapshot => {
    if (this.#snapshot) return this.#snapshot;
    const state = this.#current ? this.#states.get(this.#current) : undefined;
    const now = Date.now();
    this.#snapshot = {
      me: this.me,
      connection: this.#connection,
      channels: [...this.#channels.values()].sort((a, b) => a.id.localeCompare(b.id)),
      current: this.#current,
      view: state
        ? {
            messages: [...state.messages.values()].sort((a, b) => a.seq - b.seq),
            hasOlder: state.hasOlder,
            loaded: state.loaded,
          }
        : null,
      online: state ? [...state.presence.keys()].sort() : [],
      typing: state
        ? [...state.typing].filter(([user, until]) => until > now && user !== this.me).map(([user]) => user)
        : [],
      unread: new Map(this.#unread),
      toasts: this.#toasts,
    };
    return this.#snapshot;
  };

  // --- actions ----------------------------------------------------------------------

  /** The channel list: a snapshot, then every add, rename and removal, live (and again after reconnects). */
  async #followChannelList(): Promise<void> {
    await this.#client.chat.followList(
      { list: 'channels' },
      {
        onSnapshot: (channels) => {
          this.#channels.clear();
          for (const channel of channels) if (isChannel(channel)) this.#addChannel(channel);
          if (this.#current === null && channels.length > 0) void this.open(channels[0]!.id);
          this.#changed();
        },
        onChange: ({ action, item }) => {
          if (action === 'remove' || !isChannel(item)) this.#channels.delete(item.id);
          else this.#addChannel(item);
          this.#changed();
        },
        onError: (error) => this.notify(error.message),
      },
    );
  }

  /** Unread counts from the server's read positions, so badges survive reloads and devices. */
  async #loadUnread(): Promise<void> {
    const missed = await this.#client.chat.catchUp();
    for (const channel of missed.channels) {
      if (channel.channel !== this.#current && channel.unread > 0) this.#unread.set(channel.channel, channel.unread);
    }
    this.#changed();
  }

  #addChannel(channel: Channel): void {
    this.#channels.set(channel.id, channel);
    void this.#follow(channel.id).catch((error: unknown) => this.notify((error as Error).message));
  }

  async open(channel: string): Promise<void> {
    this.#current = channel;
    this.#unread.delete(channel);
    this.#changed();
    await this.#follow(channel);
    const state = this.#state(channel);
    if (!state.loaded) await this.loadOlder();
    this.#markRead(channel);
    await this.#attempt(async () => {
      const members = await this.#client.presence(channel);
      state.presence.clear();
      for (const member of members) state.presence.set(member.user, member.sessions);
      this.#changed();
    });
  }

  async loadOlder(): Promise<void> {
    const channel = this.#current;
    if (!channel) return;
    const state = this.#state(channel);
    const oldest = state.loaded ? Math.min(...state.messages.keys()) : undefined;
    await this.#attempt(async () => {
      const page = await this.#client.history(channel, {
        limit: PAGE,
        before: oldest === undefined || oldest === Infinity ? undefined : oldest,
      });
      for (const event of page.events) state.messages.set(event.seq, toMessage(event));
      state.hasOlder = page.hasMore;
      state.loaded = true;
      this.#changed();
    });
  }

  async createChannel(id: string, type: 'public' | 'private'): Promise<boolean> {
    return this.#attempt(async () => {
      const channel = await this.#client.createChannel({ channel: id, type, title: id });
      this.#channels.set(channel.id, channel);
      await this.open(channel.id);
    });
  }

  async openDirect(user: string): Promise<void> {
    await this.#attempt(async () => {
      const channel = await this.#client.createChannel({ type: 'direct', members: [user] });
      this.#channels.set(channel.id, channel);
      await this.open(channel.id);
    });
  }

  async send(text: string): Promise<boolean> {
    const channel = this.#current;
    if (!channel) return false;
    // Receivers clear the typing line when the message lands; the next keystroke says so again.
    this.#lastTypingSent = 0;
    return this.#attempt(() => this.#client.publish(channel, text));
  }

  async edit(seq: number, text: string): Promise<void> {
    const channel = this.#current;
    if (channel) await this.#attempt(() => this.#client.editMessage(channel, seq, text));
  }

  async remove(seq: number): Promise<void> {
    const channel = this.#current;
    if (channel) await this.#attempt(() => this.#client.deleteMessage(channel, seq));
  }

  typed(): void {
    const channel = this.#current;
    const now = Date.now();
    if (!channel || now - this.#lastTypingSent < TYPING_SENT_EVERY_MS) return;
    this.#lastTypingSent = now;
    void this.#client.typing(channel).catch(() => {});
  }

  notify(text: string): void {
    const toast = { id: ++this.#toastId, text };
    this.#toasts = [...this.#toasts, toast].slice(-4);
    this.#changed();
    setTimeout(() => this.dismiss(toast.id), 8000);
  }

  dismiss(id: number): void {
    this.#toasts = this.#toasts.filter((toast) => toast.id !== id);
    this.#changed();
  }

  async close(): Promise<void> {
    if (this.#typingTimer) clearInterval(this.#typingTimer);
    await this.#client.close();
  }

  // --- internals --------------------------------------------------------------------

  async #follow(channel: string): Promise<void> {
    if (this.#following.has(channel)) return;
    this.#following.add(channel);
    try {
      await this.#client.subscribe(channel, {
        onEvent: (event) => this.#onEvent(event),
        onPresence: (event) => this.#onPresence(event),
        onTyping: (event) => this.#onTyping(event),
      });
    } catch (error) {
      this.#following.delete(channel);
      if (!(error instanceof ClientError && error.code === 'forbidden')) throw error;
    }
  }

  #onEvent(event: ChannelEvent): void {
    const state = this.#state(event.channel);
    switch (event.kind) {
      case 'message':
        state.messages.set(event.seq, toMessage(event));
        state.typing.delete(event.author ?? '');
        if (event.channel === this.#current) this.#markRead(event.channel);
        else if (event.author !== this.me) {
          this.#unread.set(event.channel, (this.#unread.get(event.channel) ?? 0) + 1);
        }
        break;
      case 'edit': {
        const target = event.target === null ? undefined : state.messages.get(event.target);
        if (target) state.messages.set(target.seq, { ...target, text: event.text, edited: true });
        break;
      }
      case 'delete': {
        const target = event.target === null ? undefined : state.messages.get(event.target);
        if (target) state.messages.set(target.seq, { ...target, text: null, deleted: true });
        break;
      }
    }
    this.#changed();
  }

  #markRead(channel: string): void {
    const newest = Math.max(0, ...(this.#states.get(channel)?.messages.keys() ?? []));
    if (newest > 0) void this.#client.chat.markRead(channel, newest).catch(() => {});
  }

  #onPresence(event: PresenceEvent): void {
    const presence = this.#state(event.channel).presence;
    if (event.action === 'leave') presence.delete(event.user);
    else if (event.action === 'join' || event.action === 'add') {
      presence.set(event.user, (presence.get(event.user) ?? 0) + 1);
    } else presence.set(event.user, Math.max(1, (presence.get(event.user) ?? 1) - 1));
    if (event.channel === this.#current) this.#changed();
  }

  #onTyping(event: TypingEvent): void {
    this.#state(event.channel).typing.set(event.user, Date.now() + TYPING_SHOWN_MS);
    if (event.channel === this.#current) this.#changed();
  }

  #expireTyping(): void {
    const state = this.#current ? this.#states.get(this.#current) : undefined;
    if (!state || state.typing.size === 0) return;
    const now = Date.now();
    for (const [user, until] of state.typing) if (until <= now) state.typing.delete(user);
    this.#changed();
  }

  #state(channel: string): ChannelState {
    let state = this.#states.get(channel);
    if (!state) {
      state = { messages: new Map(), hasOlder: false, loaded: false, presence: new Map(), typing: new Map() };
      this.#states.set(channel, state);
    }
    return state;
  }

  /** Runs an action; a failure becomes a visible message instead of an unhandled rejection. */
  async #attempt(action: () => Promise<unknown>): Promise<boolean> {
    try {
      await action();
      return true;
    } catch (error) {
      this.notify(error instanceof Error ? error.message : String(error));
      return false;
    }
  }

  #changed(): void {
    this.#snapshot = null;
    for (const listener of this.#listeners) listener();
  }
}

/** Live-list removals carry only the id. */
function isChannel(item: Channel | { readonly id: string }): item is Channel {
  return 'type' in item;
}

function toMessage(event: ChannelEvent): ChatMessage {
  return {
    seq: event.seq,
    author: event.author,
    text: event.text,
    createdAt: event.createdAt,
    edited: event.editedAt !== null,
    deleted: event.deletedAt !== null,
  };
}

/** How a channel is named in the list: `#general`, or the other people of a DM. */
export function channelLabel(channel: Channel, me: string): string {
  if (channel.type === 'direct') {
    const others = channel.id.slice('dm:'.length).split(',').filter((user) => user !== me);
    return `@${others.join(', @') || me}`;
  }
  if (channel.type === 'inbox') return 'Inbox';
  return `#${channel.title ?? channel.id}`;
}
