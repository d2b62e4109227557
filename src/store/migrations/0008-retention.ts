import type { Kysely } from 'kysely';

/** A channel's retention chosen at creation (JSON); null: its namespace's, else durable. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('channels').addColumn('retention', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('channels').dropColumn('retention').execute();
}
