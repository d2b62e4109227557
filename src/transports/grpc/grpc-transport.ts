import { type MethodDefinition, Server, ServerCredentials, type ServiceDefinition } from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
import type { Authenticator } from '../../auth/authenticator.js';
import type { Hub } from '../../core/hub.js';
import type { Logger } from '../../core/logger.js';
import { PrincipalRateLimiter } from '../principal-rate-limiter.js';
import { HealthService } from './health-service.js';
import { HEALTH_SERVICE, loadSwitchboardProtos, SWITCHBOARD_SERVICE } from './proto-definition.js';
import type { SubscribeStream } from './subscribe-stream.js';
import { switchboardService } from './switchboard-service.js';
import type { Edge } from '../../edge/edge.js';

export interface GrpcTransportOptions {
  /** The command pipeline every wire shares. */
  readonly edge: Edge;
  readonly hub: Hub;
  readonly authenticator: Authenticator;
  readonly logger: Logger;
  /** The readiness check `/readyz` uses; the health service answers from it. */
  readonly ready: () => Promise<void>;
  readonly host: string;
  /** 0: any free port (see `port` once started). */
  readonly port: number;
  readonly limits: {
    /** Largest request accepted, as the WebSocket frame limit. */
    readonly maxFrameBytes: number;
    /** Bytes queued for one subscriber before it is cut off as a slow consumer. */
    readonly sendQueueBytes: number;
    /** Calls a user's connection may make per second, and in a burst (as WebSocket frames). */
    readonly messagesPerSecond: number;
    readonly messageBurst: number;
  };
  /** Interval of HTTP/2 keepalive pings, so dead subscribers are noticed. */
  readonly heartbeatMs: number;
}

/**
 * The gRPC endpoint: switchboard.v1.Switchboard, grpc.health.v1.Health and server
 * reflection on their own port.
 *
 * @example
 *   const grpc = await GrpcTransport.start({ hub, authenticator, logger, ready, host: '127.0.0.1', port: 50051, ... });
 *   // ... on shutdown, after hub.shutdown():
 *   await grpc.close('server shutting down', 10_000);
 */
export class GrpcTransport {
  readonly port: number;
  readonly #server: Server;
  readonly #health: HealthService;
  readonly #streams: Set<SubscribeStream>;

  private constructor(port: number, server: Server, health: HealthService, streams: Set<SubscribeStream>) {
    this.port = port;
    this.#server = server;
    this.#health = health;
    this.#streams = streams;
  }

  static async start(options: GrpcTransportOptions): Promise<GrpcTransport> {
    const definitions = loadSwitchboardProtos();
    const switchboard = definitions[SWITCHBOARD_SERVICE] as ServiceDefinition;
    const subscribe = switchboard.Subscribe as MethodDefinition<unknown, object>;
    const serializeSubscribeResponse = (message: object) => subscribe.responseSerialize(message);
    const streams = new Set<SubscribeStream>();

    const server = new Server({
      'grpc.max_receive_message_length': options.limits.maxFrameBytes,
      'grpc.keepalive_time_ms': options.heartbeatMs,
      'grpc.keepalive_timeout_ms': 20_000,
    });
    server.addService(
      // Pushes reach Subscribe already serialized (once for every stream); the rest as objects.
      {
        ...switchboard,
        Subscribe: {
          ...subscribe,
          responseSerialize: (value: object) =>
            Buffer.isBuffer(value) ? value : subscribe.responseSerialize(value),
        },
      },
      switchboardService({
        hub: options.hub,
        authenticator: options.authenticator,
        logger: options.logger,
        serializeSubscribeResponse,
        sendQueueBytes: options.limits.sendQueueBytes,
        rateLimiter: new PrincipalRateLimiter({
          perSecond: options.limits.messagesPerSecond,
          burst: options.limits.messageBurst,
          what: 'call rate',
        }),
        onStream(stream) {
          streams.add(stream);
          stream.onEnd(() => streams.delete(stream));
        },
      }),
    );
    const health = new HealthService({ ready: options.ready });
    server.addService(definitions[HEALTH_SERVICE] as ServiceDefinition, health.implementation());
    new ReflectionService(definitions).addToServer(server);

    const host = options.host.includes(':') ? `[${options.host}]` : options.host;
    const port = await new Promise<number>((resolve, reject) => {
      server.bindAsync(`${host}:${options.port}`, ServerCredentials.createInsecure(), (error, bound) =>
        error ? reject(error) : resolve(bound),
      );
    });
    return new GrpcTransport(port, server, health, streams);
  }

  get streamCount(): number {
    return this.#streams.size;
  }

  /**
   * Ends open Subscribe streams with UNAVAILABLE (reconnect and resume), then lets calls
   * in flight finish for up to `timeoutMs` before cutting them off.
   */
  async close(reason: string, timeoutMs: number): Promise<void> {
    for (const stream of [...this.#streams]) stream.endForShutdown(reason);
    this.#health.closeAll();
    await new Promise<void>((resolve) => {
      const deadline = setTimeout(() => {
        this.#server.forceShutdown();
        resolve();
      }, timeoutMs);
      deadline.unref();
      this.#server.tryShutdown(() => {
        clearTimeout(deadline);
        resolve();
      });
    });
  }
}
