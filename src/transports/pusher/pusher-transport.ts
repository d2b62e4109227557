import { randomInt } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { Config } from '../../config.js';
import type { Hub } from '../../core/hub.js';
import type { Logger } from '../../core/logger.js';
import type { Edge } from '../../edge/edge.js';
import { PusherAppState } from './pusher-app-state.js';
import { type PusherApp, PusherApps } from './pusher-apps.js';
import { PusherConnection, type PusherConnectionLimits } from './pusher-connection.js';
import { PUSHER_CODES, SUPPORTED_PROTOCOLS } from './pusher-frames.js';
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
}

const PATH = /^\/app\/([^/]+)$/;

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
      sendQueueBytes: options.limits.sendQueueBytes,
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
    this.#server.handleUpgrade(request, socket, head, (ws) => {
      // Pusher refuses with close codes after the upgrade, so pusher-js knows not to retry.
      const app = this.apps.byKey(decodeURIComponent(match[1]!));
      if (!app) return ws.close(PUSHER_CODES.unknownApp, 'App key not in this cluster');
      const protocol = url.searchParams.get('protocol');
      if (protocol === null) return ws.close(PUSHER_CODES.noProtocol, 'No protocol version supplied');
      if (!/^\d+$/.test(protocol)) return ws.close(PUSHER_CODES.invalidVersion, 'Invalid version string format');
      if (!SUPPORTED_PROTOCOLS.has(Number(protocol))) {
        return ws.close(PUSHER_CODES.unsupportedProtocol, 'Unsupported protocol version');
      }
      const socketId = this.#newSocketId();
      const connection = new PusherConnection({
        ws,
        socketId,
        hub: this.#options.hub,
        bridge: this.bridge,
        state: this.stateOf(app),
        limits: this.#limits,
        logger: this.#options.logger,
      });
      this.#connections.set(socketId, connection);
      ws.on('close', () => this.#connections.delete(socketId));
      void connection.start();
    });
    return true;
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
