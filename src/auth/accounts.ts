import { randomUUID } from 'node:crypto';
import { inboxChannelOf } from '../core/names.js';
import { SwitchboardError } from '../core/errors.js';
import type { Store } from '../core/store.js';
import type { Principal, UserId } from '../core/types.js';
import type { Account, AccountStore } from './account-store.js';
import type { BanList } from './ban-list.js';
import { hashPassword, verifyAgainstDecoy, verifyPassword } from './passwords.js';
import { digest, randomSecret } from './secrets.js';
import type { TokenIssuer } from './token-issuer.js';

/** What register, login and refresh return. Times are epoch milliseconds. */
export interface SignedIn {
  readonly user: { readonly id: UserId; readonly name: string; readonly roles: readonly string[] };
  readonly accessToken: string;
  readonly expiresAt: number;
  readonly refreshToken: string;
  readonly refreshExpiresAt: number;
  /** The user's inbox channel, for pushes to all their devices. */
  readonly inbox: string;
}

const WRONG_LOGIN = 'Wrong user name or password.';

/**
 * Built-in accounts (auth "accounts"): register, log in, refresh, log out. Access tokens
 * are short-lived JWTs; refresh tokens are random, stored as digests, rotated on every
 * use, and a reused (already rotated) one revokes its whole family, so a stolen token
 * works at most until its owner next refreshes.
 */
export class Accounts {
  readonly #accounts: AccountStore;
  readonly #users: Store;
  readonly #issuer: TokenIssuer;
  readonly #refreshTtlMs: number;
  readonly #bans: BanList;

  constructor(options: { accounts: AccountStore; users: Store; issuer: TokenIssuer; refreshTtlMs: number; bans: BanList }) {
    this.#accounts = options.accounts;
    this.#bans = options.bans;
    this.#users = options.users;
    this.#issuer = options.issuer;
    this.#refreshTtlMs = options.refreshTtlMs;
  }

  async register(input: { userId: UserId; password: string; name?: string }): Promise<SignedIn> {
    const passwordHash = await hashPassword(input.password);
    const created = await this.#accounts.createAccount({ userId: input.userId, passwordHash, roles: [] });
    if (!created) throw new SwitchboardError('conflict', `The user name ${input.userId} is taken.`);
    const user = await this.#users.upsertUser({ id: input.userId, name: input.name ?? input.userId });
    return this.#signIn({ userId: user.id, passwordHash, roles: [] }, user.name, randomUUID());
  }

  async login(userId: UserId, password: string): Promise<SignedIn> {
    const account = await this.#accounts.getAccount(userId);
    const ok = account?.passwordHash
      ? await verifyPassword(password, account.passwordHash)
      : await verifyAgainstDecoy(password);
    if (!ok || !account) throw new SwitchboardError('unauthorized', WRONG_LOGIN);
    this.#bans.assertNotBanned(userId);
    return this.#signIn(account, await this.#nameOf(userId), randomUUID());
  }

  /** Trades a refresh token for a new pair; the old refresh token stops working. */
  async refresh(refreshToken: string): Promise<SignedIn> {
    const now = Date.now();
    const hash = digest(refreshToken);
    const taken = await this.#accounts.takeRefreshToken(hash, now);
    if (!taken) {
      const known = await this.#accounts.getRefreshToken(hash);
      if (known && known.revokedAt !== null) {
        // Someone holds a copy of a token that was already used or revoked: end every session of the chain.
        await this.#accounts.revokeFamily(known.family, now);
        throw new SwitchboardError('unauthorized', 'The refresh token was revoked; log in again.');
      }
      if (known) throw new SwitchboardError('unauthorized', 'The refresh token expired; log in again.');
      throw new SwitchboardError('unauthorized', 'The refresh token is not valid.');
    }
    const account = await this.#accounts.getAccount(taken.userId);
    if (!account) throw new SwitchboardError('unauthorized', 'The account no longer exists.');
    this.#bans.assertNotBanned(account.userId);
    return this.#signIn(account, await this.#nameOf(account.userId), taken.family);
  }

  /** Revokes the refresh token and every token rotated from the same log-in. Idempotent. */
  async logout(refreshToken: string): Promise<void> {
    const known = await this.#accounts.getRefreshToken(digest(refreshToken));
    if (known) await this.#accounts.revokeFamily(known.family, Date.now());
  }

  async #nameOf(userId: UserId): Promise<string> {
    return (await this.#users.getUser(userId))?.name ?? userId;
  }

  async #signIn(account: Account, name: string, family: string): Promise<SignedIn> {
    const principal: Principal = { kind: 'user', userId: account.userId, name, roles: account.roles };
    const access = await this.#issuer.issue(principal);
    const refreshToken = randomSecret('rt');
    const refreshExpiresAt = Date.now() + this.#refreshTtlMs;
    await this.#accounts.addRefreshToken({
      hash: digest(refreshToken),
      userId: account.userId,
      family,
      expiresAt: refreshExpiresAt,
    });
    return {
      user: { id: account.userId, name, roles: account.roles },
      accessToken: access.token,
      expiresAt: access.expiresAt,
      refreshToken,
      refreshExpiresAt,
      inbox: inboxChannelOf(account.userId),
    };
  }
}
