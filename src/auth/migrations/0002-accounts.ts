import type { Kysely } from 'kysely';

/**
 * Built-in accounts, refresh tokens, connect tickets and the key that signs access tokens.
 * Secrets are never stored in the clear: passwords as salted scrypt hashes, refresh tokens
 * and tickets as SHA-256 digests (they are 256-bit random, so a digest cannot be reversed).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('accounts')
    .addColumn('user_id', 'text', (c) => c.primaryKey())
    // Null for users an app registered through the API (they sign in through the app).
    .addColumn('password_hash', 'text')
    .addColumn('roles', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('refresh_tokens')
    .addColumn('token_hash', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'text', (c) => c.notNull())
    // Every token rotated from one login shares a family; reusing a rotated one revokes it all.
    .addColumn('family', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('revoked_at', 'bigint')
    .execute();
  await db.schema.createIndex('refresh_tokens_by_family').on('refresh_tokens').column('family').execute();

  // In the database, not in memory, so a ticket made on one node works on any other.
  await db.schema
    .createTable('tickets')
    .addColumn('ticket_hash', 'text', (c) => c.primaryKey())
    .addColumn('principal', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('tickets_by_expiry').on('tickets').column('expires_at').execute();

  await db.schema
    .createTable('auth_keys')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('secret', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('auth_keys').execute();
  await db.schema.dropTable('tickets').execute();
  await db.schema.dropTable('refresh_tokens').execute();
  await db.schema.dropTable('accounts').execute();
}
