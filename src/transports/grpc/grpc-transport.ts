import { type MethodDefinition, Server, type ServiceDefinition } from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
import type { Authenticator } from '../../auth/authenticator.js';
import type { ConnectionAdmission } from '../../edge/connection-admission.js';
import type { Hub } from '../../core/hub.js';
import type { Logger } from '../../core/logger.js';
import { SwitchboardError } from '../../core/errors.js';
import type { Edge } from '../../edge/edge.js';
import { type ConnectionGuard, DEFAULT_HEADER_TIMEOUT_MS } from '../connection-guard.js';
import { GrpcConnections } from './grpc-connections.js';
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
  /** Credentials and the app's connect hook, for streaming calls; absent: the authenticator alone. */
  readonly admission?: ConnectionAdmission;
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
    /** Streams one HTTP/2 connection may have open at once (its SETTINGS_MAX_CONCURRENT_STREAMS); default 100. */
    readonly grpcStreamsPerConnection?: number;
    /** How long a new connection may take to start its first call before it is closed; default 10 s. */
    readonly headerTimeoutMs?: number;
  };
  /** The per-address connection count every wire shares: streams and connections without a call yet count. */
  readonly guard?: ConnectionGuard;
  /** Interval of HTTP/2 keepalive pings, so dead subscribers are noticed. */
  readonly heartbeatMs: number;
}

/** Streams one HTTP/2 connection may have open, unless the limits say otherwise. */
export const DEFAULT_STREAMS_PER_CONNECTION = 100;
/** A connection with no call open this long is closed (GOAWAY); clients reconnect on their next call. */
const IDLE_CONNECTION_MS = 5 * 60_000;

/**
 * The gRPC endpoint: switchboard.v1.Switchboard (every command with a gRPC binding, from
 * proto/switchboard.proto), grpc.health.v1.Health and server reflection on their own port.
 * Its connections and streams count against their address with every other wire's
 * (grpc-connections.ts).
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
  readonly #connections: GrpcConnections;

  private constructor(port: number, server: Server, health: HealthService, streams: Set<SessionStream>, connections: GrpcConnections) {
    this.port = port;
    this.#server = server;
    this.#health = health;
    this.#streams = streams;
    this.#connections = connections;
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

    const connections = new GrpcConnections({
      guard: options.guard,
      headerTimeoutMs: options.limits.headerTimeoutMs ?? DEFAULT_HEADER_TIMEOUT_MS,
    });
    const server = new Server({
      'grpc.max_receive_message_length': options.limits.maxFrameBytes,
      'grpc.keepalive_time_ms': options.heartbeatMs,
      'grpc.keepalive_timeout_ms': 20_000,
      // A client that opens more waits for one to end (its HTTP/2 stack queues them).
      'grpc.max_concurrent_streams': options.limits.grpcStreamsPerConnection ?? DEFAULT_STREAMS_PER_CONNECTION,
      'grpc.max_connection_idle_ms': IDLE_CONNECTION_MS,
      interceptors: [connections.interceptor],
    });
    const methods = Object.fromEntries(
      model.rpcs.map((rpc) => {
        const definition = method(rpc.name);
        const adapted = { ...definition, requestDeserialize: refusingUndecodable(definition.requestDeserialize) };
        // Streams are handed their responses already serialized (a push once for every stream).
        if (rpc.stream) adapted.responseSerialize = (value: object) => (Buffer.isBuffer(value) ? value : definition.responseSerialize(value));
        return [rpc.name, adapted];
      }),
    );
    server.addService(
      { ...switchboard, ...methods },
      switchboardService({
        edge: options.edge,
        hub: options.hub,
        authenticator: options.authenticator,
        admission: options.admission,
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

    const port = await connections.listen(server, options.host, options.port);
    return new GrpcTransport(port, server, health, streams, connections);
  }

  get streamCount(): number {
    return this.#streams.size;
  }

  /**
   * Ends open streams with UNAVAILABLE (reconnect and resume), then lets calls
   * in flight finish for up to `timeoutMs` before cutting them off.
   */
  async close(reason: string, timeoutMs: number): Promise<void> {
    this.#connections.close();
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

/**
 * A request that does not decode (bytes that are not the method's message, or a
 * google.protobuf.Value nested deeper than protobuf reads: 100 levels) is malformed input,
 * and is refused as every wire refuses it: INVALID_ARGUMENT, `bad_request`. grpc-js would
 * answer INTERNAL, which the protocol keeps for bugs (and clients retry). So it decodes to
 * an object that throws `bad_request` when the handler reads its first field.
 */
function refusingUndecodable(deserialize: (bytes: Buffer) => unknown): (bytes: Buffer) => unknown {
  return (bytes) => {
    try {
      return deserialize(bytes);
    } catch {
      return UNDECODABLE;
    }
  };
}

const UNDECODABLE: object = new Proxy(Object.freeze({}), {
  get() {
    throw new SwitchboardError('bad_request', "Invalid request: it is not this method's message, or it nests deeper than 100 levels.");
  },
});
