import type { WebSocket } from 'ws';
import type { Delivery } from '../../core/delivery.js';
import { SwitchboardError, toSwitchboardError } from '../../core/errors.js';
import type { Hub } from '../../core/hub.js';
import type { Logger } from '../../core/logger.js';
import { USER_ID_PATTERN } from '../../core/names.js';
import type { Session, SessionSink } from '../../core/session.js';
import type { Call } from '../../edge/call.js';
import { TokenBucket } from '../../edge/token-bucket.js';
import type { PusherAppState, PusherPeer } from './pusher-app-state.js';
import {
  allowsClientEvents,
  type HubChannelRef,
  mayServe,
  needsSignature,
  parseChannelName,
  type PusherChannelName,
  toHubChannel,
} from './pusher-channel-names.js';
import { isValidChannelAuth, isValidUserAuth } from './pusher-crypto.js';
import {
  byteLength,
  channelDataSchema,
  type ClientFrame,
  clientFrameSchema,
  encodeFrame,
  errorFrame,
  MAX_EVENT_DATA_BYTES,
  PUSHER_CODES,
  signinDataSchema,
  subscribeDataSchema,
  subscriptionErrorFrame,
} from './pusher-frames.js';
import { encodeHubEvent, excludedSocketOf, PUSHER_SERVER, type PusherHubBridge } from './pusher-hub-bridge.js';

export interface PusherConnectionLimits {
  readonly activityTimeoutMs: number;
  readonly pongTimeoutMs: number;
  readonly clientEventsPerSecond: number;
  readonly messagesPerSecond: number;
  readonly messageBurst: number;
  readonly floodCloseAfter: number;
  readonly sendQueueBytes: number;
}

interface Subscription {
  readonly channel: PusherChannelName;
  readonly hub: HubChannelRef;
  /** The presence member this connection is, on presence channels. */
  readonly userId?: string;
  /** Until pusher_internal:subscription_succeeded is sent, events wait here. */
  held: Buffer[] | null;
}

const TERMINATE_AFTER_CLOSE_MS = 2000;

/**
 * One pusher-js (or other Pusher protocol 7) client. It is one hub session acting as the
 * Pusher server principal: what it may subscribe to is decided here, by the app's
 * signatures, before its session subscribes through the edge's pipeline (see
 * docs/pusher.md, "Who may read what").
 */
export class PusherConnection implements SessionSink, PusherPeer {
  readonly socketId: string;
  readonly #ws: WebSocket;
  readonly #hub: Hub;
  readonly #bridge: PusherHubBridge;
  readonly #state: PusherAppState;
  readonly #limits: PusherConnectionLimits;
  readonly #logger: Logger;
  readonly #clientEvents: TokenBucket;
  readonly #frames: TokenBucket;
  readonly #subscriptions = new Map<string, Subscription>();
  readonly #byHubChannel = new Map<string, string>();
  #session: Session | null = null;
  /** The Pusher server on this connection's session: what its subscriptions run as. */
  #call: Call | null = null;
  #user: string | null = null;
  #queue: Promise<void> = Promise.resolve();
  #lastSeen = Date.now();
  #pingSentAt: number | null = null;
  #timer: NodeJS.Timeout | null = null;
  #rejectedInARow = 0;
  #closed = false;

  constructor(options: {
    ws: WebSocket;
    socketId: string;
    hub: Hub;
    bridge: PusherHubBridge;
    state: PusherAppState;
    limits: PusherConnectionLimits;
    logger: Logger;
  }) {
    this.#ws = options.ws;
    this.socketId = options.socketId;
    this.#hub = options.hub;
    this.#bridge = options.bridge;
    this.#state = options.state;
    this.#limits = options.limits;
    this.#logger = options.logger;
    this.#clientEvents = new TokenBucket(this.#limits.clientEventsPerSecond, this.#limits.clientEventsPerSecond);
    this.#frames = new TokenBucket(this.#limits.messagesPerSecond, this.#limits.messageBurst);
    this.#ws.on('message', (data, isBinary) => this.#onMessage(data as Buffer, isBinary));
    this.#ws.on('close', () => void this.#onClose());
    this.#ws.on('error', () => {});
  }

  async start(): Promise<void> {
    try {
      this.#session = await this.#hub.connect(PUSHER_SERVER, 'pusher', this);
    } catch (error) {
      this.close(PUSHER_CODES.reconnect, toSwitchboardError(error).message);
      return;
    }
    if (this.#closed) {
      await this.#hub.disconnect(this.#session);
      return;
    }
    this.#call = { principal: PUSHER_SERVER, session: this.#session, wire: 'pusher' };
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
    if (message.type !== 'event') return;
    const name = this.#byHubChannel.get(message.event.channel);
    const subscription = name === undefined ? undefined : this.#subscriptions.get(name);
    if (!subscription || excludedSocketOf(message) === this.socketId) return;
    const prefix = this.#state.app.channelPrefix;
    // Encoded to bytes once per delivery; every connection of the app sends the same buffer.
    const frame = delivery.encode(`pusher:${prefix}`, (m) => {
      const text = encodeHubEvent(prefix, m);
      return text === null ? null : Buffer.from(text, 'utf8');
    });
    if (frame === null) return;
    if (subscription.held) subscription.held.push(frame);
    else this.send(frame);
  }

  send(frame: string | Buffer): void {
    if (this.#closed) return;
    if (this.#ws.bufferedAmount > this.#limits.sendQueueBytes) {
      this.#logger.warn({ socketId: this.socketId }, 'pusher slow consumer disconnected');
      this.close(PUSHER_CODES.overCapacity, 'Slow consumer: reconnect later');
      return;
    }
    this.#ws.send(frame, { binary: false });
  }

  close(code: number, reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#ws.close(code, reason);
    setTimeout(() => this.#ws.terminate(), TERMINATE_AFTER_CLOSE_MS).unref();
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
    if (!this.#frames.take()) {
      if (++this.#rejectedInARow > this.#limits.floodCloseAfter) {
        this.close(PUSHER_CODES.clientEventRateLimit, 'Message flood');
        return;
      }
      this.send(errorFrame(PUSHER_CODES.clientEventRateLimit, 'Too many messages: slow down.'));
      return;
    }
    this.#rejectedInARow = 0;
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
    if (this.#closed || !this.#call) return;
    switch (frame.event) {
      case 'pusher:subscribe':
        return this.#subscribe(this.#call, frame.data);
      case 'pusher:unsubscribe':
        return this.#unsubscribe(this.#call, (frame.data as { channel?: unknown } | undefined)?.channel);
      case 'pusher:signin':
        return this.#signin(frame.data);
      default:
        if (frame.event.startsWith('client-')) return this.#clientEvent(frame);
        // Other pusher: events (e.g. watchlist) are not offered here; say so rather than drop them.
        this.send(errorFrame(null, `Unsupported event "${frame.event}".`));
    }
  }

  async #subscribe(call: Call, data: unknown): Promise<void> {
    const parsed = subscribeDataSchema.safeParse(data);
    if (!parsed.success) {
      this.send(errorFrame(null, 'pusher:subscribe needs data.channel.'));
      return;
    }
    const name = parsed.data.channel;
    const channel = parseChannelName(name);
    const hubRef = channel && toHubChannel(this.#state.app.channelPrefix, channel);
    if (!channel || !hubRef) {
      this.send(subscriptionErrorFrame(name, 'InvalidChannel', `Invalid channel name "${name}".`, 400));
      return;
    }
    if (this.#subscriptions.has(name)) return;
    const denied = this.#checkAdmission(channel, parsed.data.auth, parsed.data.channel_data);
    if (typeof denied === 'string') {
      this.send(subscriptionErrorFrame(name, 'AuthError', denied, 401));
      return;
    }
    const member = denied;
    if (member && !this.#state.hasRoomFor(name, member.userId)) {
      this.send(subscriptionErrorFrame(name, 'LimitReached', 'The presence channel is full.', 403));
      return;
    }

    const subscription: Subscription = { channel, hub: hubRef, userId: member?.userId, held: [] };
    this.#subscriptions.set(name, subscription);
    this.#byHubChannel.set(hubRef.id, name);
    let cacheMiss = false;
    try {
      const hubChannel = await this.#bridge.ensure(hubRef);
      if (!mayServe(channel.kind, hubChannel.type)) {
        throw new SwitchboardError('forbidden', `${name} is a ${hubChannel.type} channel here; its Pusher name needs a private- prefix.`);
      }
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

  async #unsubscribe(call: Call, name: unknown): Promise<void> {
    if (typeof name !== 'string') return;
    const subscription = this.#subscriptions.get(name);
    if (!subscription) return;
    this.#forget(name, subscription);
    await this.#bridge.unsubscribe(call, subscription.hub).catch(() => {});
    this.#state.leave(this, name, subscription.userId);
  }

  #forget(name: string, subscription: Subscription): void {
    this.#subscriptions.delete(name);
    if (this.#byHubChannel.get(subscription.hub.id) === name) this.#byHubChannel.delete(subscription.hub.id);
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
    if (byteLength(frame.data ?? {}) > MAX_EVENT_DATA_BYTES) {
      this.send(errorFrame(null, `Client event data is larger than ${MAX_EVENT_DATA_BYTES} bytes.`));
      return;
    }
    const relayed = encodeFrame(frame.event, frame.data ?? {}, name, subscription.userId);
    for (const peer of this.#state.subscribers(name)) if (peer !== this) peer.send(relayed);
    const data = typeof frame.data === 'string' ? frame.data : JSON.stringify(frame.data ?? {});
    this.#state.webhook({
      name: 'client_event',
      channel: name,
      event: frame.event,
      data,
      socket_id: this.socketId,
      ...(subscription.userId === undefined ? {} : { user_id: subscription.userId }),
    });
  }

  async #onClose(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#queue;
    for (const [name, subscription] of this.#subscriptions) this.#state.leave(this, name, subscription.userId);
    this.#subscriptions.clear();
    if (this.#user !== null) this.#state.signOut(this, this.#user);
    if (this.#session) await this.#hub.disconnect(this.#session);
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
