import type { UserStatus } from '../../protocol/values.js';
import type { UserId } from '../core/types.js';
import { RetryRounds } from './retry-rounds.js';

/** A status change that follows a user's sessions (a connect, a last disconnect). */
export interface SessionStatusChange {
  readonly user: UserId;
  readonly status: UserStatus;
  /** When it happened: its frames' `at`, and an offline's last seen, however late it is announced. */
  readonly at: number;
  /** The name the connect gave, for a user whose row is not read yet. */
  readonly name?: string;
}

/**
 * A change the presence registry made on its own: a dead node's sessions reaped (`leave`),
 * this node's written back after a partition (`join`). Whether the user's status changed
 * is read when it is announced.
 */
export interface RegistryStatusChange {
  readonly user: UserId;
  readonly action: 'join' | 'leave';
  /** When the registry changed: a change another node made later supersedes it. */
  readonly at: number;
}

export interface PendingStatusChangesOptions<C> {
  /**
   * Announces the change in its user's chain once `due` says it still is there.
   * Must not reject: a change whose reads, or whose write, fail again waits again (`wait`).
   */
  readonly announce: (change: C) => Promise<void>;
}

/**
 * Status changes that could not be announced: their reads (whom to tell, when the node's
 * cache had dropped the user's contacts or channels; the user's row, for a registry's
 * change) found the database out of reach, so no one was told (a disconnect's own write
 * may have landed: it goes before its reads). Each user's newest waits and is tried again
 * every second, all in one round, until it is announced or a later change of the user's
 * comes first: one this node made or heard from another, even while its reads were under
 * way. Memory is one entry per user whose change is being read or waits.
 *
 * @example
 *   const pending = new PendingStatusChanges({ announce: (change) => announceInChain(change) });
 *   pending.begin(change); // its reads start
 *   pending.wait(change); // they failed with `unavailable`: true if it waits
 *   pending.due(change); // its turn in the user's chain: true if it is still due
 *   pending.supersede(user, at); // a later change of the user's was announced
 */
export class PendingStatusChanges<C extends { readonly user: UserId; readonly at: number } = SessionStatusChange> {
  readonly #announce: (change: C) => Promise<void>;
  /** Each user's change being read, or waiting: a round announces the waiting ones. */
  readonly #pending = new Map<UserId, C>();
  /** Of those, the ones whose reads failed (apart, so a connect's read costs no wrapper). */
  readonly #waiting = new Set<C>();
  readonly #rounds = new RetryRounds(() => this.#announceWaiting(), () => this.#waiting.size > 0);
  #closed = false;

  constructor(options: PendingStatusChangesOptions<C>) {
    this.#announce = options.announce;
  }

  /**
   * The change's reads start, in place of any older change of the user's: a later one
   * that comes while they are under way supersedes it, so it cannot wait afterwards.
   */
  begin(change: C): void {
    if (this.#closed) return;
    const older = this.#pending.get(change.user);
    if (older) this.#waiting.delete(older);
    this.#pending.set(change.user, change);
  }

  /** Its reads found the database out of reach: true, and tried again, unless a later change came first. */
  wait(change: C): boolean {
    if (!this.due(change)) return false;
    this.#waiting.add(change);
    this.#rounds.soon();
    return true;
  }

  /** Whether the change is still due: begun, and not superseded, announced or given up since. */
  due(change: C): boolean {
    return this.#pending.get(change.user) === change;
  }

  /** The change was announced, or is given up (a failure other than the database's absence). */
  forget(change: C): void {
    if (!this.due(change)) return;
    this.#pending.delete(change.user);
    this.#waiting.delete(change);
  }

  /**
   * A later change of the user's came first, so the pending one is out of date. `at`: one
   * another node made, which supersedes only a change made before it (its notice may come
   * late, after a change made here since).
   */
  supersede(user: UserId, at = Infinity): void {
    const pending = this.#pending.get(user);
    if (!pending || pending.at > at) return;
    this.#pending.delete(user);
    this.#waiting.delete(pending);
  }

  /** Settles the round under way, if any (tests, shutdown). */
  idle(): Promise<void> {
    return this.#rounds.idle();
  }

  /** No more rounds (the node is stopping; the database closes next). A round under way announces nothing it had not begun. */
  close(): void {
    this.#closed = true;
    this.#rounds.close();
    this.#pending.clear();
    this.#waiting.clear();
  }

  /** One round: every waiting change, all asked in this tick (one still being read is left to its reads). */
  async #announceWaiting(): Promise<void> {
    await Promise.all([...this.#waiting].map((change) => this.#announce(change)));
  }
}
