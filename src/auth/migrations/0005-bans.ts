import type { Kysely } from 'kysely';

/**
 * Banned users (`users.ban`): while a row exists the user cannot authenticate on any node,
 * and banning ended their sessions everywhere. Deleting the row (`users.unban`) lifts it.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('bans')
    .addColumn('user_id', 'text', (c) => c.primaryKey())
    .addColumn('reason', 'text')
    .addColumn('banned_at', 'bigint', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('bans').execute();
}
