import type { Logger } from '../core/logger.js';
import type { OutboxRow, WebhookOutbox } from './webhook-outbox.js';
import { signWebhook, WEBHOOK_HEADERS } from './webhook-signer.js';

export interface WebhookDispatcherOptions {
  readonly outbox: WebhookOutbox;
  readonly secret: string;
  readonly logger: Logger;
  /** How long one POST may take before it counts as failed. */
  readonly timeoutMs: number;
  /** Attempts per delivery, the first included; then it is marked failed and kept. */
  readonly maxAttempts: number;
  /** Delay before the first retry; doubled for each further one, up to retryMaxMs. */
  readonly retryBaseMs: number;
  readonly retryMaxMs: number;
  /** Longest sleep between outbox checks (rows other nodes added, leases that ran out). */
  readonly pollMs?: number;
  readonly clock?: () => number;
}

const BATCH = 50;

/**
 * The delivery worker: claims due outbox rows, POSTs each signed body, and records the
 * outcome. A non-2xx answer or a network error schedules a retry after
 * retryBaseMs * 2^(attempts-1) (capped); 2xx marks the row delivered. Rows are
 * claimed in the database, so several nodes may run a dispatcher over one outbox.
 */
export class WebhookDispatcher {
  readonly #options: WebhookDispatcherOptions;
  readonly #clock: () => number;
  readonly #inFlight = new Map<OutboxRow, AbortController>();
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> | null = null;
  #again = false;
  #closed = false;

  constructor(options: WebhookDispatcherOptions) {
    this.#options = options;
    this.#clock = options.clock ?? Date.now;
  }

  start(): void {
    this.kick();
  }

  /** New rows are due now: look at once instead of waiting for the timer. */
  kick(): void {
    if (this.#closed) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#running = this.#run().finally(() => {
      this.#running = null;
      if (this.#again) {
        this.#again = false;
        this.kick();
      }
    });
  }

  /** Stops sending; posts in flight are aborted and their rows handed back for the next start. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    for (const controller of this.#inFlight.values()) controller.abort();
    await this.#running;
  }

  async #run(): Promise<void> {
    const { outbox, logger, timeoutMs } = this.#options;
    try {
      for (;;) {
        if (this.#closed) return;
        // The lease outlasts the POST's timeout, so a live sender never loses its claim.
        const rows = await outbox.claimDue(this.#clock(), BATCH, timeoutMs * 2 + 1000);
        if (rows.length === 0) break;
        await Promise.all(rows.map((row) => this.#deliver(row)));
      }
      if (this.#closed) return;
      const due = await outbox.nextDueAt();
      const poll = this.#options.pollMs ?? 5000;
      const wait = due === null ? poll : Math.min(poll, Math.max(0, due - this.#clock()));
      this.#timer = setTimeout(() => this.kick(), wait);
      this.#timer.unref();
    } catch (error) {
      if (this.#closed) return;
      logger.warn({ err: error }, 'webhook outbox unavailable; retrying');
      this.#timer = setTimeout(() => this.kick(), this.#options.pollMs ?? 5000);
      this.#timer.unref();
    }
  }

  async #deliver(row: OutboxRow): Promise<void> {
    const { outbox, secret, timeoutMs, logger } = this.#options;
    const controller = new AbortController();
    const timeout = setTimeout(() => controller.abort(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    this.#inFlight.set(row, controller);
    let failure: string | null;
    try {
      const timestamp = Math.floor(this.#clock() / 1000);
      const type = (JSON.parse(row.body) as { type: string }).type;
      const response = await fetch(row.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'Switchboard-Webhooks/1',
          [WEBHOOK_HEADERS.timestamp]: String(timestamp),
          [WEBHOOK_HEADERS.signature]: signWebhook(secret, timestamp, row.body),
          [WEBHOOK_HEADERS.eventId]: row.eventId,
          [WEBHOOK_HEADERS.event]: type,
        },
        body: row.body,
        signal: controller.signal,
        redirect: 'manual',
      });
      // The body is not needed; reading it frees the connection for reuse.
      await response.arrayBuffer().catch(() => undefined);
      failure = response.ok ? null : `HTTP ${response.status}`;
    } catch (error) {
      failure = error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : String(error);
    } finally {
      clearTimeout(timeout);
      this.#inFlight.delete(row);
    }
    const now = this.#clock();
    try {
      if (failure === null) {
        await outbox.delivered(row, now);
        return;
      }
      if (this.#closed) {
        await outbox.release(row, now);
        return;
      }
      const attempt = row.attempts + 1;
      const retryAt = attempt >= this.#options.maxAttempts ? null : now + this.#backoff(attempt);
      if (retryAt === null) logger.warn({ url: row.url, event: row.eventId, error: failure }, 'webhook given up');
      await outbox.failed(row, failure, retryAt, now);
    } catch (error) {
      // The lease runs out and the row is tried again: at-least-once, never lost.
      logger.warn({ err: error, event: row.eventId }, 'webhook outcome not recorded');
    }
  }

  #backoff(attempt: number): number {
    const { retryBaseMs, retryMaxMs } = this.#options;
    return Math.min(retryMaxMs, retryBaseMs * 2 ** (attempt - 1));
  }
}
