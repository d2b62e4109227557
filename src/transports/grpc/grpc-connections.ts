import { createServer, type Server as NetServer, type Socket } from 'node:net';
import {
  type ConnectionInjector,
  type Metadata,
  type Server,
  ServerCredentials,
  ServerInterceptingCall,
  type ServerInterceptor,
} from '@grpc/grpc-js';
import type { ConnectionGuard } from '../connection-guard.js';
import { statusOf } from './grpc-errors.js';

export interface GrpcConnectionsOptions {
  /** The per-address count every wire shares; undefined: nothing is counted (timeouts still apply). */
  readonly guard: ConnectionGuard | undefined;
  /** How long a new connection may take to start its first call before it is closed. */
  readonly headerTimeoutMs: number;
}

interface Pending {
  readonly socket: Socket;
  readonly release: () => void;
  readonly timer: NodeJS.Timeout;
}

/**
 * The gRPC port's connections under the guard every wire shares. grpc-js has no hook for
 * raw connections, so this listens itself and hands each accepted socket to the gRPC
 * server (its connection injector):
 * - a connection counts against its address until its first call starts, and is closed if
 *   none has within `headerTimeoutMs` (a socket that never sends a byte holds nothing for
 *   long); an address already holding its limit of such connections has further ones
 *   closed as they arrive;
 * - every streaming call (Subscribe, FollowList, Health/Watch, reflection) counts against
 *   its address while it runs, like a /ws socket, and past the limit ends at once with
 *   RESOURCE_EXHAUSTED (`rate_limited`). Unary calls are not counted (the per-user budget
 *   covers them).
 * The number of streams on one HTTP/2 connection is the server's `grpc.max_concurrent_streams`.
 */
export class GrpcConnections {
  readonly #guard: ConnectionGuard | undefined;
  readonly #headerTimeoutMs: number;
  /** Connections that have not started a call, by `address port`. */
  readonly #pending = new Map<string, Pending>();
  #listener: NetServer | null = null;

  constructor(options: GrpcConnectionsOptions) {
    this.#guard = options.guard;
    this.#headerTimeoutMs = options.headerTimeoutMs;
  }

  /** For the server's `interceptors`: sees every call of every service before its handler. */
  readonly interceptor: ServerInterceptor = (method, call) => {
    const { remoteAddress, remotePort } = call.getConnectionInfo();
    // Steady state: no connection is pending, and a call costs nothing here.
    if (this.#pending.size > 0) this.#started(`${remoteAddress} ${remotePort}`);
    const guard = this.#guard;
    if (!guard || !(method.requestStream || method.responseStream)) return new ServerInterceptingCall(call);
    let release: (() => void) | null = null;
    let refused = false;
    const done = () => {
      release?.();
      release = null;
    };
    return new ServerInterceptingCall(call, {
      start: (next) =>
        next({
          // The address is known with the metadata: behind a trusted proxy, its X-Forwarded-For.
          onReceiveMetadata: (metadata: Metadata, proceed: (metadata: Metadata) => void) => {
            const forwarded = metadata.get('x-forwarded-for').map(String);
            const admission = guard.admitAddress(guard.addressBehind(remoteAddress, forwarded));
            if (!admission.ok) {
              refused = true;
              call.sendStatus(statusOf(admission.error.code, admission.error.message) as Parameters<typeof call.sendStatus>[0]);
              return;
            }
            release = admission.release;
            proceed(metadata);
          },
          // A refused call's handler never runs.
          onReceiveMessage: (message: unknown, proceed: (message: unknown) => void) => {
            if (!refused) proceed(message);
          },
          onReceiveHalfClose: (proceed: () => void) => {
            if (!refused) proceed();
          },
          onCancel: done,
        }),
      sendStatus: (status, proceed) => {
        done();
        proceed(status);
      },
    });
  };

  /** Listens on `host:port` (0: any free port) and serves what arrives with `server`. */
  listen(server: Server, host: string, port: number): Promise<number> {
    const injector = server.createConnectionInjector(ServerCredentials.createInsecure());
    const listener = createServer((socket) => this.#accept(socket, injector));
    this.#listener = listener;
    return new Promise((resolve, reject) => {
      listener.once('error', reject);
      listener.listen({ host, port }, () => {
        listener.off('error', reject);
        const address = listener.address();
        resolve(typeof address === 'object' && address ? address.port : port);
      });
    });
  }

  /** Stops accepting and closes the connections that never started a call; the gRPC server's shutdown ends the rest. */
  close(): void {
    this.#listener?.close();
    for (const pending of [...this.#pending.values()]) pending.socket.destroy();
  }

  #accept(socket: Socket, injector: ConnectionInjector): void {
    const release = this.#guard ? this.#guard.admitPending(socket.remoteAddress) : () => {};
    if (release === null) {
      socket.destroy();
      return;
    }
    const key = `${socket.remoteAddress} ${socket.remotePort}`;
    const timer = setTimeout(() => socket.destroy(), this.#headerTimeoutMs);
    timer.unref();
    this.#pending.set(key, { socket, release, timer });
    socket.once('close', () => this.#started(key));
    injector.injectConnection(socket);
  }

  /** The connection started a call (or closed): it no longer counts as pending. */
  #started(key: string): void {
    const pending = this.#pending.get(key);
    if (!pending) return;
    this.#pending.delete(key);
    clearTimeout(pending.timer);
    pending.release();
  }
}
