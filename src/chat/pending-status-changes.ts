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

export interface PendingStatusChangesOptions {
  /**
   * Announces the change in its user's chain once `take` says it is still due there.
   * Must not reject: a change whose reads fail again comes back through `wait`.
   */
  readonly announce: (change: SessionStatusChange) => Promise<void>;
}

/**
 * Status changes that could not be announced: their reads (whom to tell, when the node's
 * cache had dropped the user's contacts or channels) found the database out of reach, so
 * no one was told and nothing was written. Each user's newest waits and is tried again
 * every second, all in one round, until it is announced or a later change of the user's
 * comes first: one this node made or heard from another. Memory is one entry per user who
 * connected or left during the outage.
 *
 * @example
 *   const pending = new PendingStatusChanges({ announce: (change) => announceInChain(change) });
 *   pending.wait(change); // its reads failed with `unavailable`
 *   pending.take(change); // its turn in the user's chain: true if it is still due
 *   pending.supersede(user, at); // a later change of the user's was announced
 */
export class PendingStatusChanges {
  readonly #announce: (change: SessionStatusChange) => Promise<void>;
  readonly #waiting = new Map<UserId, SessionStatusChange>();
  readonly #rounds = new RetryRounds(() => this.#announceWaiting(), () => this.#waiting.size > 0);
  #closed = false;

  constructor(options: PendingStatusChangesOptions) {
    this.#announce = options.announce;
  }

  /** The change could not be announced: it is tried again, in place of any older one of the user's. */
  wait(change: SessionStatusChange): void {
    if (this.#closed) return;
    this.#waiting.set(change.user, change);
    this.#rounds.soon();
  }

  /**
   * A later change of the user's came first, so the waiting one is out of date. `at`: one
   * another node made, which supersedes only a change made before it (its notice may come
   * late, after a change made here since).
   */
  supersede(user: UserId, at = Infinity): void {
    const waiting = this.#waiting.get(user);
    if (waiting && waiting.at <= at) this.#waiting.delete(user);
  }

  /** The change's turn to be announced: true, and no longer waiting, unless it was superseded meanwhile. */
  take(change: SessionStatusChange): boolean {
    if (this.#waiting.get(change.user) !== change) return false;
    this.#waiting.delete(change.user);
    return true;
  }

  /** Settles the round under way, if any (tests, shutdown). */
  idle(): Promise<void> {
    return this.#rounds.idle();
  }

  /** No more rounds (the node is stopping; the database closes next). A round under way announces nothing it had not begun. */
  close(): void {
    this.#closed = true;
    this.#rounds.close();
    this.#waiting.clear();
  }

  /** One round: every waiting change, all asked in this tick. */
  async #announceWaiting(): Promise<void> {
    await Promise.all([...this.#waiting.values()].map((change) => this.#announce(change)));
  }
}
