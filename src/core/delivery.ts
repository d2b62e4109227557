import type { ErrorFrame, PushFrame, UnsubscribedFrame } from '../../protocol/frames.js';
import type { ChannelEvent, SessionId } from './types.js';

/**
 * What a session is handed: the protocol's pushed frames (protocol/frames.ts). A stored
 * event stays wrapped (`{type: 'event', event}`) rather than flattened into its frame, so
 * no copy is made per event: each wire lays it out itself (SSE sends the bare event).
 * Modules push their own frames (chat: status, contacts, list, receipt) through the same
 * type without core knowing them. The hub's endings come last: `unsubscribed` (a
 * subscription whose access was taken away) and an `error` with a null id (why the session
 * is about to close); a gRPC stream ends with their status instead of carrying them.
 */
export type Outbound =
  | { readonly type: 'event'; readonly event: ChannelEvent }
  | Exclude<PushFrame, { readonly type: 'event' }>
  | UnsubscribedFrame
  | (ErrorFrame & { readonly id: null });

/**
 * One outbound message shared by every receiver. Each wire format encodes it once, on
 * first use, and every socket of that format is handed the same bytes.
 */
export class Delivery {
  readonly message: Outbound;
  /** A session that must not receive it (the sender of a typing signal). */
  readonly except: SessionId | null;
  #format: string | null = null;
  #encoded: unknown = null;
  #others: Map<string, unknown> | null = null;

  constructor(message: Outbound, except: SessionId | null = null) {
    this.message = message;
    this.except = except;
  }

  encode<T>(format: string, encoder: (message: Outbound) => T): T {
    if (this.#format === format) return this.#encoded as T;
    if (this.#format === null) {
      this.#format = format;
      this.#encoded = encoder(this.message);
      return this.#encoded as T;
    }
    let value = this.#others?.get(format) as T | undefined;
    if (value === undefined) {
      value = encoder(this.message);
      (this.#others ??= new Map()).set(format, value);
    }
    return value;
  }
}
