import { randomInt } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';
import type { Config } from '../../config.js';
import type { Hub } from '../../core/hub.js';
import type { Logger } from '../../core/logger.js';
import type { Edge } from '../../edge/edge.js';
import type { SubscribeAsk } from '../../edge/hook-step.js';
import type { Admission, ConnectionGuard } from '../connection-guard.js';
import { PusherAppState } from './pusher-app-state.js';
import { type PusherApp, PusherApps } from './pusher-apps.js';
import { PusherConnection, type PusherConnectionLimits } from './pusher-connection.js';
import { errorFrame, PUSHER_CODES, SUPPORTED_PROTOCOLS } from './pusher-frames.js';
import { PusherHubBridge } from './pusher-hub-bridge.js';
import { PusherWebhookSender } from './pusher-webhooks.js';

export interface PusherTransportOptions {
  /** The command pipeline every wire shares: what the Pusher protocol runs as Switchboard commands. */
  readonly edge: Edge;
  /** Sessions only (connect, disconnect). */
  readonly hub: Hub;
  readonly logger: Logger;
  readonly pusher: Config['pusher'];
  readonly limits: Config['limits'];
  /**
   * The per-address connection count every long-lived wire shares (connection-guard.ts):
   * a Pusher socket over `limits.connectionsPerIp` is refused with `pusher:error` 4100 and
   * close 4100 (pusher-js backs off and retries). Pusher sockets skip its Origin check
   * (see `addressOf`). Absent: not counted.
   */
  readonly guard?: ConnectionGuard;
  /**
   * Channels one Pusher connection may subscribe to; one more gets `pusher:subscription_error`
   * `LimitReached` (status 429). Pusher's own limit: the hub's `limits.maxSubscriptionsPerSession`
   * does not apply to Pusher sockets. Default 1000.
   */
  readonly maxSubscriptionsPerConnection?: number;
  /** The subscribe hook of a backend named by an app's `subscribeHook`; absent: apps' hooks are not served. */
  readonly subscribeAsk?: (backend: string | null) => SubscribeAsk | null;
}

const PATH = /^\/app\/([^/]+)$/;
/** Subscriptions one Pusher connection may hold unless the transport is told otherwise. */
export const DEFAULT_PUSHER_SUBSCRIPTIONS = 1000;

/**
 * The Pusher Channels protocol: WebSocket connections at /app/:key and the per-app state
 * the HTTP API (pusher-http-routes.ts) reads and publishes through.
 */
export class PusherTransport {
  readonly apps: PusherApps;
  readonly bridge: PusherHubBridge;
  readonly #options: PusherTransportOptions;
  readonly #server: WebSocketServer;
  readonly #webhooks: PusherWebhookSender;
  readonly #states = new Map<PusherApp, PusherAppState>();
  readonly #connections = new Map<string, PusherConnection>();
  readonly #limits: PusherConnectionLimits;

  constructor(options: PusherTransportOptions) {
    this.#options = options;
    this.apps = new PusherApps(options.pusher.apps);
    this.bridge = new PusherHubBridge(options.edge.pipeline);
    this.#webhooks = new PusherWebhookSender({ logger: options.logger });
    for (const app of this.apps.all) {
      this.#states.set(app, new PusherAppState(app, this.#webhooks, options.pusher.maxPresenceMembers));
    }
    this.#server = new WebSocketServer({
      noServer: true,
      maxPayload: options.limits.maxFrameBytes,
      perMessageDeflate: false,
      clientTracking: false,
    });
    this.#limits = {
      activityTimeoutMs: options.pusher.activityTimeoutSeconds * 1000,
      pongTimeoutMs: options.pusher.pongTimeoutMs,
      clientEventsPerSecond: options.pusher.clientEventsPerSecond,
      messagesPerSecond: options.limits.messagesPerSecond,
      messageBurst: options.limits.messageBurst,
      floodCloseAfter: options.limits.floodCloseAfter,
      floodWindowMs: options.limits.floodWindowMs,
      sendQueueBytes: options.limits.sendQueueBytes,
      maxSubscriptions: options.maxSubscriptionsPerConnection ?? DEFAULT_PUSHER_SUBSCRIPTIONS,
      subscriptionsPerSession: options.hub.limits.maxSubscriptionsPerSession,
    };
  }

  get connectionCount(): number {
    return this.#connections.size;
  }

  stateOf(app: PusherApp): PusherAppState {
    return this.#states.get(app)!;
  }

  /** Handles an upgrade for /app/:key; returns false when the path is not ours. */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const match = PATH.exec(url.pathname);
    if (!match) return false;
    // Counted from the upgrade on, refused or not; released when the socket closes.
    // By address only: a Pusher socket carries no ambient credentials (private channels need
    // the app's own signature) and pusher-js runs on the app's site, so there is no Origin to
    // hold it to; the hosted service checks none either.
    const guard = this.#options.guard;
    const admission = guard?.admitAddress(guard.clientAddress(request));
    if (admission?.ok) socket.on('close', admission.release);
    this.#server.handleUpgrade(request, socket, head, (ws) => this.#accept(ws, socket as Socket, match[1]!, url, admission));
    return true;
  }

  /** Pusher refuses with close codes after the upgrade, so pusher-js knows whether to retry. */
  #accept(ws: WebSocket, socket: Socket, key: string, url: URL, admission: Admission | undefined): void {
    const app = this.apps.byKey(decodeURIComponent(key));
    if (!app) return ws.close(PUSHER_CODES.unknownApp, 'App key not in this cluster');
    const protocol = url.searchParams.get('protocol');
    if (protocol === null) return ws.close(PUSHER_CODES.noProtocol, 'No protocol version supplied');
    if (!/^\d+$/.test(protocol)) return ws.close(PUSHER_CODES.invalidVersion, 'Invalid version string format');
    if (!SUPPORTED_PROTOCOLS.has(Number(protocol))) {
      return ws.close(PUSHER_CODES.unsupportedProtocol, 'Unsupported protocol version');
    }
    if (admission && !admission.ok) {
      // 4100 (over capacity): pusher-js backs off and tries again, as it would on the hosted service.
      ws.send(errorFrame(PUSHER_CODES.overCapacity, admission.error.message));
      return ws.close(PUSHER_CODES.overCapacity, 'Too many connections from your address');
    }
    const socketId = this.#newSocketId();
    const connection = new PusherConnection({
      ws,
      socket,
      socketId,
      hub: this.#options.hub,
      bridge: this.bridge,
      state: this.stateOf(app),
      limits: this.#limits,
      logger: this.#options.logger,
      subscribeHook: this.#options.subscribeAsk?.(app.subscribeHook) ?? null,
    });
    this.#connections.set(socketId, connection);
    ws.on('close', () => this.#connections.delete(socketId));
    void connection.start();
  }

  /** Tells every client to reconnect at once (pusher-js does, to another node). */
  closeAll(reason: string): void {
    this.#webhooks.close();
    for (const connection of this.#connections.values()) connection.close(PUSHER_CODES.reconnect, reason);
  }

  /** `<digits>.<digits>`, as pusher-js and server SDKs validate it. */
  #newSocketId(): string {
    for (;;) {
      const id = `${randomInt(1, 2 ** 31)}.${randomInt(1, 2 ** 31)}`;
      if (!this.#connections.has(id)) return id;
    }
  }
}
