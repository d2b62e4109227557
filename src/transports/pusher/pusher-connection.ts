import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import type { Delivery, Outbound } from '../../core/delivery.js';
import { type ErrorCode, SwitchboardError, toSwitchboardError } from '../../core/errors.js';
import type { Hub } from '../../core/hub.js';
import type { Logger } from '../../core/logger.js';
import { USER_ID_PATTERN } from '../../core/names.js';
import type { Session, SessionSink } from '../../core/session.js';
import type { Call } from '../../edge/call.js';
import type { SubscribeAsk } from '../../edge/hook-step.js';
import { TokenBucket } from '../../edge/token-bucket.js';
import type { PusherAppState, PusherPeer } from './pusher-app-state.js';
import {
  allowsClientEvents,
  type HubChannelRef,
  needsSignature,
  parseChannelName,
  type PusherChannelName,
  toHubChannel,
} from './pusher-channel-names.js';
import { isValidChannelAuth, isValidUserAuth } from './pusher-crypto.js';
import {
  channelDataSchema,
  type ClientFrame,
  clientFrameSchema,
  encodeEventData,
  encodeFrame,
  errorFrame,
  MAX_EVENT_DATA_BYTES,
  PUSHER_CODES,
  signinDataSchema,
  subscribeDataSchema,
  subscriptionErrorFrame,
} from './pusher-frames.js';
import { encodeHubEvent, excludedSocketOf, PUSHER_SERVER, type PusherHubBridge } from './pusher-hub-bridge.js';
import { FloodWindow } from '../flood-window.js';

export interface PusherConnectionLimits {
  readonly activityTimeoutMs: number;
  readonly pongTimeoutMs: number;
  readonly clientEventsPerSecond: number;
  readonly messagesPerSecond: number;
  readonly messageBurst: number;
  readonly floodCloseAfter: number;
  readonly floodWindowMs: number;
  readonly sendQueueBytes: number;
  /** Channels one connection may subscribe to (Pusher's own limit, not the hub's per-session one). */
  readonly maxSubscriptions: number;
  /** The hub's subscriptions per session: a connection holds as many hub sessions as its channels need. */
  readonly subscriptionsPerSession: number;
}

interface Subscription {
  readonly channel: PusherChannelName;
  readonly hub: HubChannelRef;
  /** The hub session it runs on. */
  readonly call: Call;
  /** The presence member this connection is, on presence channels. */
  readonly userId?: string;
  /** Until pusher_internal:subscription_succeeded is sent, events wait here. */
  held: Buffer[] | null;
  /** Encodes a hub message as this channel's frame; made once, so a delivery allocates nothing. */
  readonly encode: (message: Outbound) => Buffer | null;
}

const TERMINATE_AFTER_CLOSE_MS = 2000;
/**
 * Bytes handed to the socket at most; later frames wait in the connection's own queue. So
 * when a slow reader is cut off, its error frame and close code wait behind this much at
 * most, and it reads why (4100) instead of seeing the connection drop (1006).
 */
const SOCKET_SHARE_BYTES = 64 * 1024;
/** Subscribe and unsubscribe frames are told apart before decoding: they draw on their own budget. */
const SUBSCRIBE_MARK = '"pusher:subscribe"';
/** Switchboard's own event on a channel whose hub channel was deleted (pusher:* names are Pusher's). */
export const CHANNEL_DELETED_EVENT = 'switchboard:channel_deleted';
const UNSUBSCRIBE_MARK = '"pusher:unsubscribe"';

/**
 * One pusher-js (or other Pusher protocol 7) client. It acts in the hub as the Pusher
 * server principal: what it may subscribe to is decided here, by the app's signatures,
 * before one of its hub sessions subscribes through the edge's pipeline (see
 * docs/pusher.md, "Who may read what"). It holds up to `maxSubscriptions` channels, over
 * as many hub sessions as the hub's per-session limit makes that take.
 */
export class PusherConnection implements SessionSink, PusherPeer {
  readonly socketId: string;
  readonly #ws: WebSocket;
  readonly #socket: Socket;
  readonly #hub: Hub;
  readonly #bridge: PusherHubBridge;
  readonly #state: PusherAppState;
  readonly #limits: PusherConnectionLimits;
  readonly #logger: Logger;
  /** The app's subscribe hook, when it opted in (`subscribeHook`): it decides private and presence subscriptions. */
  readonly #subscribeHook: SubscribeAsk | null;
  readonly #clientEvents: TokenBucket;
  readonly #frames: TokenBucket;
  /**
   * Subscribe and unsubscribe frames: a burst as large as the subscription limit, so
   * pusher-js re-subscribing everything after a reconnect is never refused, and the
   * frame rate after it, so churning costs the churner.
   */
  readonly #subscribes: TokenBucket;
  readonly #subscriptions = new Map<string, Subscription>();
  readonly #byHubChannel = new Map<string, Subscription>();
  /** The Pusher server on each of this connection's hub sessions: what its subscriptions run as. */
  readonly #calls: Call[] = [];
  #user: string | null = null;
  #queue: Promise<void> = Promise.resolve();
  #lastSeen = Date.now();
  #pingSentAt: number | null = null;
  #timer: NodeJS.Timeout | null = null;
  /** Made on the first refused frame: most connections never have one. */
  #flood: FloodWindow | null = null;
  /** Frames waiting for the socket to drain (see SOCKET_SHARE_BYTES); null while none wait. */
  #backlog: (string | Buffer)[] | null = null;
  #backlogBytes = 0;
  #closed = false;
  #released: Promise<void> | null = null;

  constructor(options: {
    ws: WebSocket;
    /** The socket under `ws`, whose buffer is watched for slow readers. */
    socket: Socket;
    socketId: string;
    hub: Hub;
    bridge: PusherHubBridge;
    state: PusherAppState;
    limits: PusherConnectionLimits;
    logger: Logger;
    subscribeHook?: SubscribeAsk | null;
  }) {
    this.#subscribeHook = options.subscribeHook ?? null;
    this.#ws = options.ws;
    this.#socket = options.socket;
    this.socketId = options.socketId;
    this.#hub = options.hub;
    this.#bridge = options.bridge;
    this.#state = options.state;
    this.#limits = options.limits;
    this.#logger = options.logger;
    this.#clientEvents = new TokenBucket(this.#limits.clientEventsPerSecond, this.#limits.clientEventsPerSecond);
    this.#frames = new TokenBucket(this.#limits.messagesPerSecond, this.#limits.messageBurst);
    this.#subscribes = new TokenBucket(this.#limits.messagesPerSecond, this.#limits.maxSubscriptions);
    this.#ws.on('message', (data, isBinary) => this.#onMessage(data as Buffer, isBinary));
    this.#ws.on('close', () => void this.#release());
    this.#ws.on('error', () => {});
  }

  async start(): Promise<void> {
    if (!(await this.#openSession())) return;
    const activityTimeout = Math.round(this.#limits.activityTimeoutMs / 1000);
    this.send(encodeFrame('pusher:connection_established', { socket_id: this.socketId, activity_timeout: activityTimeout }));
    this.#schedule(this.#limits.activityTimeoutMs);
  }

  deliver(delivery: Delivery): void {
    if (this.#closed) return;
    const message = delivery.message;
    if (message.type === 'close') {
      this.close(PUSHER_CODES.reconnect, message.reason);
      return;
    }
    if (message.type === 'unsubscribed') {
      this.#ended(message.channel, message.code, message.message);
      return;
    }
    if (message.type === 'channelDeleted') {
      this.#deleted(message.channel, { epoch: message.epoch, at: message.at });
      return;
    }
    if (message.type !== 'event') return;
    const subscription = this.#byHubChannel.get(message.event.channel);
    if (!subscription || excludedSocketOf(message) === this.socketId) return;
    // Encoded to bytes once per delivery; every connection of the app sends the same buffer.
    const frame = delivery.encode(`pusher:${this.#state.app.id}`, subscription.encode);
    if (frame === null) return;
    if (subscription.held) subscription.held.push(frame);
    else this.send(frame);
  }

  send(frame: string | Buffer): void {
    if (this.#closed) return;
    if (this.#backlog === null && this.#ws.bufferedAmount < SOCKET_SHARE_BYTES) {
      this.#ws.send(frame, { binary: false });
      return;
    }
    const bytes = typeof frame === 'string' ? Buffer.byteLength(frame) : frame.length;
    if (this.#ws.bufferedAmount + this.#backlogBytes + bytes > this.#limits.sendQueueBytes) {
      this.#slowConsumer();
      return;
    }
    if (this.#backlog === null) {
      this.#backlog = [];
      // Past the socket's high-water mark a drain always follows; below it, try on the next turn.
      if (this.#socket.writableNeedDrain) this.#socket.once('drain', () => this.#flushBacklog());
      else setImmediate(() => this.#flushBacklog());
    }
    this.#backlog.push(frame);
    this.#backlogBytes += bytes;
  }

  /**
   * Ends the connection with a Pusher close code, after what was sent before. Its hub
   * sessions and channels are left at once, not when the client answers the close.
   */
  close(code: number, reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#ws.close(code, reason);
    setTimeout(() => this.#ws.terminate(), TERMINATE_AFTER_CLOSE_MS).unref();
    void this.#release();
  }

  /**
   * The client reads slower than it is sent to: what waits in the queue is dropped, and
   * it is told why (`pusher:error` 4100) and closed with 4100, behind at most
   * SOCKET_SHARE_BYTES. pusher-js backs off, then reconnects.
   */
  #slowConsumer(): void {
    this.#logger.warn({ socketId: this.socketId }, 'pusher slow consumer disconnected');
    this.#backlog = null;
    this.#backlogBytes = 0;
    const reason = 'Slow consumer: messages arrive faster than they are read. Reconnect later.';
    this.#ws.send(errorFrame(PUSHER_CODES.overCapacity, reason), { binary: false });
    this.close(PUSHER_CODES.overCapacity, 'Slow consumer');
  }

  #flushBacklog(): void {
    const backlog = this.#backlog;
    if (this.#closed || backlog === null) return;
    let sent = 0;
    while (sent < backlog.length && this.#ws.bufferedAmount < SOCKET_SHARE_BYTES) {
      const frame = backlog[sent++]!;
      this.#backlogBytes -= typeof frame === 'string' ? Buffer.byteLength(frame) : frame.length;
      this.#ws.send(frame, { binary: false });
    }
    backlog.splice(0, sent);
    if (backlog.length === 0) {
      this.#backlog = null;
      this.#backlogBytes = 0;
    } else if (this.#socket.writableNeedDrain) {
      this.#socket.once('drain', () => this.#flushBacklog());
    } else {
      setImmediate(() => this.#flushBacklog());
    }
  }

  // --- activity checks: either side pings after activity_timeout of silence ---------

  #schedule(ms: number): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#checkActivity(), ms);
    this.#timer.unref();
  }

  #checkActivity(): void {
    if (this.#closed) return;
    const now = Date.now();
    if (this.#pingSentAt !== null) {
      const waited = now - this.#pingSentAt;
      if (waited >= this.#limits.pongTimeoutMs) {
        this.close(PUSHER_CODES.pongNotReceived, 'Pong reply not received');
        return;
      }
      this.#schedule(this.#limits.pongTimeoutMs - waited);
      return;
    }
    const idle = now - this.#lastSeen;
    if (idle < this.#limits.activityTimeoutMs) {
      this.#schedule(this.#limits.activityTimeoutMs - idle);
      return;
    }
    this.send(encodeFrame('pusher:ping', {}));
    this.#pingSentAt = now;
    this.#schedule(this.#limits.pongTimeoutMs);
  }

  // --- inbound ----------------------------------------------------------------------

  #onMessage(data: Buffer, isBinary: boolean): void {
    if (this.#closed) return;
    this.#lastSeen = Date.now();
    this.#pingSentAt = null;
    const bucket = data.includes(SUBSCRIBE_MARK) || data.includes(UNSUBSCRIBE_MARK) ? this.#subscribes : this.#frames;
    if (!bucket.take()) {
      this.#flood ??= new FloodWindow(this.#limits);
      if (this.#flood.refused()) {
        this.close(PUSHER_CODES.clientEventRateLimit, 'Message flood');
        return;
      }
      this.send(errorFrame(PUSHER_CODES.clientEventRateLimit, 'Too many messages: slow down.'));
      return;
    }
    const frame = isBinary ? null : decode(data);
    if (!frame) {
      this.send(errorFrame(null, 'A message is a JSON object with an "event".'));
      return;
    }
    if (frame.event === 'pusher:ping') {
      this.send(encodeFrame('pusher:pong', {}));
      return;
    }
    if (frame.event === 'pusher:pong') return;
    // In order, one at a time: an unsubscribe must not overtake the subscribe before it.
    this.#queue = this.#queue.then(() => this.#handle(frame)).catch((error: unknown) => {
      this.#logger.error({ err: error, socketId: this.socketId }, 'pusher frame failed');
    });
  }

  async #handle(frame: ClientFrame): Promise<void> {
    if (this.#closed) return;
    switch (frame.event) {
      case 'pusher:subscribe':
        return this.#subscribe(frame.data);
      case 'pusher:unsubscribe':
        return this.#unsubscribe((frame.data as { channel?: unknown } | undefined)?.channel);
      case 'pusher:signin':
        return this.#signin(frame.data);
      default:
        if (frame.event.startsWith('client-')) return this.#clientEvent(frame);
        // Other pusher: events (e.g. watchlist) are not offered here; say so rather than drop them.
        this.send(errorFrame(null, `Unsupported event "${frame.event}".`));
    }
  }

  async #subscribe(data: unknown): Promise<void> {
    const parsed = subscribeDataSchema.safeParse(data);
    if (!parsed.success) {
      this.send(errorFrame(null, 'pusher:subscribe needs data.channel.'));
      return;
    }
    const name = parsed.data.channel;
    const channel = parseChannelName(name);
    if (!channel) {
      this.send(subscriptionErrorFrame(name, 'InvalidChannel', `Invalid channel name "${name}".`, 400));
      return;
    }
    if (this.#subscriptions.has(name)) return;
    if (this.#subscriptions.size >= this.#limits.maxSubscriptions) {
      const error = `A connection holds at most ${this.#limits.maxSubscriptions} subscriptions: unsubscribe from one first.`;
      this.send(subscriptionErrorFrame(name, 'LimitReached', error, 429));
      return;
    }
    const hooked = this.#subscribeHook !== null && (channel.kind === 'private' || channel.kind === 'presence');
    const denied = hooked
      ? await this.#askSubscribeHook(channel, parsed.data.channel_data)
      : this.#checkAdmission(channel, parsed.data.auth, parsed.data.channel_data);
    if (denied instanceof SwitchboardError) {
      this.send(subscriptionErrorFrame(name, 'AuthError', denied.message, denied.httpStatus, String(denied.details?.backendCode ?? denied.code)));
      return;
    }
    if (typeof denied === 'string') {
      this.send(subscriptionErrorFrame(name, 'AuthError', denied, 401));
      return;
    }
    if (this.#closed || this.#subscriptions.has(name)) return;
    const member = denied;
    if (member && !this.#state.hasRoomFor(name, member.userId)) {
      this.send(subscriptionErrorFrame(name, 'LimitReached', 'The presence channel is full.', 403));
      return;
    }

    const hubRef = toHubChannel(this.#state.app, channel);
    const call = await this.#callWithRoom();
    if (call === null) return;
    const subscription: Subscription = {
      channel,
      hub: hubRef,
      call,
      userId: member?.userId,
      held: [],
      encode: (message) => {
        const text = encodeHubEvent(name, message);
        return text === null ? null : Buffer.from(text, 'utf8');
      },
    };
    this.#subscriptions.set(name, subscription);
    this.#byHubChannel.set(hubRef.id, subscription);
    let cacheMiss = false;
    try {
      await this.#bridge.ensure(hubRef);
      let since: number | undefined;
      if (channel.cache) {
        const cached = await this.#bridge.cachedSince(hubRef);
        cacheMiss = cached === null;
        since = cached ?? undefined;
      }
      await this.#bridge.subscribe(call, hubRef, since);
    } catch (error) {
      this.#forget(name, subscription);
      const failure = toSwitchboardError(error);
      if (failure.code === 'internal') this.#logger.error({ err: error, channel: name }, 'pusher subscribe failed');
      this.send(subscriptionErrorFrame(name, 'ServerError', failure.message, failure.httpStatus));
      return;
    }
    if (this.#closed) return;
    this.#state.join(this, name, member ?? undefined);
    const succeeded = member ? { presence: this.#state.presence(name) } : {};
    this.send(encodeFrame('pusher_internal:subscription_succeeded', succeeded, name));
    const held = subscription.held ?? [];
    subscription.held = null;
    for (const frame of held) this.send(frame);
    if (cacheMiss) {
      this.send(encodeFrame('pusher:cache_miss', {}, name));
      this.#state.webhook({ name: 'cache_miss', channel: name });
    }
  }

  /**
   * A hub session with room for one more subscription: the hub holds each session to its
   * own limit (`limits.maxSubscriptionsPerSession`), and a Pusher connection may subscribe
   * to `maxSubscriptions`, so it opens another session when those it has are full. Null
   * when the connection closed meanwhile.
   */
  async #callWithRoom(): Promise<Call | null> {
    const call = this.#calls.find((c) => c.session!.channels.size < this.#limits.subscriptionsPerSession);
    if (call) return call;
    return (await this.#openSession()) ? this.#calls.at(-1)! : null;
  }

  /** Opens one more hub session; false (and the connection closed) when that fails or it closed meanwhile. */
  async #openSession(): Promise<boolean> {
    let session: Session;
    try {
      session = await this.#hub.connect(PUSHER_SERVER, 'pusher', this);
    } catch (error) {
      this.close(PUSHER_CODES.reconnect, toSwitchboardError(error).message);
      return false;
    }
    if (this.#closed) {
      await this.#hub.disconnect(session);
      return false;
    }
    this.#calls.push({ principal: PUSHER_SERVER, session, wire: 'pusher' });
    return true;
  }

  /**
   * Who may subscribe, in one place: public channels anyone; private, encrypted and
   * presence channels whoever brings the app's signature; a user channel only its signed-in
   * user. Returns the presence member, null when admitted as no member, or why not.
   */
  #checkAdmission(
    channel: PusherChannelName,
    auth: string | undefined,
    channelData: string | undefined,
  ): { userId: string; info: unknown } | null | string {
    const app = this.#state.app;
    if (channel.kind === 'user') {
      return this.#user === channel.user ? null : 'Sign in as this user first.';
    }
    if (!needsSignature(channel.kind)) return null;
    if (channel.kind !== 'presence') {
      return isValidChannelAuth(app, auth, this.socketId, channel.name) ? null : 'Invalid signature.';
    }
    if (channelData === undefined) return 'A presence channel needs channel_data.';
    if (!isValidChannelAuth(app, auth, this.socketId, channel.name, channelData)) return 'Invalid signature.';
    let raw: unknown;
    try {
      raw = JSON.parse(channelData);
    } catch {
      return 'channel_data is not JSON.';
    }
    const member = channelDataSchema.safeParse(raw);
    if (!member.success) return 'channel_data needs a user_id.';
    return { userId: member.data.user_id, info: member.data.user_info ?? null };
  }

  /**
   * The app's subscribe hook decides instead of a signature. The user it is asked about is
   * the connection's signed-in user (pusher:signin), else a presence channel's
   * channel_data `user_id` (the client's claim: the backend vouches for it by allowing);
   * its `info` is the presence member's user_info. Returns the member (null for a private
   * channel), why not (a string), or the backend's refusal.
   */
  async #askSubscribeHook(
    channel: PusherChannelName,
    channelData: string | undefined,
  ): Promise<{ userId: string; info: unknown } | null | string | SwitchboardError> {
    let user = this.#user;
    if (channel.kind === 'presence' && user === null) {
      let raw: unknown;
      try {
        raw = channelData === undefined ? undefined : JSON.parse(channelData);
      } catch {
        return 'channel_data is not JSON.';
      }
      const member = channelDataSchema.safeParse(raw);
      if (!member.success) return 'A presence channel needs a user: sign in (pusher:signin) or give channel_data with a user_id.';
      user = member.data.user_id;
    }
    try {
      const result = await this.#subscribeHook!({ transport: 'pusher', user, session: this.socketId, channel: channel.name });
      return channel.kind === 'presence' ? { userId: user!, info: result.info ?? null } : null;
    } catch (error) {
      return toSwitchboardError(error);
    }
  }

  async #unsubscribe(name: unknown): Promise<void> {
    if (typeof name !== 'string') return;
    const subscription = this.#subscriptions.get(name);
    if (!subscription) return;
    this.#forget(name, subscription);
    await this.#bridge.unsubscribe(subscription.call, subscription.hub).catch(() => {});
    this.#state.leave(this, name, subscription.userId);
  }

  /**
   * The hub ended a subscription (for the Pusher server, whom every channel rule admits:
   * its channel was deleted). Pusher has no frame for that; the client is told with a
   * `pusher:subscription_error` on the channel, and its place is free again.
   */
  #ended(hubChannel: string, code: ErrorCode, message: string): void {
    const subscription = this.#byHubChannel.get(hubChannel);
    if (!subscription) return;
    const name = subscription.channel.name;
    this.#forget(name, subscription);
    this.#state.leave(this, name, subscription.userId);
    this.send(subscriptionErrorFrame(name, 'ServerError', message, new SwitchboardError(code).httpStatus));
  }

  /**
   * The hub channel was deleted: `switchboard:channel_deleted` on the channel (data: its
   * name, the epoch deleted and when), and the socket is no longer subscribed to it.
   */
  #deleted(hubChannel: string, details: { epoch: number; at: number }): void {
    const subscription = this.#byHubChannel.get(hubChannel);
    if (!subscription) return;
    const name = subscription.channel.name;
    this.#forget(name, subscription);
    this.#state.leave(this, name, subscription.userId);
    this.send(encodeFrame(CHANNEL_DELETED_EVENT, { channel: name, ...details }, name));
  }

  #forget(name: string, subscription: Subscription): void {
    if (this.#subscriptions.get(name) === subscription) this.#subscriptions.delete(name);
    if (this.#byHubChannel.get(subscription.hub.id) === subscription) this.#byHubChannel.delete(subscription.hub.id);
  }

  #signin(data: unknown): void {
    const parsed = signinDataSchema.safeParse(data);
    const refuse = (message: string) => {
      this.send(errorFrame(PUSHER_CODES.unauthorized, message));
      this.close(PUSHER_CODES.unauthorized, message);
    };
    if (!parsed.success) return refuse('pusher:signin needs auth and user_data.');
    if (!isValidUserAuth(this.#state.app, parsed.data.auth, this.socketId, parsed.data.user_data)) {
      return refuse('Invalid signin signature.');
    }
    let id: unknown;
    try {
      id = (JSON.parse(parsed.data.user_data) as { id?: unknown }).id;
    } catch {
      return refuse('user_data is not JSON.');
    }
    if (typeof id !== 'string' || !USER_ID_PATTERN.test(id)) return refuse('user_data.id is not a valid user id.');
    if (this.#user !== null && this.#user !== id) this.#state.signOut(this, this.#user);
    this.#user = id;
    this.#state.signIn(this, id);
    this.send(encodeFrame('pusher:signin_success', { user_data: parsed.data.user_data }));
  }

  #clientEvent(frame: ClientFrame): void {
    const name = frame.channel ?? '';
    const subscription = this.#subscriptions.get(name);
    if (!subscription || subscription.held) {
      this.send(errorFrame(null, `Subscribe to ${name || 'a channel'} before sending client events to it.`));
      return;
    }
    if (!allowsClientEvents(subscription.channel.kind)) {
      this.send(errorFrame(null, 'Client events are allowed on private and presence channels only.'));
      return;
    }
    if (!this.#clientEvents.take()) {
      this.send(errorFrame(PUSHER_CODES.clientEventRateLimit, 'Client event rejected due to rate limit.'));
      return;
    }
    const data = encodeEventData(frame.data ?? {});
    if (data === null) {
      this.send(errorFrame(null, 'Client event data nests too deep: send it as a JSON string.'));
      return;
    }
    if (Buffer.byteLength(data, 'utf8') > MAX_EVENT_DATA_BYTES) {
      this.send(errorFrame(null, `Client event data is larger than ${MAX_EVENT_DATA_BYTES} bytes.`));
      return;
    }
    const relayed = encodeFrame(frame.event, data, name, subscription.userId);
    for (const peer of this.#state.subscribers(name)) if (peer !== this) peer.send(relayed);
    this.#state.webhook({
      name: 'client_event',
      channel: name,
      event: frame.event,
      data,
      socket_id: this.socketId,
      ...(subscription.userId === undefined ? {} : { user_id: subscription.userId }),
    });
  }

  /** Leaves every channel and hub session, once, whether the client or the server closed. */
  #release(): Promise<void> {
    this.#released ??= (async () => {
      this.#closed = true;
      this.#backlog = null;
      if (this.#timer) clearTimeout(this.#timer);
      await this.#queue;
      for (const [name, subscription] of this.#subscriptions) this.#state.leave(this, name, subscription.userId);
      this.#subscriptions.clear();
      this.#byHubChannel.clear();
      if (this.#user !== null) this.#state.signOut(this, this.#user);
      await Promise.all(this.#calls.splice(0).map((call) => this.#hub.disconnect(call.session!)));
    })();
    return this.#released;
  }
}

function decode(data: Buffer): ClientFrame | null {
  let raw: unknown;
  try {
    raw = JSON.parse(data.toString('utf8'));
  } catch {
    return null;
  }
  const parsed = clientFrameSchema.safeParse(raw);
  return parsed.success ? parsed.data : null;
}
