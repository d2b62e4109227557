import { CLOSE_CODES } from '../../protocol/codes.js';
import { type BackoffOptions, backoffDelay, defaultBackoff } from './backoff.js';
import type { Emitter } from './emitter.js';
import { ClientError, fatalCloseError, upgradeRefusal } from './errors.js';
import type { ClientEvents, ConnectionState } from './events.js';
import { type DeliveredFrame, decodeServerFrame, type Encoding, encodeRequest, type RequestFrame } from './frames.js';
import type { Welcome } from './protocol.js';
import { RequestTable } from './request-table.js';
import {
  closeSocket,
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
  /**
   * Where a fresh access token comes from when the session's credential is about to
   * expire: the SDK asks shortly before and sends it with `auth.refresh`, so the session
   * (and every subscription on it) goes on. Default: `token`, when that is a function.
   * Give it with `ticket` (a ticket's session ends with the token it was made with).
   */
  readonly refreshToken?: () => string | Promise<string>;
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
  /**
   * How frames travel: `json` (text frames, the default) or `msgpack` (MessagePack in
   * binary frames: fewer bytes, the same values). Asked for in the URL
   * (`?encoding=msgpack`); the app sees the same events and results either way.
   */
  readonly encoding?: Encoding;
  /**
   * Handed to the app's connect hook with every connection (docs/backend-hooks.md). With
   * it, `user`, `token` and `ticket` may all be left out: the backend decides who connects.
   */
  readonly authData?: unknown;
}

export interface SendOptions {
  /** Default: the client's `requestTimeoutMs`. */
  readonly timeoutMs?: number | undefined;
  /** Sent again on the next connection if this one drops before the reply (else `connection_lost`). */
  readonly repeatable: boolean;
  /** Sent again after a pause when answered `unavailable` or `rate_limited`. */
  readonly retryLater?: boolean;
  /** Belongs to the current connection: goes out before it is authenticated, fails with it. */
  readonly bound?: boolean;
}

/** What the connection tells its owner (the client), besides the events it emits. */
export interface ConnectionHooks {
  /** A connection authenticated: restore what lived on the previous one. Runs before queued requests go out. */
  readonly opened: () => void;
  /** A frame the server pushed: events, presence, notices ... */
  readonly pushed: (frame: DeliveredFrame) => void;
  /** The connection ended; nothing lives on it any more. */
  readonly lost: () => void;
  /** The last seq seen per server-side subscription, sent with `auth` so they resume without a gap. */
  readonly positions?: () => Readonly<Record<string, number>>;
  /** The channel epoch each of those positions is in, where known (sent with them: a deleted epoch starts over). */
  readonly epochs?: () => Readonly<Record<string, number>>;
  /** Stopped for good: `error` is null after `close()`. Runs before `error` and `disconnected` are emitted. */
  readonly stopped: (error: ClientError | null) => void;
}

interface ResolvedOptions {
  readonly url: string | (() => string);
  readonly user: string | undefined;
  readonly token: CredentialSource | undefined;
  readonly ticket: CredentialSource | undefined;
  readonly refreshToken: (() => string | Promise<string>) | undefined;
  readonly requestTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly heartbeatMs: number;
  readonly backoff: BackoffOptions;
  readonly WebSocket: SocketConstructor | undefined;
  readonly encoding: Encoding;
  readonly authData: unknown;
}

/** The server's `close` notice, sent just before its close frame. */
interface CloseNotice {
  readonly reason: string;
  readonly reconnect: boolean;
  readonly spreadMs?: number | undefined;
}

/** The close code the SDK uses when it drops a connection itself (dead, or stuck). */
const CLIENT_DROP = 4000;
/** The longest a refresh is asked for ahead of the session's end. */
const REFRESH_AHEAD_MS = 30_000;
/** A refresh is not tried again closer to the end than this. */
const MIN_REFRESH_RETRY_MS = 200;
/** Refusals of `auth` that say "not now" rather than "not you": the client comes back later. */
const AUTH_NOT_NOW: ReadonlySet<string> = new Set(['unavailable', 'internal', 'rate_limited', 'too_many_sessions']);
/** The longest spread a draining server may ask a client to wait. */
const MAX_SPREAD_MS = 600_000;

/**
 * One logical connection to a server, kept open across many sockets: it opens a socket,
 * authenticates, pings when idle, and after a drop reconnects with full-jitter backoff
 * unless the close code says to stop. Requests wait in a table for a connection that can
 * take them and settle exactly once; what is resent after a drop is the caller's
 * `repeatable`. It knows no command but `auth` and `ping`.
 */
export class Connection {
  readonly #options: ResolvedOptions;
  readonly #events: Emitter<ClientEvents>;
  readonly #hooks: ConnectionHooks;
  readonly #requests: RequestTable;
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
  #refreshTimer: ReturnType<typeof setTimeout> | null = null;
  /** The token this connection authenticated with (for its `exp` when the server does not say). */
  #token: string | undefined;
  /** When the current session ends unless refreshed (epoch ms, the server's); null: never or unknown. */
  #expiresAt: number | null = null;
  /** The error frame the server sent just before a fatal close. */
  #serverError: ClientError | null = null;
  /** The server refused the upgrade itself (an HTTP status `ws` reports): stop. */
  #refusal: ClientError | null = null;
  #notice: CloseNotice | null = null;
  /** A draining server's window to spread our next reconnect over (from its close notice). */
  #spreadMs = 0;
  #stopError: ClientError | null = null;
  #closing: Promise<void> | null = null;

  constructor(options: ClientOptions, events: Emitter<ClientEvents>, hooks: ConnectionHooks) {
    const credentials = [options.user, options.token, options.ticket].filter((c) => c !== undefined);
    if (credentials.length > 1 || (credentials.length === 0 && options.authData === undefined)) {
      throw new TypeError('Pass exactly one of `user`, `token` or `ticket` (or only `authData`, for a connect hook).');
    }
    if (options.encoding !== undefined && options.encoding !== 'json' && options.encoding !== 'msgpack') {
      throw new TypeError('`encoding` is `json` or `msgpack`.');
    }
    // A malformed URL fails here, once, rather than on every retry.
    if (typeof options.url === 'string') socketUrl(options.url, {});
    this.#options = {
      url: options.url,
      user: options.user,
      token: options.token,
      ticket: options.ticket,
      refreshToken: options.refreshToken ?? (typeof options.token === 'function' ? options.token : undefined),
      requestTimeoutMs: options.requestTimeoutMs ?? 10_000,
      connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
      heartbeatMs: options.heartbeatMs ?? 25_000,
      backoff: { ...defaultBackoff, ...options.backoff },
      WebSocket: options.WebSocket,
      encoding: options.encoding ?? 'json',
      authData: options.authData,
    };
    this.#events = events;
    this.#hooks = hooks;
    this.#requests = new RequestTable((frame, bound) => this.#transmit(frame, bound));
  }

  get state(): ConnectionState {
    return this.#state;
  }

  get welcome(): Welcome | null {
    return this.#welcome;
  }

  /** Authenticated now: requests flow. */
  get authenticated(): boolean {
    return this.#authenticated;
  }

  /** Changes with every connection attempt: a reply seen under another epoch belongs to an old socket. */
  get epoch(): number {
    return this.#generation;
  }

  get requestTimeoutMs(): number {
    return this.#options.requestTimeoutMs;
  }

  /** Opens the first connection. */
  start(): void {
    void this.#connect();
  }

  /** Resolves once connected (at once if it is); rejects if it stops for good first, or after `timeoutMs`. */
  ready(timeoutMs = this.#options.requestTimeoutMs): Promise<Welcome> {
    if (this.#state === 'connected' && this.#welcome) return Promise.resolve(this.#welcome);
    if (this.#state === 'disconnected') return Promise.reject(this.closedError('ready'));
    return new Promise((resolve, reject) => {
      const done = () => {
        offConnected();
        offDisconnected();
        clearTimeout(timer);
      };
      const offConnected = this.#events.on('connected', (welcome) => {
        done();
        resolve(welcome);
      });
      const offDisconnected = this.#events.on('disconnected', (info) => {
        if (info.willReconnect) return;
        done();
        reject(info.error ?? this.closedError('ready'));
      });
      const timer = setTimeout(() => {
        done();
        reject(new ClientError('timeout', `Not connected within ${timeoutMs} ms.`, { request: 'ready' }));
      }, timeoutMs);
    });
  }

  /**
   * Sends a request when a connection can take it and resolves with its result. `input`
   * may be a function, called at each send, for fields that depend on what happened
   * meanwhile (a resubscribe's `since`).
   */
  send<T>(name: string, input: object | (() => object), options: SendOptions): Promise<T> {
    if (this.#state === 'disconnected') return Promise.reject(this.closedError(name));
    return this.#requests.add<T>(name, input, {
      timeoutMs: options.timeoutMs ?? this.#options.requestTimeoutMs,
      repeatable: options.repeatable,
      retryLater: options.retryLater,
      bound: options.bound,
    });
  }

  /**
   * Skips the wait before the next reconnect attempt (a "retry now" button): connects at
   * once and counts the backoff from the start again. False when there is no wait to skip
   * (connected, an attempt already under way, or stopped).
   *
   * @example
   * retryButton.onclick = () => connection.reconnectNow();
   */
  reconnectNow(): boolean {
    if (this.#state !== 'reconnecting' || this.#reconnectTimer === null) return false;
    clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = null;
    this.#attempt = 0;
    void this.#connect();
    return true;
  }

  /**
   * Sends a new access token for the live session (`auth.refresh`): the session then ends
   * at that token's expiry instead. The SDK does this by itself before expiry when it has
   * `refreshToken` (or `token` as a function); call it when the app gets a token first.
   */
  async refresh(token: string): Promise<{ user: string; expiresAt: number | null }> {
    const socket = this.#socket;
    const result = await this.send<{ user: string; expiresAt: number | null }>(
      'auth.refresh',
      { token },
      { repeatable: false, bound: true },
    );
    if (this.#socket === socket) {
      this.#token = token;
      this.#expiresAt = result.expiresAt;
      this.#scheduleRefresh();
    }
    return result;
  }

  /** Drops the current socket from our side; the connection then reconnects as after any drop. */
  drop(reason: string): void {
    this.#dropConnection(reason);
  }

  /**
   * Closes the socket and stops reconnecting. Pending requests reject with `closed`; no
   * timer is left running. Safe to call twice.
   */
  close(): Promise<void> {
    if (this.#closing) return this.#closing;
    const socket = this.#socket;
    this.#stop(new ClientError('closed', 'The client was closed.'), null);
    this.#closing = socket ? closeSocket(socket) : Promise.resolve();
    return this.#closing;
  }

  /** The error a request gets once the connection has stopped: why it stopped. */
  closedError(request: string): ClientError {
    const cause = this.#stopError;
    return new ClientError(cause?.code ?? 'closed', cause?.message ?? 'The client was closed.', { request });
  }

  /**
   * Where and how plain HTTP requests of this client go (uploads): the server's origin,
   * and the credential as headers. A connect ticket works once, on /ws, so a client
   * signed in with one has none to give.
   */
  async httpAccess(): Promise<{ readonly origin: string; readonly headers: Record<string, string> }> {
    const base = typeof this.#options.url === 'function' ? this.#options.url() : this.#options.url;
    const url = new URL(socketUrl(base, {}));
    url.protocol = url.protocol === 'wss:' ? 'https:' : 'http:';
    if (this.#options.user !== undefined) return { origin: url.origin, headers: { 'X-Switchboard-User': this.#options.user } };
    if (this.#options.token !== undefined) {
      return { origin: url.origin, headers: { Authorization: `Bearer ${await credential(this.#options.token)}` } };
    }
    throw new ClientError('unauthorized', 'Uploads need the client signed in with `user` or `token`: a connect ticket works once, on /ws.');
  }

  // --- opening and authenticating -----------------------------------------------------

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
      const encoding = this.#options.encoding === 'json' ? undefined : this.#options.encoding;
      url = socketUrl(base, { user: this.#options.user, ticket, encoding });
    } catch (error) {
      if (generation !== this.#generation || this.#state === 'disconnected') return;
      const reason = `Cannot get credentials: ${error instanceof Error ? error.message : String(error)}`;
      this.#events.emit('error', new ClientError('unauthorized', reason));
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
    if (this.#options.encoding === 'msgpack') socket.binaryType = 'arraybuffer';
    this.#socket = socket;
    this.#token = token;
    this.#serverError = null;
    this.#refusal = null;
    this.#notice = null;
    this.#connectTimer = setTimeout(() => {
      this.#connectTimer = null;
      this.#dropConnection(`not connected within ${this.#options.connectTimeoutMs} ms`);
    }, this.#options.connectTimeoutMs);
    let opened = false;
    socket.onopen = () => {
      opened = true;
      if (this.#socket === socket && (token !== undefined || this.#options.authData !== undefined)) this.#authenticate(socket, token);
    };
    socket.onmessage = (event) => {
      if (this.#socket === socket) this.#onFrame(event.data);
    };
    socket.onclose = (event) => {
      if (this.#socket === socket) this.#onClosed(event.code, event.reason);
    };
    // An error on an open socket is followed by a close event, which does the work. A socket
    // that never opened is done at its error (its close code could only be 1006): Node 22's
    // WebSocket reports a refused connect with an error and no close at all. In Node, `ws`
    // also says why an upgrade was refused; a browser cannot see the HTTP status, and retries.
    socket.onerror = (event) => {
      if (this.#socket !== socket) return;
      this.#refusal = upgradeRefusal(event) ?? this.#refusal;
      if (opened) return;
      silence(socket);
      this.#onClosed(1006, '');
    };
  }

  /** `auth` is the connection's handshake, not a command: it precedes every command. */
  #authenticate(socket: SocketLike, token: string | undefined): void {
    const positions = this.#hooks.positions?.() ?? {};
    const epochs = this.#hooks.epochs?.() ?? {};
    const frame = {
      ...(token !== undefined && { token }),
      ...(this.#options.authData !== undefined && { data: this.#options.authData }),
      ...(Object.keys(positions).length > 0 && { positions }),
      ...(Object.keys(epochs).length > 0 && { epochs }),
    };
    this.#requests
      .add<Welcome>('auth', frame, { timeoutMs: this.#options.connectTimeoutMs, repeatable: false, bound: true })
      .then(
        (welcome) => {
          if (this.#socket === socket) this.#onAuthenticated(welcome);
        },
        (error: ClientError) => {
          if (this.#socket !== socket || error.code === 'connection_lost') return;
          if (error.code === 'timeout') this.#dropConnection('no reply to auth');
          // A draining node, a store briefly down, or the user's session limit: not now, not for good.
          else if (AUTH_NOT_NOW.has(error.code)) this.#dropConnection(error.message);
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
    this.#hooks.opened();
    this.#requests.flush();
    this.#scheduleHeartbeat();
    this.#expiresAt = welcome.expiresAt ?? expiryOf(this.#token);
    this.#scheduleRefresh();
    this.#setState('connected');
    this.#events.emit('connected', welcome);
  }

  // --- frames in and out --------------------------------------------------------------

  #transmit(frame: RequestFrame, bound: boolean): boolean {
    const socket = this.#socket;
    if (!socket || socket.readyState !== OPEN || (!bound && !this.#authenticated)) return false;
    try {
      socket.send(encodeRequest(frame, this.#options.encoding));
      return true;
    } catch {
      return false;
    }
  }

  #onFrame(data: unknown): void {
    const frame = decodeServerFrame(data, this.#options.encoding);
    if (!frame) return;
    switch (frame.type) {
      case 'ok':
        this.#requests.onReply(frame);
        return;
      case 'error':
        if (frame.id === null) {
          // Sent just before the server closes for a reason the close frame cannot carry in full.
          this.#serverError = new ClientError(frame.code, frame.message, { details: frame.details });
          return;
        }
        this.#requests.onReply(frame);
        return;
      case 'welcome': {
        const { type: _, ...welcome } = frame;
        this.#onAuthenticated(welcome);
        return;
      }
      case 'close':
        this.#notice = { reason: frame.reason, reconnect: frame.reconnect, spreadMs: frame.spreadMs };
        return;
      default:
        this.#hooks.pushed(frame);
    }
  }

  // --- drops, reconnects and the end --------------------------------------------------

  #onClosed(code: number, reason: string, fatal: ClientError | null = null): void {
    const serverError = this.#serverError;
    const refusal = this.#refusal;
    const notice = this.#notice;
    this.#detachSocket();
    this.#requests.onConnectionLost();
    const closeReason = reason || notice?.reason || '';
    // The session's token ran out: with a way to get a fresh credential, connect again.
    const renewable = code === CLOSE_CODES.unauthorized && serverError?.details?.expiredAt !== undefined && this.#canRenew();
    const stop = renewable ? null : (fatal ?? refusal ?? fatalClose(code, closeReason, serverError, notice));
    if (stop) {
      this.#stop(stop, { code, reason: closeReason });
      return;
    }
    const spreadMs = notice?.spreadMs;
    this.#spreadMs = code === CLOSE_CODES.reconnect && typeof spreadMs === 'number' ? Math.min(spreadMs, MAX_SPREAD_MS) : 0;
    this.#events.emit('disconnected', { code, reason: closeReason, willReconnect: true, error: null });
    if (this.#state !== 'disconnected') this.#retry(code);
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
    this.#events.emit('reconnecting', { attempt: this.#attempt, delayMs });
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
    if (this.#refreshTimer !== null) clearTimeout(this.#refreshTimer);
    this.#connectTimer = null;
    this.#heartbeatTimer = null;
    this.#refreshTimer = null;
    this.#expiresAt = null;
    this.#socket = null;
    this.#authenticated = false;
    this.#hooks.lost();
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
    this.#setState('disconnected');
    if (info === null) {
      this.#hooks.stopped(null);
      this.#events.emit('disconnected', { code: CLOSE_CODES.normal, reason: error.message, willReconnect: false, error: null });
      return;
    }
    this.#hooks.stopped(error);
    this.#events.emit('error', error);
    this.#events.emit('disconnected', { ...info, willReconnect: false, error });
  }

  #setState(state: ConnectionState): void {
    const previous = this.#state;
    if (previous === state) return;
    this.#state = state;
    this.#events.emit('state', { state, previous });
  }

  /** Whether a new connection would bring a new credential (a function gives one each time). */
  #canRenew(): boolean {
    return typeof this.#options.token === 'function' || typeof this.#options.ticket === 'function';
  }

  /**
   * Asks for a fresh token ahead of the session's end (up to 30 s, a quarter of what is
   * left when that is shorter) and sends it with `auth.refresh`. A refresh that fails, or
   * brings no later expiry (the app handed the same token back), is tried again halfway to
   * the end; if the end comes first, the server closes with 4401 and the SDK reconnects
   * with a fresh credential when it has a way to get one.
   */
  #scheduleRefresh(retry = false): void {
    if (this.#refreshTimer !== null) clearTimeout(this.#refreshTimer);
    this.#refreshTimer = null;
    const source = this.#options.refreshToken;
    const expiresAt = this.#expiresAt;
    if (!source || expiresAt === null) return;
    const left = expiresAt - Date.now();
    if (retry && left < MIN_REFRESH_RETRY_MS) return;
    const delayMs = retry ? left / 2 : Math.max(0, left - Math.min(REFRESH_AHEAD_MS, left / 4));
    const socket = this.#socket;
    this.#refreshTimer = setTimeout(() => {
      this.#refreshTimer = null;
      void this.#refreshFrom(source, socket, expiresAt);
    }, delayMs);
  }

  async #refreshFrom(source: () => string | Promise<string>, socket: SocketLike | null, previous: number): Promise<void> {
    try {
      const token = await source();
      if (this.#socket !== socket) return;
      const { expiresAt } = await this.refresh(token);
      if (expiresAt !== null && expiresAt <= previous) this.#scheduleRefresh(true);
    } catch (error) {
      if (this.#socket !== socket || (error as ClientError).code === 'connection_lost') return;
      const reason = error instanceof Error ? error.message : String(error);
      const code = error instanceof ClientError ? error.code : 'unauthorized';
      this.#events.emit('error', new ClientError(code, `Cannot refresh the session: ${reason}`, { request: 'auth.refresh' }));
      this.#expiresAt = previous;
      this.#scheduleRefresh(true);
    }
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
}

/** Why a close must be the last one, or null to reconnect. */
function fatalClose(
  code: number,
  reason: string,
  serverError: ClientError | null,
  notice: CloseNotice | null,
): ClientError | null {
  const byCode = fatalCloseError(code, reason);
  // The error frame sent just before says more than the close code ("bad user name").
  if (byCode) return serverError ?? byCode;
  if (notice?.reconnect === false) return new ClientError('closed', reason || 'The server asked us not to reconnect.');
  return null;
}

function credential(source: CredentialSource): Promise<string> | string {
  return typeof source === 'function' ? source() : source;
}

/** A JWT's `exp` in epoch ms, read without checking it (only to schedule a refresh); null for anything else. */
function expiryOf(token: string | undefined): number | null {
  const payload = token?.split('.')[1];
  if (!payload) return null;
  try {
    const json = atob(payload.replace(/-/g, '+').replace(/_/g, '/'));
    const exp = (JSON.parse(json) as { exp?: unknown }).exp;
    return typeof exp === 'number' ? exp * 1000 : null;
  } catch {
    return null;
  }
}
