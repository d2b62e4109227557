import { SwitchboardError } from '../core/errors.js';
import type { Principal } from '../core/types.js';
import type { AccountStore } from './account-store.js';
import { digest, randomSecret } from './secrets.js';

/**
 * Single-use connect tickets: a client that holds a token trades it for a ticket and
 * opens `/ws?ticket=…` (or `/sse?ticket=…`), so no long-lived token lands in a URL, a
 * proxy log or browser history. Tickets live in the database so any node can redeem them.
 */
export class Tickets {
  readonly #store: AccountStore;
  readonly #ttlMs: number;

  constructor(store: AccountStore, ttlMs: number) {
    this.#store = store;
    this.#ttlMs = ttlMs;
  }

  async issue(principal: Principal): Promise<{ ticket: string; expiresAt: number }> {
    const now = Date.now();
    await this.#store.deleteExpiredTickets(now);
    const ticket = randomSecret('tk');
    const expiresAt = now + this.#ttlMs;
    await this.#store.addTicket({ hash: digest(ticket), principal, expiresAt });
    return { ticket, expiresAt };
  }

  /** The ticket's principal; the ticket is gone afterwards, whether or not it had expired. */
  async redeem(ticket: string): Promise<Principal> {
    const found = await this.#store.takeTicket(digest(ticket));
    if (!found) throw new SwitchboardError('unauthorized', 'The ticket is unknown or was already used.');
    if (found.expiresAt <= Date.now()) throw new SwitchboardError('unauthorized', 'The ticket expired.');
    return found.principal;
  }
}
