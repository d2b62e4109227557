import type { Authenticator, Credentials } from '../auth/authenticator.js';
import type { Principal } from '../core/types.js';
import type { ConnectHook, ConnectionRequest } from './hook-step.js';

/**
 * Who a new connection (/ws, SSE, a gRPC stream) is: its credentials, checked by the
 * authenticator, then the app's connect hook when one is set up. With a hook a client may
 * present no credentials at all and leave the decision to the backend; an API key (the
 * app's backend itself) is never sent to the hook. A plain REST request is not a
 * connection and is only authenticated.
 *
 * @example
 *   const principal = await admission.admit({ wire: 'ws', credentials, header, data });
 */
export class ConnectionAdmission {
  readonly #authenticator: Authenticator;
  readonly #hook: ConnectHook | null;

  constructor(authenticator: Authenticator, hook: ConnectHook | null) {
    this.#authenticator = authenticator;
    this.#hook = hook;
  }

  /** Whether a connection without credentials may still be admitted (by the backend). */
  get hooked(): boolean {
    return this.#hook !== null;
  }

  async admit(request: ConnectionRequest): Promise<Principal> {
    if (this.#hook === null) return this.#authenticator.authenticate(request.credentials);
    const principal = presents(request.credentials) ? await this.#authenticator.authenticate(request.credentials) : null;
    if (principal?.kind === 'server') return principal;
    return this.#hook.connect(request, principal);
  }
}

function presents(credentials: Credentials): boolean {
  return (
    credentials.user !== undefined || credentials.token !== undefined || credentials.ticket !== undefined || credentials.apiKey !== undefined
  );
}
