import { type Kysely, sql } from 'kysely';

/**
 * The webhook outbox: one row per (event, URL), kept until the URL answered 2xx or the
 * attempts ran out, so deliveries survive a restart and any node can send them.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('webhook_outbox')
    .addColumn('event_id', 'text', (c) => c.notNull())
    .addColumn('url', 'text', (c) => c.notNull())
    // The exact JSON that is signed and sent, written once so every retry sends the same bytes.
    .addColumn('body', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    // Also the claim: a sender moves it forward (a lease) before posting, so two nodes never post one row at once.
    .addColumn('next_attempt_at', 'bigint', (c) => c.notNull())
    .addColumn('last_error', 'text')
    .addColumn('delivered_at', 'bigint')
    .addColumn('failed_at', 'bigint')
    .addPrimaryKeyConstraint('webhook_outbox_pk', ['event_id', 'url'])
    .execute();
  await db.schema
    .createIndex('webhook_outbox_due')
    .on('webhook_outbox')
    .columns(['next_attempt_at'])
    .where(() => sql<boolean>`delivered_at is null and failed_at is null`)
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('webhook_outbox').execute();
}
