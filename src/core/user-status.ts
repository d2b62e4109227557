import type { PresenceRegistry } from './broker.js';
import type { ClusterNotice, UserNotice } from './chat-notices.js';
import type { ChatStore, UserState, UserStatus } from './chat-store.js';
import { Delivery } from './delivery.js';
import type { LocalSessions } from './local-sessions.js';
import type { Logger } from './logger.js';
import type { Session } from './session.js';
import type { UserId } from './types.js';

/**
 * The registry key under which every session of a user counts, across nodes. `~` cannot
 * start a channel id, so it never meets a real channel's presence.
 */
export const ONLINE_KEY = '~online';

export interface UserStatusOptions {
  readonly store: ChatStore;
  readonly presence: PresenceRegistry;
  readonly sessions: LocalSessions;
  readonly logger: Logger;
  /** Sends a notice to the other nodes. */
  readonly broadcast: (notice: ClusterNotice) => void;
  /** Called for every status change, local or from another node (live user lists). */
  readonly onChange: (state: UserState) => void;
}

/**
 * Online / away / offline per user. A user is online from their first session on any
 * node to their last (the broker's presence registry counts sessions cluster-wide; a
 * silent client is dropped by its transport's heartbeat, which ends the session).
 * Changes go to the user's contacts and everyone who shares a channel or DM with them.
 */
export class UserStatusTracker {
  readonly #options: UserStatusOptions;
  /** Per-user chains, so one user's connect and disconnect are handled in order. */
  readonly #queues = new Map<UserId, Promise<void>>();

  constructor(options: UserStatusOptions) {
    this.#options = options;
  }

  sessionOpened(session: Session): void {
    const user = session.principal.userId;
    this.#background(user, async () => {
      const { store, presence } = this.#options;
      const [action, contacts] = await Promise.all([presence.add(ONLINE_KEY, user, session.id), store.listContacts(user)]);
      session.sink.deliver(new Delivery({ type: 'contacts', contacts }));
      if (action === 'join') await this.#change(user, 'online');
    });
  }

  sessionClosed(session: Session): void {
    const user = session.principal.userId;
    this.#background(user, async () => {
      const action = await this.#options.presence.remove(ONLINE_KEY, user, session.id);
      if (action === 'leave') await this.#change(user, 'offline');
    });
  }

  /** A user's own choice between online and away (offline follows their sessions). */
  set(user: UserId, status: Exclude<UserStatus, 'offline'>): Promise<UserState> {
    return this.#enqueue(user, () => this.#change(user, status));
  }

  /**
   * The broker changed the registry behind a node's back: it reaped a dead node's sessions
   * (`leave`), or a node that was cut off wrote its sessions back (`join`). The node that
   * noticed records the user's status, if it changed, and tells every node.
   */
  registryChanged(user: UserId, action: 'join' | 'leave'): void {
    this.#background(user, async () => {
      const online = (await this.#options.presence.list(ONLINE_KEY)).some((member) => member.user === user);
      const [known] = await this.#options.store.userStates([user]);
      if (online && action === 'join' && known?.status === 'offline') await this.#change(user, 'online');
      if (!online && action === 'leave' && known?.status !== 'offline') await this.#change(user, 'offline');
    });
  }

  /** A status notice from another node: deliver it to the audience's sessions here. */
  apply(notice: Extract<ClusterNotice, { kind: 'status' }>): void {
    this.#deliver(notice.state, notice.audience, notice.at);
  }

  /** Settles every status change queued so far (tests, shutdown). */
  async idle(): Promise<void> {
    await Promise.all(this.#queues.values());
  }

  async #change(user: UserId, status: UserStatus): Promise<UserState> {
    const { store } = this.#options;
    const at = Date.now();
    await store.setStatus(user, status, at);
    const [[state], audience] = await Promise.all([store.userStates([user]), store.statusAudience(user)]);
    const current = state ?? { user, name: user, status, lastSeen: status === 'offline' ? at : null };
    // The user's own other devices hear it too.
    const everyone = [...audience, user];
    this.#deliver(current, everyone, at);
    this.#options.broadcast({ kind: 'status', state: current, audience: everyone, at });
    return current;
  }

  #deliver(state: UserState, audience: readonly UserId[], at: number): void {
    const notice: UserNotice = { type: 'status', user: state.user, status: state.status, lastSeen: state.lastSeen, at };
    const delivery = new Delivery(notice);
    for (const user of audience) {
      for (const session of this.#options.sessions.of(user)) session.sink.deliver(delivery);
    }
    this.#options.onChange(state);
  }

  #background(user: UserId, work: () => Promise<void>): void {
    this.#enqueue(user, work).catch(() => {});
  }

  /** Runs `work` after the user's earlier status work; a failure is logged and ends only this step. */
  #enqueue<T>(user: UserId, work: () => Promise<T>): Promise<T> {
    const previous = this.#queues.get(user) ?? Promise.resolve();
    const result = previous.then(work);
    const settled = result.then(
      () => {},
      (error: unknown) => this.#options.logger.warn({ err: error, user }, 'user status update failed'),
    );
    this.#queues.set(user, settled);
    void settled.then(() => {
      if (this.#queues.get(user) === settled) this.#queues.delete(user);
    });
    return result;
  }
}
