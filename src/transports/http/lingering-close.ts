import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { clientErrorReply } from './http-errors.js';

/**
 * How long a refused client is read, at most, after its answer was written: nginx's
 * `lingering_time`. Long enough for a client that sends its whole body before it reads
 * (Python's http.client does) to finish at a few MB/s; short enough that a client that
 * never stops cannot hold a socket.
 */
export const LINGER_TIME_MS = 30_000;
/** A refused client silent this long is closed: nginx's `lingering_timeout`. */
export const LINGER_IDLE_MS = 5_000;
/**
 * Bytes read and dropped, at most, before the connection is cut anyway: a fast client that
 * ignores its 413 costs this much reading, not `LINGER_TIME_MS` of it. 100 times the body
 * limit, plus slack, so even a client that writes 100 MiB before reading learns why.
 */
export const LINGER_MAX_BYTES = 128 * 1024 * 1024;

export interface LingerBounds {
  /** Longest linger from the moment the answer is written (`LINGER_TIME_MS`). */
  readonly timeMs: number;
  /** Longest wait for the next bytes (`LINGER_IDLE_MS`). */
  readonly idleMs: number;
  /** Most bytes dropped (`LINGER_MAX_BYTES`). */
  readonly maxBytes: number;
}

export const DEFAULT_LINGER: LingerBounds = Object.freeze({
  timeMs: LINGER_TIME_MS,
  idleMs: LINGER_IDLE_MS,
  maxBytes: LINGER_MAX_BYTES,
});

/** Why a lingering connection ended. */
export type LingerEnd = 'client_closed' | 'time' | 'idle' | 'bytes' | 'server_closing' | 'error';

/**
 * Closes HTTP connections without resetting a client that is still sending. When an
 * answer goes out before its request has fully arrived (a body over the limit, headers
 * over the limit, a request that is not HTTP), closing the socket at once leaves the
 * client's unread bytes in our receive buffer, so the kernel answers with a reset and the
 * client may lose the answer with it. Instead the answer is followed by a FIN and the
 * socket is read and its bytes dropped, never kept, until the client closes or a bound
 * (`LingerBounds`) is hit; then it is destroyed. This is nginx's lingering close.
 *
 * It works at the level of `http.Server`, below every route: REST, the Pusher HTTP API,
 * auth, and anything added later get it without code of their own.
 *
 * @example
 *   const lingering = new LingeringClose();
 *   const app = Fastify({ clientErrorHandler: lingering.clientErrorHandler });
 *   lingering.attach(app.server);
 *   app.addHook('preClose', async () => lingering.closeAll());
 */
export class LingeringClose {
  readonly #bounds: LingerBounds;
  readonly #onEnd: ((end: LingerEnd, discarded: number) => void) | undefined;
  /** Each lingering socket, with what ends its linger now. */
  readonly #lingering = new Map<Socket, (end: LingerEnd) => void>();
  /** Every socket ever taken over, lingering or closing: Node's HTTP server has no say in them. */
  readonly #taken = new WeakSet<Socket>();
  /** Requests on each socket whose answer is not written yet (pipelining allows several). */
  readonly #unanswered = new WeakMap<Socket, number>();
  #discarded = 0;

  constructor(options: { bounds?: Partial<LingerBounds>; onEnd?: (end: LingerEnd, discarded: number) => void } = {}) {
    this.#bounds = Object.freeze({ ...DEFAULT_LINGER, ...options.bounds });
    this.#onEnd = options.onEnd;
  }

  /** Sockets lingering now. */
  get lingeringCount(): number {
    return this.#lingering.size;
  }

  /** Bytes read and dropped while lingering, since this was created. */
  get discardedBytes(): number {
    return this.#discarded;
  }

  /**
   * Watches every request on `server`: an answer that finishes while its request is still
   * arriving, on a connection Node closes after it (`Connection: close`, which Fastify
   * sets on every body it refuses), lingers instead of resetting. Node then reads and
   * drops the rest of a kept-alive request's body itself.
   */
  attach(server: Server): this {
    // Before Fastify's own listener: it may answer (a declared Content-Length over the
    // limit) before a listener after it would run.
    server.prependListener('request', this.#watch);
    return this;
  }

  /**
   * For Fastify's `clientErrorHandler` (Node's `clientError`): a request Node could not
   * parse gets its answer (`431` for headers over `maxHeaderSize`, `413` for chunk
   * extensions, `408`, else `400`), each with the error envelope, then a lingering close.
   */
  readonly clientErrorHandler = (error: Error & { code?: string }, socket: Socket): void => {
    // The linger stopped Node's parser mid-request; its complaints (EOF, a timeout) are ours to end.
    if (this.#taken.has(socket)) return this.#lingering.get(socket)?.(error.code === 'ECONNRESET' ? 'client_closed' : 'error');
    // A reset client, or an answer already on the wire that another must not corrupt.
    if (error.code === 'ECONNRESET' || !socket.writable || (this.#unanswered.get(socket) ?? 0) > 0) {
      socket.destroy();
      return;
    }
    socket.write(clientErrorReply(error));
    this.linger(socket);
  };

  /**
   * Ends `socket` after what was already written to it: a FIN now, then everything that
   * arrives is dropped until the client closes its side or a bound is hit.
   */
  linger(socket: Socket): void {
    if (socket.destroyed || this.#taken.has(socket)) return;
    this.#taken.add(socket);
    let discarded = 0;
    const finish = (end: LingerEnd) => {
      if (!this.#lingering.delete(socket)) return;
      clearTimeout(total);
      clearTimeout(idle);
      this.#onEnd?.(end, discarded);
      // The client closed its side: nothing unread is left, so the FIN goes out once our
      // answer has; on any other end the client ignored the answer, and a reset is its due.
      if (end === 'client_closed' && !socket.writableFinished) {
        socket.once('finish', () => socket.destroy());
        // A client that closed its side but reads nothing may never let the answer out.
        setTimeout(() => socket.destroy(), this.#bounds.idleMs).unref();
      } else {
        socket.destroy();
      }
    };
    const total = setTimeout(() => finish('time'), this.#bounds.timeMs).unref();
    const idle = setTimeout(() => finish('idle'), this.#bounds.idleMs).unref();
    this.#lingering.set(socket, finish);

    // Node's HTTP parser reads no further: whatever follows a refused request is dropped,
    // never parsed as another request. A 'data' listener takes the socket back from the
    // parser (Node's HTTP server does so for any 'data' listener on its sockets).
    socket.removeAllListeners('data');
    socket.on('data', (chunk: Buffer) => {
      discarded += chunk.length;
      this.#discarded += chunk.length;
      if (discarded > this.#bounds.maxBytes) finish('bytes');
      else idle.refresh();
    });
    // Before Node's own 'end' listener, whose parser would call a cut-off body an error.
    socket.prependListener('end', () => finish('client_closed'));
    socket.on('error', () => finish('error'));
    // Closed by neither the client's FIN nor an error: by this server, shutting down.
    socket.once('close', () => finish('server_closing'));
    socket.end();
    socket.resume();
    // Node's parser stops reading the socket when nobody reads a body (a refused Content-
    // Length) behind the stream's back: the stream still counts a read as pending, so
    // resume() alone would never read again, and the client would be reset at the idle
    // bound. _read() starts the socket's reads unless they run already.
    socket._read(0);
  }

  /** Ends every linger now: the server is shutting down, and `server.close()` waits for them. */
  readonly closeAll = (): void => {
    for (const finish of [...this.#lingering.values()]) finish('server_closing');
  };

  readonly #watch = (request: IncomingMessage, response: ServerResponse): void => {
    const socket = request.socket;
    this.#unanswered.set(socket, (this.#unanswered.get(socket) ?? 0) + 1);
    const answered = () => this.#unanswered.set(socket, Math.max(0, (this.#unanswered.get(socket) ?? 1) - 1));
    response.once('close', answered);
    // Before Node's own 'finish' handler, which ends a `Connection: close` answer with
    // socket.destroySoon(): a reset when the client is still sending. For that one call,
    // a lingering close instead; a kept-alive connection never makes it.
    response.prependOnceListener('finish', () => {
      answered();
      response.off('close', answered);
      if (request.complete) return;
      // An own property, over net.Socket's, for this socket and this answer only.
      socket.destroySoon = () => {
        Reflect.deleteProperty(socket, 'destroySoon');
        this.linger(socket);
      };
      response.once('close', () => Reflect.deleteProperty(socket, 'destroySoon'));
    });
  };
}
