import type { Kysely, Migration } from 'kysely';
import type { SqlDialect } from '../../store/sql-dialect.js';

/**
 * The chat features: contacts, user status, read positions, the reaction aggregate, a
 * thread index and full-text search. Search is the one part that differs per database,
 * so its index comes from the dialect (an FTS5 table kept by triggers on SQLite, a GIN
 * index on a tsvector expression on PostgreSQL); both split plain words, so results agree.
 */
export function chatMigration(dialect: SqlDialect): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
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

      await dialect.fullText.createIndex(db);
    },

    async down(db: Kysely<unknown>): Promise<void> {
      await dialect.fullText.dropIndex(db);
      await db.schema.dropIndex('events_by_reply').execute();
      await db.schema.dropTable('reactions').execute();
      await db.schema.dropTable('read_state').execute();
      await db.schema.dropTable('user_status').execute();
      await db.schema.dropTable('contacts').execute();
    },
  };
}
