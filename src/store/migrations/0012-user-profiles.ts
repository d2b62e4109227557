import type { Kysely } from 'kysely';

/** A user's avatar URL and status text beside their name (null: unset). Existing users get neither. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('users').addColumn('avatar_url', 'text').execute();
  await db.schema.alterTable('users').addColumn('status_text', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('users').dropColumn('status_text').execute();
  await db.schema.alterTable('users').dropColumn('avatar_url').execute();
}
