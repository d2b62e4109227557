import type { UserState } from '../../protocol/values.js';
import { SwitchboardError } from '../core/errors.js';
import type { Principal, UserId } from '../core/types.js';
import { type ChatContext, userOf } from './chat-context.js';
import { CHAT_MODULE, type ChatNotice } from './notices.js';

/** Contacts: mutual (adding makes both users each other's contact), listed with their status. */
export class Contacts {
  readonly #context: ChatContext;

  constructor(context: ChatContext) {
    this.#context = context;
  }

  async add(principal: Principal, contact: UserId): Promise<UserState> {
    const user = userOf(principal);
    if (contact === user) throw new SwitchboardError('bad_request', 'You cannot add yourself as a contact.');
    const { tables, states, cache } = this.#context;
    const [state] = await states.ofOrKnown([contact], (known) => cache.peekState(known)?.status);
    if (!state) throw new SwitchboardError('not_found', `No user ${contact}.`);
    if (await tables.addContact(user, contact)) this.#changed([user, contact]);
    return state;
  }

  async remove(principal: Principal, contact: UserId): Promise<void> {
    const user = userOf(principal);
    if (!(await this.#context.tables.removeContact(user, contact))) {
      throw new SwitchboardError('not_found', `${contact} is not your contact.`);
    }
    this.#changed([user, contact]);
  }

  list(principal: Principal): Promise<UserState[]> {
    return this.#context.states.contactsOf(userOf(principal));
  }

  /** Both users' audiences changed: their cached contact lists go, here and on every node. */
  #changed(users: readonly UserId[]): void {
    const notice: ChatNotice = { kind: 'contacts', users };
    this.#context.cache.contactsChanged(users);
    this.#context.hub.sendNotice(CHAT_MODULE, notice);
  }
}
