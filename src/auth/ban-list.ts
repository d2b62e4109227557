import { SwitchboardError } from '../core/errors.js';
import type { UserId } from '../core/types.js';
import type { AccountStore, Ban } from './account-store.js';

/** What one node tells the others when a ban is made or lifted (a hub notice of module `auth`). */
export interface BanNotice {
  readonly kind: 'ban' | 'unban';
  readonly user: UserId;
}

/**
 * Banned users, kept in memory on every node so authenticating costs no query: loaded
 * from the auth tables at start, changed here on `users.ban`/`users.unban`, on other
 * nodes by their notice, and reloaded whenever the broker may have lost one.
 */
export class BanList {
  readonly #store: AccountStore;
  #banned = new Set<UserId>();

  constructor(store: AccountStore) {
    this.#store = store;
  }

  has(user: UserId): boolean {
    return this.#banned.has(user);
  }

  /** Throws `forbidden` for a banned user (every way of authenticating asks). */
  assertNotBanned(user: UserId): void {
    if (this.#banned.has(user)) throw bannedError(user);
  }

  /** Reads every ban from the store; returns the users banned since the last look (to end their sessions). */
  async load(): Promise<UserId[]> {
    const banned = new Set(await this.#store.bannedUsers());
    const added = [...banned].filter((user) => !this.#banned.has(user));
    this.#banned = banned;
    return added;
  }

  async ban(user: UserId, reason: string | null): Promise<Ban> {
    const ban = await this.#store.addBan({ user, reason, bannedAt: Date.now() });
    this.#banned.add(user);
    return ban;
  }

  async unban(user: UserId): Promise<void> {
    await this.#store.removeBan(user);
    this.#banned.delete(user);
  }

  /** Another node's ban or unban. */
  apply(notice: BanNotice): void {
    if (notice.kind === 'ban') this.#banned.add(notice.user);
    else this.#banned.delete(notice.user);
  }
}

export function bannedError(user: UserId): SwitchboardError {
  return new SwitchboardError('forbidden', `${user} is banned.`);
}
