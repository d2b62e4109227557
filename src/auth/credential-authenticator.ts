import { SwitchboardError } from '../core/errors.js';
import type { Principal } from '../core/types.js';
import { type ApiKeys, SERVER_PRINCIPAL } from './api-keys.js';
import type { Authenticator, Credentials } from './authenticator.js';
import type { BanList } from './ban-list.js';
import type { JwtVerifier } from './jwt-verifier.js';
import { OpenAuthenticator } from './open-authenticator.js';
import type { Tickets } from './tickets.js';

/**
 * The one authenticator every transport uses, whatever the mode: tickets and API keys
 * work everywhere; tokens are checked by the mode's verifier (accounts or jwt); a bare
 * user name is accepted in `open` mode only. A banned user is refused whatever they present.
 */
export class CredentialAuthenticator implements Authenticator {
  readonly mode: Authenticator['mode'];
  readonly #apiKeys: ApiKeys;
  readonly #tickets: Tickets;
  readonly #verifier: JwtVerifier | null;
  readonly #open = new OpenAuthenticator();
  readonly #bans: BanList;

  constructor(options: {
    mode: Authenticator['mode'];
    apiKeys: ApiKeys;
    tickets: Tickets;
    verifier: JwtVerifier | null;
    bans: BanList;
  }) {
    this.mode = options.mode;
    this.#bans = options.bans;
    this.#apiKeys = options.apiKeys;
    this.#tickets = options.tickets;
    this.#verifier = options.verifier;
  }

  /** The principal the credentials prove, unless its user is banned (`forbidden`). */
  async authenticate(credentials: Credentials): Promise<Principal> {
    const principal = await this.#principalOf(credentials);
    if (principal.kind === 'user') this.#bans.assertNotBanned(principal.userId);
    return principal;
  }

  async #principalOf(credentials: Credentials): Promise<Principal> {
    if (credentials.ticket !== undefined) return this.#tickets.redeem(credentials.ticket);
    if (credentials.apiKey !== undefined) {
      if (this.#apiKeys.matches(credentials.apiKey)) return SERVER_PRINCIPAL;
      throw new SwitchboardError('unauthorized', 'The API key is not valid.');
    }
    if (credentials.token !== undefined) {
      if (this.#apiKeys.matches(credentials.token)) return SERVER_PRINCIPAL;
      if (this.#verifier) return this.#verifier.verify(credentials.token);
      throw new SwitchboardError('unauthorized', 'The token is not a valid API key; in auth mode "open" users pass `user`.');
    }
    if (credentials.user !== undefined) {
      if (this.mode === 'open') return this.#open.authenticate(credentials);
      throw new SwitchboardError('unauthorized', `Auth mode "${this.mode}" needs a token or a ticket; \`user\` is for open mode.`);
    }
    throw new SwitchboardError('unauthorized', 'Authentication required: present a token, a ticket or an API key.');
  }
}
