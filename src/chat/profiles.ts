import type { UserState, UserStatus } from '../../protocol/values.js';
import { Delivery } from '../core/delivery.js';
import type { UserId } from '../core/types.js';
import type { ChatContext } from './chat-context.js';
import { CHAT_MODULE, type ChatNotice } from './notices.js';

type ProfileNotice = Extract<ChatNotice, { kind: 'profile' }>;

/**
 * Profile changes (name, avatar URL, status text) as live data: the node where a profile
 * changed reads it once and tells every node; each delivers a `profile` frame to the
 * sessions of the user's contacts and the user's own, and a `list` update to sessions
 * following the user in a users list (`onChange`).
 */
export class ProfilePushes {
  readonly #context: ChatContext;
  readonly #onChange: (state: UserState) => void;
  /** Per-user chains: two quick changes are read and announced in order. */
  readonly #queues = new Map<UserId, Promise<void>>();

  constructor(context: ChatContext, onChange: (state: UserState) => void) {
    this.#context = context;
    this.#onChange = onChange;
  }

  /** A profile changed on this node (the hub's `profileChanged`). */
  changed(user: UserId): void {
    // The status last told here, before the cached state goes: the registry may be out of reach.
    const known = this.#context.cache.peekState(user)?.status;
    this.#context.cache.renamed(user);
    this.#inOrder(user, () => this.#announce(user, known));
  }

  /**
   * A change on another node. Its audience is what that node's cache knew: a contact just
   * added here may not have reached it yet, so this node's own contacts of the user count too.
   */
  received(notice: ProfileNotice): void {
    const user = notice.state.user;
    this.#context.cache.renamed(user);
    this.#inOrder(user, async () => {
      // Unreadable here (the database is away): the sender's audience still hears it.
      const contacts = await this.#context.cache.contactsOf(user).catch((): UserId[] => []);
      this.#apply({ ...notice, audience: [...new Set([...notice.audience, ...contacts])] });
    });
  }

  #inOrder(user: UserId, work: () => Promise<void>): void {
    const previous = this.#queues.get(user) ?? Promise.resolve();
    const next = previous.then(work).catch((error: unknown) => {
      this.#context.logger.warn({ err: error, user }, 'profile push failed');
    });
    this.#queues.set(user, next);
    void next.then(() => {
      if (this.#queues.get(user) === next) this.#queues.delete(user);
    });
  }

  /** To this node's sessions (the cached state was dropped when the change was heard). */
  #apply(notice: ProfileNotice): void {
    const { state, audience, at } = notice;
    const delivery = new Delivery({
      type: 'profile',
      user: state.user,
      name: state.name,
      avatarUrl: state.avatarUrl,
      statusText: state.statusText,
      at,
    });
    for (const user of audience) for (const session of this.#context.hub.sessionsOf(user)) session.sink.deliver(delivery);
    this.#onChange(state);
  }

  /** Settles every push queued so far (tests). */
  async idle(): Promise<void> {
    await Promise.all(this.#queues.values());
  }

  async #announce(user: UserId, known: UserStatus | undefined): Promise<void> {
    const { states, cache, hub } = this.#context;
    const [[state], contacts] = await Promise.all([states.ofOrKnown([user], () => known), cache.contactsOf(user)]);
    if (!state) return;
    const notice: ProfileNotice = { kind: 'profile', state, audience: [...contacts, user], at: Date.now() };
    this.#apply(notice);
    hub.sendNotice(CHAT_MODULE, notice);
  }
}
