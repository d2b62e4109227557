import type { Channel, UserAuthenticationCallback, PresenceChannel } from 'pusher-js';
import PusherServer from 'pusher';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import {
  Pusher,
  pusherJsOptions,
  pusherServerSdk,
  RawPusher as RawClient,
  signedChannelAuthorization,
  subscribed,
  within,
} from './helpers/pusher-js.js';
import { startTestServer, type TestServer } from './helpers/test-server.js';


const APP = { id: '1001', key: 'test-key', secret: 'test-secret-0123456789' };

const clients: Pusher[] = [];
afterEach(() => {
  for (const client of clients.splice(0)) client.disconnect();
});

async function startPusherServer(pusher: Record<string, unknown> = {}): Promise<TestServer> {
  return startTestServer({ overrides: { pusher: { apps: [APP], ...pusher } } });
}

function serverSdk(server: TestServer): PusherServer {
  return pusherServerSdk(server, APP);
}

/** pusher-js, unmodified, whose auth handlers sign with the app secret through the `pusher` package. */
function connectClient(server: TestServer, user?: { id: string; info?: unknown }): Pusher {
  const sdk = serverSdk(server);
  const client = new Pusher(APP.key, {
    ...pusherJsOptions(server),
    channelAuthorization: signedChannelAuthorization(sdk, user ? { user_id: user.id, user_info: user.info as Record<string, unknown> } : undefined),
    userAuthentication: {
      endpoint: 'unused',
      transport: 'ajax',
      customHandler: ({ socketId }: { socketId: string }, callback: UserAuthenticationCallback) => {
        callback(null, sdk.authenticateUser(socketId, { id: user?.id ?? 'nobody' }));
      },
    },
  });
  clients.push(client);
  return client;
}

function connected(client: Pusher): Promise<void> {
  if (client.connection.state === 'connected') return Promise.resolve();
  return within(new Promise((resolve) => client.connection.bind('connected', () => resolve())), 'connected');
}

function nextEvent<T = unknown>(channel: Channel, event: string): Promise<T> {
  return within(
    new Promise((resolve) => {
      const handler = (data: T) => {
        channel.unbind(event, handler);
        resolve(data);
      };
      channel.bind(event, handler);
    }),
    `${event} on ${channel.name}`,
  );
}

describe('pusher-js against /app/:key', () => {
  it('connects with a <digits>.<digits> socket id and receives an HTTP API publish on a public channel', async () => {
    const server = await startPusherServer();
    const client = connectClient(server);
    await connected(client);
    expect(client.connection.socket_id).toMatch(/^\d+\.\d+$/);

    const channel = await subscribed(client, 'news');
    const received = nextEvent(channel, 'headline');
    await serverSdk(server).trigger('news', 'headline', { title: 'hello' });
    expect(await received).toEqual({ title: 'hello' });
  });

  it('admits private channels with a valid signature and refuses a bad one without closing the connection', async () => {
    const server = await startPusherServer();
    const client = connectClient(server);
    await connected(client);
    const channel = await subscribed(client, 'private-orders');

    const raw = await RawPusher.connect(server);
    raw.send('pusher:subscribe', { channel: 'private-orders', auth: `${APP.key}:${'0'.repeat(64)}` });
    const refused = await raw.waitFor((f) => f.event === 'pusher:subscription_error');
    expect(refused.channel).toBe('private-orders');
    expect(JSON.parse(refused.data as string)).toMatchObject({ type: 'AuthError', status: 401 });
    // A signature for another socket is as bad as a forged one.
    const stolen = serverSdk(server).authorizeChannel(client.connection.socket_id, 'private-orders');
    raw.send('pusher:subscribe', { channel: 'private-orders', auth: stolen.auth });
    await raw.waitUntil(() => raw.frames.filter((f) => f.event === 'pusher:subscription_error').length === 2);
    // Still connected: a valid subscription afterwards works.
    raw.send('pusher:subscribe', { channel: 'private-orders', auth: raw.sign('private-orders').auth });
    await raw.waitFor((f) => f.event === 'pusher_internal:subscription_succeeded' && f.channel === 'private-orders');
    expect(raw.closeCode).toBeNull();

    const received = nextEvent(channel, 'placed');
    await serverSdk(server).trigger('private-orders', 'placed', { id: 7 });
    expect(await received).toEqual({ id: 7 });
    await raw.waitFor((f) => f.event === 'placed');
  });

  it('keeps presence member lists across two clients, with member_added and member_removed once per user', async () => {
    const server = await startPusherServer();
    const alice = connectClient(server, { id: 'alice', info: { name: 'Alice' } });
    const bob = connectClient(server, { id: 'bob', info: { name: 'Bob' } });
    await Promise.all([connected(alice), connected(bob)]);

    const aliceRoom = (await subscribed(alice, 'presence-room')) as PresenceChannel;
    expect(aliceRoom.members.count).toBe(1);
    expect(aliceRoom.members.me).toMatchObject({ id: 'alice', info: { name: 'Alice' } });

    const added = nextEvent<{ id: string; info: unknown }>(aliceRoom, 'pusher:member_added');
    const bobRoom = (await subscribed(bob, 'presence-room')) as PresenceChannel;
    expect(await added).toEqual({ id: 'bob', info: { name: 'Bob' } });
    const bobSees: Record<string, unknown> = {};
    bobRoom.members.each((member: { id: string; info: unknown }) => (bobSees[member.id] = member.info));
    expect(bobSees).toEqual({ alice: { name: 'Alice' }, bob: { name: 'Bob' } });

    // A second connection of bob is the same member: no second member_added, and no
    // member_removed until his last connection leaves.
    const raw = await RawPusher.connect(server);
    const channelData = JSON.stringify({ user_id: 'bob', user_info: { name: 'Bob' } });
    raw.send('pusher:subscribe', { channel: 'presence-room', ...raw.sign('presence-room', channelData) });
    const joined = await raw.waitFor((f) => f.event === 'pusher_internal:subscription_succeeded');
    expect(JSON.parse(joined.data as string).presence.count).toBe(2);
    const users = await serverSdk(server).get({ path: '/channels/presence-room/users' });
    expect(await users.json()).toEqual({ users: [{ id: 'alice' }, { id: 'bob' }] });

    const removed = nextEvent<{ id: string }>(aliceRoom, 'pusher:member_removed');
    const events: string[] = [];
    aliceRoom.bind_global((name: string) => events.push(name));
    await raw.close();
    bob.unsubscribe('presence-room');
    expect(await removed).toMatchObject({ id: 'bob' });
    expect(events.filter((e) => e === 'pusher:member_removed')).toHaveLength(1);
    expect(events).not.toContain('pusher:member_added');
    expect(aliceRoom.members.count).toBe(1);
  });

  it('enforces the presence member limit', async () => {
    const server = await startPusherServer({ maxPresenceMembers: 1 });
    const first = await RawPusher.connect(server);
    const data1 = JSON.stringify({ user_id: 'u1' });
    first.send('pusher:subscribe', { channel: 'presence-small', ...first.sign('presence-small', data1) });
    await first.waitFor((f) => f.event === 'pusher_internal:subscription_succeeded');
    const second = await RawPusher.connect(server);
    const data2 = JSON.stringify({ user_id: 'u2' });
    second.send('pusher:subscribe', { channel: 'presence-small', ...second.sign('presence-small', data2) });
    const refused = await second.waitFor((f) => f.event === 'pusher:subscription_error');
    expect(JSON.parse(refused.data as string)).toMatchObject({ type: 'LimitReached' });
  });

  it('relays client events to the other subscribers only, with user_id on presence, and refuses them on public channels', async () => {
    const server = await startPusherServer();
    const alice = connectClient(server, { id: 'alice' });
    const bob = connectClient(server, { id: 'bob' });
    await Promise.all([connected(alice), connected(bob)]);
    const alicePrivate = await subscribed(alice, 'private-chat');
    const bobPrivate = await subscribed(bob, 'private-chat');

    const aliceGot: string[] = [];
    alicePrivate.bind('client-typing', () => aliceGot.push('client-typing'));
    const bobGets = nextEvent(bobPrivate, 'client-typing');
    alicePrivate.trigger('client-typing', { typing: true });
    expect(await bobGets).toEqual({ typing: true });
    // An API event published afterwards reaches alice after anything echoed would have.
    const marker = nextEvent(alicePrivate, 'marker');
    await serverSdk(server).trigger('private-chat', 'marker', {});
    await marker;
    expect(aliceGot).toEqual([]);

    const alicePresence = await subscribed(alice, 'presence-chat');
    const bobPresence = await subscribed(bob, 'presence-chat');
    const withUser = within(
      new Promise<{ data: unknown; userId: unknown }>((resolve) =>
        bobPresence.bind('client-wave', (data: unknown, metadata: { user_id?: string }) =>
          resolve({ data, userId: metadata?.user_id }),
        ),
      ),
      'client-wave',
    );
    alicePresence.trigger('client-wave', { hand: 'left' });
    expect(await withUser).toEqual({ data: { hand: 'left' }, userId: 'alice' });

    const publicChannel = await subscribed(alice, 'lobby');
    await subscribed(bob, 'lobby');
    const error = within(
      new Promise<{ data: { message: string } }>((resolve) => alice.connection.bind('error', resolve)),
      'pusher:error',
    );
    publicChannel.trigger('client-nope', {});
    expect((await error).data.message).toMatch(/private and presence/);
    expect(alice.connection.state).toBe('connected');
  });

  it('refuses client events from unsubscribed connections and above 10 KB, and rate limits them with 4301', async () => {
    const server = await startPusherServer({ clientEventsPerSecond: 2 });
    const raw = await RawPusher.connect(server);
    raw.send('client-sneaky', { x: 1 }, 'private-closed');
    const notSubscribed = await raw.waitFor((f) => f.event === 'pusher:error');
    expect(JSON.parse(notSubscribed.data as string).message).toMatch(/Subscribe to private-closed/);

    raw.send('pusher:subscribe', { channel: 'private-fast', ...raw.sign('private-fast') });
    await raw.waitFor((f) => f.event === 'pusher_internal:subscription_succeeded');
    raw.send('client-huge', 'z'.repeat(10 * 1024 + 1), 'private-fast');
    const tooBig = await raw.waitFor((f) => f.event === 'pusher:error' && /larger than/.test(String(f.data)));
    expect(JSON.parse(tooBig.data as string).message).toMatch(/10240 bytes/);
    raw.socket.send(`{"event":"client-deep","channel":"private-fast","data":${'['.repeat(20_000)}${']'.repeat(20_000)}}`);
    await raw.waitFor((f) => f.event === 'pusher:error' && /nests too deep/.test(String(f.data)));
    for (let i = 0; i < 4; i++) raw.send('client-burst', { i }, 'private-fast');
    const limited = await raw.waitFor((f) => f.event === 'pusher:error' && JSON.parse(f.data as string).code === 4301);
    expect(JSON.parse(limited.data as string).message).toMatch(/rate limit/);
  });

  it('stops delivery after unsubscribe', async () => {
    const server = await startPusherServer();
    const client = connectClient(server);
    await connected(client);
    const gone = await subscribed(client, 'channel-a');
    const got: unknown[] = [];
    gone.bind('tick', (data: unknown) => got.push(data));
    client.unsubscribe('channel-a');
    // Frames are handled in order, so channel-b's success means channel-a is gone.
    const kept = await subscribed(client, 'channel-b');
    const sdk = serverSdk(server);
    const marker = nextEvent(kept, 'tick');
    await sdk.trigger('channel-a', 'tick', { n: 1 });
    await sdk.trigger('channel-b', 'tick', { n: 2 });
    expect(await marker).toEqual({ n: 2 });
    expect(got).toEqual([]);
  });

  it('signs users in, delivers sendToUser, and terminates their connections', async () => {
    const server = await startPusherServer();
    const client = connectClient(server, { id: 'carol' });
    await connected(client);
    const pushed = within(new Promise((resolve) => client.user.bind('alert', resolve)), 'sendToUser');
    client.signin();
    await within(client.user.signinDonePromise as Promise<unknown>, 'signin');
    expect(client.user.user_data).toMatchObject({ id: 'carol' });
    // The user channel subscription is sent right after signin; wait for the server to confirm it.
    await within(
      new Promise<void>((resolve) => {
        const check = () => (client.user.serverToUserChannel?.subscribed ? resolve() : setImmediate(check));
        check();
      }),
      'user channel',
    );
    await serverSdk(server).sendToUser('carol', 'alert', { level: 'high' });
    expect(await pushed).toEqual({ level: 'high' });

    // Someone else may not subscribe to carol's channel, even with a valid-looking request.
    const raw = await RawPusher.connect(server);
    raw.send('pusher:subscribe', { channel: '#server-to-user-carol' });
    expect(await raw.waitFor((f) => f.event === 'pusher:subscription_error')).toBeTruthy();
    // A forged signin closes with 4009.
    raw.send('pusher:signin', { auth: `${APP.key}:${'f'.repeat(64)}`, user_data: JSON.stringify({ id: 'carol' }) });
    expect(await raw.closed).toBe(4009);

    const closed = within(
      new Promise<void>((resolve) => client.connection.bind('state_change', (s: { current: string }) => {
        if (s.current !== 'connected') resolve();
      })),
      'termination',
    );
    await serverSdk(server).terminateUserConnections('carol');
    await closed;
  });

  it('replays the last event on cache channels and reports a cache miss', async () => {
    const server = await startPusherServer();
    const client = connectClient(server);
    await connected(client);
    const empty = client.subscribe('cache-empty');
    const miss = nextEvent(empty, 'pusher:cache_miss');
    await miss;

    const sdk = serverSdk(server);
    await sdk.trigger('cache-scores', 'score', { n: 1 });
    await sdk.trigger('cache-scores', 'score', { n: 2 });
    const channel = client.subscribe('cache-scores');
    const replayed: unknown[] = [];
    channel.bind('score', (data: unknown) => replayed.push(data));
    await within(
      new Promise<void>((resolve) => channel.bind('pusher:subscription_succeeded', () => resolve())),
      'cache subscribe',
    );
    const live = nextEvent(channel, 'score');
    await sdk.trigger('cache-scores', 'score', { n: 3 });
    await live;
    expect(replayed).toEqual([{ n: 2 }, { n: 3 }]);
  });
});

describe('the Pusher protocol on the wire', () => {
  it("tells a subscriber when its channel is deleted in the hub, and serves the channel afresh on its next use", async () => {
    const server = await startPusherServer();
    const raw = await RawPusher.connect(server);
    raw.send('pusher:subscribe', { channel: 'doomed' });
    await raw.waitFor((f) => f.event === 'pusher_internal:subscription_succeeded');
    await server.hub.deleteChannel({ kind: 'server', userId: 'ops', name: 'ops', roles: [] }, `pusher:${APP.id}:doomed`);
    const ended = await raw.waitFor((f) => f.event === 'switchboard:channel_deleted' && f.channel === 'doomed');
    expect(JSON.parse(ended.data as string)).toEqual({ channel: 'doomed', epoch: 1, at: expect.any(Number) });

    // The trigger makes the channel again, and a new subscription gets what follows.
    await serverSdk(server).trigger('doomed', 'first', {});
    raw.send('pusher:subscribe', { channel: 'doomed' });
    await raw.waitUntil(() => raw.frames.filter((f) => f.event === 'pusher_internal:subscription_succeeded').length === 2);
    await serverSdk(server).trigger('doomed', 'again', { n: 2 });
    expect(await raw.waitFor((f) => f.event === 'again')).toMatchObject({ channel: 'doomed', data: '{"n":2}' });
  });


  it('answers pusher:ping, pings idle clients and closes with 4201 when no pong comes', async () => {
    const server = await startPusherServer({ activityTimeoutSeconds: 1, pongTimeoutMs: 300 });
    const raw = await RawPusher.connect(server);
    expect(JSON.parse(raw.frames[0]!.data as string)).toMatchObject({ activity_timeout: 1 });
    raw.send('pusher:ping', {});
    await raw.waitFor((f) => f.event === 'pusher:pong');
    await raw.waitFor((f) => f.event === 'pusher:ping', 3000);
    expect(await raw.closed).toBe(4201);
  });

  it('keeps pusher-js connected through ping/pong', async () => {
    const server = await startPusherServer({ activityTimeoutSeconds: 1, pongTimeoutMs: 500 });
    const client = connectClient(server);
    await connected(client);
    const socketId = client.connection.socket_id;
    const pongs = within(
      new Promise<void>((resolve) => {
        let count = 0;
        client.connection.bind('message', (m: { event: string }) => {
          if (m.event === 'pusher:pong' && ++count === 2) resolve();
        });
      }),
      'two pongs',
      6000,
    );
    await pongs;
    expect(client.connection.state).toBe('connected');
    expect(client.connection.socket_id).toBe(socketId);
  });

  it('closes with the protocol codes for an unknown app and bad protocol versions', async () => {
    const server = await startPusherServer();
    const base = server.url.replace('http', 'ws');
    const closeCode = (path: string) =>
      new Promise<number>((resolve) => {
        const socket = new WebSocket(`${base}${path}`);
        socket.on('error', () => {});
        socket.on('close', (code) => resolve(code));
      });
    expect(await closeCode('/app/no-such-key?protocol=7')).toBe(4001);
    expect(await closeCode(`/app/${APP.key}`)).toBe(4008);
    expect(await closeCode(`/app/${APP.key}?protocol=2`)).toBe(4007);
    expect(await closeCode(`/app/${APP.key}?protocol=seven`)).toBe(4006);
  });

  it('tells clients to reconnect elsewhere (4200) when the node shuts down', async () => {
    const server = await startPusherServer();
    const raw = await RawPusher.connect(server);
    await server.close('drain');
    expect(await raw.closed).toBe(4200);
  });

  it('answers garbage with pusher:error and stays open', async () => {
    const server = await startPusherServer();
    const raw = await RawPusher.connect(server);
    raw.socket.send('not json');
    raw.socket.send(JSON.stringify({ event: 'pusher:subscribe', data: { channel: 'bad name!' } }));
    raw.socket.send(JSON.stringify({ event: 'pusher:subscribe', data: 42 }));
    await raw.waitUntil(() => raw.frames.filter((f) => f.event.startsWith('pusher:') && f.event.endsWith('error')).length === 3);
    raw.send('pusher:ping', {});
    await raw.waitFor((f) => f.event === 'pusher:pong');
  });
});

/** The bare protocol client (helpers/pusher-js.ts) on this file's app. */
const RawPusher = {
  connect: (server: TestServer) => RawClient.connect(server.url, APP),
};
