import type { Principal } from '../core/types.js';

/**
 * What a client presents: a name (open mode), a token (user token or API key), a
 * single-use ticket, or an API key from the `X-Switchboard-Key` header.
 */
export interface Credentials {
  readonly user?: string;
  readonly token?: string;
  readonly ticket?: string;
  /** Only ever an API key; a user token here is refused. */
  readonly apiKey?: string;
}

/** Turns credentials into a Principal, or throws SwitchboardError('unauthorized'). */
export interface Authenticator {
  readonly mode: 'open' | 'accounts' | 'jwt';
  authenticate(credentials: Credentials): Promise<Principal>;
}
