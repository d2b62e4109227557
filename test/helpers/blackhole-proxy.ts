import { type AddressInfo, type Server, type Socket, createConnection, createServer } from 'node:net';
import { Waiters } from './waiters.js';

/** One client connection and, once it is let through, its connection to the target. */
interface Pair {
  readonly client: Socket;
  upstream: Socket | null;
  /** No byte moves on it. */
  held: boolean;
  /** Opened before the current blackhole began. */
  earlier: boolean;
}

/**
 * A loopback TCP proxy that fails the two ways a network path to a server does:
 *
 * - `blackhole()`: every connection stays open and no byte moves in either direction, as
 *   when packets are dropped on the way (a partition, a dead switch port). Nothing is
 *   closed and nobody is told; new connections are accepted and held the same way.
 *   `heal()` lets everything through again, *including what was written meanwhile*: TCP
 *   retransmits, so bytes a client wrote into the hole (and a close it made) still reach
 *   the server after the heal, as they would on a real network.
 * - `cut()`: every connection is destroyed at once (both sides see it close, as on a
 *   reset) and new ones are closed as they come, until `heal()`: a server that went away
 *   loudly. `reset()` destroys them once and lets new ones through.
 *
 * DropProxy and OutageProxy model the loud kinds; this one adds the silent kind, and the
 * loud ones beside it so a test can run one scenario both ways through one proxy.
 *
 * @example
 * const proxy = await BlackholeProxy.start(6379);
 * const redis = new Redis(`redis://127.0.0.1:${proxy.port}`);
 * proxy.blackhole(); // commands sent now get no answer until...
 * proxy.heal(); // ... they reach Redis, late
 */
export class BlackholeProxy {
  readonly #server: Server;
  readonly #targetPort: number;
  readonly #pairs = new Set<Pair>();
  readonly #waiters = new Waiters();
  #holding = false;
  #refusing = false;

  private constructor(server: Server, targetPort: number) {
    this.#server = server;
    this.#targetPort = targetPort;
  }

  static async start(targetPort: number): Promise<BlackholeProxy> {
    const server = createServer({ pauseOnConnect: true });
    const proxy = new BlackholeProxy(server, targetPort);
    server.on('connection', (client) => proxy.#accept(client));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get port(): number {
    return (this.#server.address() as AddressInfo).port;
  }

  /** From now on no byte moves on any connection, open or new, until `heal()`. */
  blackhole(): void {
    this.#holding = true;
    for (const pair of this.#pairs) {
      pair.earlier = true;
      pair.held = true;
      pair.client.pause();
      pair.upstream?.pause();
    }
  }

  /**
   * Lets every connection move bytes again, delivering whatever waited, and accepts new
   * ones. `keepEarlier`: connections opened before the blackhole stay held until the next
   * `heal()`, so their late bytes arrive after whatever the client did on new ones (TCP
   * retransmits on its own schedule; this fixes the worst order).
   */
  heal(options: { readonly keepEarlier?: boolean } = {}): void {
    this.#holding = false;
    this.#refusing = false;
    for (const pair of [...this.#pairs]) {
      if (options.keepEarlier && pair.earlier) continue;
      pair.earlier = false;
      this.#flow(pair);
    }
    this.#waiters.wake();
  }

  /** Resolves once `check` holds for the number of open connections; rejects after the timeout. */
  async untilConnections(check: (count: number) => boolean, timeoutMs: number): Promise<void> {
    await this.#waiters.until(
      () => check(this.#pairs.size),
      timeoutMs,
      () => `the proxy still has ${this.#pairs.size} connections after ${timeoutMs} ms`,
    );
  }

  /** Destroys every connection and closes new ones at once, until `heal()`. */
  cut(): number {
    this.#refusing = true;
    return this.reset();
  }

  /** Destroys every open connection, both sides, as a reset would. */
  reset(): number {
    const count = this.#pairs.size;
    for (const pair of [...this.#pairs]) this.#drop(pair);
    return count;
  }

  async close(): Promise<void> {
    this.reset();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #accept(client: Socket): void {
    if (this.#refusing) {
      client.destroy();
      return;
    }
    const pair: Pair = { client, upstream: null, held: this.#holding, earlier: false };
    this.#pairs.add(pair);
    this.#waiters.wake();
    client.on('error', () => this.#drop(pair));
    // Until the end has been forwarded: a close the client made inside the hole waits too.
    client.on('end', () => pair.upstream?.end());
    client.on('close', () => {
      if (pair.upstream) pair.upstream.end();
      else this.#drop(pair);
    });
    if (!this.#holding) this.#flow(pair);
  }

  /** Connects the pair to the target if it is not yet, and lets bytes move both ways. */
  #flow(pair: Pair): void {
    const { client } = pair;
    if (!pair.upstream) {
      const upstream = createConnection({ host: '127.0.0.1', port: this.#targetPort });
      pair.upstream = upstream;
      upstream.on('error', () => this.#drop(pair));
      upstream.on('close', () => this.#drop(pair));
      upstream.on('end', () => client.end());
      client.on('data', (chunk: Buffer) => this.#forward(pair, client, upstream, chunk));
      upstream.on('data', (chunk: Buffer) => this.#forward(pair, upstream, client, chunk));
    }
    pair.held = false;
    client.resume();
    pair.upstream.resume();
  }

  /** Writes a chunk on, pausing the source while the destination's buffer is full. */
  #forward(pair: Pair, from: Socket, to: Socket, chunk: Buffer): void {
    if (to.destroyed) return;
    if (!to.write(chunk)) {
      from.pause();
      to.once('drain', () => {
        if (!pair.held) from.resume();
      });
    }
  }

  #drop(pair: Pair): void {
    if (!this.#pairs.delete(pair)) return;
    pair.client.destroy();
    pair.upstream?.destroy();
    this.#waiters.wake();
  }
}
