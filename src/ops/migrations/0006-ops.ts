import type { Kysely } from 'kysely';

/**
 * The admin console's audit log: one row per action an operator took (disconnect a user,
 * delete or archive a channel, remove a member, ban), whether it succeeded or was refused,
 * kept in the database every node shares so the whole cluster's actions are in one place.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('ops_audit')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('at', 'bigint', (c) => c.notNull())
    // Who: a user id (an admin-role account) or `server` (an API key), and how they came in.
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('actor_kind', 'text', (c) => c.notNull())
    .addColumn('address', 'text')
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('target', 'text', (c) => c.notNull())
    // `ok`, or the error code it was refused with.
    .addColumn('outcome', 'text', (c) => c.notNull())
    // A JSON object: what the action did (counts, nodes that did not answer) or why it failed.
    .addColumn('detail', 'text', (c) => c.notNull())
    .addColumn('node', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('ops_audit_at').on('ops_audit').columns(['at', 'id']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('ops_audit').execute();
}
