import type { Channel, UserAuthenticationCallback } from 'pusher-js';
import { afterEach, describe, expect, it } from 'vitest';
import { ERROR_CODE_KEY } from '../src/transports/grpc/grpc-errors.js';
import { as, call, grpcClient } from './helpers/grpc-test-client.js';
import {
  Pusher,
  type PusherApp,
  pusherJsOptions,
  pusherServerSdk,
  RawPusher,
  signedChannelAuthorization,
  subscribed,
  within,
} from './helpers/pusher-js.js';
import { startTestServer, type TestServer } from './helpers/test-server.js';
import { useWsClients, type WsTestClient } from './helpers/ws-test-client.js';

/**
 * Issue 17, "Namespaces that cannot be squatted": a Pusher app's channels live in its part
 * of the reserved `pusher:` namespace, so a native user can neither create the channel an
 * app's events go to nor read one that needs the app's signature. The attacks below are
 * the ones found against the old mapping, where Pusher names were hub ids.
 */

/** The env-variable setup: no channel prefix, so its users are Switchboard's users. */
const SHARED = { id: '1001', key: 'shared-key', secret: 'shared-secret-0123456789' };
/** An app with a channel prefix: its user channels are its own. */
const SHOP = { id: '2002', key: 'shop-key', secret: 'shop-secret-0123456789', channelPrefix: 'shop:' };
const SERVER = { kind: 'server', userId: 'test', name: 'test', roles: [] } as const;

const natives = useWsClients();
const pushers: Pusher[] = [];
afterEach(() => {
  for (const client of pushers.splice(0)) client.disconnect();
});

function start(): Promise<TestServer> {
  return startTestServer({ overrides: { pusher: { apps: [SHARED, SHOP] } } });
}

/** Unmodified pusher-js whose auth handlers sign with the app's secret through the `pusher` package. */
function pusherJs(server: TestServer, app: PusherApp, user = 'nobody'): Pusher {
  const sdk = pusherServerSdk(server, app);
  const client = new Pusher(app.key, {
    ...pusherJsOptions(server),
    channelAuthorization: signedChannelAuthorization(sdk, { user_id: user }),
    userAuthentication: {
      endpoint: 'unused',
      transport: 'ajax',
      customHandler: ({ socketId }: { socketId: string }, callback: UserAuthenticationCallback) =>
        callback(null, sdk.authenticateUser(socketId, { id: user })),
    },
  });
  pushers.push(client);
  return client;
}

function nextEvent(channel: Channel, event: string): Promise<unknown> {
  return within(new Promise((resolve) => channel.bind(event, resolve)), `${event} on ${channel.name}`);
}

/** Signs `client` in and resolves once its `#server-to-user-` channel is subscribed. */
async function signedIn(client: Pusher): Promise<void> {
  client.signin();
  await within(client.user.signinDonePromise as Promise<unknown>, 'signin');
  await within(
    new Promise<void>((resolve) => {
      const check = () => (client.user.serverToUserChannel?.subscribed ? resolve() : setImmediate(check));
      check();
    }),
    'user channel',
  );
}

/**
 * Everything `native` received on `channel` up to a marker it publishes there itself:
 * frames arrive in order, so whatever the app's trigger delivered would be in it.
 */
async function receivedUpToMarker(native: WsTestClient, channel: string): Promise<unknown[]> {
  const { seq } = await native.ok<{ seq: number }>('publish', { channel, text: 'marker' });
  await native.waitFor((f) => f.type === 'event' && f.channel === channel && f.seq === seq);
  // A pushed frame leaves out null fields: absent data is null data.
  return native.events(channel).map((e) => (e as unknown as { data?: unknown }).data ?? null);
}

async function restHistory(server: TestServer, user: string, channel: string): Promise<{ status: number; body: { events?: { data: unknown }[]; code?: string } }> {
  const response = await fetch(`${server.url}/api/channels/${encodeURIComponent(channel)}/messages`, {
    headers: { 'x-switchboard-user': user },
  });
  return { status: response.status, body: (await response.json()) as { events?: { data: unknown }[]; code?: string } };
}

const NATIVE_WIRES = ['ws', 'rest', 'grpc'] as const;

/**
 * One command as `user` on each native wire, answering `ok` or the refusal's code. The few
 * commands these tests send, with their REST route and gRPC method.
 */
async function nativeWires(
  server: TestServer,
  user: string,
): Promise<Record<(typeof NATIVE_WIRES)[number], (command: string, input: Record<string, unknown>) => Promise<string>>> {
  const ws = await natives.connect(server.wsUrl, user);
  const grpc = grpcClient(server);
  const routes: Record<string, (input: Record<string, unknown>) => { method: string; path: string; body?: unknown; rpc: string; request: unknown }> = {
    'channel.create': (input) => ({
      method: 'POST',
      path: '/api/channels',
      body: input,
      rpc: 'CreateChannel',
      request: { ...input, channelType: `CHANNEL_TYPE_${String(input.channelType).toUpperCase()}` },
    }),
    'channel.join': (input) => ({ method: 'POST', path: `/api/channels/${encodeURIComponent(String(input.channel))}/join`, rpc: 'JoinChannel', request: input }),
    history: (input) => ({ method: 'GET', path: `/api/channels/${encodeURIComponent(String(input.channel))}/messages`, rpc: 'History', request: input }),
  };
  return {
    ws: async (command, input) => ((await ws.request(command, input)).code as string | undefined) ?? 'ok',
    rest: async (command, input) => {
      const { method, path, body } = routes[command]!(input);
      const response = await fetch(`${server.url}${path}`, {
        method,
        headers: { 'x-switchboard-user': user, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return response.ok ? 'ok' : String(((await response.json()) as { code?: string }).code);
    },
    grpc: (command, input) => {
      const { rpc, request } = routes[command]!(input);
      return call(grpc, rpc, request as Record<string, unknown>, as(user)).then(
        () => 'ok',
        (error: { metadata: { get(key: string): unknown[] } }) => String(error.metadata.get(ERROR_CODE_KEY)[0]),
      );
    },
  };
}

describe('Pusher channels cannot be squatted from the native API', () => {
  it("keeps an app's private trigger away from a native public channel of the same name (app without a prefix)", async () => {
    const server = await start();
    // The old attack: a public native channel named like the app's private one. It is
    // an ordinary native channel now, nothing to do with the app's.
    const mallory = await natives.connect(server.wsUrl, 'mallory');
    await mallory.ok('channel.create', { channel: 'private-orders', channelType: 'public' });
    await mallory.ok('subscribe', { channel: 'private-orders' });

    const shop = pusherJs(server, SHARED);
    const orders = await subscribed(shop, 'private-orders');
    const placed = nextEvent(orders, 'placed');
    await pusherServerSdk(server, SHARED).trigger('private-orders', 'placed', { id: 7 });
    expect(await placed).toEqual({ id: 7 });

    expect(await receivedUpToMarker(mallory, 'private-orders')).toEqual([null]);
    const overRest = await restHistory(server, 'eve', 'private-orders');
    expect(overRest.body.events?.map((e) => e.data)).toEqual([null]);
    // The trigger is in the app's channel, which is private and has no members.
    const stored = await server.hub.history(SERVER, { channel: 'pusher:1001:private-orders' });
    expect(stored.events.map((e) => e.data)).toEqual([{ pusherEvent: 'placed', data: '{"id":7}' }]);
    expect(await server.hub.getChannel(SERVER, 'pusher:1001:private-orders')).toMatchObject({ type: 'private', createdBy: null, title: 'private-orders' });
  });

  it("never delivers a prefixed app's sendToUser to a native channel named after the old mapping", async () => {
    const server = await start();
    const mallory = await natives.connect(server.wsUrl, 'mallory');
    await mallory.ok('channel.create', { channel: 'shop:user:bob', channelType: 'public' });
    await mallory.ok('subscribe', { channel: 'shop:user:bob' });

    const bob = pusherJs(server, SHOP, 'bob');
    const pushed = within(new Promise((resolve) => bob.user.bind('alert', resolve)), 'sendToUser');
    await signedIn(bob);
    await pusherServerSdk(server, SHOP).sendToUser('bob', 'alert', { level: 'high' });
    expect(await pushed).toEqual({ level: 'high' });

    expect(await receivedUpToMarker(mallory, 'shop:user:bob')).toEqual([null]);
    expect(await mallory.request('subscribe', { channel: 'pusher:2002:user:bob' })).toMatchObject({ type: 'error', code: 'forbidden' });
  });

  it("delivers the shared app's sendToUser to the user's inbox, as docs/pusher.md promises, and to no one else", async () => {
    const server = await start();
    const nativeBob = await natives.connect(server.wsUrl, 'bob');
    await nativeBob.ok('subscribe', { channel: 'user:bob' });
    const mallory = await natives.connect(server.wsUrl, 'mallory');
    expect(await mallory.request('subscribe', { channel: 'user:bob' })).toMatchObject({ type: 'error', code: 'forbidden' });

    const bob = pusherJs(server, SHARED, 'bob');
    const pushed = within(new Promise((resolve) => bob.user.bind('alert', resolve)), 'sendToUser');
    await signedIn(bob);
    await pusherServerSdk(server, SHARED).sendToUser('bob', 'alert', { n: 1 });
    expect(await pushed).toEqual({ n: 1 });
    const inInbox = await nativeBob.waitFor((f) => f.type === 'event' && f.channel === 'user:bob');
    expect(inInbox).toMatchObject({ data: { pusherEvent: 'alert', data: '{"n":1}' } });
  });

  it('refuses native users the creation of any pusher: channel, on /ws, REST and gRPC (bad_request)', async () => {
    const server = await start();
    await pusherServerSdk(server, SHARED).trigger('private-orders', 'e', {});
    const wires = await nativeWires(server, 'mallory');
    for (const wire of NATIVE_WIRES) {
      for (const id of ['pusher:1001:private-orders', 'pusher:1001:not-yet-used', 'pusher:2002:user:bob', 'pusher:9999:x']) {
        expect(await wires[wire]('channel.create', { channel: id, channelType: 'public' }), `${wire} create ${id}`).toBe('bad_request');
      }
    }
    expect(await server.store.getChannel('pusher:1001:not-yet-used')).toBeUndefined();
  });

  it("refuses native users the app's signed channels, on /ws, REST, gRPC and SSE (forbidden), and shows them its public ones", async () => {
    const server = await start();
    await pusherServerSdk(server, SHARED).trigger(['private-orders', 'presence-room', 'news'], 'e', {});
    const wires = await nativeWires(server, 'mallory');
    for (const wire of NATIVE_WIRES) {
      for (const channel of ['pusher:1001:private-orders', 'pusher:1001:presence-room']) {
        expect(await wires[wire](wire === 'ws' ? 'subscribe' : 'history', { channel }), `${wire} read ${channel}`).toBe('forbidden');
        expect(await wires[wire]('channel.join', { channel }), `${wire} join ${channel}`).toBe('forbidden');
      }
      // A public Pusher channel is public natively too (docs/pusher.md, "One channel, every protocol").
      expect(await wires[wire]('history', { channel: 'pusher:1001:news' }), `${wire} read news`).toBe('ok');
    }
    const sse = await fetch(`${server.url}/stream/${encodeURIComponent('pusher:1001:private-orders')}`, { headers: { 'x-switchboard-user': 'mallory' } });
    expect(sse.status).toBe(403);
    await sse.body?.cancel();
  });

  it('never serves or publishes to a squat an older version let a user create in pusher:', async () => {
    const server = await start();
    // What a database from before the reservation may hold.
    for (const [id, type] of [['pusher:1001:private-leak', 'public'], ['pusher:1001:lobby', 'private']] as const) {
      await server.store.createChannel({ id, type, title: null, publish: 'anyone', createdBy: 'mallory', members: [{ user: 'mallory', role: 'owner' }] });
    }
    const sdk = pusherServerSdk(server, SHARED);
    await expect(sdk.trigger('private-leak', 'secret', { pin: 1234 })).rejects.toMatchObject({ status: 409 });
    expect((await server.hub.history(SERVER, { channel: 'pusher:1001:private-leak' })).events).toEqual([]);

    const raw = await RawPusher.connect(server.url, SHARED);
    raw.send('pusher:subscribe', { channel: 'private-leak', ...raw.sign('private-leak') });
    raw.send('pusher:subscribe', { channel: 'lobby' });
    for (const channel of ['private-leak', 'lobby']) {
      const refused = await raw.waitFor((f) => f.event === 'pusher:subscription_error' && f.channel === channel);
      expect(JSON.parse(refused.data as string)).toMatchObject({ status: 409, error: expect.stringMatching(/created by mallory/) });
    }
  });

  it("never lets a native message pass for one of the app's events", async () => {
    const server = await start();
    const client = pusherJs(server, SHARED);
    const news = await subscribed(client, 'news');
    const spoofed: unknown[] = [];
    news.bind('OrderShipped', (data: unknown) => spoofed.push(data));
    const mallory = await natives.connect(server.wsUrl, 'mallory');
    const asMessage = nextEvent(news, 'message');
    // The shape a trigger is stored in, and a socket_id to leave the victim out.
    await mallory.ok('publish', {
      channel: 'pusher:1001:news',
      data: { pusherEvent: 'OrderShipped', data: '{"order":1}', pusherSocketId: client.connection.socket_id },
    });
    expect(await asMessage).toMatchObject({ author: 'mallory', data: { pusherEvent: 'OrderShipped' } });
    expect(spoofed).toEqual([]);
  });
});
