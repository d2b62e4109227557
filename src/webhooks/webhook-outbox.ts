import type { Kysely } from 'kysely';
import type { Database } from '../store/database.js';

/** The outbox table (migration 0004-webhooks). Times are epoch milliseconds. */
type WebhookTables = {
  webhook_outbox: {
    event_id: string;
    url: string;
    body: string;
    created_at: number;
    attempts: number;
    next_attempt_at: number;
    last_error: string | null;
    delivered_at: number | null;
    failed_at: number | null;
  };
};

export interface OutboxEntry {
  readonly eventId: string;
  /** The exact JSON to sign and send. */
  readonly body: string;
}

export interface OutboxRow {
  readonly eventId: string;
  readonly url: string;
  readonly body: string;
  /** Attempts made before this one. */
  readonly attempts: number;
}

/**
 * Webhook deliveries waiting to be sent, in the database every module shares, so they
 * survive restarts and any node may send them. A row is claimed with a lease before it
 * is posted: a sender that dies mid-post leaves it to be retried once the lease ends.
 */
export class WebhookOutbox {
  readonly #db: Kysely<WebhookTables>;

  constructor(database: Database) {
    this.#db = database.tables<WebhookTables>();
  }

  /** One row per entry and URL, due at once. */
  async add(entries: readonly OutboxEntry[], urls: readonly string[], now: number): Promise<void> {
    const rows = entries.flatMap((entry) =>
      urls.map((url) => ({ event_id: entry.eventId, url, body: entry.body, created_at: now, attempts: 0, next_attempt_at: now })),
    );
    for (let i = 0; i < rows.length; i += 200) {
      await this.#db.insertInto('webhook_outbox').values(rows.slice(i, i + 200)).execute();
    }
  }

  /**
   * Claims up to `limit` due rows until `now + leaseMs`. A row another sender claimed
   * between our read and our update is left to it (the update matches nothing).
   */
  async claimDue(now: number, limit: number, leaseMs: number): Promise<OutboxRow[]> {
    const due = await this.#pending()
      .select(['event_id', 'url', 'body', 'attempts', 'next_attempt_at'])
      .where('next_attempt_at', '<=', now)
      .orderBy('next_attempt_at')
      .limit(limit)
      .execute();
    const claimed: OutboxRow[] = [];
    for (const row of due) {
      const result = await this.#db
        .updateTable('webhook_outbox')
        .set({ next_attempt_at: now + leaseMs })
        .where('event_id', '=', row.event_id)
        .where('url', '=', row.url)
        .where('next_attempt_at', '=', row.next_attempt_at)
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) === 1) {
        claimed.push({ eventId: row.event_id, url: row.url, body: row.body, attempts: Number(row.attempts) });
      }
    }
    return claimed;
  }

  async delivered(row: OutboxRow, now: number): Promise<void> {
    await this.#update(row).set({ delivered_at: now, attempts: row.attempts + 1, last_error: null }).execute();
  }

  /** Schedules the next attempt, or gives up (`retryAt` null) keeping the row for inspection. */
  async failed(row: OutboxRow, error: string, retryAt: number | null, now: number): Promise<void> {
    await this.#update(row)
      .set({
        attempts: row.attempts + 1,
        last_error: error.slice(0, 500),
        ...(retryAt === null ? { failed_at: now } : { next_attempt_at: retryAt }),
      })
      .execute();
  }

  /** Hands a claimed row back without counting an attempt (the sender is shutting down). */
  async release(row: OutboxRow, now: number): Promise<void> {
    await this.#update(row).set({ next_attempt_at: now }).execute();
  }

  /** When the next pending row is due, or null when nothing is pending. */
  async nextDueAt(): Promise<number | null> {
    const row = await this.#pending().select((eb) => eb.fn.min('next_attempt_at').as('due')).executeTakeFirst();
    return row?.due === null || row?.due === undefined ? null : Number(row.due);
  }

  async pendingCount(): Promise<number> {
    const row = await this.#pending().select((eb) => eb.fn.countAll().as('count')).executeTakeFirst();
    return Number(row?.count ?? 0);
  }

  /** Rows given up on after every attempt (kept for inspection). */
  async failedCount(): Promise<number> {
    const row = await this.#db
      .selectFrom('webhook_outbox')
      .where('failed_at', 'is not', null)
      .select((eb) => eb.fn.countAll().as('count'))
      .executeTakeFirst();
    return Number(row?.count ?? 0);
  }

  #pending() {
    return this.#db.selectFrom('webhook_outbox').where('delivered_at', 'is', null).where('failed_at', 'is', null);
  }

  #update(row: OutboxRow) {
    return this.#db.updateTable('webhook_outbox').where('event_id', '=', row.eventId).where('url', '=', row.url);
  }
}
