import { CLOSE_CODES } from '../../src/core/errors.js';
import { type BackoffOptions, backoffDelay, defaultBackoff } from './backoff.js';
import { ChatApi } from './chat-api.js';
import type { ListChange, ReceiptEvent, StatusEvent, UserState } from './chat-protocol.js';
import { Emitter } from './emitter.js';
import { ClientError, type ClientErrorCode, fatalCloseError, upgradeRefusal, withChannel } from './errors.js';
import { newCid } from './ids.js';
import {
  type Channel,
  type ChannelEvent,
  type ChannelId,
  type ChangeResult,
  type CommandType,
  type Commands,
  type CreateChannelInput,
  type EditInput,
  type HistoryPage,
  type HistoryQuery,
  type Member,
  type MemberRole,
  type PresenceEvent,
  type PresenceMember,
  type PublishInput,
  type PublishResult,
  type Seq,
  type ServerFrame,
  type SubscribeResult,
  type TypingEvent,
  type UserId,
  type Welcome,
  parseServerFrame,
} from './protocol.js';
import { RequestTable } from './request-table.js';
import { type SubscribeOptions, Subscription } from './subscription.js';
import {
  closeSocket,
  messageText,
  OPEN,
  resolveWebSocket,
  type SocketConstructor,
  type SocketLike,
  silence,
  socketUrl,
} from './web-socket.js';

/** A credential, or a function that produces a fresh one for every connection. */
export type CredentialSource = string | (() => string | Promise<string>);

export interface ClientOptions {
  /**
   * The server: `ws://host:8080/ws`, or just `http://host:8080` (the SDK adds `/ws`). In
   * a browser a path such as `/ws` is resolved against the page. A function is asked
   * before every connection, so a client can move to another node (a list of nodes, a
   * drain): `url: () => nodes[next++ % nodes.length]`.
   */
  readonly url: string | (() => string);
  /** `open` mode (development): the name to connect as. */
  readonly user?: string;
  /** An access token (sent in the first frame, never in the URL). */
  readonly token?: CredentialSource;
  /**
   * A single-use connect ticket (goes in the URL). A ticket works once, so pass a
   * function that fetches a new one from your backend if the client should reconnect.
   */
  readonly ticket?: CredentialSource;
  /** How long a request may wait for its reply, reconnects included. Default 10 s. */
  readonly requestTimeoutMs?: number;
  /** How long opening and authenticating one connection may take. Default 10 s. */
  readonly connectTimeoutMs?: number;
  /**
   * Idle time after which the SDK pings the server; no reply within `requestTimeoutMs`
   * means a dead connection, which is dropped and reopened. Default 25 s; 0 turns it off.
   */
  readonly heartbeatMs?: number;
  /** Reconnect delays: full jitter under an exponential, capped ceiling. */
  readonly backoff?: Partial<BackoffOptions>;
  /** A WebSocket implementation to use instead of the global one (or `ws` in Node). */
  readonly WebSocket?: SocketConstructor;
}

/**
 * - `connecting`: the first connection is being opened;
 * - `connected`: authenticated; requests flow;
 * - `reconnecting`: the connection dropped; waiting (backoff) or trying again;
 * - `disconnected`: stopped for good, by `close()` or a fatal close (see `error`).
 */
export type ConnectionState = 'connecting' | 'connected' | 'reconnecting' | 'disconnected';

export interface DisconnectInfo {
  /** The WebSocket close code (1006 when the connection simply broke). */
  readonly code: number;
  readonly reason: string;
  /** False when the client has stopped for good. */
  readonly willReconnect: boolean;
  /** Why it stopped, when it was not `close()`. */
  readonly error: ClientError | null;
}

/** Everything a client emits; listen with `client.on(name, listener)`. */
export interface ClientEvents {
  state: { readonly state: ConnectionState; readonly previous: ConnectionState };
  /** A connection is authenticated (after every reconnect too). */
  connected: Welcome;
  disconnected: DisconnectInfo;
  /** The next attempt starts after `delayMs`; `attempt` counts from 1 since the last success. */
  reconnecting: { readonly attempt: number; readonly delayMs: number };
  /** Every event of every subscription, after the subscription's own handler. */
  event: ChannelEvent;
  presence: PresenceEvent;
  typing: TypingEvent;
  /** A member of a subscribed private channel or DM read up to a seq. */
  receipt: ReceiptEvent;
  /** A contact's or channel mate's status changed. */
  status: StatusEvent;
  /** Your contacts and their states, once after each connect. */
  contacts: readonly UserState[];
  /** A change to a live list (see `chat.followList`, which routes them for you). */
  list: ListChange;
  /** Problems not tied to a request: a fatal close, a subscription that could not be restored. */
  error: ClientError;
}

interface ResolvedOptions {
  readonly url: string | (() => string);
  readonly user: string | undefined;
  readonly token: CredentialSource | undefined;
  readonly ticket: CredentialSource | undefined;
  readonly requestTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly heartbeatMs: number;
  readonly backoff: BackoffOptions;
  readonly WebSocket: SocketConstructor | undefined;
}

/** Requests that may be sent again when the connection dropped before their reply. */
const REPEATABLE: ReadonlySet<CommandType> = new Set<CommandType>([
  'ping',
  'channel.get',
  'channel.list',
  'channel.join',
  'members.list',
  'history',
  'presence',
  'publish',
  'subscribe',
  // Chat features: reads, and writes that change nothing when repeated.
  'dm.list',
  'contacts.list',
  'status.set',
  'read.mark',
  'read.get',
  'catchup',
  'reaction.add',
  'reaction.remove',
  'reactions.get',
  'thread',
  'search',
  'list.subscribe',
]);

/** Failures to restore a subscription that another connection may not have. */
const TRANSIENT: ReadonlySet<ClientErrorCode> = new Set<ClientErrorCode>([
  'timeout',
  'unavailable',
  'internal',
  'rate_limited',
  'conflict',
]);

/** The close code the SDK uses when it drops a connection itself (dead, or stuck). */
const CLIENT_DROP = 4000;

/**
 * A Switchboard connection that heals itself: it reconnects with backoff, restores
 * subscriptions from the last seen seq, and repeats publishes in flight with their cid.
 * Create it with {@link createClient}.
 */
export class SwitchboardClient {
  readonly #options: ResolvedOptions;
  readonly #emitter = new Emitter<ClientEvents>();
  readonly #requests: RequestTable;
  readonly #subscriptions = new Map<ChannelId, Subscription>();
  #state: ConnectionState = 'connecting';
  #socket: SocketLike | null = null;
  #authenticated = false;
  #welcome: Welcome | null = null;
  /** Bumped for each connection attempt; callbacks of an older one do nothing. */
  #generation = 0;
  #attempt = 0;
  #reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  #connectTimer: ReturnType<typeof setTimeout> | null = null;
  #heartbeatTimer: ReturnType<typeof setTimeout> | null = null;
  /** The error frame the server sent just before a fatal close. */
  #serverError: ClientError | null = null;
  /** The server refused the upgrade itself (an HTTP status `ws` reports): stop. */
  #refusal: ClientError | null = null;
  /** The server's `close` notice (e.g. "server shutting down"), before its close frame. */
  #notice: { readonly reason: string; readonly reconnect: boolean; readonly spreadMs?: number } | null = null;
  /** A draining server's window to spread our next reconnect over (from its close notice). */
  #spreadMs = 0;
  #stopError: ClientError | null = null;
  #closing: Promise<void> | null = null;
  #chat: ChatApi | null = null;

  constructor(options: ClientOptions) {
    const credentials = [options.user, options.token, options.ticket].filter((c) => c !== undefined);
    if (credentials.length !== 1) throw new TypeError('Pass exactly one of `user`, `token` or `ticket`.');
    // A malformed URL fails here, once, rather than on every retry.
    if (typeof options.url === 'string') socketUrl(options.url, {});
    this.#options = {
      url: options.url,
      user: options.user,
      token: options.token,
      ticket: options.ticket,
      requestTimeoutMs: options.requestTimeoutMs ?? 10_000,
      connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
      heartbeatMs: options.heartbeatMs ?? 25_000,
      backoff: { ...defaultBackoff, ...options.backoff },
      WebSocket: options.WebSocket,
    };
    this.#requests = new RequestTable((frame, bound) => this.#transmit(frame, bound));
    void this.#connect();
  }

  // --- state and events -------------------------------------------------------------

  get state(): ConnectionState {
    return this.#state;
  }

  /** Who the server says we are, once connected. */
  get welcome(): Welcome | null {
    return this.#welcome;
  }

  /** The chat features: DMs, contacts, read state, reactions, threads, search, live lists. */
  get chat(): ChatApi {
    return (this.#chat ??= new ChatApi(this));
  }

  /** The subscription to a channel, if there is one. */
  subscription(channel: ChannelId): Subscription | undefined {
    return this.#subscriptions.get(channel);
  }

  /**
   * Listens to a client event; returns a function that stops listening.
   *
   * @example
   * client.on('state', ({ state }) => (banner.textContent = state));
   * client.on('error', (error) => console.warn(error.code, error.message));
   */
  on<K extends keyof ClientEvents>(name: K, listener: (payload: ClientEvents[K]) => void): () => void {
    return this.#emitter.on(name, listener);
  }

  once<K extends keyof ClientEvents>(name: K, listener: (payload: ClientEvents[K]) => void): () => void {
    return this.#emitter.once(name, listener);
  }

  off<K extends keyof ClientEvents>(name: K, listener: (payload: ClientEvents[K]) => void): void {
    this.#emitter.off(name, listener);
  }

  /**
   * Resolves once the client is connected (at once if it is). Rejects if it stops for
   * good first, or after `timeoutMs`. Requests do not need it: they wait for a connection.
   */
  ready(timeoutMs = this.#options.requestTimeoutMs): Promise<Welcome> {
    if (this.#state === 'connected' && this.#welcome) return Promise.resolve(this.#welcome);
    if (this.#state === 'disconnected') return Promise.reject(this.#closedError('ready'));
    return new Promise((resolve, reject) => {
      const done = () => {
        offConnected();
        offDisconnected();
        clearTimeout(timer);
      };
      const offConnected = this.on('connected', (welcome) => {
        done();
        resolve(welcome);
      });
      const offDisconnected = this.on('disconnected', (info) => {
        if (info.willReconnect) return;
        done();
        reject(info.error ?? this.#closedError('ready'));
      });
      const timer = setTimeout(() => {
        done();
        reject(new ClientError('timeout', `Not connected within ${timeoutMs} ms.`, { request: 'ready' }));
      }, timeoutMs);
    });
  }

  // --- commands -----------------------------------------------------------------------

  /**
   * Sends any protocol command and resolves with its result. The named methods below
   * are friendlier; this is the escape hatch for commands newer than the SDK.
   */
  request<K extends CommandType>(
    type: K,
    params: Commands[K]['params'],
    options: { timeoutMs?: number } = {},
  ): Promise<Commands[K]['result']> {
    if (this.#state === 'disconnected') return Promise.reject(this.#closedError(type));
    return this.#requests.add<Commands[K]['result']>(type, params, {
      timeoutMs: options.timeoutMs ?? this.#options.requestTimeoutMs,
      repeatable: REPEATABLE.has(type),
      retryLater: type === 'publish',
    });
  }

  /** Round trip to the server; resolves with the server's clock. */
  ping(): Promise<{ at: number }> {
    return this.request('ping', {});
  }

  /**
   * Creates a channel.
   *
   * @example
   * await client.createChannel({ channel: 'support', type: 'public', title: 'Support' });
   * const dm = await client.createChannel({ type: 'direct', members: ['bob'] }); // dm.id === 'dm:alice,bob'
   */
  createChannel(input: CreateChannelInput): Promise<Channel> {
    const { type, ...rest } = input;
    return this.request('channel.create', { ...rest, channelType: type });
  }

  getChannel(channel: ChannelId): Promise<Channel> {
    return this.request('channel.get', { channel });
  }

  /** Public channels and yours, by id; page with `after` (the last id of the previous page). */
  async listChannels(query: { after?: ChannelId; limit?: number } = {}): Promise<Channel[]> {
    return (await this.request('channel.list', query)).channels;
  }

  /** Joins a public channel (as a member). Joining twice is harmless. */
  joinChannel(channel: ChannelId): Promise<Member> {
    return this.request('channel.join', { channel });
  }

  async leaveChannel(channel: ChannelId): Promise<void> {
    await this.request('channel.leave', { channel });
  }

  async listMembers(channel: ChannelId): Promise<Member[]> {
    return (await this.request('members.list', { channel })).members;
  }

  addMember(channel: ChannelId, user: UserId, role?: MemberRole): Promise<Member> {
    return this.request('members.add', { channel, user, role });
  }

  async removeMember(channel: ChannelId, user: UserId): Promise<void> {
    await this.request('members.remove', { channel, user });
  }

  /**
   * Follows a channel. The handler sees each event exactly once and in seq order, also
   * across reconnects and server restarts. Resolves once the server has confirmed (after
   * replaying the events after `since`, if given).
   *
   * @example
   * const sub = await client.subscribe('support', (event) => render(event));
   * // or resume where the app left off, with presence and typing:
   * const sub = await client.subscribe('support', {
   *   since: savedSeq,
   *   onEvent: render,
   *   onTyping: ({ user }) => showTyping(user),
   * });
   * await sub.unsubscribe();
   */
  async subscribe(
    channel: ChannelId,
    handler: ((event: ChannelEvent) => void) | SubscribeOptions,
  ): Promise<Subscription> {
    if (this.#state === 'disconnected') throw this.#closedError('subscribe');
    if (this.#subscriptions.has(channel)) {
      throw new ClientError('conflict', `Already subscribed to ${channel}.`, { request: 'subscribe' });
    }
    const options: SubscribeOptions = typeof handler === 'function' ? { onEvent: handler } : handler;
    const subscription = new Subscription(channel, options, (sub) => this.#unsubscribe(sub));
    this.#subscriptions.set(channel, subscription);
    try {
      // Sent again after a drop from what was delivered meanwhile, so no live event slips between.
      const result = await this.#requests.add<SubscribeResult>(
        'subscribe',
        () => ({ channel, since: subscription.lastSeq ?? undefined, presence: subscription.wantsPresence }),
        { timeoutMs: options.timeoutMs ?? this.#options.requestTimeoutMs, repeatable: true },
      );
      this.#onSubscribed(subscription, result);
      if (subscription.closed) throw this.#closedError('subscribe');
      return subscription;
    } catch (error) {
      this.#forget(subscription);
      subscription.end();
      throw error;
    }
  }

  /**
   * Publishes a message. It is sent again with the same `cid` if the connection drops
   * before the reply, so it is stored once and the promise resolves once, with its seq.
   *
   * @example
   * const { seq } = await client.publish('support', 'hello');
   * await client.publish('support', { text: 'see this', data: { url }, replyTo: seq });
   */
  publish(channel: ChannelId, message: string | PublishInput): Promise<PublishResult> {
    const input: PublishInput = typeof message === 'string' ? { text: message } : message;
    return this.request('publish', { channel, ...input, cid: input.cid ?? newCid() });
  }

  /** Changes a message's text or data (author or admin only). */
  editMessage(channel: ChannelId, seq: Seq, change: string | EditInput): Promise<ChangeResult> {
    const input: EditInput = typeof change === 'string' ? { text: change } : change;
    return this.request('edit', { channel, seq, ...input });
  }

  /** Turns a message into a tombstone (author or admin only). */
  deleteMessage(channel: ChannelId, seq: Seq): Promise<ChangeResult> {
    return this.request('delete', { channel, seq });
  }

  /**
   * A page of messages in their current state, oldest first.
   *
   * @example
   * let page = await client.history('support', { limit: 50 });          // newest 50
   * page = await client.history('support', { before: page.events[0].seq }); // the 50 before
   */
  history(channel: ChannelId, query: HistoryQuery = {}): Promise<HistoryPage> {
    return this.request('history', { channel, ...query });
  }

  /** Who is subscribed to a channel now, with their number of sessions. */
  async presence(channel: ChannelId): Promise<PresenceMember[]> {
    return (await this.request('presence', { channel })).members;
  }

  /** Tells the channel's other subscribers you are typing (needs a subscription). */
  async typing(channel: ChannelId): Promise<void> {
    await this.request('typing', { channel });
  }

  /**
   * Closes the connection and stops reconnecting. Pending requests reject with
   * `closed`; no timer is left running. Safe to call twice.
   */
  close(): Promise<void> {
    if (this.#closing) return this.#closing;
    const socket = this.#socket;
    this.#stop(new ClientError('closed', 'The client was closed.'), null);
    this.#closing = socket ? closeSocket(socket) : Promise.resolve();
    return this.#closing;
  }

  // --- connection ---------------------------------------------------------------------

  async #connect(): Promise<void> {
    const generation = ++this.#generation;
    let url: string;
    let token: string | undefined;
    let WebSocketImpl: SocketConstructor;
    try {
      WebSocketImpl = this.#options.WebSocket ?? (await resolveWebSocket());
    } catch (error) {
      if (generation === this.#generation) this.#stop(new ClientError('closed', (error as Error).message), null);
      return;
    }
    try {
      const ticket = this.#options.ticket === undefined ? undefined : await credential(this.#options.ticket);
      token = this.#options.token === undefined ? undefined : await credential(this.#options.token);
      const base = typeof this.#options.url === 'function' ? this.#options.url() : this.#options.url;
      url = socketUrl(base, { user: this.#options.user, ticket });
    } catch (error) {
      if (generation !== this.#generation || this.#state === 'disconnected') return;
      const reason = `Cannot get credentials: ${error instanceof Error ? error.message : String(error)}`;
      this.#emitter.emit('error', new ClientError('unauthorized', reason));
      this.#retry(1006);
      return;
    }
    if (generation !== this.#generation || this.#state === 'disconnected') return;

    let socket: SocketLike;
    try {
      socket = new WebSocketImpl(url);
    } catch (error) {
      this.#stop(new ClientError('bad_request', `Cannot open ${url}: ${(error as Error).message}`), null);
      return;
    }
    this.#socket = socket;
    this.#serverError = null;
    this.#refusal = null;
    this.#notice = null;
    this.#connectTimer = setTimeout(() => {
      this.#connectTimer = null;
      this.#dropConnection(`not connected within ${this.#options.connectTimeoutMs} ms`);
    }, this.#options.connectTimeoutMs);
    socket.onopen = () => {
      if (this.#socket === socket && token !== undefined) this.#authenticate(socket, token);
    };
    socket.onmessage = (event) => {
      if (this.#socket === socket) this.#onFrame(messageText(event.data));
    };
    socket.onclose = (event) => {
      if (this.#socket === socket) this.#onClosed(event.code, event.reason);
    };
    // Every error is followed by a close event, which does the work. In Node, `ws` also says
    // why an upgrade was refused; a browser cannot see the HTTP status, and retries instead.
    socket.onerror = (event) => {
      if (this.#socket === socket) this.#refusal = upgradeRefusal(event) ?? this.#refusal;
    };
  }

  #authenticate(socket: SocketLike, token: string): void {
    this.#requests
      .add<Welcome>('auth', { token }, { timeoutMs: this.#options.connectTimeoutMs, repeatable: false, bound: true })
      .then(
        (welcome) => {
          if (this.#socket === socket) this.#onAuthenticated(welcome);
        },
        (error: ClientError) => {
          if (this.#socket !== socket || error.code === 'connection_lost') return;
          if (error.code === 'timeout') this.#dropConnection('no reply to auth');
          // A draining node (or a store that is briefly down) refuses for now, not for good.
          else if (error.code === 'unavailable' || error.code === 'internal') this.#dropConnection(error.message);
          else this.#dropConnection(error.message, error);
        },
      );
  }

  #onAuthenticated(welcome: Welcome): void {
    if (this.#connectTimer !== null) clearTimeout(this.#connectTimer);
    this.#connectTimer = null;
    this.#authenticated = true;
    this.#welcome = welcome;
    this.#attempt = 0;
    for (const subscription of this.#subscriptions.values()) {
      if (subscription.confirmed) this.#restore(subscription);
    }
    this.#requests.flush();
    this.#scheduleHeartbeat();
    this.#setState('connected');
    this.#emitter.emit('connected', welcome);
  }

  #transmit(frame: string, bound: boolean): boolean {
    const socket = this.#socket;
    if (!socket || socket.readyState !== OPEN || (!bound && !this.#authenticated)) return false;
    try {
      socket.send(frame);
      return true;
    } catch {
      return false;
    }
  }

  #onFrame(text: string): void {
    const frame = parseServerFrame(text);
    if (!frame) return;
    switch (frame.type) {
      case 'ok':
      case 'error':
        if (frame.type === 'error' && frame.id === null) {
          // Sent just before the server closes for a reason the close frame cannot carry in full.
          this.#serverError = new ClientError(frame.code as ClientErrorCode, frame.message, { details: frame.details });
          return;
        }
        this.#requests.onReply(frame);
        return;
      case 'welcome': {
        const { type: _, ...welcome } = frame;
        this.#onAuthenticated(welcome);
        return;
      }
      case 'event': {
        const { type: _, ...event } = frame;
        this.#onEvent(event);
        return;
      }
      case 'presence': {
        const { type: _, ...event } = frame;
        this.#subscriptions.get(event.channel)?.presence(event);
        this.#emitter.emit('presence', event);
        return;
      }
      case 'typing': {
        const { type: _, ...event } = frame;
        this.#subscriptions.get(event.channel)?.typing(event);
        this.#emitter.emit('typing', event);
        return;
      }
      case 'receipt': {
        const { type: _, ...event } = frame;
        this.#subscriptions.get(event.channel)?.receipt(event);
        this.#emitter.emit('receipt', event);
        return;
      }
      case 'status': {
        const { type: _, ...event } = frame;
        this.#emitter.emit('status', event);
        return;
      }
      case 'contacts':
        this.#emitter.emit('contacts', frame.contacts);
        return;
      case 'list': {
        const { type: _, ...change } = frame;
        this.#emitter.emit('list', change);
        return;
      }
      case 'close':
        this.#notice = { reason: frame.reason, reconnect: frame.reconnect, spreadMs: frame.spreadMs };
        return;
      default:
        return exhausted(frame);
    }
  }

  #onEvent(event: ChannelEvent): void {
    const subscription = this.#subscriptions.get(event.channel);
    if (!subscription) return;
    const outcome = subscription.offer(event);
    if (outcome === 'delivered') this.#emitter.emit('event', event);
    else if (outcome === 'gap' && subscription.live && !subscription.resyncing) void this.#resync(subscription);
  }

  #onClosed(code: number, reason: string, fatal: ClientError | null = null): void {
    const serverError = this.#serverError;
    const refusal = this.#refusal;
    const notice = this.#notice;
    this.#detachSocket();
    this.#requests.onConnectionLost();
    const closeReason = reason || notice?.reason || '';
    const stop = fatal ?? refusal ?? this.#fatalClose(code, closeReason, serverError, notice);
    if (stop) {
      this.#stop(stop, { code, reason: closeReason });
      return;
    }
    this.#spreadMs = code === CLOSE_CODES.reconnect && typeof notice?.spreadMs === 'number' ? Math.min(notice.spreadMs, 600_000) : 0;
    this.#emitter.emit('disconnected', { code, reason: closeReason, willReconnect: true, error: null });
    if (this.#state !== 'disconnected') this.#retry(code);
  }

  /** Why a close must be the last one, or null to reconnect. */
  #fatalClose(
    code: number,
    reason: string,
    serverError: ClientError | null,
    notice: { readonly reconnect: boolean } | null,
  ): ClientError | null {
    const byCode = fatalCloseError(code, reason);
    // The error frame sent just before says more than the close code ("bad user name").
    if (byCode) return serverError ?? byCode;
    if (notice?.reconnect === false) return new ClientError('closed', reason || 'The server asked us not to reconnect.');
    return null;
  }

  /** Waits (backoff with full jitter), then connects again. */
  #retry(code: number): void {
    if (this.#state === 'disconnected' || this.#reconnectTimer !== null) return;
    let delayMs = backoffDelay(this.#attempt, this.#options.backoff);
    // Flooding clients are told to pause, not to come straight back.
    if (code === CLOSE_CODES.rateLimited) delayMs = Math.max(delayMs, this.#options.backoff.maxDelayMs / 2);
    // A draining node asked its clients to spread out: a uniform delay over its window, once.
    if (this.#spreadMs > 0) delayMs = Math.floor(this.#options.backoff.random() * this.#spreadMs);
    this.#spreadMs = 0;
    this.#attempt++;
    this.#setState('reconnecting');
    this.#emitter.emit('reconnecting', { attempt: this.#attempt, delayMs });
    if (this.#state !== 'reconnecting') return;
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = null;
      void this.#connect();
    }, delayMs);
  }

  /** Drops the current connection from our side (dead, stuck, or refused). */
  #dropConnection(reason: string, fatal: ClientError | null = null): void {
    const socket = this.#socket;
    if (!socket) return;
    silence(socket);
    try {
      socket.close(fatal ? CLOSE_CODES.normal : CLIENT_DROP, reason.slice(0, 120));
    } catch {
      // Already closing.
    }
    this.#onClosed(fatal ? CLOSE_CODES.normal : 1006, reason, fatal);
  }

  #detachSocket(): void {
    if (this.#connectTimer !== null) clearTimeout(this.#connectTimer);
    if (this.#heartbeatTimer !== null) clearTimeout(this.#heartbeatTimer);
    this.#connectTimer = null;
    this.#heartbeatTimer = null;
    this.#socket = null;
    this.#authenticated = false;
    for (const subscription of this.#subscriptions.values()) {
      subscription.live = false;
      subscription.resyncing = false;
    }
  }

  /** Stops for good: by close() (info null) or after a fatal close. */
  #stop(error: ClientError, info: { code: number; reason: string } | null): void {
    if (this.#state === 'disconnected') return;
    this.#generation++;
    this.#stopError = error;
    if (this.#reconnectTimer !== null) clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = null;
    const socket = this.#socket;
    this.#detachSocket();
    if (socket && info === null) silence(socket);
    this.#requests.failAll(error);
    const subscriptions = [...this.#subscriptions.values()];
    this.#subscriptions.clear();
    this.#setState('disconnected');
    if (info === null) {
      for (const subscription of subscriptions) subscription.end();
      const info = { code: CLOSE_CODES.normal, reason: error.message, willReconnect: false, error: null };
      this.#emitter.emit('disconnected', info);
      return;
    }
    for (const subscription of subscriptions) subscription.fail(error);
    this.#emitter.emit('error', error);
    this.#emitter.emit('disconnected', { ...info, willReconnect: false, error });
  }

  #setState(state: ConnectionState): void {
    const previous = this.#state;
    if (previous === state) return;
    this.#state = state;
    this.#emitter.emit('state', { state, previous });
  }

  #closedError(request: string): ClientError {
    const cause = this.#stopError;
    return new ClientError(cause?.code ?? 'closed', cause?.message ?? 'The client was closed.', { request });
  }

  #scheduleHeartbeat(): void {
    if (this.#options.heartbeatMs <= 0) return;
    const socket = this.#socket;
    this.#heartbeatTimer = setTimeout(() => {
      this.#heartbeatTimer = null;
      this.#requests
        .add('ping', {}, { timeoutMs: this.#options.requestTimeoutMs, repeatable: false, bound: true })
        .then(
          () => {
            if (this.#socket === socket && this.#authenticated) this.#scheduleHeartbeat();
          },
          (error: ClientError) => {
            if (this.#socket === socket && error.code !== 'connection_lost') this.#dropConnection('no reply to ping');
          },
        );
    }, this.#options.heartbeatMs);
  }

  // --- subscriptions ------------------------------------------------------------------

  #onSubscribed(subscription: Subscription, result: SubscribeResult): void {
    if (subscription.closed) {
      // Unsubscribed (or closed) while the server was subscribing: undo it there.
      if (this.#authenticated) void this.#sendUnsubscribe(subscription.channel);
      return;
    }
    subscription.live = true;
    subscription.resyncing = false;
    subscription.onSubscribed(result.seq);
  }

  /** Subscribes again on a new connection, from the last seq the app saw. */
  #restore(subscription: Subscription): void {
    const socket = this.#socket;
    const since = subscription.lastSeq ?? undefined;
    this.#requests
      .add<SubscribeResult>(
        'subscribe',
        { channel: subscription.channel, since, presence: subscription.wantsPresence },
        { timeoutMs: this.#options.requestTimeoutMs, repeatable: false, bound: true },
      )
      .then(
        (result) => {
          if (this.#socket === socket) this.#onSubscribed(subscription, result);
        },
        (error: ClientError) => {
          if (this.#socket === socket) this.#onRestoreFailed(subscription, error);
        },
      );
  }

  #onRestoreFailed(subscription: Subscription, error: ClientError): void {
    if (subscription.closed || error.code === 'connection_lost') return;
    if (error.code === 'retention_exceeded') {
      // The events are gone for good: say so, and carry on live from now.
      this.#emitter.emit('error', withChannel(error, subscription.channel));
      subscription.restartLive();
      this.#restore(subscription);
      return;
    }
    if (TRANSIENT.has(error.code)) {
      this.#dropConnection(`cannot restore ${subscription.channel}: ${error.message}`);
      return;
    }
    this.#forget(subscription);
    const failure = withChannel(error, subscription.channel);
    subscription.fail(failure);
    this.#emitter.emit('error', failure);
  }

  /** Events went missing (which the server promises never happens): fetch them again. */
  async #resync(subscription: Subscription): Promise<void> {
    const socket = this.#socket;
    subscription.resyncing = true;
    subscription.live = false;
    const stillOurs = await this.#sendUnsubscribe(subscription.channel);
    if (stillOurs && this.#socket === socket && !subscription.closed) this.#restore(subscription);
  }

  async #unsubscribe(subscription: Subscription): Promise<void> {
    this.#forget(subscription);
    // Not live here: nothing to undo (the server forgets subscriptions with the connection),
    // or a (re)subscribe is in flight and #onSubscribed undoes it.
    if (!subscription.live || !this.#authenticated) return;
    subscription.live = false;
    await this.#sendUnsubscribe(subscription.channel);
  }

  /** Removes a subscription from the map, unless another has taken its channel since. */
  #forget(subscription: Subscription): void {
    const { channel } = subscription;
    if (this.#subscriptions.get(channel) === subscription) this.#subscriptions.delete(channel);
  }

  /** False when the connection dropped first. */
  async #sendUnsubscribe(channel: ChannelId): Promise<boolean> {
    try {
      await this.#requests.add('unsubscribe', { channel }, {
        timeoutMs: this.#options.requestTimeoutMs,
        repeatable: false,
        bound: true,
      });
      return true;
    } catch (error) {
      return (error as ClientError).code === 'not_found';
    }
  }
}

/**
 * Creates a client and starts connecting. Requests made before the connection is up
 * wait for it.
 *
 * @example
 * // Browser (a ticket from your backend each time it connects):
 * const client = createClient({ url: '/ws', ticket: () => fetch('/ticket').then((r) => r.text()) });
 * // Node (uses the `ws` package):
 * const client = createClient({ url: 'ws://localhost:8080/ws', user: 'alice' });
 */
export function createClient(options: ClientOptions): SwitchboardClient {
  return new SwitchboardClient(options);
}

function credential(source: CredentialSource): Promise<string> | string {
  return typeof source === 'function' ? source() : source;
}

/** Compile-time check that every server frame type is handled; new ones are ignored at run time. */
function exhausted(frame: never): void {
  void frame;
}
