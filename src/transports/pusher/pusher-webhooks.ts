import type { Logger } from '../../core/logger.js';
import type { PusherApp } from './pusher-apps.js';
import { hmacHex } from './pusher-crypto.js';

/** One webhook event in Pusher's format. */
export type PusherWebhookEvent =
  | { readonly name: 'channel_occupied' | 'channel_vacated' | 'cache_miss'; readonly channel: string }
  | { readonly name: 'member_added' | 'member_removed'; readonly channel: string; readonly user_id: string }
  | {
      readonly name: 'client_event';
      readonly channel: string;
      readonly event: string;
      readonly data: string;
      readonly socket_id: string;
      readonly user_id?: string;
    };

export interface PusherWebhookOptions {
  readonly logger: Logger;
  /** Attempts per POST, the first included. */
  readonly attempts?: number;
  /** Delay before the first retry; doubled for each further one. */
  readonly retryBaseMs?: number;
  readonly timeoutMs?: number;
}

/**
 * Posts an app's webhooks in Pusher's format: `{time_ms, events}` signed with the app
 * secret (X-Pusher-Key, X-Pusher-Signature). Events raised in one tick travel in one POST;
 * a failed POST (network error or non-2xx) is retried with exponential backoff, then
 * dropped with a warning. Kept in memory: a restart loses pending retries.
 */
export class PusherWebhookSender {
  readonly #logger: Logger;
  readonly #attempts: number;
  readonly #retryBaseMs: number;
  readonly #timeoutMs: number;
  readonly #pending = new Map<PusherApp, PusherWebhookEvent[]>();
  readonly #timers = new Set<NodeJS.Timeout>();
  #closed = false;

  constructor(options: PusherWebhookOptions) {
    this.#logger = options.logger;
    this.#attempts = options.attempts ?? 5;
    this.#retryBaseMs = options.retryBaseMs ?? 1000;
    this.#timeoutMs = options.timeoutMs ?? 5000;
  }

  send(app: PusherApp, event: PusherWebhookEvent): void {
    if (this.#closed || app.webhooks.length === 0) return;
    const queue = this.#pending.get(app);
    if (queue) {
      queue.push(event);
      return;
    }
    this.#pending.set(app, [event]);
    setImmediate(() => this.#flush(app));
  }

  close(): void {
    this.#closed = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
  }

  #flush(app: PusherApp): void {
    const events = this.#pending.get(app) ?? [];
    this.#pending.delete(app);
    if (events.length === 0 || this.#closed) return;
    const body = JSON.stringify({ time_ms: Date.now(), events });
    const headers = {
      'content-type': 'application/json',
      'x-pusher-key': app.key,
      'x-pusher-signature': hmacHex(app.secret, body),
    };
    for (const url of app.webhooks) void this.#post(url, body, headers, 1);
  }

  async #post(url: string, body: string, headers: Record<string, string>, attempt: number): Promise<void> {
    if (this.#closed) return;
    let failure: string;
    try {
      const response = await fetch(url, {
        method: 'POST',
        body,
        headers,
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
      await response.body?.cancel();
      if (response.ok) return;
      failure = `HTTP ${response.status}`;
    } catch (error) {
      failure = error instanceof Error ? error.message : String(error);
    }
    if (attempt >= this.#attempts || this.#closed) {
      this.#logger.warn({ url, attempts: attempt, failure }, 'pusher webhook dropped after retries');
      return;
    }
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      void this.#post(url, body, headers, attempt + 1);
    }, this.#retryBaseMs * 2 ** (attempt - 1));
    timer.unref();
    this.#timers.add(timer);
  }
}
