import { type IncomingMessage, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { SwitchboardError } from '../core/errors.js';

export type Admission = { readonly ok: true; release(): void } | { readonly ok: false; readonly error: SwitchboardError };

export interface ConnectionGuardOptions {
  /** Browser origins allowed besides the server's own; `*` allows any. */
  readonly allowedOrigins: readonly string[];
  /** Open long-lived connections (WebSocket, SSE) one IP address may hold. */
  readonly connectionsPerIp: number;
  /** Reverse proxies whose X-Forwarded-For names the client. Empty: the header is ignored. */
  readonly trustedProxies?: readonly string[];
}

/**
 * Decides, before a long-lived connection is accepted, whether it may open:
 * - the Origin check stops cross-site WebSocket hijacking (a page on another site opening
 *   a socket with the user's cookies or ambient credentials). Clients that send no Origin
 *   (servers, mobile apps) are not browsers and pass.
 * - the per-IP count stops one address from holding every socket the node has.
 * Shared by /ws and /sse; call `release()` when the connection ends.
 */
export class ConnectionGuard {
  readonly #anyOrigin: boolean;
  readonly #origins: ReadonlySet<string>;
  readonly #perIp: number;
  readonly #proxies: ReadonlySet<string>;
  readonly #open = new Map<string, number>();

  constructor(options: ConnectionGuardOptions) {
    this.#anyOrigin = options.allowedOrigins.includes('*');
    this.#origins = new Set(options.allowedOrigins.map(normalizeOrigin));
    this.#perIp = options.connectionsPerIp;
    this.#proxies = new Set((options.trustedProxies ?? []).map(plainAddress));
  }

  admit(request: IncomingMessage): Admission {
    const origin = request.headers.origin;
    if (origin !== undefined && !this.#originAllowed(origin, request.headers.host)) {
      return { ok: false, error: new SwitchboardError('forbidden', 'This origin may not connect.') };
    }
    const ip = this.clientAddress(request);
    const count = this.#open.get(ip) ?? 0;
    if (count >= this.#perIp) {
      return { ok: false, error: new SwitchboardError('rate_limited', 'Too many connections from your address.') };
    }
    this.#open.set(ip, count + 1);
    let released = false;
    return {
      ok: true,
      release: () => {
        if (released) return;
        released = true;
        const left = (this.#open.get(ip) ?? 1) - 1;
        if (left > 0) this.#open.set(ip, left);
        else this.#open.delete(ip);
      },
    };
  }

  /**
   * The client's address: the socket's peer, or, when that peer is a trusted proxy, the
   * nearest X-Forwarded-For hop that is not itself a trusted proxy.
   */
  clientAddress(request: IncomingMessage): string {
    let address = plainAddress(request.socket.remoteAddress ?? 'unknown');
    if (!this.#proxies.has(address)) return address;
    const header = request.headers['x-forwarded-for'];
    const hops = (Array.isArray(header) ? header.join(',') : header ?? '').split(',').map((hop) => hop.trim()).filter(Boolean);
    while (this.#proxies.has(address) && hops.length > 0) address = plainAddress(hops.pop()!);
    return address;
  }

  #originAllowed(origin: string, host: string | undefined): boolean {
    if (this.#anyOrigin) return true;
    const normalized = normalizeOrigin(origin);
    if (this.#origins.has(normalized)) return true;
    // The server's own pages (the web app at /) are same-origin.
    try {
      return host !== undefined && new URL(normalized).host === host.toLowerCase();
    } catch {
      return false;
    }
  }
}

/** Answers an upgrade request with the error as JSON, without upgrading. */
export function rejectUpgrade(socket: Duplex, error: SwitchboardError): void {
  const body = JSON.stringify(error.toJSON());
  const status = error.httpStatus;
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n` +
      'Content-Type: application/json\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      'Connection: close\r\n\r\n' +
      body,
  );
}

/** `::ffff:10.0.0.1` (an IPv4 peer on a dual-stack socket) is `10.0.0.1`. */
function plainAddress(address: string): string {
  return address.startsWith('::ffff:') ? address.slice('::ffff:'.length) : address;
}

function normalizeOrigin(origin: string): string {
  try {
    return new URL(origin).origin;
  } catch {
    return origin.toLowerCase();
  }
}
