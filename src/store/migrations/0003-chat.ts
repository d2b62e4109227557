import { type Kysely, PostgresAdapter, sql } from 'kysely';

/**
 * The chat features: contacts, user status, read positions, the reaction aggregate, a
 * thread index and full-text search. Search is the one part that differs per database:
 * SQLite gets an FTS5 index kept by triggers, PostgreSQL a GIN index on a tsvector
 * expression. Both use plain word splitting (no stemming), so results agree.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('contacts')
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('contact_id', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('contacts_pk', ['user_id', 'contact_id'])
    .execute();

  await db.schema
    .createTable('user_status')
    .addColumn('user_id', 'text', (c) => c.primaryKey())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('last_seen', 'bigint')
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('read_state')
    .addColumn('channel', 'text', (c) => c.notNull().references('channels.id').onDelete('cascade'))
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('seq', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('read_state_pk', ['channel', 'user_id'])
    .execute();
  await db.schema.createIndex('read_state_by_user').on('read_state').columns(['user_id', 'channel']).execute();

  // Written in the same transaction as the reaction's log event, so counts never drift.
  await db.schema
    .createTable('reactions')
    .addColumn('channel', 'text', (c) => c.notNull().references('channels.id').onDelete('cascade'))
    .addColumn('seq', 'bigint', (c) => c.notNull())
    .addColumn('emoji', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('reactions_pk', ['channel', 'seq', 'emoji', 'user_id'])
    .execute();

  await db.schema
    .createIndex('events_by_reply')
    .on('events')
    .columns(['channel', 'reply_to', 'seq'])
    .where((eb) => eb('reply_to', 'is not', null))
    .execute();

  if (db.getExecutor().adapter instanceof PostgresAdapter) {
    await sql`create index events_search on events using gin (to_tsvector('simple', coalesce(text, ''))) where kind = 'message'`.execute(db);
    return;
  }
  // External content: the index stores words only; the text stays in events.
  await sql`create virtual table events_fts using fts5(text, content='events', content_rowid='rowid')`.execute(db);
  await sql`create trigger events_fts_insert after insert on events when new.kind = 'message' and new.text is not null
    begin insert into events_fts(rowid, text) values (new.rowid, new.text); end`.execute(db);
  await sql`create trigger events_fts_update after update of text on events when old.kind = 'message'
    begin
      insert into events_fts(events_fts, rowid, text) select 'delete', old.rowid, old.text where old.text is not null;
      insert into events_fts(rowid, text) select new.rowid, new.text where new.text is not null;
    end`.execute(db);
  await sql`create trigger events_fts_delete after delete on events when old.kind = 'message' and old.text is not null
    begin insert into events_fts(events_fts, rowid, text) values ('delete', old.rowid, old.text); end`.execute(db);
  await sql`insert into events_fts(rowid, text) select rowid, text from events where kind = 'message' and text is not null`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  if (db.getExecutor().adapter instanceof PostgresAdapter) {
    await sql`drop index if exists events_search`.execute(db);
  } else {
    for (const trigger of ['events_fts_insert', 'events_fts_update', 'events_fts_delete']) {
      await sql`drop trigger if exists ${sql.id(trigger)}`.execute(db);
    }
    await sql`drop table if exists events_fts`.execute(db);
  }
  await db.schema.dropIndex('events_by_reply').execute();
  await db.schema.dropTable('reactions').execute();
  await db.schema.dropTable('read_state').execute();
  await db.schema.dropTable('user_status').execute();
  await db.schema.dropTable('contacts').execute();
}
