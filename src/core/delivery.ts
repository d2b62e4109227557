import type { UserNotice } from './chat-notices.js';
import type { ChannelEvent, EphemeralEvent, SessionId } from './types.js';

export type Outbound =
  | { readonly type: 'event'; readonly event: ChannelEvent }
  | EphemeralEvent
  | UserNotice
  /** `spreadMs`: reconnect after a random delay below it, so a draining node's clients do not all arrive at once. */
  | { readonly type: 'close'; readonly reason: string; readonly reconnect: boolean; readonly spreadMs?: number };

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
