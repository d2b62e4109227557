import type { Principal } from '../core/types.js';

/** What a client presents: a name (open mode), a token, or a single-use ticket. */
export interface Credentials {
  readonly user?: string;
  readonly token?: string;
  readonly ticket?: string;
}

/** Turns credentials into a Principal, or throws SwitchboardError('unauthorized'). */
export interface Authenticator {
  readonly mode: 'open' | 'accounts' | 'jwt';
  authenticate(credentials: Credentials): Promise<Principal>;
}
