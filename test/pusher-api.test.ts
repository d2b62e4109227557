import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Channel } from 'pusher-js';
import PusherServer from 'pusher';
import { afterEach, describe, expect, it, onTestFinished } from 'vitest';
import { WebSocket } from 'ws';
import { MemoryBroker } from '../src/broker/memory-broker.js';
import { MemoryBus } from '../src/broker/memory-bus.js';
import { loadConfig } from '../src/config.js';
import { Pusher, pusherJsOptions, pusherServerSdk, signedChannelAuthorization, subscribed, within } from './helpers/pusher-js.js';
import { startTestServer, type TestServer } from './helpers/test-server.js';
import { WsTestClient } from './helpers/ws-test-client.js';


const APP = { id: '2002', key: 'api-key', secret: 'api-secret-0123456789' };
/** Where the app's Pusher channel `name` lives in the hub (docs/pusher.md, "Channels"). */
const hubId = (name: string) => `pusher:${APP.id}:${name}`;

const clients: Pusher[] = [];
const natives: WsTestClient[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) client.disconnect();
  await Promise.all(natives.splice(0).map((client) => client.close()));
});

function startPusherServer(app: Record<string, unknown> = {}): Promise<TestServer> {
  return startTestServer({ overrides: { pusher: { apps: [{ ...APP, ...app }] } } });
}

function serverSdk(server: TestServer, secret = APP.secret): PusherServer {
  return pusherServerSdk(server, { ...APP, secret });
}

function connectClient(server: TestServer, user = 'someone'): Pusher {
  const sdk = serverSdk(server);
  const client = new Pusher(APP.key, {
    ...pusherJsOptions(server),
    channelAuthorization: signedChannelAuthorization(sdk, { user_id: user }),
  });
  clients.push(client);
  return client;
}

/** Resolves with every `event` on the channel once `count` have arrived. */
function collect<T = unknown>(channel: Channel, event: string, count: number): Promise<T[]> {
  const got: T[] = [];
  return within(
    new Promise((resolve) => {
      channel.bind(event, (data: T) => {
        got.push(data);
        if (got.length === count) resolve(got);
      });
    }),
    `${count} × ${event} on ${channel.name}`,
  );
}

/** Sends a request signed exactly as the `pusher` package signs, with any body. */
async function signedPost(server: TestServer, path: string, body: string, secret = APP.secret): Promise<Response> {
  const sdk = serverSdk(server, secret);
  const fullPath = `/apps/${APP.id}${path}`;
  const query = sdk.createSignedQueryString({ method: 'POST', path: fullPath, body });
  return fetch(`${server.url}${fullPath}?${query}`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
}

describe('the Pusher HTTP API', () => {
  it('triggers batch events to their channels', async () => {
    const server = await startPusherServer();
    const client = connectClient(server);
    const a = await subscribed(client, 'batch-a');
    const b = await subscribed(client, 'batch-b');
    const gotA = collect(a, 'e', 2);
    const gotB = collect(b, 'e', 1);
    const response = await serverSdk(server).triggerBatch([
      { channel: 'batch-a', name: 'e', data: { n: 1 } },
      { channel: 'batch-b', name: 'e', data: { n: 2 } },
      { channel: 'batch-a', name: 'e', data: { n: 3 } },
    ]);
    expect(response.status).toBe(200);
    expect(await gotA).toEqual([{ n: 1 }, { n: 3 }]);
    expect(await gotB).toEqual([{ n: 2 }]);
  });

  it('answers channel, channel-info and users queries, and trigger info', async () => {
    const server = await startPusherServer();
    const sdk = serverSdk(server);
    const one = connectClient(server, 'u1');
    const two = connectClient(server, 'u2');
    await subscribed(one, 'presence-team');
    await subscribed(two, 'presence-team');
    await subscribed(one, 'public-board');

    const all = await (await sdk.get({ path: '/channels' })).json();
    expect(all).toEqual({ channels: { 'presence-team': {}, 'public-board': {} } });
    const presence = await (await sdk.get({ path: '/channels', params: { filter_by_prefix: 'presence-', info: 'user_count' } })).json();
    expect(presence).toEqual({ channels: { 'presence-team': { user_count: 2 } } });

    const info = await (await sdk.get({ path: '/channels/presence-team', params: { info: 'user_count,subscription_count' } })).json();
    expect(info).toEqual({ occupied: true, user_count: 2, subscription_count: 2 });
    const empty = await (await sdk.get({ path: '/channels/nobody-here', params: { info: 'subscription_count' } })).json();
    expect(empty).toEqual({ occupied: false, subscription_count: 0 });

    const users = await (await sdk.get({ path: '/channels/presence-team/users' })).json();
    expect(users).toEqual({ users: [{ id: 'u1' }, { id: 'u2' }] });
    await expect(sdk.get({ path: '/channels/public-board/users' })).rejects.toMatchObject({ status: 400 });

    const triggered = await sdk.trigger('public-board', 'e', {}, { info: 'subscription_count' });
    expect(await triggered.json()).toEqual({ channels: { 'public-board': { subscription_count: 1 } } });
  });

  it('refuses event data above 10 KB with 413, and more than 100 channels, storing nothing', async () => {
    const server = await startPusherServer();
    const client = connectClient(server);
    const channel = await subscribed(client, 'limits');
    const sdk = serverSdk(server);
    await expect(sdk.trigger('limits', 'big', 'x'.repeat(10 * 1024 + 1))).rejects.toMatchObject({ status: 413 });
    const exactly = collect<string>(channel, 'fits', 1);
    await sdk.trigger('limits', 'fits', 'y'.repeat(10 * 1024 - 2)); // JSON quotes make it 10 KB
    expect((await exactly)[0]).toHaveLength(10 * 1024 - 2);

    const channels = Array.from({ length: 101 }, (_, i) => `c${i}`);
    const tooMany = await signedPost(server, '/events', JSON.stringify({ name: 'e', data: '{}', channels }));
    expect(tooMany.status).toBe(400);
    // A trigger is a publish through the shared pipeline: data no wire can carry is refused, not stored.
    const nul = await signedPost(server, '/events', JSON.stringify({ name: 'e', data: 'a\u0000b', channel: 'limits' }));
    expect(nul.status).toBe(400);
    expect(await nul.json()).toMatchObject({ code: 'bad_request', message: expect.stringMatching(/^Invalid data: .*NUL/) });
    // Data as JSON nested deeper than it can be written again is the sender's fault, not a 500.
    const deep = `${'['.repeat(20_000)}${']'.repeat(20_000)}`;
    const tooDeep = await signedPost(server, '/events', `{"name":"e","channel":"limits","data":${deep}}`);
    expect(tooDeep.status).toBe(400);
    expect(await tooDeep.json()).toMatchObject({ code: 'bad_request', message: expect.stringMatching(/nests too deep/) });
    const history = await server.hub.history({ kind: 'server', userId: 't', name: 't', roles: [] }, { channel: hubId('limits') });
    expect(history.events).toHaveLength(1);
  });

  it('refuses requests with a bad signature, a stale timestamp or a body that does not match body_md5', async () => {
    const server = await startPusherServer();
    await expect(serverSdk(server, 'wrong-secret-000000').trigger('x', 'e', {})).rejects.toMatchObject({ status: 401 });

    const body = JSON.stringify({ name: 'e', data: '{}', channels: ['x'] });
    const path = `/apps/${APP.id}/events`;
    const sdk = serverSdk(server);
    const query = sdk.createSignedQueryString({ method: 'POST', path, body });
    const tampered = await fetch(`${server.url}${path}?${query}`, {
      method: 'POST',
      body: body.replace('"e"', '"f"'),
      headers: { 'content-type': 'application/json' },
    });
    expect(tampered.status).toBe(401);

    const realNow = Date.now;
    Date.now = () => realNow() - 601_000;
    let staleQuery: string;
    try {
      staleQuery = sdk.createSignedQueryString({ method: 'POST', path, body });
    } finally {
      Date.now = realNow;
    }
    const stale = await fetch(`${server.url}${path}?${staleQuery}`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json' },
    });
    expect(stale.status).toBe(401);
    expect(((await stale.json()) as { message: string }).message).toMatch(/auth_timestamp/);

    const good = await signedPost(server, '/events', body);
    expect(good.status).toBe(200);
  });

  it('checks every batch item before publishing any', async () => {
    const server = await startPusherServer();
    const response = await signedPost(
      server,
      '/batch_events',
      JSON.stringify({ batch: [{ channel: 'fine', name: 'e', data: '{}' }, { channel: 'not here', name: 'e', data: '{}' }] }),
    );
    expect(response.status).toBe(400);
    const nothing = await server.hub
      .history({ kind: 'server', userId: 't', name: 't', roles: [] }, { channel: hubId('fine') })
      .catch((error: { code: string }) => error.code);
    expect(nothing).toBe('not_found');
  });

  it('relays private-encrypted events as ciphertext, never decrypting them', async () => {
    const server = await startPusherServer();
    const masterKey = Buffer.alloc(32, 7).toString('base64');
    const sdk = new PusherServer({
      appId: APP.id,
      key: APP.key,
      secret: APP.secret,
      host: '127.0.0.1',
      port: String(server.port),
      useTLS: false,
      encryptionMasterKeyBase64: masterKey,
    });
    const socket = new WebSocket(`${server.url.replace('http', 'ws')}/app/${APP.key}?protocol=7`);
    const frames: { event: string; channel?: string; data: string }[] = [];
    const waitFor = (event: string) =>
      within(
        new Promise<{ data: string }>((resolve) => {
          const check = () => {
            const found = frames.find((f) => f.event === event);
            if (found) resolve(found);
            else socket.once('message', check);
          };
          check();
        }),
        event,
      );
    socket.on('message', (data) => frames.push(JSON.parse(String(data)) as (typeof frames)[number]));
    const { socket_id: socketId } = JSON.parse((await waitFor('pusher:connection_established')).data) as { socket_id: string };
    const auth = sdk.authorizeChannel(socketId, 'private-encrypted-vault');
    expect(auth.shared_secret).toBeTruthy();
    socket.send(JSON.stringify({ event: 'pusher:subscribe', data: { channel: 'private-encrypted-vault', auth: auth.auth } }));
    await waitFor('pusher_internal:subscription_succeeded');
    await sdk.trigger('private-encrypted-vault', 'secret', { pin: 1234 });
    const received = await waitFor('secret');
    expect(received.data).not.toContain('1234');
    expect(Object.keys(JSON.parse(received.data) as object).sort()).toEqual(['ciphertext', 'nonce']);
    const stored = await server.hub.history({ kind: 'server', userId: 't', name: 't', roles: [] }, { channel: hubId('private-encrypted-vault') });
    expect((stored.events[0]!.data as { data: string }).data).toBe(received.data);
    socket.close();
  });

  it('leaves out the socket given as socket_id', async () => {
    const server = await startPusherServer();
    const sender = connectClient(server);
    const other = connectClient(server);
    const senderChannel = await subscribed(sender, 'excl');
    const otherChannel = await subscribed(other, 'excl');
    const senderGot: unknown[] = [];
    senderChannel.bind('e', (data: unknown) => senderGot.push(data));
    const otherGot = collect(otherChannel, 'e', 2);
    const sdk = serverSdk(server);
    await sdk.trigger('excl', 'e', { n: 1 }, { socket_id: sender.connection.socket_id });
    await sdk.trigger('excl', 'e', { n: 2 });
    expect(await otherGot).toEqual([{ n: 1 }, { n: 2 }]);
    await within(new Promise<void>((resolve) => (senderGot.length > 0 ? resolve() : senderChannel.bind('e', () => resolve()))), 'e');
    expect(senderGot).toEqual([{ n: 2 }]);
  });
});

describe('one channel, every protocol', () => {
  it('delivers a Pusher API publish to a native subscriber and stores it in history', async () => {
    const server = await startPusherServer();
    const native = await WsTestClient.connect(server.wsUrl, 'nina');
    natives.push(native);
    await serverSdk(server).trigger('bridge', 'hello', { from: 'pusher' }); // creates the channel
    await native.ok('subscribe', { channel: hubId('bridge') });
    await serverSdk(server).trigger('bridge', 'hello', { from: 'pusher', n: 2 });
    const event = await native.waitFor((f) => f.type === 'event' && f.channel === hubId('bridge'));
    // A message frame leaves out `kind: 'message'` (compact frames).
    expect(event).not.toHaveProperty('kind');
    expect(event).toMatchObject({ seq: 2, data: { pusherEvent: 'hello', data: '{"from":"pusher","n":2}' } });
    const history = await native.ok<{ events: { seq: number; data: { pusherEvent: string } }[] }>('history', { channel: hubId('bridge') });
    expect(history.events.map((e) => [e.seq, e.data.pusherEvent])).toEqual([
      [1, 'hello'],
      [2, 'hello'],
    ]);
  });

  it('delivers a native publish to pusher-js as a `message` event', async () => {
    const server = await startPusherServer();
    const client = connectClient(server);
    const channel = await subscribed(client, 'town-square'); // created as a public hub channel
    const native = await WsTestClient.connect(server.wsUrl, 'nina');
    natives.push(native);
    const received = collect<{ seq: number; author: string; text: string }>(channel, 'message', 1);
    await native.ok('publish', { channel: hubId('town-square'), text: 'hi from /ws' });
    expect((await received)[0]).toMatchObject({ seq: 1, author: 'nina', text: 'hi from /ws' });
  });

  it('keeps Pusher private channels closed to native users who are not members', async () => {
    const server = await startPusherServer();
    await serverSdk(server).trigger('private-secrets', 'e', {});
    const native = await WsTestClient.connect(server.wsUrl, 'mallory');
    natives.push(native);
    const refused = await native.request('subscribe', { channel: hubId('private-secrets') });
    expect(refused).toMatchObject({ type: 'error', code: 'forbidden' });
  });
});

describe('Pusher across nodes', () => {
  it('delivers a Pusher API publish on one node to pusher-js and native clients on another', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'switchboard-pusher-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const databaseUrl = `sqlite:${join(dir, 'shared.db')}`;
    const bus = new MemoryBus();
    const overrides = { pusher: { apps: [APP] } };
    const one = await startTestServer({ databaseUrl, broker: new MemoryBroker(bus), overrides });
    const two = await startTestServer({ databaseUrl, broker: new MemoryBroker(bus), overrides });

    const client = connectClient(two);
    const channel = await subscribed(client, 'cluster-news');
    const native = await WsTestClient.connect(two.wsUrl, 'nina');
    natives.push(native);
    await native.ok('subscribe', { channel: hubId('cluster-news') });

    const got = collect(channel, 'flash', 1);
    await serverSdk(one).trigger('cluster-news', 'flash', { via: 'node one' });
    expect(await got).toEqual([{ via: 'node one' }]);
    const event = await native.waitFor((f) => f.type === 'event' && f.channel === hubId('cluster-news'));
    expect(event).toMatchObject({ data: { pusherEvent: 'flash' } });
  });
});

describe('Pusher webhooks', () => {
  it('posts signed webhooks that the pusher package verifies', async () => {
    const received: { events: { name: string; channel: string; user_id?: string; event?: string }[] }[] = [];
    let valid = 0;
    const waiters = new Set<() => void>();
    const receiver = createServer((request: IncomingMessage, response) => {
      let rawBody = '';
      request.on('data', (chunk: Buffer) => (rawBody += chunk.toString('utf8')));
      request.on('end', () => {
        const webhook = new PusherServer({ appId: APP.id, key: APP.key, secret: APP.secret, host: '127.0.0.1' }).webhook({
          headers: request.headers as Record<string, string>,
          rawBody,
        });
        if (webhook.isValid()) {
          valid++;
          received.push(webhook.getData() as (typeof received)[number]);
        }
        response.end();
        for (const waiter of [...waiters]) waiter();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    onTestFinished(() => new Promise<void>((resolve) => receiver.close(() => resolve())));
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    const names = () => received.flatMap((batch) => batch.events.map((e) => `${e.name}:${e.channel}${e.user_id ? `:${e.user_id}` : ''}`));
    const waitForName = (name: string) =>
      within(
        new Promise<void>((resolve) => {
          const check = () => {
            if (names().includes(name)) {
              waiters.delete(check);
              resolve();
            }
          };
          waiters.add(check);
          check();
        }),
        `webhook ${name} (got ${names().join(', ')})`,
      );

    const server = await startPusherServer({ webhooks: [url] });
    const alice = connectClient(server, 'alice');
    const bob = connectClient(server, 'bob');
    const aliceRoom = await subscribed(alice, 'presence-hooks');
    await waitForName('channel_occupied:presence-hooks');
    await waitForName('member_added:presence-hooks:alice');
    await subscribed(bob, 'presence-hooks');
    await waitForName('member_added:presence-hooks:bob');
    aliceRoom.trigger('client-hello', { hi: 1 });
    await waitForName('client_event:presence-hooks:alice');
    alice.subscribe('cache-nothing');
    await waitForName('cache_miss:cache-nothing');
    bob.unsubscribe('presence-hooks');
    await waitForName('member_removed:presence-hooks:bob');
    alice.unsubscribe('presence-hooks');
    await waitForName('channel_vacated:presence-hooks');
    expect(valid).toBe(received.length);
    const clientEvent = received.flatMap((b) => b.events).find((e) => e.name === 'client_event');
    expect(clientEvent).toMatchObject({ event: 'client-hello', user_id: 'alice' });
  });

  it('retries a webhook that failed', async () => {
    let attempts = 0;
    let delivered = false;
    const done = new Set<() => void>();
    const receiver = createServer((request, response) => {
      request.resume();
      request.on('end', () => {
        attempts++;
        response.statusCode = attempts === 1 ? 503 : 200;
        response.end();
        if (attempts > 1) delivered = true;
        for (const waiter of [...done]) waiter();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    onTestFinished(() => new Promise<void>((resolve) => receiver.close(() => resolve())));
    const server = await startPusherServer({ webhooks: [`http://127.0.0.1:${(receiver.address() as AddressInfo).port}/`] });
    const client = connectClient(server);
    await subscribed(client, 'retry-me');
    await within(new Promise<void>((resolve) => (delivered ? resolve() : done.add(() => delivered && resolve()))), 'retry', 8000);
    expect(attempts).toBe(2);
  });
});

describe('several Pusher apps', () => {
  it('keeps each app to its own channels', async () => {
    const other = { id: '3003', key: 'other-key', secret: 'other-secret-0123456789', channelPrefix: 'other:' };
    const server = await startTestServer({ overrides: { pusher: { apps: [APP, other] } } });
    const mine = connectClient(server);
    const channel = await subscribed(mine, 'shared-name');
    const got: unknown[] = [];
    channel.bind('e', (data: unknown) => got.push(data));
    const otherSdk = new PusherServer({ ...other, appId: other.id, host: '127.0.0.1', port: String(server.port), useTLS: false });
    await otherSdk.trigger('shared-name', 'e', { app: 'other' });
    const marker = collect(channel, 'marker', 1);
    await serverSdk(server).trigger('shared-name', 'marker', {});
    await marker;
    expect(got).toEqual([]);
    const history = await server.hub.history({ kind: 'server', userId: 't', name: 't', roles: [] }, { channel: 'pusher:3003:shared-name' });
    expect(history.events).toHaveLength(1);
    // The other app's key is refused on this app's id.
    await expect(
      new PusherServer({ appId: APP.id, key: other.key, secret: other.secret, host: '127.0.0.1', port: String(server.port), useTLS: false }).trigger('x', 'e', {}),
    ).rejects.toMatchObject({ status: 401 });
  });
});

describe('Pusher configuration', () => {
  it('takes one app from PUSHER_APP_* and refuses two apps with one key', () => {
    const config = loadConfig({
      env: { PUSHER_APP_ID: '42', PUSHER_APP_KEY: 'k42', PUSHER_APP_SECRET: 'secret-42-xyz', PUSHER_WEBHOOK_URLS: 'http://127.0.0.1:9/h' },
    });
    expect(config.pusher.apps).toEqual([
      { id: '42', key: 'k42', secret: 'secret-42-xyz', channelPrefix: '', webhooks: ['http://127.0.0.1:9/h'], subscribeHook: null },
    ]);
    expect(() =>
      loadConfig({
        overrides: {
          pusher: {
            apps: [
              { id: '1', key: 'same', secret: 'secret-one-1' },
              { id: '2', key: 'same', secret: 'secret-two-2', channelPrefix: 'b:' },
            ],
          },
        },
      }),
    ).toThrow('Every Pusher app needs its own key; two apps share one.');
  });
});
