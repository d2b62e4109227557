import Fastify from 'fastify';
import pino from 'pino';
import { onTestFinished } from 'vitest';
import { OpenAuthenticator } from '../../src/auth/open-authenticator.js';
import { loadConfig } from '../../src/config.js';
import { ConnectionGuard, guardHttpServer } from '../../src/transports/connection-guard.js';
import { GrpcTransport } from '../../src/transports/grpc/grpc-transport.js';
import { httpErrorHandler } from '../../src/transports/http/http-errors.js';
import { PusherTransport } from '../../src/transports/pusher/pusher-transport.js';
import { SseTransport } from '../../src/transports/sse/sse-transport.js';
import { WsTransport } from '../../src/transports/ws/ws-transport.js';
import type { TestServer } from './test-server.js';

export interface GuardedNode {
  readonly url: string;
  readonly wsUrl: string;
  readonly grpcPort: number;
  readonly guard: ConnectionGuard;
}

export interface GuardedNodeOptions {
  readonly connectionsPerIp: number;
  readonly headerTimeoutMs?: number;
  readonly grpcStreamsPerConnection?: number;
  /** A Pusher app served at /app/:key. */
  readonly pusherApp?: { readonly id: string; readonly key: string; readonly secret: string };
}

/**
 * The long-lived wires of a node, /ws, SSE, Pusher sockets and gRPC, in front of a test
 * server's hub and edge and under one ConnectionGuard, with the HTTP server's raw
 * connections guarded too (guardHttpServer): what src/server.ts composes, in a form a test
 * can set the guard's numbers on. Auth "open". Closed when the test finishes.
 */
export async function startGuardedNode(server: TestServer, options: GuardedNodeOptions): Promise<GuardedNode> {
  const config = loadConfig({ overrides: { pusher: { apps: options.pusherApp ? [options.pusherApp] : [] } } });
  const logger = pino({ level: 'silent' });
  const authenticator = new OpenAuthenticator();
  const { edge, hub } = server;
  const guard = new ConnectionGuard({ allowedOrigins: [], connectionsPerIp: options.connectionsPerIp });
  const headerTimeoutMs = options.headerTimeoutMs ?? 10_000;
  const app = Fastify({ logger: false });
  app.setErrorHandler(httpErrorHandler(logger));
  guardHttpServer(app.server, guard, { headerTimeoutMs });
  const sse = new SseTransport({ edge, hub, authenticator, logger, guard, heartbeatMs: config.heartbeatMs, maxQueuedBytes: config.limits.sendQueueBytes });
  sse.register(app);
  const ws = new WsTransport({ edge, hub, authenticator, logger, limits: config.limits, heartbeatMs: config.heartbeatMs, guard });
  const pusher = new PusherTransport({ edge, hub, logger, pusher: config.pusher, limits: config.limits, guard });
  app.server.on('upgrade', (request, socket, head) => {
    if (ws.handleUpgrade(request, socket, head)) return;
    if (pusher.handleUpgrade(request, socket, head)) return;
    socket.destroy();
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const grpc = await GrpcTransport.start({
    edge,
    hub,
    authenticator,
    logger,
    ready: async () => {},
    host: '127.0.0.1',
    port: 0,
    limits: { ...config.limits, headerTimeoutMs, grpcStreamsPerConnection: options.grpcStreamsPerConnection },
    heartbeatMs: config.heartbeatMs,
    guard,
  });
  onTestFinished(async () => {
    ws.closeAll('test over');
    sse.closeAll('test over');
    pusher.closeAll('test over');
    await grpc.close('test over', 0);
    app.server.closeAllConnections();
    await app.close();
  });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { url: `http://127.0.0.1:${port}`, wsUrl: `ws://127.0.0.1:${port}/ws`, grpcPort: grpc.port, guard };
}
