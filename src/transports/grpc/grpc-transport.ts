import { type MethodDefinition, Server, ServerCredentials, type ServiceDefinition } from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
import type { Authenticator } from '../../auth/authenticator.js';
import type { Hub } from '../../core/hub.js';
import type { Logger } from '../../core/logger.js';
import type { Edge } from '../../edge/edge.js';
import { HealthService } from './health-service.js';
import { HEALTH_SERVICE, loadSwitchboardProtos, SWITCHBOARD_SERVICE } from './proto-definition.js';
import { protoModel } from './proto-model.js';
import type { SessionStream } from './session-stream.js';
import { switchboardService } from './switchboard-service.js';

export interface GrpcTransportOptions {
  /** The command pipeline every wire shares. */
  readonly edge: Edge;
  /** Only for sessions: each streaming call is one. */
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
    /** Bytes queued for one stream before it is cut off as a slow consumer. */
    readonly sendQueueBytes: number;
  };
  /** Interval of HTTP/2 keepalive pings, so dead subscribers are noticed. */
  readonly heartbeatMs: number;
}

/**
 * The gRPC endpoint: switchboard.v1.Switchboard (every command with a gRPC binding, from
 * proto/switchboard.proto), grpc.health.v1.Health and server reflection on their own port.
 *
 * @example
 *   const grpc = await GrpcTransport.start({ edge, hub, authenticator, logger, ready, host: '127.0.0.1', port: 50051, ... });
 *   // ... on shutdown, after hub.shutdown():
 *   await grpc.close('server shutting down', 10_000);
 */
export class GrpcTransport {
  readonly port: number;
  readonly #server: Server;
  readonly #health: HealthService;
  readonly #streams: Set<SessionStream>;

  private constructor(port: number, server: Server, health: HealthService, streams: Set<SessionStream>) {
    this.port = port;
    this.#server = server;
    this.#health = health;
    this.#streams = streams;
  }

  static async start(options: GrpcTransportOptions): Promise<GrpcTransport> {
    const definitions = loadSwitchboardProtos();
    const model = protoModel();
    const switchboard = definitions[SWITCHBOARD_SERVICE] as ServiceDefinition;
    const missing = model.rpcs.filter((rpc) => !switchboard[rpc.name]).map((rpc) => rpc.name);
    if (missing.length > 0) {
      throw new Error(`proto/switchboard.proto lacks ${missing.join(', ')}: regenerate it with \`npm run proto\`.`);
    }
    const method = (rpc: string) => switchboard[rpc] as MethodDefinition<unknown, object>;
    const streams = new Set<SessionStream>();

    const server = new Server({
      'grpc.max_receive_message_length': options.limits.maxFrameBytes,
      'grpc.keepalive_time_ms': options.heartbeatMs,
      'grpc.keepalive_timeout_ms': 20_000,
    });
    // Streams are handed their responses already serialized (a push once for every stream).
    const streaming = Object.fromEntries(
      model.rpcs
        .filter((rpc) => rpc.stream)
        .map((rpc) => [
          rpc.name,
          { ...method(rpc.name), responseSerialize: (value: object) => (Buffer.isBuffer(value) ? value : method(rpc.name).responseSerialize(value)) },
        ]),
    );
    server.addService(
      { ...switchboard, ...streaming },
      switchboardService({
        edge: options.edge,
        hub: options.hub,
        authenticator: options.authenticator,
        logger: options.logger,
        model,
        serialize: (rpc, message) => method(rpc).responseSerialize(message),
        sendQueueBytes: options.limits.sendQueueBytes,
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
   * Ends open streams with UNAVAILABLE (reconnect and resume), then lets calls
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
