import { backoffDelay, defaultBackoff } from './backoff.js';
import { ClientError } from './errors.js';
import type { ReplyFrame, RequestFrame } from './frames.js';

export interface RequestOptions {
  /** Reject with `timeout` after this long (from the call, across reconnects). */
  readonly timeoutMs: number;
  /**
   * Safe to send again after the connection dropped before the reply (the protocol's
   * `retry`: reads, and writes made idempotent by a cid). Requests that are not are
   * rejected with `connection_lost`.
   */
  readonly repeatable: boolean;
  /**
   * Sent again after a pause when answered `unavailable` or `rate_limited` (the server did
   * nothing). Only for writes with a cid: `unavailable` also means "feature not enabled".
   */
  readonly retryLater?: boolean;
  /**
   * Belongs to one connection (auth, resubscribe, heartbeat): may go out before the
   * connection is authenticated, and is dropped with it instead of waiting for the next.
   */
  readonly bound?: boolean;
}

interface Pending {
  readonly id: number;
  /** The command (or `auth`). */
  readonly type: string;
  /** The frame's fields, or a function that gives them afresh for each send. */
  readonly params: object | (() => object);
  readonly options: RequestOptions;
  sent: boolean;
  retries: number;
  timer: ReturnType<typeof setTimeout>;
  retryTimer: ReturnType<typeof setTimeout> | null;
  resolve(result: unknown): void;
  reject(error: ClientError): void;
}

/** Replies that promise nothing was done, so a `retryLater` request is sent again after a pause. */
const RETRY_LATER: ReadonlySet<string> = new Set(['unavailable', 'rate_limited']);
const RETRY_BACKOFF = { ...defaultBackoff, initialDelayMs: 100, maxDelayMs: 2000 };

/**
 * Requests waiting for their reply. Each gets one id for its whole life, is (re)sent when
 * a connection can take it, and settles exactly once: with its reply, its timeout, or
 * the client's end.
 */
export class RequestTable {
  readonly #pending = new Map<number, Pending>();
  /** Writes a frame if the connection can take it now; false when it cannot. */
  readonly #transmit: (frame: RequestFrame, bound: boolean) => boolean;
  #nextId = 1;

  constructor(transmit: (frame: RequestFrame, bound: boolean) => boolean) {
    this.#transmit = transmit;
  }

  get size(): number {
    return this.#pending.size;
  }

  /**
   * Sends a request when a connection can take it. `params` may be a function, called at
   * each send, for fields that depend on what happened meanwhile (a resubscribe's `since`).
   */
  add<T>(type: string, params: object | (() => object), options: RequestOptions): Promise<T> {
    const id = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      const pending: Pending = {
        id,
        type,
        params,
        options,
        sent: false,
        retries: 0,
        retryTimer: null,
        timer: setTimeout(() => {
          this.#settle(pending);
          reject(new ClientError('timeout', `No reply to ${type} within ${options.timeoutMs} ms.`, { request: type }));
        }, options.timeoutMs),
        resolve: resolve as (result: unknown) => void,
        reject,
      };
      this.#pending.set(id, pending);
      this.#trySend(pending);
    });
  }

  /** Sends every request still waiting for a connection (oldest first). */
  flush(): void {
    for (const pending of this.#pending.values()) {
      if (!pending.sent && pending.retryTimer === null) this.#trySend(pending);
    }
  }

  /** Settles the request a reply answers; false when none waits for it (e.g. it timed out). */
  onReply(frame: ReplyFrame): boolean {
    const pending = typeof frame.id === 'number' ? this.#pending.get(frame.id) : undefined;
    if (!pending) return false;
    if (frame.type === 'ok') {
      this.#settle(pending);
      pending.resolve(frame.result);
      return true;
    }
    if (pending.options.retryLater && RETRY_LATER.has(frame.code)) {
      pending.sent = false;
      pending.retryTimer = setTimeout(() => {
        pending.retryTimer = null;
        this.#trySend(pending);
      }, backoffDelay(pending.retries++, RETRY_BACKOFF));
      return true;
    }
    this.#settle(pending);
    pending.reject(new ClientError(frame.code, frame.message, { request: pending.type, details: frame.details }));
    return true;
  }

  /** The connection dropped: repeatable requests wait for the next one, the others fail. */
  onConnectionLost(): void {
    for (const pending of [...this.#pending.values()]) {
      if (pending.options.bound || (pending.sent && !pending.options.repeatable)) {
        this.#settle(pending);
        pending.reject(
          new ClientError('connection_lost', `The connection dropped before ${pending.type} was answered.`, {
            request: pending.type,
          }),
        );
      } else {
        pending.sent = false;
      }
    }
  }

  /** Fails every request (the client is closing or has stopped for good). */
  failAll(error: ClientError): void {
    for (const pending of [...this.#pending.values()]) {
      this.#settle(pending);
      pending.reject(new ClientError(error.code, error.message, { request: pending.type, details: error.details }));
    }
  }

  #trySend(pending: Pending): void {
    if (pending.sent) return;
    const params = typeof pending.params === 'function' ? pending.params() : pending.params;
    const frame: RequestFrame = { type: pending.type, id: pending.id, ...params };
    pending.sent = this.#transmit(frame, pending.options.bound === true);
  }

  #settle(pending: Pending): void {
    clearTimeout(pending.timer);
    if (pending.retryTimer !== null) clearTimeout(pending.retryTimer);
    this.#pending.delete(pending.id);
  }
}
