import { type IncomingMessage, type Server, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { SwitchboardError } from '../core/errors.js';
import { countedAddress, plainAddress } from './counted-address.js';

export type Admission = { readonly ok: true; release(): void } | { readonly ok: false; readonly error: SwitchboardError };

export interface ConnectionGuardOptions {
  /** Browser origins allowed besides the server's own; `*` allows any. */
  readonly allowedOrigins: readonly string[];
  /**
   * Connections one address may hold at once, of every wire together: /ws and Pusher
   * sockets, SSE streams, gRPC streams, and connections that have not completed a request.
   */
  readonly connectionsPerIp: number;
  /** Reverse proxies whose X-Forwarded-For names the client. Empty: the header is ignored. */
  readonly trustedProxies?: readonly string[];
}

/** How long a new connection may take to complete its first request (HTTP headers, a gRPC call). */
export const DEFAULT_HEADER_TIMEOUT_MS = 10_000;

const TOO_MANY = 'Too many connections from your address.';
const NOTHING = (): void => {};

/**
 * One count of connections per client address (an IPv6 client's /64: countedAddress), for
 * every wire, so an address holds at
 * most `connectionsPerIp` of them whichever wires it uses. What counts, one each, while
 * it is open:
 * - a long-lived connection: a /ws or Pusher socket, an SSE stream (`admit`), a gRPC
 *   streaming call (`admitAddress`);
 * - a TCP connection that has not completed a request yet (`admitPending`), on the HTTP
 *   port (`guardHttpServer`) or the gRPC port: it is closed after a header timeout, and an
 *   address already holding `connectionsPerIp` of those has further ones closed at once.
 * A connection that completed its request stops counting as pending; a request that opens
 * a long-lived connection is then admitted on its own account. Ordinary HTTP requests and
 * unary gRPC calls are not counted (the per-user budget covers them).
 *
 * Also the Origin check, before an upgrade: it stops cross-site WebSocket hijacking (a page
 * on another site opening a socket with the user's cookies or ambient credentials).
 * Clients that send no Origin (servers, mobile apps) are not browsers and pass.
 *
 * @example
 *   // a WebSocket upgrade (the Pusher transport does the same)
 *   const admission = guard.admit(request);
 *   if (!admission.ok) return rejectUpgrade(socket, admission.error);
 *   socket.on('close', admission.release);
 */
export class ConnectionGuard {
  readonly #anyOrigin: boolean;
  readonly #origins: ReadonlySet<string>;
  readonly #perIp: number;
  readonly #proxies: ReadonlySet<string>;
  /** Everything each address holds: long-lived connections and pending ones. */
  readonly #held = new Map<string, number>();
  /** Of those, the connections that have not completed a request yet. */
  readonly #pending = new Map<string, number>();

  constructor(options: ConnectionGuardOptions) {
    this.#anyOrigin = options.allowedOrigins.includes('*');
    this.#origins = new Set(options.allowedOrigins.map(normalizeOrigin));
    this.#perIp = options.connectionsPerIp;
    this.#proxies = new Set((options.trustedProxies ?? []).map(plainAddress));
  }

  get connectionsPerIp(): number {
    return this.#perIp;
  }

  /** The Origin check, then one connection for the request's client address (/ws, Pusher, SSE). */
  admit(request: IncomingMessage): Admission {
    const origin = request.headers.origin;
    if (origin !== undefined && !this.#originAllowed(origin, request.headers.host)) {
      return { ok: false, error: new SwitchboardError('forbidden', 'This origin may not connect.') };
    }
    return this.admitAddress(this.clientAddress(request));
  }

  /** One connection for `address` (a gRPC stream, or a socket the caller found the address of). */
  admitAddress(address: string): Admission {
    const counted = countedAddress(address);
    if ((this.#held.get(counted) ?? 0) >= this.#perIp) {
      return { ok: false, error: new SwitchboardError('rate_limited', TOO_MANY) };
    }
    add(this.#held, counted, 1);
    let released = false;
    return {
      ok: true,
      release: () => {
        if (released) return;
        released = true;
        add(this.#held, counted, -1);
      },
    };
  }

  /**
   * A TCP connection from `remoteAddress` that has sent no complete request yet: counted
   * until `release` (its first request, or its close). Null when the address already holds
   * `connectionsPerIp` such connections: close it. A trusted proxy's connections carry many
   * clients and are not counted here (their requests are, by X-Forwarded-For).
   */
  admitPending(remoteAddress: string | undefined): (() => void) | null {
    const address = plainAddress(remoteAddress ?? 'unknown');
    if (this.#proxies.has(address)) return NOTHING;
    const counted = countedAddress(address);
    if ((this.#pending.get(counted) ?? 0) >= this.#perIp) return null;
    add(this.#pending, counted, 1);
    add(this.#held, counted, 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      add(this.#pending, counted, -1);
      add(this.#held, counted, -1);
    };
  }

  /** Connections `address` holds now (long-lived and pending): an IPv6 address's whole /64 (countedAddress). */
  heldBy(address: string): number {
    return this.#held.get(countedAddress(address)) ?? 0;
  }

  /**
   * The client's address: the socket's peer, or, when that peer is a trusted proxy, the
   * nearest X-Forwarded-For hop that is not itself a trusted proxy.
   */
  clientAddress(request: IncomingMessage): string {
    return this.addressBehind(request.socket.remoteAddress, request.headers['x-forwarded-for']);
  }

  /** `clientAddress` from a peer address and its X-Forwarded-For (a gRPC call's metadata). */
  addressBehind(peer: string | undefined, forwardedFor: string | readonly string[] | undefined): string {
    let address = plainAddress(peer ?? 'unknown');
    if (!this.#proxies.has(address)) return address;
    const header = typeof forwardedFor === 'string' ? forwardedFor : (forwardedFor ?? []).join(',');
    const hops = header.split(',').map((hop) => hop.trim()).filter(Boolean);
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

export interface HttpGuardOptions {
  /**
   * How long a connection may take to send its request headers, the first request's and
   * every later one's; then it gets 408 and is closed (Node's `headersTimeout`).
   */
  readonly headerTimeoutMs: number;
}

/** The release of a connection's pending count, kept on the socket until its first request. */
const PENDING = Symbol('pending');
type GuardedSocket = Socket & { [PENDING]?: (() => void) | undefined };

/**
 * Puts the HTTP server's raw connections under the guard: each counts against its address
 * until its first request arrives (`ConnectionGuard.admitPending`), an address's
 * connections past the limit are closed as they arrive, and a connection that has not sent
 * its headers within `headerTimeoutMs` gets 408 and is closed. Call it before the server
 * listens (Node reads the timeout's check interval then).
 *
 * @example
 *   const app = Fastify({ ... });
 *   guardHttpServer(app.server, guard, { headerTimeoutMs: config.limits.headerTimeoutMs });
 *   await app.listen({ port });
 */
export function guardHttpServer(server: Server, guard: ConnectionGuard, options: HttpGuardOptions): void {
  if (server.listening) throw new Error('guardHttpServer needs a server that does not listen yet.');
  server.headersTimeout = options.headerTimeoutMs;
  // Node checks the timeout every 30 s by default: a silent connection would live 40 s.
  (server as Server & { connectionsCheckingInterval: number }).connectionsCheckingInterval = Math.max(
    100,
    Math.min(1000, Math.floor(options.headerTimeoutMs / 4)),
  );
  server.prependListener('connection', (socket: GuardedSocket) => {
    const release = guard.admitPending(socket.remoteAddress);
    if (release === null) {
      socket.destroy();
      return;
    }
    socket[PENDING] = release;
    socket.on('close', release);
  });
  const requestArrived = (request: IncomingMessage): void => {
    const socket = request.socket as GuardedSocket;
    const release = socket[PENDING];
    if (release === undefined) return;
    socket[PENDING] = undefined;
    release();
  };
  server.prependListener('request', requestArrived);
  // Before the transports' own listener, which admits the upgraded connection on its own account.
  server.prependListener('upgrade', requestArrived);
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

function add(counts: Map<string, number>, address: string, delta: number): void {
  const next = (counts.get(address) ?? 0) + delta;
  if (next > 0) counts.set(address, next);
  else counts.delete(address);
}

function normalizeOrigin(origin: string): string {
  try {
    return new URL(origin).origin;
  } catch {
    return origin.toLowerCase();
  }
}
