import type { Kysely } from 'kysely';

/**
 * A channel's topic, and the thread summary a root message keeps (its number of replies,
 * the newest one's seq and time), written with each reply so history carries it without a count.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('channels').addColumn('topic', 'text').execute();
  await db.schema
    .alterTable('events')
    .addColumn('reply_count', 'bigint', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema.alterTable('events').addColumn('last_reply_seq', 'bigint').execute();
  await db.schema.alterTable('events').addColumn('last_reply_at', 'bigint').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('events').dropColumn('last_reply_at').execute();
  await db.schema.alterTable('events').dropColumn('last_reply_seq').execute();
  await db.schema.alterTable('events').dropColumn('reply_count').execute();
  await db.schema.alterTable('channels').dropColumn('topic').execute();
}
