import type { Kysely } from 'kysely';
import type { Principal, UserId } from '../core/types.js';
import type { Database } from '../store/database.js';

/** The auth module's tables (migrations 0002-accounts, 0005-bans). Times are epoch milliseconds. */
type AuthTables = {
  accounts: { user_id: string; password_hash: string | null; roles: string; created_at: number };
  refresh_tokens: {
    token_hash: string;
    user_id: string;
    family: string;
    created_at: number;
    expires_at: number;
    revoked_at: number | null;
  };
  tickets: { ticket_hash: string; principal: string; expires_at: number };
  auth_keys: { id: string; secret: string; created_at: number };
  bans: { user_id: string; reason: string | null; banned_at: number };
};

export interface Ban {
  readonly user: UserId;
  readonly reason: string | null;
  readonly bannedAt: number;
}

export interface Account {
  readonly userId: UserId;
  /** Null for users an app registered through the API: they cannot log in with a password. */
  readonly passwordHash: string | null;
  readonly roles: readonly string[];
}

export interface RefreshTokenRow {
  readonly userId: UserId;
  readonly family: string;
  readonly expiresAt: number;
  readonly revokedAt: number | null;
}

/**
 * Accounts, refresh tokens, tickets and signing keys, on the database every module
 * shares. Plain Kysely that runs on SQLite and PostgreSQL alike; only digests of secrets
 * reach it (see secrets.ts).
 */
export class AccountStore {
  readonly #db: Kysely<AuthTables>;

  constructor(database: Database) {
    this.#db = database.tables<AuthTables>();
  }

  async getAccount(userId: UserId): Promise<Account | undefined> {
    const row = await this.#db.selectFrom('accounts').selectAll().where('user_id', '=', userId).executeTakeFirst();
    return row && { userId: row.user_id, passwordHash: row.password_hash, roles: parseRoles(row.roles) };
  }

  /** Creates an account; false when the user id is taken. */
  async createAccount(account: Account): Promise<boolean> {
    const row = await this.#db
      .insertInto('accounts')
      .values({
        user_id: account.userId,
        password_hash: account.passwordHash,
        roles: JSON.stringify(account.roles),
        created_at: Date.now(),
      })
      .onConflict((oc) => oc.column('user_id').doNothing())
      .returning('user_id')
      .executeTakeFirst();
    return row !== undefined;
  }

  async setRoles(userId: UserId, roles: readonly string[]): Promise<void> {
    await this.#db.updateTable('accounts').set({ roles: JSON.stringify(roles) }).where('user_id', '=', userId).execute();
  }

  async addRefreshToken(token: { hash: string; userId: UserId; family: string; expiresAt: number }): Promise<void> {
    await this.#db
      .insertInto('refresh_tokens')
      .values({
        token_hash: token.hash,
        user_id: token.userId,
        family: token.family,
        created_at: Date.now(),
        expires_at: token.expiresAt,
        revoked_at: null,
      })
      .execute();
  }

  /**
   * Revokes a live refresh token and returns it; undefined when it is unknown, expired or
   * already revoked. One UPDATE, so two concurrent uses of one token cannot both win.
   */
  async takeRefreshToken(hash: string, now: number): Promise<RefreshTokenRow | undefined> {
    const row = await this.#db
      .updateTable('refresh_tokens')
      .set({ revoked_at: now })
      .where('token_hash', '=', hash)
      .where('revoked_at', 'is', null)
      .where('expires_at', '>', now)
      .returning(['user_id', 'family', 'expires_at', 'revoked_at'])
      .executeTakeFirst();
    return row && toRefreshToken(row);
  }

  async getRefreshToken(hash: string): Promise<RefreshTokenRow | undefined> {
    const row = await this.#db
      .selectFrom('refresh_tokens')
      .select(['user_id', 'family', 'expires_at', 'revoked_at'])
      .where('token_hash', '=', hash)
      .executeTakeFirst();
    return row && toRefreshToken(row);
  }

  async revokeFamily(family: string, now: number): Promise<void> {
    await this.#db
      .updateTable('refresh_tokens')
      .set({ revoked_at: now })
      .where('family', '=', family)
      .where('revoked_at', 'is', null)
      .execute();
  }

  async addTicket(ticket: { hash: string; principal: Principal; expiresAt: number }): Promise<void> {
    await this.#db
      .insertInto('tickets')
      .values({ ticket_hash: ticket.hash, principal: JSON.stringify(ticket.principal), expires_at: ticket.expiresAt })
      .execute();
  }

  /** Deletes a ticket and returns what it held: a ticket can be taken once, on any node. */
  async takeTicket(hash: string): Promise<{ principal: Principal; expiresAt: number } | undefined> {
    const row = await this.#db
      .deleteFrom('tickets')
      .where('ticket_hash', '=', hash)
      .returning(['principal', 'expires_at'])
      .executeTakeFirst();
    return row && { principal: JSON.parse(row.principal) as Principal, expiresAt: Number(row.expires_at) };
  }

  async deleteExpiredTickets(now: number): Promise<void> {
    await this.#db.deleteFrom('tickets').where('expires_at', '<=', now).execute();
  }

  /** Bans the user; a ban already in place is kept as it was. Returns the ban in place. */
  async addBan(ban: Ban): Promise<Ban> {
    await this.#db
      .insertInto('bans')
      .values({ user_id: ban.user, reason: ban.reason, banned_at: ban.bannedAt })
      .onConflict((oc) => oc.column('user_id').doNothing())
      .execute();
    const row = await this.#db.selectFrom('bans').selectAll().where('user_id', '=', ban.user).executeTakeFirstOrThrow();
    return toBan(row);
  }

  /** False when the user was not banned. */
  async removeBan(user: UserId): Promise<boolean> {
    const rows = await this.#db.deleteFrom('bans').where('user_id', '=', user).returning('user_id').execute();
    return rows.length > 0;
  }

  /** Every banned user's id (bans are few: kept in memory by each node, see BanList). */
  async bannedUsers(): Promise<UserId[]> {
    const rows = await this.#db.selectFrom('bans').select('user_id').execute();
    return rows.map((row) => row.user_id);
  }

  /** The secret stored under `id`, created on first use; every node reads the same one. */
  async signingSecret(id: string, create: () => string): Promise<string> {
    await this.#db
      .insertInto('auth_keys')
      .values({ id, secret: create(), created_at: Date.now() })
      .onConflict((oc) => oc.column('id').doNothing())
      .execute();
    const row = await this.#db.selectFrom('auth_keys').select('secret').where('id', '=', id).executeTakeFirstOrThrow();
    return row.secret;
  }
}

function parseRoles(text: string): string[] {
  const value: unknown = JSON.parse(text);
  return Array.isArray(value) ? value.filter((role): role is string => typeof role === 'string') : [];
}

function toRefreshToken(row: {
  user_id: string;
  family: string;
  expires_at: number | string;
  revoked_at: number | string | null;
}): RefreshTokenRow {
  return {
    userId: row.user_id,
    family: row.family,
    expiresAt: Number(row.expires_at),
    revokedAt: row.revoked_at === null ? null : Number(row.revoked_at),
  };
}

function toBan(row: { user_id: string; reason: string | null; banned_at: number | string }): Ban {
  return { user: row.user_id, reason: row.reason, bannedAt: Number(row.banned_at) };
}
