import { type Kysely, sql } from 'kysely';

/**
 * The files module: uploaded files (one row per upload, bound to the channel it was
 * uploaded for), the content-addressed blobs they point at (one per distinct sha256, with
 * its thumbnail's state), the messages that reference a file, and the URL-signing key.
 * Times are epoch milliseconds.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('file_blobs')
    .addColumn('sha256', 'text', (c) => c.primaryKey())
    .addColumn('size', 'bigint', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    // Moved forward by every upload of these bytes before it stores them, so the collector
    // never removes an object an upload in flight is about to point at.
    .addColumn('touched_at', 'bigint', (c) => c.notNull())
    // none | pending | ready | failed; a worker claims a pending one with a lease.
    .addColumn('thumb_state', 'text', (c) => c.notNull())
    .addColumn('thumb_lease_until', 'bigint')
    .addColumn('thumb_width', 'integer')
    .addColumn('thumb_height', 'integer')
    .execute();
  await db.schema
    .createIndex('file_blobs_thumb_due')
    .on('file_blobs')
    .columns(['thumb_state', 'thumb_lease_until'])
    .where(() => sql<boolean>`thumb_state = 'pending'`)
    .execute();

  await db.schema
    .createTable('files')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('channel', 'text', (c) => c.notNull().references('channels.id').onDelete('cascade'))
    .addColumn('uploader', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('size', 'bigint', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('sha256', 'text', (c) => c.notNull())
    .addColumn('width', 'integer')
    .addColumn('height', 'integer')
    // The resumable upload it came from: a client whose last response was lost finds its file.
    .addColumn('upload_id', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    // uploaded (not yet in a message) | attached (a message refers to it) | detached (its
    // messages were deleted: hidden, and collected once `state_at` is past the grace period).
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('state_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('files_by_uploader').on('files').columns(['uploader', 'state']).execute();
  await db.schema.createIndex('files_by_state').on('files').columns(['state', 'state_at']).execute();
  await db.schema.createIndex('files_by_blob').on('files').columns(['sha256']).execute();
  await db.schema.createIndex('files_by_upload').on('files').columns(['upload_id']).unique().execute();

  await db.schema
    .createTable('file_refs')
    .addColumn('file_id', 'text', (c) => c.notNull().references('files.id').onDelete('cascade'))
    .addColumn('channel', 'text', (c) => c.notNull())
    .addColumn('seq', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('file_refs_pk', ['file_id', 'channel', 'seq'])
    .execute();
  await db.schema.createIndex('file_refs_by_message').on('file_refs').columns(['channel', 'seq']).execute();

  await db.schema
    .createTable('file_keys')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('secret', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('file_keys').execute();
  await db.schema.dropTable('file_refs').execute();
  await db.schema.dropTable('files').execute();
  await db.schema.dropTable('file_blobs').execute();
}
