import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Channel, PresenceChannel } from 'pusher-js';
import { afterEach, describe, expect, it, onTestFinished } from 'vitest';
import { loadConfig } from '../src/config.js';
import { silentLogger } from '../src/core/logger.js';
import { ConnectionGuard } from '../src/transports/connection-guard.js';
import { DEFAULT_PUSHER_SUBSCRIPTIONS, PusherTransport } from '../src/transports/pusher/pusher-transport.js';
import {
  Pusher,
  pusherJsOptions,
  pusherServerSdk,
  RawPusher,
  signedChannelAuthorization,
  subscribed,
  within,
} from './helpers/pusher-js.js';
import { startTestServer, type TestServer } from './helpers/test-server.js';

/**
 * Issue 17, Pusher's own limits: Pusher's channel names (its alphabet and 164 characters),
 * its own subscription limit per connection (not the hub's 100 per session), the
 * per-address connection cap every long-lived wire shares, and a slow reader told why it
 * is cut off in the protocol's own words.
 */

const APP = { id: '5005', key: 'limits-key', secret: 'limits-secret-0123456789' };
const SERVER = { kind: 'server', userId: 'test', name: 'test', roles: [] } as const;

const pushers: Pusher[] = [];
const raws: RawPusher[] = [];
afterEach(() => {
  for (const client of pushers.splice(0)) client.disconnect();
  for (const raw of raws.splice(0)) raw.socket.terminate();
});

function start(overrides: Record<string, unknown> = {}): Promise<TestServer> {
  return startTestServer({ overrides: { pusher: { apps: [APP] }, ...overrides } });
}

function pusherJs(server: TestServer, user = 'someone'): Pusher {
  const client = new Pusher(APP.key, {
    ...pusherJsOptions(server),
    channelAuthorization: signedChannelAuthorization(pusherServerSdk(server, APP), { user_id: user }),
  });
  pushers.push(client);
  return client;
}

function nextEvent(channel: Channel, event: string): Promise<unknown> {
  return within(new Promise((resolve) => channel.bind(event, resolve)), `${event} on ${channel.name}`);
}

describe("Pusher's channel names", () => {
  it('subscribes and delivers names with = and ; and of 164 characters, public, private and presence', async () => {
    const server = await start();
    const client = pusherJs(server, 'ann');
    const sdk = pusherServerSdk(server, APP);
    const names = [
      'orders=1;eu',
      'private-a=b;c',
      'x'.repeat(164),
      `private-${'y'.repeat(156)}`,
      `presence-${'z='.repeat(77)}`,
    ];
    expect(names.map((name) => name.length)).toEqual([11, 13, 164, 164, 163]);
    for (const name of names) {
      const channel = await subscribed(client, name);
      const got = nextEvent(channel, 'e');
      await sdk.trigger(name, 'e', { name });
      expect(await got).toEqual({ name });
    }
    expect((client.channel(names[4]!) as PresenceChannel).members.me).toMatchObject({ id: 'ann' });

    // The HTTP API takes them in paths too (the SDK signs the path as it sends it).
    const info = await (await sdk.get({ path: `/channels/${names[0]}`, params: { info: 'subscription_count' } })).json();
    expect(info).toEqual({ occupied: true, subscription_count: 1 });

    // In the hub: escaped where the name fits, hashed where it does not; the name is the title.
    const stored = await server.hub.history(SERVER, { channel: 'pusher:5005:orders+3D1+3Beu' });
    expect(stored.events.map((e) => e.data)).toEqual([{ pusherEvent: 'e', data: JSON.stringify({ name: names[0] }) }]);
    const longest = (await server.hub.listChannels(SERVER, { limit: 100 })).find((c) => c.title === names[2]);
    expect(longest?.id).toMatch(/^pusher:5005:hash:[A-Za-z0-9_-]{43}$/);
  });

  it('refuses a name of 165 characters, as the hosted service does', async () => {
    const server = await start();
    const raw = await RawPusher.connect(server.url, APP);
    raws.push(raw);
    raw.send('pusher:subscribe', { channel: 'x'.repeat(165) });
    const refused = await raw.waitFor((f) => f.event === 'pusher:subscription_error');
    expect(JSON.parse(refused.data as string)).toMatchObject({ type: 'InvalidChannel', status: 400 });
  });
});

describe('subscriptions per Pusher connection', () => {
  it(`holds ${DEFAULT_PUSHER_SUBSCRIPTIONS} subscriptions on one pusher-js connection, all at once, and refuses one more with LimitReached`, async () => {
    const server = await start();
    const client = pusherJs(server);
    const succeeded = new Set<string>();
    const refused = new Map<string, { type: string; status: number }>();
    const settled = within(
      new Promise<void>((resolve) => {
        const done = () => succeeded.size + refused.size === DEFAULT_PUSHER_SUBSCRIPTIONS + 1 && resolve();
        for (let i = 0; i <= DEFAULT_PUSHER_SUBSCRIPTIONS; i++) {
          // pusher-js sends every subscribe at once, as it does again after each reconnect.
          const channel = client.subscribe(`feed-${i}`);
          channel.bind('pusher:subscription_succeeded', () => {
            succeeded.add(channel.name);
            done();
          });
          channel.bind('pusher:subscription_error', (error: { type: string; status: number }) => {
            refused.set(channel.name, error);
            done();
          });
        }
      }),
      `${DEFAULT_PUSHER_SUBSCRIPTIONS + 1} subscriptions settled`,
      60_000,
    );
    await settled;
    expect(succeeded.size).toBe(DEFAULT_PUSHER_SUBSCRIPTIONS);
    expect([...refused]).toEqual([[`feed-${DEFAULT_PUSHER_SUBSCRIPTIONS}`, expect.objectContaining({ type: 'LimitReached', status: 429 })]]);
    expect(client.connection.state).toBe('connected');

    // Every one of them delivers, well past the hub's 100 per session.
    const sdk = pusherServerSdk(server, APP);
    const last = client.channel(`feed-${DEFAULT_PUSHER_SUBSCRIPTIONS - 1}`)!;
    const got = nextEvent(last, 'e');
    await sdk.trigger(last.name, 'e', { n: 1 });
    expect(await got).toEqual({ n: 1 });

    // Leaving one makes room for another. (pusher-js keeps a refused channel pending, so a new name.)
    client.unsubscribe('feed-0');
    await subscribed(client, 'feed-extra');
  }, 90_000);
});

describe('the per-address connection cap', () => {
  it('counts Pusher sockets and refuses one past the cap with pusher:error and close 4100, whatever their Origin', async () => {
    // The hub and pipeline of a running node, and a Pusher transport given a guard of 2.
    const node = await start();
    const config = loadConfig({ overrides: { pusher: { apps: [APP] } } });
    const guard = new ConnectionGuard({ allowedOrigins: [], connectionsPerIp: 2 });
    const transport = new PusherTransport({ edge: node.edge, hub: node.hub, logger: silentLogger, pusher: config.pusher, limits: config.limits, guard });
    const http = createServer();
    http.on('upgrade', (request, socket, head) => {
      if (!transport.handleUpgrade(request, socket, head)) socket.destroy();
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    onTestFinished(() => {
      transport.closeAll('test over');
      return new Promise<void>((resolve) => http.close(() => resolve()));
    });
    const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
    const connect = (origin?: string) => {
      const raw = RawPusher.open(url, APP, origin === undefined ? undefined : { headers: { origin } });
      raws.push(raw);
      return raw;
    };

    const first = connect();
    // pusher-js runs on the app's own site: no Origin is refused (there are no ambient credentials to steal).
    const second = connect('https://shop.example');
    await first.waitFor((f) => f.event === 'pusher:connection_established');
    await second.waitFor((f) => f.event === 'pusher:connection_established');
    const third = connect();
    expect(await third.closed).toBe(4100);
    const error = third.frames.find((f) => f.event === 'pusher:error');
    expect(JSON.parse(error!.data as string)).toEqual({ code: 4100, message: 'Too many connections from your address.' });
    expect(third.frames.some((f) => f.event === 'pusher:connection_established')).toBe(false);

    // A closed socket gives its place back.
    await first.close();
    const fourth = connect();
    await fourth.waitFor((f) => f.event === 'pusher:connection_established');
  });
});

describe('a slow Pusher reader', () => {
  it('is told why with pusher:error 4100 and closed with 4100, not dropped', async () => {
    const server = await start({ limits: { sendQueueBytes: 256 * 1024 } });
    const raw = await RawPusher.connect(server.url, APP);
    raws.push(raw);
    raw.send('pusher:subscribe', { channel: 'firehose' });
    await raw.waitFor((f) => f.event === 'pusher_internal:subscription_succeeded');
    const pusherSessions = () => [...server.hub.sessions()].filter((s) => s.transport === 'pusher').length;
    expect(pusherSessions()).toBe(1);

    // The client stops reading; the app keeps triggering (10 events of 9 KB a request)
    // until the server gives up on it and leaves the hub.
    const socket = (raw.socket as unknown as { _socket: import('node:net').Socket })._socket;
    socket.pause();
    const sdk = pusherServerSdk(server, APP);
    const batch = Array.from({ length: 10 }, (_, i) => ({ channel: 'firehose', name: 'bulk', data: `${i}`.padEnd(9000, '.') }));
    let requests = 0;
    while (pusherSessions() > 0) {
      await sdk.triggerBatch(batch);
      expect(++requests, 'the slow reader was never cut off').toBeLessThan(2000);
    }
    socket.resume();

    expect(await raw.closed).toBe(4100);
    const last = raw.frames.at(-1)!;
    expect(last.event).toBe('pusher:error');
    expect(JSON.parse(last.data as string)).toMatchObject({ code: 4100, message: expect.stringMatching(/Slow consumer/) });
  });
});
