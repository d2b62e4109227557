import type { ServerWritableStream, ServiceError } from '@grpc/grpc-js';
import type { Delivery } from '../../core/delivery.js';
import type { Logger } from '../../core/logger.js';
import type { SessionSink } from '../../core/session.js';
import { statusOf } from './grpc-errors.js';
import { subscribeResponse } from './grpc-messages.js';

/** Serializes a SubscribeResponse; the same bytes go to every stream (see Delivery). */
export type ResponseSerializer = (message: object) => Buffer;

const WIRE_FORMAT = 'grpc-proto';
export const RECONNECT_SPREAD_KEY = 'x-switchboard-reconnect-spread-ms';

/**
 * One Subscribe call as a hub session sink: pushes are serialized once per Delivery and
 * written to the call. Bytes not yet taken by HTTP/2 are counted; past the bound the
 * client is cut off as a slow consumer (it resumes with `since`), and catch-up waits
 * for the count to halve, so a resume never floods memory.
 */
export class SubscribeStream implements SessionSink {
  readonly #call: ServerWritableStream<unknown, Buffer>;
  readonly #serialize: ResponseSerializer;
  readonly #maxQueuedBytes: number;
  readonly #eventsOnly: boolean;
  readonly #logger: Logger;
  #queuedBytes = 0;
  #lastSeq: number | null = null;
  #ended = false;
  #waiters: (() => void)[] = [];
  #endListeners: (() => void)[] = [];

  constructor(options: {
    call: ServerWritableStream<unknown, Buffer>;
    serialize: ResponseSerializer;
    maxQueuedBytes: number;
    eventsOnly: boolean;
    logger: Logger;
  }) {
    this.#call = options.call;
    this.#serialize = options.serialize;
    this.#maxQueuedBytes = options.maxQueuedBytes;
    this.#eventsOnly = options.eventsOnly;
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

  deliver(delivery: Delivery): void {
    if (this.ended) return;
    const message = delivery.message;
    if (message.type === 'close') {
      this.endForShutdown(message.reason, message.spreadMs);
      return;
    }
    if (this.#eventsOnly && message.type !== 'event') return;
    const bytes = delivery.encode(WIRE_FORMAT, (m) => {
      const response = subscribeResponse(m);
      return response === null ? null : this.#serialize(response);
    });
    if (bytes === null) return;
    if (message.type === 'event') this.#lastSeq = message.event.seq;
    this.write(bytes);
  }

  /** Writes an already serialized SubscribeResponse (also the `subscribed` marker). */
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

  /** Ends the call with `status`, after what was already written. */
  end(status: Partial<ServiceError>): void {
    if (this.ended) return;
    this.#ended = true;
    this.#finish();
    // grpc-js turns an 'error' event on a server stream into the call's final status.
    this.#call.emit('error', status);
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
  const resume = lastSeq === null ? 'with since' : `with since=${lastSeq}`;
  return `${reason}: reconnect and subscribe again ${resume}.`;
}
