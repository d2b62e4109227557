import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import type { Authenticator, Credentials } from '../../auth/authenticator.js';
import type { Chat } from '../../core/chat.js';
import type { Delivery, Outbound } from '../../core/delivery.js';
import { CLOSE_CODES, SwitchboardError, toSwitchboardError } from '../../core/errors.js';
import type { Hub } from '../../core/hub.js';
import type { Logger } from '../../core/logger.js';
import type { Session, SessionSink } from '../../core/session.js';
import { TokenBucket } from '../../edge/token-bucket.js';
import { coalesceWrites } from '../write-coalescer.js';
import { isChatFrame } from './chat-client-frames.js';
import { handleChatFrame } from './chat-commands.js';
import { CLIENT_FRAME_TYPES, type ClientFrame, clientFrameSchema } from './client-frames.js';
import { encodeError, encodeOk, encodeOutbound, type RequestId } from './server-frames.js';
import { textFrame } from './text-frame.js';

export interface WsLimits {
  /** Bytes a client may have waiting to be sent before it is cut off as a slow consumer. */
  readonly sendQueueBytes: number;
  readonly messagesPerSecond: number;
  readonly messageBurst: number;
  /** Rejected frames in a row (over the rate) before the connection is closed. */
  readonly floodCloseAfter: number;
  readonly authTimeoutMs: number;
}

/** Limits a connection enforced, reported for metrics. */
export type LimitHit = 'slow_consumer' | 'rate_limited';

const WIRE_FORMAT = 'ws-json';
const frameOutbound = (message: Outbound): Buffer => textFrame(encodeOutbound(message));
const TERMINATE_AFTER_CLOSE_MS = 2000;

/**
 * The socket's connection, so its listeners can be functions shared by every connection
 * instead of four closures (and their scope) per idle connection.
 */
const CONNECTION = Symbol('connection');
const connectionOf = (ws: WebSocket): WsConnection => (ws as WebSocket & { [CONNECTION]: WsConnection })[CONNECTION];

function onMessage(this: WebSocket, data: Buffer, isBinary: boolean): void {
  void connectionOf(this).received(data, isBinary);
}
function onClose(this: WebSocket): void {
  void connectionOf(this).closed();
}
function ignore(): void {}

/** One client on /ws: decodes frames, calls the hub, writes replies and events. */
export class WsConnection implements SessionSink {
  readonly #ws: WebSocket;
  readonly #socket: Socket;
  readonly #hub: Hub;
  readonly #chat: Chat | null;
  readonly #authenticator: Authenticator;
  readonly #limits: WsLimits;
  readonly #logger: Logger;
  /** Made on the first frame: an idle connection never needs one. */
  #bucket: TokenBucket | null = null;
  readonly #onLimit: ((hit: LimitHit) => void) | undefined;
  readonly #onClosed: ((connection: WsConnection) => void) | undefined;
  #session: Session | null = null;
  #authenticating: Promise<void> | null = null;
  #authTimer: NodeJS.Timeout | null = null;
  #rejectedInARow = 0;
  #closed = false;
  /** Bytes the socket had read when it was last pinged; -1 before the first ping. */
  #readAtPing = -1;
  #pingedAt = -Infinity;

  constructor(options: {
    ws: WebSocket;
    socket: Socket;
    hub: Hub;
    /** The chat features (contacts, receipts, reactions, search ...), when enabled. */
    chat?: Chat | null;
    authenticator: Authenticator;
    limits: WsLimits;
    logger: Logger;
    /** Told when a limit cut a frame or the connection (metrics). */
    onLimit?: (hit: LimitHit) => void;
    /** Told once the socket closed (the transport's connection list). */
    onClosed?: (connection: WsConnection) => void;
  }) {
    this.#onClosed = options.onClosed;
    this.#onLimit = options.onLimit;
    this.#ws = options.ws;
    this.#socket = options.socket;
    this.#hub = options.hub;
    this.#chat = options.chat ?? null;
    this.#authenticator = options.authenticator;
    this.#limits = options.limits;
    this.#logger = options.logger;
    (this.#ws as WebSocket & { [CONNECTION]: WsConnection })[CONNECTION] = this;
    this.#ws.on('message', onMessage);
    this.#ws.on('close', onClose);
    this.#ws.on('error', ignore);
  }

  get session(): Session | null {
    return this.#session;
  }

  get queuedBytes(): number {
    return this.#socket.writableLength;
  }

  /** Authenticates from the upgrade request (query string) when it carried credentials. */
  start(credentials: Credentials | null): void {
    if (credentials) {
      this.#authenticating = this.#authenticate(credentials, null);
      return;
    }
    this.#authTimer = setTimeout(() => {
      if (!this.#session) this.close(CLOSE_CODES.unauthorized, 'authentication timed out');
    }, this.#limits.authTimeoutMs);
    this.#authTimer.unref();
  }

  deliver(delivery: Delivery): void {
    if (this.#closed) return;
    this.#write(delivery.encode(WIRE_FORMAT, frameOutbound));
  }

  whenWritable(): Promise<void> | null {
    if (this.#closed || this.#socket.writableLength < this.#limits.sendQueueBytes / 2) return null;
    return new Promise((resolve) => {
      const done = () => {
        this.#socket.off('drain', done);
        this.#socket.off('close', done);
        resolve();
      };
      this.#socket.on('drain', done);
      this.#socket.on('close', done);
    });
  }

  close(code: number, reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#authTimer) clearTimeout(this.#authTimer);
    this.#ws.close(code, reason);
    setTimeout(() => this.#ws.terminate(), TERMINATE_AFTER_CLOSE_MS).unref();
  }

  /**
   * Whether anything (the pong to the last ping, any frame) arrived since that ping. Read
   * from the socket's byte count, so liveness costs no listener per connection.
   */
  get alive(): boolean {
    return this.#readAtPing < 0 || this.#socket.bytesRead !== this.#readAtPing;
  }

  millisSincePing(): number {
    return performance.now() - this.#pingedAt;
  }

  ping(): void {
    if (this.#closed) return;
    this.#pingedAt = performance.now();
    this.#readAtPing = this.#socket.bytesRead;
    this.#ws.ping();
  }

  terminate(): void {
    this.#closed = true;
    this.#ws.terminate();
  }

  #write(frame: Buffer): void {
    // A socket the peer already ended would only build an error per frame.
    if (!this.#socket.writable) return;
    if (this.#socket.writableLength > this.#limits.sendQueueBytes) {
      this.#logger.warn({ session: this.#session?.id }, 'slow consumer disconnected');
      this.#onLimit?.('slow_consumer');
      this.close(CLOSE_CODES.slowConsumer, 'slow consumer: reconnect and resume');
      return;
    }
    // Frames due in this tick leave in one write.
    coalesceWrites(this.#socket);
    this.#socket.write(frame);
  }

  #reply(id: RequestId, result: unknown): void {
    if (!this.#closed) this.#write(textFrame(encodeOk(id, result)));
  }

  #replyError(id: RequestId, error: unknown): void {
    const failure = toSwitchboardError(error);
    if (failure.code === 'internal') this.#logger.error({ err: error, session: this.#session?.id }, 'request failed');
    if (!this.#closed) this.#write(textFrame(encodeError(id, failure)));
  }

  /** A frame arrived (called by the socket's listener). */
  async received(data: Buffer, isBinary: boolean): Promise<void> {
    if (this.#closed) return;
    this.#bucket ??= new TokenBucket(this.#limits.messagesPerSecond, this.#limits.messageBurst);
    if (!this.#bucket.take()) {
      this.#onLimit?.('rate_limited');
      this.#rejectedInARow++;
      if (this.#rejectedInARow > this.#limits.floodCloseAfter) {
        this.close(CLOSE_CODES.rateLimited, 'message flood');
        return;
      }
      this.#replyError(requestIdOf(data), new SwitchboardError('rate_limited', 'Slow down: message rate exceeded.'));
      return;
    }
    this.#rejectedInARow = 0;
    const decoded = isBinary ? badFrame('Frames are JSON text.') : decodeFrame(data);
    if (!decoded.ok) {
      this.#replyError(decoded.id, decoded.error);
      return;
    }
    const frame = decoded.frame;
    if (this.#authenticating) await this.#authenticating;
    try {
      if (frame.type === 'auth') {
        // Frames after this one (a second auth included) wait for its outcome.
        const attempt = this.#authenticate(frame, frame.id);
        this.#authenticating = attempt;
        await attempt;
        if (this.#authenticating === attempt) this.#authenticating = null;
        return;
      }
      if (frame.type === 'ping') {
        this.#reply(frame.id, { at: Date.now() });
        return;
      }
      const session = this.#session;
      if (!session) throw new SwitchboardError('unauthorized', 'Send an auth frame first.');
      this.#reply(frame.id, await this.#handle(session, frame));
    } catch (error) {
      this.#replyError(frame.id, error);
    }
  }

  async #authenticate(credentials: Credentials, id: RequestId | null): Promise<void> {
    if (this.#session) {
      this.#replyError(id, new SwitchboardError('conflict', 'Already authenticated.'));
      return;
    }
    try {
      const principal = await this.#authenticator.authenticate(credentials);
      const session = await this.#hub.connect(principal, 'ws', this);
      if (this.#closed || this.#session) {
        await this.#hub.disconnect(session);
        if (this.#session) this.#replyError(id, new SwitchboardError('conflict', 'Already authenticated.'));
        return;
      }
      this.#session = session;
      if (this.#authTimer) clearTimeout(this.#authTimer);
      const welcome = { session: session.id, user: principal.userId, name: principal.name };
      if (id === null) this.#write(textFrame(JSON.stringify({ type: 'welcome', ...welcome })));
      else this.#reply(id, welcome);
    } catch (error) {
      this.#replyError(id, error);
      const failure = toSwitchboardError(error);
      if (id === null) this.close(failure.closeCode, failure.message);
    } finally {
      this.#authenticating = null;
    }
  }

  async #handle(session: Session, frame: Exclude<ClientFrame, { type: 'auth' | 'ping' }>): Promise<unknown> {
    const hub = this.#hub;
    if (isChatFrame(frame)) return handleChatFrame(hub, this.#chat, session, frame);
    const who = session.principal;
    switch (frame.type) {
      case 'channel.create':
        return hub.createChannel(who, {
          id: frame.channel,
          type: frame.channelType,
          title: frame.title,
          publish: frame.publish,
          members: frame.members,
        });
      case 'channel.get':
        return hub.getChannel(who, frame.channel);
      case 'channel.list':
        return { channels: await hub.listChannels(who, { limit: frame.limit ?? 100, after: frame.after }) };
      case 'channel.join':
        return hub.join(who, frame.channel);
      case 'channel.leave':
        return hub.leave(who, frame.channel);
      case 'members.list':
        return { members: await hub.listMembers(who, frame.channel) };
      case 'members.add':
        return hub.addMember(who, frame.channel, frame.user, frame.role);
      case 'members.remove':
        return hub.removeMember(who, frame.channel, frame.user);
      case 'subscribe': {
        const { channel, seq } = await hub.subscribe(session, frame.channel, frame.since, {
          presence: frame.presence,
        });
        return { channel: channel.id, seq };
      }
      case 'unsubscribe':
        return hub.unsubscribe(session, frame.channel);
      case 'publish': {
        const { event, duplicate } = await hub.publish(who, frame);
        return { channel: event.channel, seq: event.seq, id: event.id, createdAt: event.createdAt, duplicate };
      }
      case 'edit': {
        const event = await hub.edit(who, frame);
        return { channel: event.channel, seq: event.seq, target: event.target };
      }
      case 'delete': {
        const event = await hub.delete(who, frame);
        return { channel: event.channel, seq: event.seq, target: event.target };
      }
      case 'history':
        return hub.history(who, frame);
      case 'presence':
        return { members: await hub.presence(who, frame.channel) };
      case 'typing':
        return hub.typing(session, frame.channel);
    }
  }

  /** The socket closed (called by its listener). */
  async closed(): Promise<void> {
    this.#closed = true;
    this.#onClosed?.(this);
    if (this.#authTimer) clearTimeout(this.#authTimer);
    if (this.#authenticating) await this.#authenticating;
    if (this.#session) await this.#hub.disconnect(this.#session);
  }
}

type Decoded = { ok: true; frame: ClientFrame } | { ok: false; id: RequestId; error: SwitchboardError };

function badFrame(message: string, id: RequestId = null): Decoded {
  return { ok: false, id, error: new SwitchboardError('bad_request', message) };
}

function decodeFrame(data: Buffer): Decoded {
  let raw: unknown;
  try {
    raw = JSON.parse(data.toString('utf8'));
  } catch {
    return badFrame('The frame is not valid JSON.');
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return badFrame('A frame is a JSON object.');
  const candidate = raw as { id?: unknown; type?: unknown };
  const id = typeof candidate.id === 'number' || typeof candidate.id === 'string' ? candidate.id : null;
  if (typeof candidate.type !== 'string') return badFrame('The frame has no "type".', id);
  if (!CLIENT_FRAME_TYPES.has(candidate.type)) {
    return { ok: false, id, error: new SwitchboardError('unknown_command', `Unknown command "${candidate.type}".`) };
  }
  const parsed = clientFrameSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const where = issue.path.length > 0 ? issue.path.join('.') : 'frame';
    return badFrame(`Invalid ${where}: ${issue.message}.`, id);
  }
  return { ok: true, frame: parsed.data };
}

/** The request id of a frame rejected before decoding, when it is cheap to find. */
function requestIdOf(data: Buffer): RequestId {
  const match = /"id"\s*:\s*(\d{1,15}|"[^"]{1,64}")/.exec(data.subarray(0, 256).toString('utf8'));
  if (!match) return null;
  const value = match[1]!;
  return value.startsWith('"') ? value.slice(1, -1) : Number(value);
}
