import type { ServerResponse } from 'node:http';
import type { Delivery } from '../../core/delivery.js';
import type { SessionSink } from '../../core/session.js';
import type { ChannelId, Seq } from '../../core/types.js';
import type { BatchedConnection, WriteBatcher } from '../write-batcher.js';
import { formatCursor } from './sse-cursor.js';
import { encodeSseFrame, HEARTBEAT } from './sse-frames.js';

export interface SseStreamOptions {
  readonly response: ServerResponse;
  /** Where the client stands already (from Last-Event-ID): events at or below are not sent again. */
  readonly cursor: Map<ChannelId, Seq>;
  /** Bytes queued for the client before it is dropped as a slow consumer (it resumes later). */
  readonly maxQueuedBytes: number;
  readonly heartbeatMs: number;
  /** How many channels the stream carries: when the hub has ended every one (`unsubscribed`, `channelDeleted`), the stream ends. */
  readonly channels: number;
  /** Each channel's epoch, written into the ids with its seq (from Last-Event-ID until `ready`). */
  readonly epochs?: Map<ChannelId, number>;
  /** Called once when the stream ends, whoever ended it. */
  readonly onEnd: () => void;
  /** When the frames held (corked) are written: the transport's load-adaptive write delay. */
  readonly batcher: WriteBatcher;
}

/**
 * One SSE connection as a hub session sink. Stored events carry `id:` with the cursor of
 * every channel in the stream, so a reconnecting EventSource resumes each where it was.
 * The event text is encoded once per Delivery and shared by every stream.
 *
 * The session is opened before the stream (`open`), so a refusal (too many sessions, a
 * banned user) is still an HTTP status; what the hub hands it meanwhile waits for `open`.
 */
export class SseStream implements SessionSink, BatchedConnection {
  readonly #response: ServerResponse;
  readonly #cursor: Map<ChannelId, Seq>;
  readonly #epochs: Map<ChannelId, number>;
  readonly #maxQueuedBytes: number;
  readonly #heartbeatMs: number;
  readonly #onEnd: () => void;
  #heartbeat: NodeJS.Timeout | null = null;
  /** Channels still streamed: each `unsubscribed` takes one away. */
  #channels: number;
  /** Frames handed over before `open`, written right after the headers; null once open. */
  #early: string[] | null = [];
  #corked = false;
  readonly #batcher: WriteBatcher;
  #ended = false;
  /** False while the subscriptions catch up (see #write). */
  #live = false;

  constructor(options: SseStreamOptions) {
    this.#response = options.response;
    this.#cursor = options.cursor;
    this.#epochs = options.epochs ?? new Map();
    this.#maxQueuedBytes = options.maxQueuedBytes;
    this.#heartbeatMs = options.heartbeatMs;
    this.#channels = options.channels;
    this.#onEnd = options.onEnd;
    this.#batcher = options.batcher;
  }

  get ended(): boolean {
    return this.#ended;
  }

  /** Sends the status line and headers, and `retry:` so browsers reconnect quickly. */
  open(): void {
    if (this.#ended) return;
    this.#response.once('close', () => this.#finish());
    // The client may have gone while we authenticated: 'close' has fired already then.
    if (!this.#response.socket || this.#response.socket.destroyed) queueMicrotask(() => this.#finish());
    this.#heartbeat = setInterval(() => this.#write(HEARTBEAT), this.#heartbeatMs);
    this.#heartbeat.unref();
    this.#response.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      Connection: 'keep-alive',
      // nginx would otherwise buffer the stream.
      'X-Accel-Buffering': 'no',
    });
    const early = this.#early ?? [];
    this.#early = null;
    this.#write('retry: 2000\n: connected\n\n');
    for (const text of early) this.#write(text);
  }

  deliver(delivery: Delivery): void {
    if (this.#ended) return;
    const message = delivery.message;
    const frame = delivery.encode('sse', encodeSseFrame);
    if (message.type === 'event') {
      const { channel, seq } = message.event;
      // A resumed stream may be offered what the client already has: skip, never repeat.
      if (seq <= (this.#cursor.get(channel) ?? 0)) return;
      this.#cursor.set(channel, seq);
      this.#write(`id: ${formatCursor(this.#cursor, this.#epochs)}\n${frame}`);
    } else {
      this.#write(frame);
    }
    switch (message.type) {
      case 'unsubscribed':
      case 'channelDeleted':
        // Access to the channel was taken away, or it is gone: nothing more of it, nor its place in the id.
        this.#cursor.delete(message.channel);
        this.#epochs.delete(message.channel);
        if (--this.#channels <= 0) this.end();
        return;
      case 'close':
      case 'error':
        this.end();
        return;
    }
  }

  /** The hub ends the session (a ban, an expired token): after the frame that says why, the stream ends. */
  close(_code: number, _reason: string): void {
    this.end();
  }

  whenWritable(): Promise<void> | null {
    if (this.#ended || !this.#response.writableNeedDrain) return null;
    return new Promise((resolve) => {
      const done = () => {
        this.#response.off('drain', done);
        this.#response.off('close', done);
        resolve();
      };
      this.#response.once('drain', done);
      this.#response.once('close', done);
    });
  }

  /**
   * Records the seq a channel went live at and tells the client, with an id to resume from.
   * `truncated`: channels whose resume point was older than what they keep, with the first
   * seq sent (`{"truncated":{"live:a":41}}`).
   */
  ready(channels: ReadonlyMap<ChannelId, { seq: Seq; epoch?: number }>, truncated: ReadonlyMap<ChannelId, Seq> = new Map()): void {
    this.#live = true;
    for (const [channel, { seq, epoch }] of channels) {
      // Server-side subscriptions report no epoch: their ids carry a bare seq.
      if (epoch !== undefined) this.#epochs.set(channel, epoch);
      // Even an empty channel gets its position (0): a resume must not start it live.
      if (seq >= (this.#cursor.get(channel) ?? 0)) this.#cursor.set(channel, seq);
    }
    const positions = Object.fromEntries(this.#cursor);
    const body = {
      channels: positions,
      epochs: Object.fromEntries(this.#epochs),
      ...(truncated.size > 0 && { truncated: Object.fromEntries(truncated) }),
    };
    this.#write(`id: ${formatCursor(this.#cursor, this.#epochs)}\nevent: ready\ndata: ${JSON.stringify(body)}\n\n`);
  }

  /** Sends a final `error` event and ends the stream. */
  fail(error: { code: string; message: string }): void {
    this.#write(`event: error\ndata: ${JSON.stringify({ code: error.code, message: error.message })}\n\n`);
    this.end();
  }

  end(): void {
    if (this.#ended) return;
    // Not opened: the transport answers the request itself (it sees `ended`).
    if (this.#early !== null) return this.#finish();
    // Node 22 writes the end of the body ahead of data still corked: the last frames
    // (a close notice) would be lost, so they go out first.
    if (this.#corked) {
      this.#corked = false;
      this.#response.uncork();
    }
    this.#response.end();
    this.#finish();
  }

  #write(text: string): void {
    if (this.#ended) return;
    if (this.#early !== null) {
      this.#early.push(text);
      return;
    }
    // Frames due before the batcher's next flush (this tick, or a little later under load) go out in one write.
    if (!this.#corked) {
      this.#corked = true;
      this.#response.cork();
      this.#batcher.due(this);
    }
    this.#response.write(text);
    // While catching up, the hub sends a page at a time and waits for the socket to drain
    // in between (whenWritable), so the queue is bounded by a page; only a live stream that
    // falls behind is dropped.
    if (this.#live && this.#response.writableLength > this.#maxQueuedBytes) {
      // Too far behind: drop it; the client resumes from its Last-Event-ID.
      this.#response.destroy();
      this.#finish();
    }
  }

  /** Writes what is held (called by the batcher). */
  flushBatch(): void {
    if (!this.#corked) return;
    this.#corked = false;
    this.#response.uncork();
  }

  #finish(): void {
    if (this.#ended) return;
    this.#ended = true;
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    this.#onEnd();
  }
}
