import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';
import type { Authenticator, Credentials } from '../../auth/authenticator.js';
import { CLOSE_CODES, type SwitchboardError } from '../../core/errors.js';
import type { Hub } from '../../core/hub.js';
import type { Logger } from '../../core/logger.js';
import { ConnectionAdmission } from '../../edge/connection-admission.js';
import type { Edge } from '../../edge/edge.js';
import { type ConnectionGuard, rejectUpgrade } from '../connection-guard.js';
import { SpreadSweep } from '../spread-sweep.js';
import { WriteBatcher, type WriteBatchSettings, type WriteBatchStats } from '../write-batcher.js';
import { type LimitHit, type UpgradeHeaders, WsConnection, type WsLimits } from './ws-connection.js';
import { encodingFrom, type WsEncoding } from './ws-encoding.js';

export interface WsTransportOptions {
  /** The command pipeline every wire shares: every frame but `auth` is one of its commands. */
  readonly edge: Edge;
  /** Sessions only (connect, disconnect). */
  readonly hub: Hub;
  readonly authenticator: Authenticator;
  /** Credentials and the app's connect hook; absent: the authenticator alone. */
  readonly admission?: ConnectionAdmission;
  readonly logger: Logger;
  readonly limits: WsLimits & { readonly maxFrameBytes: number };
  readonly heartbeatMs: number;
  /** The load-adaptive write delay (config `batching`); default DEFAULT_WRITE_BATCH. */
  readonly batching?: WriteBatchSettings;
  /** Origin allowlist and per-IP limit, checked before upgrading. */
  readonly guard?: ConnectionGuard;
  /** Told when a limit cut a frame or a connection (metrics). */
  readonly onLimit?: (hit: LimitHit) => void;
}

/** The /ws endpoint: upgrades requests and keeps one WsConnection per socket. */
export class WsTransport {
  readonly #options: WsTransportOptions;
  readonly #server: WebSocketServer;
  readonly #connections = new Set<WsConnection>();
  readonly #heartbeat: SpreadSweep<WsConnection>;
  readonly #batcher: WriteBatcher;
  readonly #admission: ConnectionAdmission;
  /** One function for every connection to call when it closes (no closure per connection). */
  readonly #forget = (connection: WsConnection): void => {
    this.#connections.delete(connection);
  };

  constructor(options: WsTransportOptions) {
    this.#options = options;
    this.#batcher = new WriteBatcher(options.batching);
    this.#admission = options.admission ?? new ConnectionAdmission(options.authenticator, null);
    this.#server = new WebSocketServer({
      noServer: true,
      maxPayload: options.limits.maxFrameBytes,
      perMessageDeflate: false,
      clientTracking: false,
    });
    this.#heartbeat = new SpreadSweep(this.#connections, options.heartbeatMs, (connection) =>
      checkAlive(connection, options.heartbeatMs),
    );
  }

  get connectionCount(): number {
    return this.#connections.size;
  }

  /** Frames and socket writes so far (metrics): frames per write shows the batching. */
  get writeStats(): Readonly<WriteBatchStats> {
    return this.#batcher.stats;
  }

  /** Handles an HTTP upgrade for /ws; returns false when the path is not ours. */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    const { path, query } = splitTarget(request.url ?? '/');
    if (path !== '/ws') return false;
    let encoding: WsEncoding;
    try {
      encoding = encodingFrom(query);
    } catch (error) {
      rejectUpgrade(socket, error as SwitchboardError);
      return true;
    }
    const admission = this.#options.guard?.admit(request);
    if (admission && !admission.ok) {
      rejectUpgrade(socket, admission.error);
      return true;
    }
    // The socket closes on every path (refused handshake, client gone, normal close).
    // 'on', not 'once': close fires once, and once() wraps every listener in two more objects.
    if (admission) socket.on('close', admission.release);
    // Read before the callback: a closure naming the request would keep it (and its
    // headers) alive as long as the connection, about 2 KiB each.
    const credentials = credentialsFrom(query, request);
    // Kept only when a connect hook may forward some of them.
    const headers = this.#admission.hooked ? { ...request.headers } : null;
    // With credentials in the request the welcome follows at once (no backend to ask): the
    // 101 response waits in the corked socket and leaves with it, one write instead of two.
    const corked = credentials !== null && headers === null;
    if (corked) socket.cork();
    // Node types the upgrade socket as a Duplex; it is a net.Socket (a TLSSocket over HTTPS).
    this.#server.handleUpgrade(request, socket, head, (ws) => this.#accept(ws, socket as Socket, credentials, encoding, headers, corked));
    return true;
  }

  #accept(ws: WebSocket, socket: Socket, credentials: Credentials | null, encoding: WsEncoding, headers: UpgradeHeaders, corked: boolean): void {
    const connection = new WsConnection({
      ws,
      socket,
      hub: this.#options.hub,
      pipeline: this.#options.edge.pipeline,
      admission: this.#admission,
      headers,
      limits: this.#options.limits,
      logger: this.#options.logger,
      batcher: this.#batcher,
      encoding,
      onLimit: this.#options.onLimit,
      onClosed: this.#forget,
      corked,
    });
    this.#connections.add(connection);
    connection.start(credentials);
  }

  /** Closes every connection with the code that tells clients to reconnect and resume. */
  closeAll(reason: string): void {
    this.#heartbeat.stop();
    for (const connection of this.#connections) connection.close(CLOSE_CODES.reconnect, reason);
  }
}

/** A connection that has not answered the previous ping is gone; the rest are pinged again. */
function checkAlive(connection: WsConnection, periodMs: number): void {
  // Reached early (many connections ahead of it closed): its ping has had no time to be answered.
  if (connection.millisSincePing() < periodMs / 2) return;
  if (!connection.alive) {
    connection.terminate();
    return;
  }
  connection.ping();
}

/**
 * A request target's path and query. The usual origin form (`/ws?user=ann`) is split by
 * hand: a whole URL object cost more than anything else an upgrade does itself. The
 * absolute form a client may send through a proxy goes through URL.
 */
function splitTarget(target: string): { path: string; query: URLSearchParams } {
  if (!target.startsWith('/') || target.startsWith('//')) {
    const url = new URL(target, 'http://localhost');
    return { path: url.pathname, query: url.searchParams };
  }
  const mark = target.indexOf('?');
  if (mark === -1) return { path: target, query: new URLSearchParams() };
  return { path: target.slice(0, mark), query: new URLSearchParams(target.slice(mark + 1)) };
}

/** `?ticket=` / `?user=` from the URL, or a token from `Authorization: Bearer` (never a token in the URL). */
function credentialsFrom(query: URLSearchParams, request: IncomingMessage): Credentials | null {
  const user = query.get('user') ?? undefined;
  const ticket = query.get('ticket') ?? undefined;
  const bearer = /^Bearer +(\S+)\s*$/i.exec(request.headers.authorization ?? '');
  const token = bearer ? bearer[1] : undefined;
  if (user === undefined && ticket === undefined && token === undefined) return null;
  return { user, ticket, token };
}
