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
  /** Changes made while a load reads the store: replayed on what it read, which may predate them. */
  readonly #loading = new Set<BanNotice[]>();

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
    const changes: BanNotice[] = [];
    this.#loading.add(changes);
    let stored: UserId[];
    try {
      stored = await this.#store.bannedUsers();
    } finally {
      this.#loading.delete(changes);
    }
    const banned = new Set(stored);
    for (const change of changes) applyTo(banned, change);
    const added = [...banned].filter((user) => !this.#banned.has(user));
    this.#banned = banned;
    return added;
  }

  async ban(user: UserId, reason: string | null): Promise<Ban> {
    const ban = await this.#store.addBan({ user, reason, bannedAt: Date.now() });
    this.apply({ kind: 'ban', user });
    return ban;
  }

  async unban(user: UserId): Promise<void> {
    await this.#store.removeBan(user);
    this.apply({ kind: 'unban', user });
  }

  /** A ban or unban: made here, or told by another node. */
  apply(change: BanNotice): void {
    applyTo(this.#banned, change);
    for (const changes of this.#loading) changes.push(change);
  }
}

function applyTo(banned: Set<UserId>, change: BanNotice): void {
  if (change.kind === 'ban') banned.add(change.user);
  else banned.delete(change.user);
}

export function bannedError(user: UserId): SwitchboardError {
  return new SwitchboardError('forbidden', `${user} is banned.`);
}
