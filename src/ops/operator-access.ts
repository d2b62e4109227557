import type { FastifyRequest } from 'fastify';
import type { Authenticator } from '../auth/authenticator.js';
import { isLoopback } from '../config.js';
import { SwitchboardError } from '../core/errors.js';
import type { Principal } from '../core/types.js';
import { credentialsOf } from '../transports/http/request-auth.js';

/** Who is at the console, and how they got in. */
export interface Operator {
  /** What the console's actions run as: the API key's server principal, or the admin's own. */
  readonly principal: Principal;
  /** `server`: an API key; `user`: an account with the `admin` role; `local`: open auth on loopback, no key. */
  readonly kind: 'server' | 'user' | 'local';
  /** The audit log's actor. */
  readonly actor: string;
}

/** What a keyless operator on loopback acts as: the server, as an API key would. */
const LOCAL_OPERATOR: Principal = Object.freeze({
  kind: 'server',
  userId: 'server',
  name: 'local operator',
  roles: Object.freeze([]) as readonly string[],
});

/**
 * Who may read /metrics and use /admin. An API key always; for /admin also an account
 * with the `admin` role. In auth "open" on a loopback address (development), a request
 * without credentials is let in too, but only one that is plainly local: sent to a
 * loopback name (a DNS name pointed at 127.0.0.1 is not), from a loopback page if from a
 * page at all, and not relayed by a proxy. So another site open in the developer's
 * browser cannot drive the console, and a proxy in front of the node does not open it.
 */
export class OperatorAccess {
  readonly #authenticator: Authenticator;
  /** auth "open" on loopback. */
  readonly keyless: boolean;

  constructor(options: { readonly authenticator: Authenticator; readonly keyless: boolean }) {
    this.#authenticator = options.authenticator;
    this.keyless = options.keyless;
  }

  /** /metrics: an API key, or a keyless local request. */
  async scrape(request: FastifyRequest): Promise<void> {
    if (this.#keylessHere(request)) return;
    const principal = await this.#authenticator.authenticate(credentialsOf(request));
    if (principal.kind !== 'server') throw new SwitchboardError('forbidden', 'Scraping /metrics needs an API key.');
  }

  /** The admin console's API: an API key, an `admin`-role account, or a keyless local request. */
  async admin(request: FastifyRequest): Promise<Operator> {
    if (this.#keylessHere(request)) return { principal: LOCAL_OPERATOR, kind: 'local', actor: 'local operator' };
    const principal = await this.#authenticator.authenticate(credentialsOf(request));
    if (principal.kind === 'server') return { principal, kind: 'server', actor: 'API key' };
    if (principal.roles.includes('admin')) return { principal, kind: 'user', actor: principal.userId };
    throw new SwitchboardError('forbidden', 'The admin console needs an API key or an account with the admin role.');
  }

  /** Whether this request may come in without credentials: keyless mode, none presented, and plainly local. */
  #keylessHere(request: FastifyRequest): boolean {
    if (!this.keyless || Object.keys(credentialsOf(request)).length > 0) return false;
    const headers = request.headers;
    if (headers['x-forwarded-for'] !== undefined || headers.forwarded !== undefined) return false;
    if (!isLoopbackName(hostOf(headers.host))) return false;
    const origin = headers.origin;
    if (origin !== undefined && !isLoopbackName(hostOf(origin))) return false;
    return isLoopbackName((request.socket.remoteAddress ?? '').replace(/^::ffff:/, ''));
  }
}

/** The host name of a Host header or an origin, without port and IPv6 brackets. */
function hostOf(value: string | undefined): string {
  if (!value) return '';
  try {
    return new URL(value.includes('://') ? value : `http://${value}`).hostname.replace(/^\[|\]$/g, '');
  } catch {
    return '';
  }
}

function isLoopbackName(host: string): boolean {
  return host !== '' && isLoopback(host);
}
