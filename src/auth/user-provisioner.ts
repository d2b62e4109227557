import { inboxChannelOf } from '../core/names.js';
import type { Store } from '../core/store.js';
import type { UserId } from '../core/types.js';
import type { AccountStore } from './account-store.js';
import type { TokenIssuer } from './token-issuer.js';

export interface ProvisionedUser {
  readonly user: { readonly id: UserId; readonly name: string; readonly roles: readonly string[] };
  readonly token: string;
  readonly expiresAt: number;
  /** The user's inbox channel (`user:<id>`): what the app's backend pushes to. */
  readonly inbox: string;
  /** False when the user existed already (the call then just issues a fresh token). */
  readonly created: boolean;
}

/**
 * `POST /api/users` for apps without their own identity provider: the app's backend (an
 * API-key holder) registers a user, or fetches a fresh token for one, and hands the token
 * to the user's client. In auth "accounts" the user also gets an account without a
 * password (it cannot log in with one; the app vouches for it).
 */
export class UserProvisioner {
  readonly #users: Store;
  readonly #issuer: TokenIssuer;
  readonly #accounts: AccountStore | null;

  constructor(options: { users: Store; issuer: TokenIssuer; accounts: AccountStore | null }) {
    this.#users = options.users;
    this.#issuer = options.issuer;
    this.#accounts = options.accounts;
  }

  async provision(input: { id: UserId; name?: string; roles?: readonly string[] }): Promise<ProvisionedUser> {
    const existing = await this.#users.getUser(input.id);
    const user = await this.#users.upsertUser({ id: input.id, name: input.name ?? existing?.name ?? input.id });
    let roles = input.roles ?? [];
    if (this.#accounts) {
      const account = await this.#accounts.getAccount(input.id);
      if (!account) await this.#accounts.createAccount({ userId: input.id, passwordHash: null, roles });
      else if (input.roles) await this.#accounts.setRoles(input.id, input.roles);
      else roles = account.roles;
    }
    const issued = await this.#issuer.issue({ kind: 'user', userId: user.id, name: user.name, roles });
    return {
      user: { id: user.id, name: user.name, roles },
      token: issued.token,
      expiresAt: issued.expiresAt,
      inbox: inboxChannelOf(user.id),
      created: existing === undefined,
    };
  }
}
