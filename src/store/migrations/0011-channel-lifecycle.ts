import { type Kysely, sql } from 'kysely';

/**
 * The channel lifecycle: a channel's epoch (its generation: the same id created again
 * after a delete gets a higher one, so a resume position is never taken for the new
 * log's), when it was archived (read-only), and `channel_epochs`, the last epoch each id
 * used, kept when the channel is deleted (no foreign key, on purpose). Channels made
 * before this migration are epoch 1.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('channels')
    .addColumn('epoch', 'bigint', (c) => c.notNull().defaultTo(1))
    .execute();
  await db.schema.alterTable('channels').addColumn('archived_at', 'bigint').execute();
  await db.schema
    .createTable('channel_epochs')
    .addColumn('channel', 'text', (c) => c.primaryKey())
    .addColumn('epoch', 'bigint', (c) => c.notNull())
    .execute();
  await sql`insert into channel_epochs (channel, epoch) select id, epoch from channels`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('channel_epochs').execute();
  await db.schema.alterTable('channels').dropColumn('archived_at').execute();
  await db.schema.alterTable('channels').dropColumn('epoch').execute();
}
