import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('users')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('channels')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('title', 'text')
    .addColumn('publish', 'text', (c) => c.notNull())
    .addColumn('created_by', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('last_seq', 'bigint', (c) => c.notNull().defaultTo(0))
    .execute();

  await db.schema
    .createTable('members')
    .addColumn('channel', 'text', (c) => c.notNull().references('channels.id').onDelete('cascade'))
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('role', 'text', (c) => c.notNull())
    .addColumn('joined_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('members_pk', ['channel', 'user_id'])
    .execute();
  await db.schema.createIndex('members_by_user').on('members').columns(['user_id', 'channel']).execute();

  await db.schema
    .createTable('events')
    .addColumn('channel', 'text', (c) => c.notNull().references('channels.id').onDelete('cascade'))
    .addColumn('seq', 'bigint', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('id', 'text', (c) => c.notNull())
    .addColumn('author', 'text')
    .addColumn('text', 'text')
    .addColumn('data', 'text')
    .addColumn('cid', 'text')
    .addColumn('reply_to', 'bigint')
    .addColumn('target', 'bigint')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('edited_at', 'bigint')
    .addColumn('deleted_at', 'bigint')
    .addPrimaryKeyConstraint('events_pk', ['channel', 'seq'])
    .execute();
  // A retried publish finds its first copy through (channel, cid).
  await db.schema
    .createIndex('events_by_cid')
    .unique()
    .on('events')
    .columns(['channel', 'cid'])
    .where((eb) => eb('cid', 'is not', null))
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('events').execute();
  await db.schema.dropTable('members').execute();
  await db.schema.dropTable('channels').execute();
  await db.schema.dropTable('users').execute();
}
