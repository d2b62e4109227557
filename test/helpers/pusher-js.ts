import PusherJs from 'pusher-js';
import type { Channel, ChannelAuthorizationCallback, Options } from 'pusher-js';
import type PusherModule from 'pusher-js/types/src/core/pusher.js';
import PusherServer from 'pusher';
import { type ClientOptions, WebSocket } from 'ws';
import type { TestServer } from './test-server.js';

// pusher-js is CommonJS: at runtime its default export is the class itself.
export const Pusher = PusherJs as unknown as typeof PusherModule.default;
export type Pusher = PusherModule.default;

/** The Pusher app a test server is configured with. */
export interface PusherApp {
  readonly id: string;
  readonly key: string;
  readonly secret: string;
}

/** pusher-js options for a test server's plain ws:// port, without the stats beacon; add the auth handlers. */
export function pusherJsOptions(
  server: TestServer,
): Pick<Options, 'cluster' | 'wsHost' | 'wsPort' | 'forceTLS' | 'enabledTransports' | 'disableStats'> {
  return { cluster: '', wsHost: '127.0.0.1', wsPort: server.port, forceTLS: false, enabledTransports: ['ws'], disableStats: true };
}

/** The `pusher` server SDK talking to a test server's HTTP API as `app`. */
export function pusherServerSdk(server: TestServer, app: PusherApp): PusherServer {
  return new PusherServer({ appId: app.id, key: app.key, secret: app.secret, host: '127.0.0.1', port: String(server.port), useTLS: false });
}

/**
 * pusher-js `channelAuthorization` that signs every channel with the `pusher` server SDK,
 * as an app's auth endpoint would; presence channels get `presence` as the member data.
 */
export function signedChannelAuthorization(
  sdk: PusherServer,
  presence: PusherServer.PresenceChannelData | undefined,
  endpoint = 'unused',
): NonNullable<Options['channelAuthorization']> {
  return {
    endpoint,
    transport: 'ajax',
    customHandler: ({ socketId, channelName }: { socketId: string; channelName: string }, callback: ChannelAuthorizationCallback) =>
      callback(null, sdk.authorizeChannel(socketId, channelName, channelName.startsWith('presence-') ? presence : undefined)),
  };
}

/** `promise`, or a rejection naming `what` after `ms`. */
export function within<T>(promise: Promise<T>, what: string, ms = 5000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

/** Subscribes `client` to `name` and resolves once the server confirms (rejects on a subscription error). */
export function subscribed(client: Pusher, name: string): Promise<Channel> {
  const channel = client.subscribe(name);
  return within(
    new Promise((resolve, reject) => {
      channel.bind('pusher:subscription_succeeded', () => resolve(channel));
      channel.bind('pusher:subscription_error', (error: unknown) => reject(new Error(JSON.stringify(error))));
    }),
    `subscription to ${name}`,
  );
}

/** One frame a Pusher server sent, as received. */
export interface RawFrame {
  event: string;
  channel?: string;
  data?: unknown;
  user_id?: string;
}

/** A bare Pusher protocol client for what pusher-js will not send (forged signatures, silence, floods). */
export class RawPusher {
  readonly frames: RawFrame[] = [];
  closeCode: number | null = null;
  readonly closed: Promise<number>;
  socketId = '';
  readonly #app: PusherApp;
  readonly #waiters = new Set<() => void>();

  private constructor(
    readonly socket: WebSocket,
    app: PusherApp,
  ) {
    this.#app = app;
    this.closed = new Promise((resolve) =>
      socket.once('close', (code) => {
        this.closeCode = code;
        resolve(code);
        for (const waiter of [...this.#waiters]) waiter();
      }),
    );
    socket.on('error', () => {});
    socket.on('message', (data) => {
      this.frames.push(JSON.parse(String(data)) as RawFrame);
      for (const waiter of [...this.#waiters]) waiter();
    });
  }

  /** Opens a socket to `/app/<key>` of the server at `baseUrl` (http://...), without waiting for anything. */
  static open(baseUrl: string, app: PusherApp, options?: ClientOptions): RawPusher {
    return new RawPusher(new WebSocket(`${baseUrl.replace('http', 'ws')}/app/${app.key}?protocol=7&client=raw`, options), app);
  }

  /** Opens a socket and waits for `pusher:connection_established`. */
  static async connect(baseUrl: string, app: PusherApp, options?: ClientOptions): Promise<RawPusher> {
    const raw = RawPusher.open(baseUrl, app, options);
    const established = await raw.waitFor((f) => f.event === 'pusher:connection_established');
    raw.socketId = (JSON.parse(established.data as string) as { socket_id: string }).socket_id;
    return raw;
  }

  send(event: string, data: unknown, channel?: string): void {
    this.socket.send(JSON.stringify({ event, data, channel }));
  }

  /** The app's signature for this socket, as its auth endpoint would make it. */
  sign(channel: string, channelData?: string): { auth: string; channel_data?: string } {
    const sdk = new PusherServer({ appId: this.#app.id, key: this.#app.key, secret: this.#app.secret, host: '127.0.0.1' });
    if (channelData === undefined) return sdk.authorizeChannel(this.socketId, channel);
    return sdk.authorizeChannel(this.socketId, channel, JSON.parse(channelData) as PusherServer.PresenceChannelData);
  }

  waitFor(predicate: (frame: RawFrame) => boolean, ms = 5000): Promise<RawFrame> {
    return this.waitUntil(() => this.frames.find(predicate), ms);
  }

  waitUntil<T>(check: () => T | undefined | false, ms = 5000): Promise<T> {
    return within(
      new Promise<T>((resolve) => {
        const attempt = () => {
          const value = check();
          if (value) {
            this.#waiters.delete(attempt);
            resolve(value);
          }
        };
        this.#waiters.add(attempt);
        attempt();
      }),
      `a frame (last: ${JSON.stringify(this.frames.slice(-2))})`,
      ms,
    );
  }

  close(): Promise<number> {
    this.socket.close();
    return this.closed;
  }
}
