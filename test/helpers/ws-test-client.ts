import { afterEach } from 'vitest';
import { type ClientOptions, WebSocket } from 'ws';
import { type CompactEvent, expandEvent } from '../../protocol/compact-event.js';
import { Waiters } from './waiters.js';

export interface ServerFrame {
  type: string;
  id?: number | string | null;
  [key: string]: unknown;
}

export interface EventFrame extends ServerFrame {
  type: 'event';
  channel: string;
  seq: number;
  kind: string;
  text: string | null;
}

/**
 * A bare protocol client for tests: every frame it receives is kept in order, requests
 * resolve with their reply frame (ok or error), and `waitFor` waits on a condition.
 */
export class WsTestClient {
  readonly frames: ServerFrame[] = [];
  readonly socket: WebSocket;
  closeCode: number | null = null;
  #nextId = 1;
  readonly #waiters = new Waiters();
  readonly opened: Promise<void>;
  readonly closed: Promise<number>;

  /** `options`: headers (Authorization, Origin) or a local address for the connection. */
  constructor(url: string, options?: ClientOptions) {
    this.socket = new WebSocket(url, options);
    this.opened = new Promise((resolve, reject) => {
      this.socket.once('open', () => resolve());
      this.socket.once('error', reject);
    });
    this.closed = new Promise((resolve) => {
      this.socket.once('close', (code) => {
        this.closeCode = code;
        this.#waiters.wake();
        resolve(code);
      });
    });
    this.socket.on('error', () => {});
    this.socket.on('message', (data) => {
      this.frames.push(JSON.parse(String(data)) as ServerFrame);
      this.#waiters.wake();
    });
  }

  /** Connects as `user` (open mode) and waits for the welcome. */
  static async connect(baseWsUrl: string, user: string): Promise<WsTestClient> {
    const client = new WsTestClient(`${baseWsUrl}?user=${encodeURIComponent(user)}`);
    await client.opened;
    await client.waitFor((f) => f.type === 'welcome' || f.type === 'error');
    return client;
  }

  sendRaw(data: string | Buffer): void {
    this.socket.send(data);
  }

  async request(type: string, fields: Record<string, unknown> = {}, timeoutMs = 10_000): Promise<ServerFrame> {
    const id = this.#nextId++;
    this.socket.send(JSON.stringify({ type, id, ...fields }));
    return this.waitFor((f) => f.id === id && (f.type === 'ok' || f.type === 'error'), timeoutMs);
  }

  /** Like request, but throws unless the reply is ok; returns its result. */
  async ok<T = Record<string, unknown>>(type: string, fields: Record<string, unknown> = {}): Promise<T> {
    const reply = await this.request(type, fields);
    if (reply.type !== 'ok') throw new Error(`${type} failed: ${JSON.stringify(reply)}`);
    return reply.result as T;
  }

  /**
   * The pushed events (of one channel), read back as the SDK reads them: every field, `kind`
   * and `createdAt` included. `frames` keeps them as they came (compact-event.ts).
   */
  events(channel?: string): EventFrame[] {
    return this.frames
      .filter((f) => f.type === 'event' && (channel === undefined || f.channel === channel))
      .map((f) => ({ type: 'event', ...expandEvent(f as unknown as CompactEvent) }) as EventFrame);
  }

  waitFor(predicate: (frame: ServerFrame) => boolean, timeoutMs = 10_000): Promise<ServerFrame> {
    return this.waitUntil(() => this.frames.find(predicate), timeoutMs);
  }

  /** Resolves with the first truthy value of `check`, re-checked on every frame and on close. */
  waitUntil<T>(check: () => T | undefined | false, timeoutMs = 10_000): Promise<T> {
    return this.#waiters.until(check, timeoutMs, () => `timed out after ${timeoutMs} ms; last frames: ${JSON.stringify(this.frames.slice(-3))}`);
  }

  close(): Promise<number> {
    if (this.socket.readyState === WebSocket.OPEN || this.socket.readyState === WebSocket.CONNECTING) {
      this.socket.close();
    }
    return this.closed;
  }
}

/** The clients a test file opened, all closed after each test (see `useWsClients`). */
export interface WsClients {
  /** Connects as `user` (open mode), waits for the welcome and tracks the client. */
  connect(baseWsUrl: string, user: string): Promise<WsTestClient>;
  /** Opens a client without waiting for anything (tickets, tokens, refusals) and tracks it. */
  open(url: string, options?: ClientOptions): WsTestClient;
  /** Tracks a client made elsewhere. */
  track(client: WsTestClient): WsTestClient;
  /** Closes every tracked client now, as the afterEach hook does. */
  closeAll(): Promise<void>;
}

/**
 * Registers an afterEach that closes every client the test opened through it, so a
 * failing test never leaves sockets behind. Call it once at the top of a test file:
 *
 * ```ts
 * const clients = useWsClients();
 * const alice = await clients.connect(server.wsUrl, 'alice');
 * ```
 */
export function useWsClients(): WsClients {
  const tracked: WsTestClient[] = [];
  const closeAll = async (): Promise<void> => {
    await Promise.all(tracked.splice(0).map((c) => c.close()));
  };
  const track = (client: WsTestClient): WsTestClient => {
    tracked.push(client);
    return client;
  };
  afterEach(closeAll);
  return {
    connect: async (baseWsUrl, user) => track(await WsTestClient.connect(baseWsUrl, user)),
    open: (url, options) => track(new WsTestClient(url, options)),
    track,
    closeAll,
  };
}
