import type { Session } from './session.js';
import type { UserId } from './types.js';

/** This node's sessions by user, for features that push to users rather than channels. */
export class LocalSessions {
  readonly #byUser = new Map<UserId, Set<Session>>();

  add(session: Session): void {
    const user = session.principal.userId;
    let set = this.#byUser.get(user);
    if (!set) this.#byUser.set(user, (set = new Set()));
    set.add(session);
  }

  remove(session: Session): void {
    const user = session.principal.userId;
    const set = this.#byUser.get(user);
    set?.delete(session);
    if (set?.size === 0) this.#byUser.delete(user);
  }

  of(user: UserId): ReadonlySet<Session> {
    return this.#byUser.get(user) ?? EMPTY;
  }
}

const EMPTY: ReadonlySet<Session> = new Set();
