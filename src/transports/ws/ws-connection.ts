import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import { authFrame, type RequestId } from '../../../protocol/frames.js';
import type { Credentials } from '../../auth/authenticator.js';
import type { Delivery, Outbound } from '../../core/delivery.js';
import { CLOSE_CODES, SwitchboardError, toSwitchboardError } from '../../core/errors.js';
import type { Hub } from '../../core/hub.js';
import type { Logger } from '../../core/logger.js';
import type { Session, SessionSink } from '../../core/session.js';
import type { ChannelId, Seq } from '../../core/types.js';
import type { Call } from '../../edge/call.js';
import type { ConnectionAdmission } from '../../edge/connection-admission.js';
import type { CommandPipeline } from '../../edge/pipeline.js';
import { TokenBucket } from '../../edge/token-bucket.js';
import { type ServerSidePositions, subscribeServerSide } from '../../edge/server-subscriptions.js';
import { parseInput } from '../../edge/validation.js';
import { FloodWindow } from '../flood-window.js';
import { SendBacklog, SOCKET_SHARE_BYTES } from '../send-backlog.js';
import type { BatchedConnection, WriteBatcher } from '../write-batcher.js';
import { decodeRequestFrame } from './request-frame.js';
import { errorFrame, okFrame, welcomeFrame } from './server-frames.js';
import type { WsEncoding } from './ws-encoding.js';

export interface WsLimits {
  /** Bytes a client may have waiting to be sent before it is cut off as a slow consumer. */
  readonly sendQueueBytes: number;
  /** Raw frames a connection may send per second (and at once), before any decoding. */
  readonly messagesPerSecond: number;
  readonly messageBurst: number;
  /** Refused frames (over the rate) within `floodWindowMs` past which the connection is closed (4429). */
  readonly floodCloseAfter: number;
  /** The window `floodCloseAfter` counts in; default 10 s. */
  readonly floodWindowMs: number;
  readonly authTimeoutMs: number;
}

/** Limits a connection enforced, reported for metrics. */
export type LimitHit = 'slow_consumer' | 'rate_limited';

const TERMINATE_AFTER_CLOSE_MS = 2000;
/** The handshake's fields: the auth frame without `type` and `id`. */
const authInput = authFrame.omit({ type: true, id: true });

/** What a handshake brings besides credentials: the connect hook's data, server-side subscriptions' positions (and their epochs). */
interface Handshake extends ServerSidePositions {
  readonly data?: unknown;
}

/** The upgrade request's headers, kept only when a connect hook may be shown them. */
export type UpgradeHeaders = Readonly<Record<string, string | string[] | undefined>> | null;

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

/**
 * One client on /ws. A request frame is a command named by its `type`, run through the
 * edge's pipeline with the frame's other fields as input; this class knows no command.
 * What it owns is the socket: the auth handshake, raw-frame flood control, heartbeats,
 * and writing replies and deliveries.
 */
export class WsConnection implements SessionSink, BatchedConnection {
  readonly #ws: WebSocket;
  readonly #socket: Socket;
  readonly #hub: Hub;
  readonly #pipeline: CommandPipeline;
  readonly #admission: ConnectionAdmission;
  readonly #headers: UpgradeHeaders;
  readonly #limits: WsLimits;
  readonly #logger: Logger;
  readonly #encoding: WsEncoding;
  /** Made on the first frame: an idle connection never needs one. */
  #bucket: TokenBucket | null = null;
  /** Made on the first refused frame. */
  #flood: FloodWindow | null = null;
  readonly #onLimit: ((hit: LimitHit) => void) | undefined;
  readonly #onClosed: ((connection: WsConnection) => void) | undefined;
  #session: Session | null = null;
  /** Who sends this connection's commands: made once, when it authenticates. */
  #call: Call | null = null;
  #authenticating: Promise<void> | null = null;
  /**
   * Deliveries to the session made before its welcome (or auth reply) was written: the
   * session's own notices (contacts, status) and events of server-side subscriptions
   * arrive while they are being made, and follow the welcome.
   */
  #beforeWelcome: Delivery[] | null = null;
  #authTimer: NodeJS.Timeout | null = null;
  /** Whether the upgrade's 101 response still waits in the socket for the welcome (one write for both). */
  #corked: boolean;
  #closed = false;
  readonly #batcher: WriteBatcher;
  /** Frames due since the last flush, in order (replies and deliveries alike); the batcher says when they go. */
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  /** Frames past the socket's share (SOCKET_SHARE_BYTES); made when the client first falls behind. */
  #backlog: SendBacklog<Buffer> | null = null;
  /** Bytes the socket had read when it was last pinged; -1 before the first ping. */
  #readAtPing = -1;
  #pingedAt = -Infinity;

  constructor(options: {
    ws: WebSocket;
    socket: Socket;
    /** For the session only (connect, disconnect): commands go through the pipeline. */
    hub: Hub;
    pipeline: CommandPipeline;
    /** Who the connection is: credentials, then the app's connect hook when there is one. */
    admission: ConnectionAdmission;
    /** The upgrade request's headers, for the connect hook; null without one. */
    headers?: UpgradeHeaders;
    limits: WsLimits;
    logger: Logger;
    /** When this connection's frames are written (shared by the transport's connections). */
    batcher: WriteBatcher;
    /** JSON or MessagePack, as the client asked when it connected. */
    encoding: WsEncoding;
    /** Told when a limit cut a frame or the connection (metrics). */
    onLimit?: (hit: LimitHit) => void;
    /** Told once the socket closed (the transport's connection list). */
    onClosed?: (connection: WsConnection) => void;
    /** The socket is corked (the 101 response held back): uncorked with the first frames. */
    corked?: boolean;
  }) {
    this.#corked = options.corked === true;
    this.#onClosed = options.onClosed;
    this.#onLimit = options.onLimit;
    this.#ws = options.ws;
    this.#socket = options.socket;
    this.#hub = options.hub;
    this.#pipeline = options.pipeline;
    this.#admission = options.admission;
    this.#headers = options.headers ?? null;
    this.#limits = options.limits;
    this.#logger = options.logger;
    this.#batcher = options.batcher;
    this.#encoding = options.encoding;
    (this.#ws as WebSocket & { [CONNECTION]: WsConnection })[CONNECTION] = this;
    this.#ws.on('message', onMessage);
    this.#ws.on('close', onClose);
    this.#ws.on('error', ignore);
  }

  get session(): Session | null {
    return this.#session;
  }

  get queuedBytes(): number {
    return this.#socket.writableLength + this.#pendingBytes + (this.#backlog?.bytes ?? 0);
  }

  /** Authenticates from the upgrade request (query string) when it carried credentials. */
  start(credentials: Credentials | null): void {
    if (credentials) {
      this.#authenticating = this.#authenticate(credentials, {}, null);
      return;
    }
    this.#authTimer = setTimeout(() => {
      if (!this.#session) this.close(CLOSE_CODES.unauthorized, 'authentication timed out');
    }, this.#limits.authTimeoutMs);
    this.#authTimer.unref();
  }

  deliver(delivery: Delivery): void {
    if (this.#closed) return;
    if (this.#beforeWelcome) {
      this.#beforeWelcome.push(delivery);
      return;
    }
    this.#write(delivery.encode(this.#encoding.format, this.#encoding.outbound));
  }

  whenWritable(): Promise<void> | null {
    if (this.#closed || this.queuedBytes < this.#limits.sendQueueBytes / 2) return null;
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
    // What is due goes out before the close frame (a shutdown's `close` notice among it).
    if (this.#socket.writable) {
      this.flushBatch();
      this.#backlog?.flushAll();
    }
    this.#closed = true;
    if (this.#authTimer) clearTimeout(this.#authTimer);
    this.#uncork();
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

  /** Queues a frame for the next flush (the batcher's: this tick, or a little later under load). */
  #write(frame: Buffer): void {
    // A socket the peer already ended would only build an error per frame.
    if (!this.#socket.writable) return;
    if (this.queuedBytes + frame.length > this.#limits.sendQueueBytes) {
      this.#cutSlowConsumer();
      return;
    }
    if (this.#pending.length === 0) this.#batcher.due(this);
    this.#pending.push(frame);
    this.#pendingBytes += frame.length;
    // A full write's worth gains nothing by waiting.
    if (this.#pending.length >= this.#batcher.settings.maxFramesPerWrite) this.flushBatch();
  }

  /** Hands the frames due to the socket, at most maxFramesPerWrite per write (called by the batcher). */
  flushBatch(): void {
    const frames = this.#pending;
    if (frames.length === 0) return;
    this.#pending = [];
    this.#pendingBytes = 0;
    const most = this.#batcher.settings.maxFramesPerWrite;
    for (let i = 0; i < frames.length; i += most) {
      this.#send(this.#batcher.join(frames.length <= most ? frames : frames.slice(i, i + most)));
    }
    this.#uncork();
  }

  /** Lets the 101 response and the first frames (the welcome, or the error) out in one write. */
  #uncork(): void {
    if (!this.#corked) return;
    this.#corked = false;
    this.#socket.uncork();
  }

  #send(chunk: Buffer): void {
    if (!this.#socket.writable) return;
    if ((this.#backlog === null || this.#backlog.empty) && this.#socket.writableLength < SOCKET_SHARE_BYTES) {
      this.#socket.write(chunk);
      return;
    }
    this.#backlog ??= new SendBacklog(this.#socket, (queued) => this.#socket.write(queued), () => this.#socket.writableLength);
    this.#backlog.push(chunk, chunk.length);
  }

  /**
   * The client reads slower than its frames come. The backlog is dropped (the client
   * resumes with `since`); the `slow_consumer` error and the 4408 close go behind what the
   * socket holds (its share, and what the kernel buffers hold), and reach a client that
   * still reads, however long it takes it to get there: no early terminate, only ws's own
   * close timeout (30 s) for one that reads nothing at all. Its session ends now, not when
   * the socket has flushed: it gets no more deliveries, and does not hold its place among
   * the user's sessions while it reconnects.
   */
  #cutSlowConsumer(): void {
    this.#logger.warn({ session: this.#session?.id, queued: this.queuedBytes }, 'slow consumer disconnected');
    this.#onLimit?.('slow_consumer');
    this.#closed = true;
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#backlog?.drop();
    if (this.#authTimer) clearTimeout(this.#authTimer);
    const error = new SwitchboardError('slow_consumer', 'You read too slowly: reconnect and resume with since.');
    this.#socket.write(this.#encoding.frame(errorFrame(null, error)));
    this.#ws.close(CLOSE_CODES.slowConsumer, 'slow consumer: reconnect and resume');
    if (this.#session) void this.#hub.disconnect(this.#session);
  }

  #reply(id: RequestId, result: unknown): void {
    if (!this.#closed) this.#write(this.#encoding.frame(okFrame(id, result)));
  }

  #replyError(id: RequestId | null, error: unknown): void {
    // The pipeline logged its own failures; only what failed here (the handshake) is new.
    if (!(error instanceof SwitchboardError)) this.#logger.error({ err: error, session: this.#session?.id }, 'request failed');
    const failure = toSwitchboardError(error);
    if (failure.code === 'rate_limited') this.#onLimit?.('rate_limited');
    if (!this.#closed) this.#write(this.#encoding.frame(errorFrame(id, failure)));
  }

  /** A frame arrived (called by the socket's listener). */
  async received(data: Buffer, isBinary: boolean): Promise<void> {
    if (this.#closed) return;
    // Flood control on raw frames, before any decoding: a flood costs the flooder only.
    this.#bucket ??= new TokenBucket(this.#limits.messagesPerSecond, this.#limits.messageBurst);
    if (!this.#bucket.take()) {
      this.#flood ??= new FloodWindow({
        floodCloseAfter: this.#limits.floodCloseAfter,
        floodWindowMs: this.#limits.floodWindowMs,
      });
      if (this.#flood.refused()) {
        this.#onLimit?.('rate_limited');
        this.close(CLOSE_CODES.rateLimited, 'message flood');
        return;
      }
      this.#replyError(this.#encoding.requestIdOf(data), new SwitchboardError('rate_limited', 'Slow down: message rate exceeded.'));
      return;
    }
    const decoded = decodeRequestFrame(data, isBinary, this.#encoding);
    if (!decoded.ok) {
      this.#replyError(decoded.id, decoded.error);
      return;
    }
    const { id, type, input } = decoded.frame;
    // Frames pipelined behind an auth frame (a second auth included) wait for its outcome.
    if (this.#authenticating) await this.#authenticating;
    if (type === 'auth') {
      await this.#authFrame(id, input);
      return;
    }
    try {
      if (!this.#call) throw new SwitchboardError('unauthorized', 'Send an auth frame first.');
      this.#reply(id, await this.#pipeline.run(type, input, this.#call));
    } catch (error) {
      this.#replyError(id, error);
    }
  }

  async #authFrame(id: RequestId, input: Record<string, unknown>): Promise<void> {
    let credentials: Credentials;
    let handshake: Handshake;
    try {
      const { data, positions, epochs, ...presented } = parseInput(authInput, input);
      credentials = presented;
      handshake = { data, positions, epochs };
    } catch (error) {
      this.#replyError(id, error);
      return;
    }
    const attempt = this.#authenticate(credentials, handshake, id);
    this.#authenticating = attempt;
    await attempt;
  }

  /** `id` null: credentials from the upgrade request, answered with a welcome frame. */
  async #authenticate(credentials: Credentials, handshake: Handshake, id: RequestId | null): Promise<void> {
    if (this.#session) {
      this.#replyError(id, new SwitchboardError('conflict', 'Already authenticated.'));
      return;
    }
    try {
      const principal = await this.#admission.admit({ wire: 'ws', credentials, header: (name) => this.#header(name), data: handshake.data });
      this.#beforeWelcome = [];
      const session = await this.#hub.connect(principal, 'ws', this);
      if (this.#closed || this.#session) {
        await this.#hub.disconnect(session);
        if (this.#session) this.#replyError(id, new SwitchboardError('conflict', 'Already authenticated.'));
        return;
      }
      this.#session = session;
      this.#call = { principal, session, wire: 'ws' };
      if (this.#authTimer) clearTimeout(this.#authTimer);
      const subscriptions = principal.channels
        ? await subscribeServerSide(this.#pipeline, this.#call, handshake, (channel, error) =>
            this.#write(this.#encoding.frame({ type: 'unsubscribed', channel, code: error.code, message: error.message })),
          )
        : null;
      const { expiresAt } = session.principal;
      // When the credential expires, so a client refreshes in time (auth.refresh).
      const welcome = {
        session: session.id,
        user: principal.userId,
        name: principal.name,
        ...(expiresAt !== undefined && { expiresAt }),
        ...(subscriptions && { subscriptions }),
      };
      if (id === null) this.#write(this.#encoding.frame(welcomeFrame(welcome)));
      else this.#reply(id, welcome);
    } catch (error) {
      this.#replyError(id, error);
      const failure = toSwitchboardError(error);
      if (id === null) this.close(failure.closeCode, failure.message);
    } finally {
      const held = this.#beforeWelcome;
      this.#beforeWelcome = null;
      // After the welcome; refused or closed before it, what was held goes nowhere.
      if (held && this.#session) for (const delivery of held) this.deliver(delivery);
      this.#authenticating = null;
    }
  }

  #header(name: string): string | undefined {
    const value = this.#headers?.[name];
    return Array.isArray(value) ? value.join(', ') : value;
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
