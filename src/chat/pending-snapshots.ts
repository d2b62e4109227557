import type { UserState } from '../../protocol/values.js';
import { isUnavailable } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Session } from '../core/session.js';
import type { SessionId, UserId } from '../core/types.js';
import { RetryRounds } from './retry-rounds.js';

interface Pending {
  readonly session: Session;
  /** The last status frame the session got about each user since its snapshot's read began (made on the first). */
  heard: Map<UserId, UserState> | null;
  /** Its read found the database out of reach: read again in the rounds. */
  waiting: boolean;
}

export interface PendingSnapshotsOptions {
  /** The user's contacts with their states, read from the database (ChatCache.contactStates: batched per tick). */
  readonly read: (user: UserId) => Promise<UserState[]>;
  /** Sends the snapshot and records what it told, as an on-time one. Must not throw. */
  readonly send: (session: Session, contacts: UserState[]) => void;
  readonly logger: Logger;
}

/**
 * Contacts snapshots due and not sent yet. A snapshot whose read found the database out of
 * reach is read again every second until it is sent or its session closes: one timer and
 * one round for every waiting session, their reads asked in one tick so the batchers make
 * them one query, and a round starts only once the last one ended, so a database that
 * stays away costs one read in flight.
 *
 * A snapshot, on time or late, may be read before the status frames its session got
 * meanwhile, or from a database that lags behind them: another node tells a last
 * disconnect before it is written, and during an outage writes it a second or more later. What those
 * frames said stands in the snapshot over what was read, so it never takes back a newer
 * word (a frame older than the read is followed by the newer change's own frame).
 *
 * @example
 *   const pending = new PendingSnapshots({ read: (user) => cache.contactStates(user), send, logger });
 *   pending.due(session); // its snapshot's read begins
 *   pending.heard(session.id, state); // a status frame reached it
 *   send(session, pending.onTime(session.id, contacts)); // read on time: sent with what it heard
 *   pending.retry(session.id); // or the read failed with `unavailable`
 *   pending.forget(session.id); // or the session closed
 */
export class PendingSnapshots {
  readonly #options: PendingSnapshotsOptions;
  readonly #pending = new Map<SessionId, Pending>();
  readonly #rounds = new RetryRounds(() => this.#readWaiting(), () => this.#anyWaiting());
  #closed = false;

  constructor(options: PendingSnapshotsOptions) {
    this.#options = options;
  }

  /**
   * The session's snapshot is being read: the frames it gets from now on are noted, since a
   * read that fails may first wait out a connect timeout. An on-time snapshot is sent as read.
   */
  due(session: Session): void {
    if (!this.#closed) this.#pending.set(session.id, { session, heard: null, waiting: false });
  }

  /** A status change reached the session's audience, its frame sent or held back as told (a size check when nothing is pending). */
  heard(session: SessionId, state: UserState): void {
    if (this.#pending.size === 0) return;
    const pending = this.#pending.get(session);
    if (pending) (pending.heard ??= new Map()).set(state.user, state);
  }

  /** The database was out of reach: the snapshot is read again until it is sent. */
  retry(session: SessionId): void {
    const pending = this.#pending.get(session);
    if (!pending) return;
    pending.waiting = true;
    this.#rounds.soon();
  }

  /**
   * The session's snapshot as read on time, with what its frames said meanwhile laid over
   * (a frame may come after the read, or a node tells a last disconnect before it is
   * written); the session is no longer pending.
   */
  onTime(session: SessionId, contacts: UserState[]): UserState[] {
    const pending = this.#pending.get(session);
    this.#pending.delete(session);
    return overlay(contacts, pending?.heard ?? null);
  }

  /** Given up, or the session closed. */
  forget(session: SessionId): void {
    this.#pending.delete(session);
  }

  /** Settles the round under way, if any (tests, shutdown: before the database closes). */
  idle(): Promise<void> {
    return this.#rounds.idle();
  }

  /** No more rounds (the node is stopping; the database closes next). A round under way sends nothing. */
  close(): void {
    this.#closed = true;
    this.#rounds.close();
    this.#pending.clear();
  }

  #anyWaiting(): boolean {
    for (const pending of this.#pending.values()) if (pending.waiting) return true;
    return false;
  }

  /** One round: every waiting session's snapshot, one read per user, all asked in this tick. */
  async #readWaiting(): Promise<void> {
    const reads = new Map<UserId, Promise<UserState[]>>();
    const sends: Promise<void>[] = [];
    for (const pending of this.#pending.values()) {
      if (!pending.waiting) continue;
      const user = pending.session.principal.userId;
      let read = reads.get(user);
      if (!read) reads.set(user, (read = this.#options.read(user)));
      sends.push(this.#sendWhenRead(pending, read));
    }
    await Promise.all(sends);
  }

  async #sendWhenRead(pending: Pending, read: Promise<UserState[]>): Promise<void> {
    const id = pending.session.id;
    let contacts: UserState[];
    try {
      contacts = await read;
    } catch (error) {
      // Still out of reach: the next round reads again. Any other failure would recur.
      if (isUnavailable(error) || this.#pending.get(id) !== pending) return;
      this.#pending.delete(id);
      this.#options.logger.warn({ err: error, user: pending.session.principal.userId }, 'contacts snapshot not sent');
      return;
    }
    // Closed while it was read, or the node is stopping: no one to send it to.
    if (this.#pending.get(id) !== pending) return;
    this.#pending.delete(id);
    this.#options.send(pending.session, overlay(contacts, pending.heard));
  }
}

/** The contacts as read, with what the session's own frames said of their status laid over. */
function overlay(contacts: UserState[], heard: ReadonlyMap<UserId, UserState> | null): UserState[] {
  if (!heard) return contacts;
  return contacts.map((contact) => {
    const state = heard.get(contact.user);
    return state ? { ...contact, status: state.status, lastSeen: state.lastSeen } : contact;
  });
}
