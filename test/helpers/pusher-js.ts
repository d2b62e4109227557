import PusherJs from 'pusher-js';
import type { Channel, ChannelAuthorizationCallback, Options } from 'pusher-js';
import type PusherModule from 'pusher-js/types/src/core/pusher.js';
import PusherServer from 'pusher';
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
