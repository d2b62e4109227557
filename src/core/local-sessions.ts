import { MultiMap } from './multimap.js';
import type { Session } from './session.js';
import type { UserId } from './types.js';

/** This node's sessions by user, for features that push to users rather than channels. */
export class LocalSessions {
  readonly #byUser = new MultiMap<UserId, Session>();

  add(session: Session): void {
    this.#byUser.add(session.principal.userId, session);
  }

  remove(session: Session): void {
    this.#byUser.delete(session.principal.userId, session);
  }

  of(user: UserId): Iterable<Session> {
    return this.#byUser.get(user);
  }
}
