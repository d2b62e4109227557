import type { Kysely } from 'kysely';

/**
 * A message's attachments (JSON text, null when it has none): what the files module made
 * of the publish's file ids, kept with the message so history, resumes and every wire
 * carry it. Cleared with the text when the message is deleted.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('events').addColumn('attachments', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('events').dropColumn('attachments').execute();
}
