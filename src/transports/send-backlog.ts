import type { Socket } from 'node:net';

/**
 * Bytes a socket wire hands to its socket at most; later frames wait in a SendBacklog. So
 * when a slow reader is cut off, its last frame (why) and the close wait behind this much
 * at most (and what the kernel holds), not behind the whole send queue.
 */
export const SOCKET_SHARE_BYTES = 64 * 1024;

/**
 * The frames of one connection that wait while its socket holds its share: in order, moved
 * into the socket as it drains. Unlike what the socket holds, they can be dropped, which
 * is what cutting off a slow consumer does. Made when a connection first falls behind, so
 * a connection that keeps up never has one. Shared by /ws and Pusher sockets.
 *
 * @example
 *   if (!backlog && socket.writableLength < SOCKET_SHARE_BYTES) return socket.write(frame);
 *   backlog ??= new SendBacklog(socket, (f) => socket.write(f), () => socket.writableLength);
 *   backlog.push(frame, frame.length);
 */
export class SendBacklog<F extends string | Buffer> {
  readonly #socket: Socket;
  readonly #send: (frame: F) => void;
  readonly #held: () => number;
  #frames: F[] = [];
  #sizes: number[] = [];
  #bytes = 0;
  #scheduled = false;
  #stopped = false;

  /**
   * `send` hands a frame to the socket (through whatever frames it: ws, or a raw write);
   * `held` says how many bytes the socket holds now.
   */
  constructor(socket: Socket, send: (frame: F) => void, held: () => number) {
    this.#socket = socket;
    this.#send = send;
    this.#held = held;
  }

  /** Bytes waiting here. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Whether nothing waits: a new frame may go to the socket directly while it is under its share. */
  get empty(): boolean {
    return this.#frames.length === 0;
  }

  push(frame: F, bytes: number): void {
    if (this.#stopped) return;
    this.#frames.push(frame);
    this.#sizes.push(bytes);
    this.#bytes += bytes;
    this.#schedule();
  }

  /** Drops what waits, for good: the connection is being cut off. */
  drop(): void {
    this.#stopped = true;
    this.#frames = [];
    this.#sizes = [];
    this.#bytes = 0;
  }

  /** Hands everything to the socket now, for good: the connection closes after it. */
  flushAll(): void {
    if (this.#stopped) return;
    for (const frame of this.#frames) this.#send(frame);
    this.drop();
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    // Past the socket's high-water mark a drain always follows; below it, try on the next turn.
    if (this.#socket.writableNeedDrain) this.#socket.once('drain', this.#flush);
    else setImmediate(this.#flush);
  }

  readonly #flush = (): void => {
    this.#scheduled = false;
    if (this.#stopped || !this.#socket.writable) return;
    let sent = 0;
    while (sent < this.#frames.length && this.#held() < SOCKET_SHARE_BYTES) {
      this.#send(this.#frames[sent]!);
      this.#bytes -= this.#sizes[sent]!;
      sent++;
    }
    this.#frames.splice(0, sent);
    this.#sizes.splice(0, sent);
    if (this.#frames.length > 0) this.#schedule();
  };
}
