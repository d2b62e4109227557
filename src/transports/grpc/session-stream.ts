import type { ServerWritableStream, ServiceError } from '@grpc/grpc-js';
import { ERROR_CODES, type ErrorCode } from '../../../protocol/codes.js';
import type { Delivery, Outbound } from '../../core/delivery.js';
import type { Logger } from '../../core/logger.js';
import type { SessionSink } from '../../core/session.js';
import { statusOf } from './grpc-errors.js';

/** A push as the stream's serialized response, or null for one the stream does not carry. */
export type PushEncoder = (message: Outbound) => Buffer | null;

export const RECONNECT_SPREAD_KEY = 'x-switchboard-reconnect-spread-ms';

/**
 * One server-streaming call (Subscribe, FollowList) as a hub session sink: each push is
 * serialized once per Delivery for every stream of the same rpc (`format`) and written to
 * the call. Bytes not yet taken by HTTP/2 are counted; past the bound the client is cut
 * off as a slow consumer (it resumes with `since`), and catch-up waits for the count to
 * halve, so a resume never floods memory.
 */
export class SessionStream implements SessionSink {
  readonly #call: ServerWritableStream<unknown, Buffer>;
  readonly #format: string;
  readonly #encode: PushEncoder;
  readonly #maxQueuedBytes: number;
  readonly #logger: Logger;
  #queuedBytes = 0;
  #lastSeq: number | null = null;
  #ended = false;
  #waiters: (() => void)[] = [];
  #endListeners: (() => void)[] = [];

  constructor(options: {
    call: ServerWritableStream<unknown, Buffer>;
    /** The Delivery encoding key: one per response message type. */
    format: string;
    encode: PushEncoder;
    maxQueuedBytes: number;
    logger: Logger;
  }) {
    this.#call = options.call;
    this.#format = options.format;
    this.#encode = options.encode;
    this.#maxQueuedBytes = options.maxQueuedBytes;
    this.#logger = options.logger;
    const gone = () => {
      this.#ended = true;
      this.#finish();
    };
    this.#call.on('cancelled', gone);
    this.#call.on('close', gone);
  }

  get ended(): boolean {
    return this.#ended || this.#call.cancelled;
  }

  get queuedBytes(): number {
    return this.#queuedBytes;
  }

  deliver(delivery: Delivery): void {
    if (this.ended) return;
    const message = delivery.message;
    switch (message.type) {
      case 'close':
        // Not to come back (an administrator, a ban): refused, not unavailable.
        if (message.reconnect) this.endForShutdown(message.reason, message.spreadMs);
        else this.end(statusOf('forbidden', message.reason));
        return;
      // A stream is its one subscription (or live list): when the hub ends that, or the
      // session (an expired token), the call ends with the code's status, e.g.
      // PERMISSION_DENIED for access taken away, UNAUTHENTICATED for an expired token.
      case 'unsubscribed':
      case 'error':
        this.end(statusOf(message.code, message.message));
        return;
      // The channel is gone: the stream says so (`channel_deleted`), then ends OK, not as a failure.
      case 'channelDeleted': {
        const bytes = delivery.encode(this.#format, this.#encode);
        if (bytes !== null) this.write(bytes);
        this.complete();
        return;
      }
    }
    const bytes = delivery.encode(this.#format, this.#encode);
    if (bytes === null) return;
    if (message.type === 'event') this.#lastSeq = message.event.seq;
    this.write(bytes);
  }

  /** Writes an already serialized response (also the command's result). */
  write(bytes: Buffer): void {
    if (this.ended) return;
    if (this.#queuedBytes > this.#maxQueuedBytes) {
      this.#logger.warn({}, 'slow gRPC subscriber disconnected');
      this.end(statusOf('slow_consumer', 'The client reads too slowly: reconnect and resume with since.'));
      return;
    }
    this.#queuedBytes += bytes.length;
    this.#call.write(bytes, () => {
      this.#queuedBytes -= bytes.length;
      if (this.#queuedBytes < this.#maxQueuedBytes / 2) this.#wake();
    });
  }

  whenWritable(): Promise<void> | null {
    if (this.ended || this.#queuedBytes < this.#maxQueuedBytes / 2) return null;
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Ends the session from the server's side (an administrator): the status of the close code's error. */
  close(code: number, reason: string): void {
    const error = (Object.keys(ERROR_CODES) as ErrorCode[]).find((name) => ERROR_CODES[name].close === code) ?? 'unavailable';
    this.end(statusOf(error, reason));
  }

  /** Ends the call with `status`, after what was already written. */
  end(status: Partial<ServiceError>): void {
    if (this.ended) return;
    this.#ended = true;
    this.#finish();
    // grpc-js turns an 'error' event on a server stream into the call's final status.
    this.#call.emit('error', status);
  }

  /** Ends the call with status OK, after what was already written. */
  complete(): void {
    if (this.ended) return;
    this.#ended = true;
    this.#finish();
    this.#call.end();
  }

  /**
   * Ends the call with UNAVAILABLE and a message that says where to resume. With
   * `spreadMs`, the trailer `x-switchboard-reconnect-spread-ms` asks clients to pick a random
   * delay up to it, so the nodes left are not stampeded.
   */
  endForShutdown(reason: string, spreadMs?: number): void {
    const status = statusOf('unavailable', reconnectMessage(reason, this.#lastSeq));
    if (spreadMs) status.metadata?.set(RECONNECT_SPREAD_KEY, String(spreadMs));
    this.end(status);
  }

  /** Runs `listener` once, when the stream ends for any reason. */
  onEnd(listener: () => void): void {
    if (this.#ended) listener();
    else this.#endListeners.push(listener);
  }

  #finish(): void {
    this.#wake();
    for (const listener of this.#endListeners.splice(0)) listener();
  }

  #wake(): void {
    for (const waiter of this.#waiters.splice(0)) waiter();
  }
}

function reconnectMessage(reason: string, lastSeq: number | null): string {
  return lastSeq === null ? `${reason}: reconnect and call again.` : `${reason}: reconnect and subscribe again with since=${lastSeq}.`;
}
