import { afterEach } from 'vitest';
import { type ClientOptions, WebSocket } from 'ws';
import { Waiters } from './waiters.js';

export interface PusherFrame {
  readonly event: string;
  readonly channel?: string;
  /** As sent: Pusher events carry their data as a string (JSON for pusher:* events). */
  readonly data?: unknown;
}

const opened: PusherSocket[] = [];
afterEach(() => {
  for (const socket of opened.splice(0)) socket.terminate();
});

/**
 * A bare Pusher protocol 7 client on `/app/:key` (what pusher-js speaks), closed after the
 * test: every frame kept in order, the close code once closed, waits on conditions.
 */
export class PusherSocket {
  readonly frames: PusherFrame[] = [];
  readonly ws: WebSocket;
  closeCode: number | null = null;
  /** The HTTP status of a refused upgrade. */
  refusedWith: number | null = null;
  readonly closed: Promise<number>;
  readonly #waiters = new Waiters();

  constructor(baseUrl: string, key: string, options?: ClientOptions) {
    opened.push(this);
    this.ws = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}/app/${key}?protocol=7`, options);
    this.ws.on('unexpected-response', (_request, response) => {
      this.refusedWith = response.statusCode ?? 0;
      this.ws.terminate();
    });
    this.ws.on('error', () => {});
    this.ws.on('message', (data) => {
      this.frames.push(JSON.parse(String(data)) as PusherFrame);
      this.#waiters.wake();
    });
    this.closed = new Promise((resolve) =>
      this.ws.once('close', (code) => {
        this.closeCode = code;
        this.#waiters.wake();
        resolve(code);
      }),
    );
  }

  /** Resolves once the server said `pusher:connection_established`. */
  async established(): Promise<void> {
    await this.waitFor((f) => f.event === 'pusher:connection_established');
  }

  /** Subscribes to a public channel and resolves once the server confirmed it. */
  async subscribe(channel: string): Promise<void> {
    this.send({ event: 'pusher:subscribe', data: { channel } });
    await this.waitFor((f) => f.event === 'pusher_internal:subscription_succeeded' && f.channel === channel);
  }

  send(frame: { event: string; data?: unknown; channel?: string }): void {
    this.ws.send(JSON.stringify(frame));
  }

  /** Frames of events published on `channel` (not pusher:* or pusher_internal:* ones). */
  eventsOn(channel: string): PusherFrame[] {
    return this.frames.filter((f) => f.channel === channel && !f.event.startsWith('pusher'));
  }

  waitFor(predicate: (frame: PusherFrame) => boolean, timeoutMs = 10_000): Promise<PusherFrame> {
    return this.waitUntil(() => this.frames.find(predicate), timeoutMs);
  }

  waitUntil<T>(check: () => T | undefined | false, timeoutMs = 10_000): Promise<T> {
    return this.#waiters.until(check, timeoutMs, () => `timed out; close ${this.closeCode}, last frames: ${JSON.stringify(this.frames.slice(-3)).slice(0, 500)}`);
  }

  terminate(): void {
    this.ws.terminate();
  }
}
